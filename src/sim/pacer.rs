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
//! [`crate::timer::QUANTUM`], so that thousands of streams cost at most ~20k
//! wake-ups a second.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::timer::{Deadlines, Registry, Sleep};

use super::alarm::Alarm;

/// A sleep woken by a server's pacer.
pub(crate) type PacedSleep = Sleep<Arc<Pacer>>;

/// The deadlines of one server's streams, shared by the streams (which
/// register) and the pacer task (which wakes them).
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    deadlines: Deadlines,
    /// The pacer task, to wake when a deadline comes in earlier than planned.
    task: Option<Waker>,
}

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
        Sleep::new_in(Arc::clone(self), deadline)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; recover from poisoning anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Registry for Arc<Pacer> {
    fn register(&self, deadline: Instant, waker: Waker) {
        let wake_task = {
            let mut state = self.lock();
            if state.deadlines.push(deadline, waker) {
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
                let wake_at = state.deadlines.pop_due(Instant::now(), &mut this.due);
                if !state.task.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    state.task = Some(cx.waker().clone());
                }
                wake_at
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
