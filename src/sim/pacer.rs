//! Wakes the simulator's streams when their chunks are due, from inside the
//! server's own runtime.
//!
//! Each stream used to sleep on the process-wide precise timer ([`crate::timer`]),
//! whose thread then woke it from outside the runtime. A task woken from outside
//! costs a system call (tokio's current-thread scheduler writes its eventfd on
//! every such wake) and the timer thread's wake-ups cost context switches on the
//! server's one core. At 1,024 streams and 10 ms between tokens that was 800k
//! eventfd writes and 200k context switches per million tokens, and the
//! simulator needed 1.6 times the CPU of a bare loop that only writes the tokens
//! (`cargo bench --bench sim_capacity`).
//!
//! Now each server keeps a heap of `(deadline, waker)` and one task, the pacer,
//! sleeps on an [`Alarm`] (a `timerfd` in the runtime's own reactor) until the
//! earliest deadline, then wakes every stream that is due: a push onto the
//! runtime's run queue. Like the precise timer it never sleeps less than
//! [`QUANTUM`], so that thousands of streams cost at most ~20k wake-ups a second.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::timer::QUANTUM;

use super::alarm::Alarm;

/// The deadlines of one server's streams, shared by the streams (which
/// register) and the pacer task (which wakes them).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    heap: BinaryHeap<Entry>,
    /// When the pacer task will next wake by itself; `None` while nothing waits.
    planned: Option<Instant>,
    /// The pacer task, to wake when a deadline comes in earlier than `planned`.
    task: Option<Waker>,
}

#[derive(Debug)]
struct Entry {
    deadline: Instant,
    waker: Waker,
}

// Ordered by deadline only, reversed: `BinaryHeap` is a max-heap.
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.deadline.cmp(&self.deadline)
    }
}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Entry {}

impl Pacer {
    /// A pacer and the task that drives it, to spawn on the server's runtime.
    /// The task ends once every handle to the pacer is gone.
    pub fn start() -> (Arc<Pacer>, PacerTask) {
        let pacer = Arc::new(Pacer::default());
        let task = PacerTask {
            pacer: Arc::downgrade(&pacer),
            alarm: None,
            due: Vec::with_capacity(1024),
        };
        (pacer, task)
    }

    /// A future that completes at `deadline`, woken by this pacer.
    pub fn sleep_until(self: &Arc<Self>, deadline: Instant) -> PacedSleep {
        PacedSleep {
            pacer: Arc::clone(self),
            deadline,
            registered: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover from poisoning anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, deadline: Instant, waker: Waker) {
        let wake_task = {
            let mut state = self.lock();
            state.heap.push(Entry { deadline, waker });
            // Wake the pacer only when it would otherwise be more than a quantum
            // late for this deadline; usually it is already due sooner.
            if state.planned.is_none_or(|p| deadline + QUANTUM < p) {
                state.planned = Some(deadline);
                state.task.clone()
            } else {
                None
            }
        };
        if let Some(task) = wake_task {
            task.wake();
        }
    }
}

impl Drop for Pacer {
    /// Lets the task see that the pacer is gone, so that it ends.
    fn drop(&mut self) {
        if let Some(task) = self.lock().task.take() {
            task.wake();
        }
    }
}

/// The task that wakes due streams; spawn it once per server.
pub(crate) struct PacerTask {
    pacer: Weak<Pacer>,
    /// Created at the first poll, inside the runtime whose reactor it uses.
    alarm: Option<Alarm>,
    /// Reused between wake-ups: the wakers due now, woken outside the lock.
    due: Vec<Waker>,
}

impl Future for PacerTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let alarm = this.alarm.get_or_insert_with(Alarm::new);
        loop {
            let Some(pacer) = this.pacer.upgrade() else {
                return Poll::Ready(());
            };
            let wake_at = {
                let mut state = pacer.lock();
                let now = Instant::now();
                while state.heap.peek().is_some_and(|e| e.deadline <= now) {
                    if let Some(entry) = state.heap.pop() {
                        this.due.push(entry.waker);
                    }
                }
                let next = state.heap.peek().map(|e| e.deadline);
                state.planned = next;
                if !state.task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    state.task = Some(cx.waker().clone());
                }
                // A wake-up per quantum at most: deadlines closer than that
                // wait for the next one.
                next.map(|next| next.max(now + QUANTUM))
            };
            drop(pacer);
            for waker in this.due.drain(..) {
                waker.wake();
            }
            let Some(wake_at) = wake_at else {
                // Nothing waits: a registration wakes the task.
                return Poll::Pending;
            };
            if alarm.armed() != Some(wake_at) {
                alarm.set(wake_at);
            }
            if alarm.poll_fired(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

/// Completes at its deadline; `Unpin`, reusable with [`PacedSleep::reset`].
#[derive(Debug)]
pub(crate) struct PacedSleep {
    pacer: Arc<Pacer>,
    deadline: Instant,
    /// The waker last registered for `deadline`, so that repeated polls by the
    /// same task do not register again.
    registered: Option<Waker>,
}

impl PacedSleep {
    /// Moves the deadline; the next poll registers the new one.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.registered = None;
    }
}

impl Future for PacedSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.registered = None;
            return Poll::Ready(());
        }
        let same = this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if !same {
            // A stale entry left behind (another waker) causes one spurious wake.
            this.pacer.register(this.deadline, cx.waker().clone());
            this.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Never early, always wakes, with resets, and with registrations made
    /// before the pacer task first runs.
    #[tokio::test]
    async fn wakes_every_sleeper_at_or_after_its_deadline() {
        let (pacer, task) = Pacer::start();
        let start = Instant::now();
        let mut sleepers = Vec::new();
        for i in (0..300u64).rev() {
            let pacer = Arc::clone(&pacer);
            sleepers.push(tokio::spawn(async move {
                let deadline = start + Duration::from_micros(100 * i);
                let mut sleep = pacer.sleep_until(deadline + Duration::from_secs(600));
                // Registered with the far deadline, then moved closer.
                let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut sleep).poll(cx)));
                assert!(first.await.is_pending());
                sleep.reset(deadline);
                sleep.await;
                Instant::now() >= deadline
            }));
        }
        let driver = tokio::spawn(task);
        for sleeper in sleepers {
            assert!(sleeper.await.unwrap(), "woken before its deadline");
        }
        assert!(start.elapsed() < Duration::from_secs(10));
        drop(pacer);
        tokio::time::timeout(Duration::from_secs(5), driver)
            .await
            .expect("the pacer task ends once the pacer is dropped")
            .unwrap();
    }

    /// A deadline earlier than the one the pacer sleeps for wakes it early.
    #[tokio::test]
    async fn an_earlier_deadline_rearms_the_pacer() {
        let (pacer, task) = Pacer::start();
        tokio::spawn(task);
        let far = tokio::spawn(pacer.sleep_until(Instant::now() + Duration::from_secs(600)));
        tokio::task::yield_now().await;
        let near = Instant::now() + Duration::from_millis(2);
        tokio::time::timeout(Duration::from_secs(5), pacer.sleep_until(near))
            .await
            .expect("the near deadline is not held behind the far one");
        assert!(Instant::now() >= near);
        far.abort();
    }
}
