//! A timer with ~50 µs precision for the few places where tokio's 1 ms timer wheel
//! is too coarse: the simulated server's chunk deadlines (its "truth"), the
//! open-loop send schedule and the client's own scheduling-lag watchdog.
//! (The simulator uses it only where it has no `timerfd`: see `sim::pacer`.)
//!
//! Tokio rounds every deadline up to its next 1 ms tick, so a task woken by
//! `tokio::time::sleep_until` is on average ~0.5 ms and at worst ~1 ms late. A
//! simulated server that is told "TTFT 50 ms" and sends at 50.9 ms makes every
//! client look 0.9 ms slow; an open loop that sends 0.9 ms late shows as send lag.
//!
//! Design: one process-wide thread owns a min-heap of `(deadline, waker)` and
//! sleeps in `park_timeout` (a futex wait backed by an hrtimer; its timer slack is
//! lowered to 1 µs) until the earliest deadline, then wakes every task that is due.
//! It never sleeps less than [`QUANTUM`]: with thousands of streams the deadlines
//! are microseconds apart, and one wake-up per quantum batches them, so the thread
//! costs at most ~20k wake-ups per second however many timers there are, and a
//! timer is late by at most about one quantum. No spinning: the thread shares a
//! pinned core with the runtime it serves.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Shortest sleep of the timer thread: the batching window, and about the worst
/// lateness under dense load.
pub const QUANTUM: Duration = Duration::from_micros(50);

/// Sleeps until `deadline` with ~50 µs precision (see the module docs).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new_in(TimerThread, deadline)
}

/// Where a [`Sleep`] registers its deadline and waker: the process-wide timer
/// thread, or a queue of its own such as the simulator's pacer.
pub trait Registry {
    fn register(&self, deadline: Instant, waker: Waker);
}

/// The process-wide timer thread (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct TimerThread;

impl Registry for TimerThread {
    fn register(&self, deadline: Instant, waker: Waker) {
        timer().register(deadline, waker);
    }
}

/// A future that completes at its deadline. `Unpin`, reusable with [`Sleep::reset`].
#[derive(Debug)]
pub struct Sleep<R: Registry = TimerThread> {
    registry: R,
    deadline: Instant,
    /// The waker last handed to the registry for `deadline`, so repeated polls
    /// by the same task do not register again.
    registered: Option<Waker>,
}

impl<R: Registry> Sleep<R> {
    /// Sleeps until `deadline`, woken by `registry`.
    pub fn new_in(registry: R, deadline: Instant) -> Sleep<R> {
        Sleep {
            registry,
            deadline,
            registered: None,
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline; the next poll registers the new one.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.registered = None;
    }
}

impl<R: Registry + Unpin> Future for Sleep<R> {
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
            // A stale entry left behind (other waker) only causes one spurious wake.
            this.registry.register(this.deadline, cx.waker().clone());
            this.registered = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Wakers ordered by deadline, for whoever wakes them (the timer thread, the
/// simulator's pacer), with the batching rule both follow: the owner wakes at
/// most once per [`QUANTUM`] and is only woken early for a deadline more than a
/// quantum before its plan.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Entry>,
    /// When the owner will next wake by itself; `None` while nothing waits.
    planned: Option<Instant>,
}

impl Deadlines {
    /// Adds a waker; true when the owner must be woken to plan again, because it
    /// would otherwise be more than a quantum late for `deadline` (usually it is
    /// already due sooner).
    pub fn push(&mut self, deadline: Instant, waker: Waker) -> bool {
        self.heap.push(Entry { deadline, waker });
        let early = self.planned.is_none_or(|p| deadline + QUANTUM < p);
        if early {
            self.planned = Some(deadline);
        }
        early
    }

    /// Moves every waker due at `now` into `due`; returns when the owner should
    /// wake next (no sooner than a quantum from now), `None` when nothing waits.
    pub fn pop_due(&mut self, now: Instant, due: &mut Vec<Waker>) -> Option<Instant> {
        while self.heap.peek().is_some_and(|e| e.deadline <= now) {
            if let Some(entry) = self.heap.pop() {
                due.push(entry.waker);
            }
        }
        self.planned = self.heap.peek().map(|e| e.deadline.max(now + QUANTUM));
        self.planned
    }
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

struct Timer {
    state: Mutex<Deadlines>,
    thread: Thread,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let thread = std::thread::Builder::new()
            .name("llm-bench-timer".into())
            .spawn(|| run(timer()))
            .expect("cannot start the timer thread");
        Timer {
            state: Mutex::new(Deadlines::default()),
            thread: thread.thread().clone(),
        }
    })
}

impl Timer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Deadlines> {
        // Nothing panics while holding the lock; recover from poisoning anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, deadline: Instant, waker: Waker) {
        let wake_thread = self.lock().push(deadline, waker);
        if wake_thread {
            self.thread.unpark();
        }
    }
}

fn run(timer: &'static Timer) {
    lower_timer_slack();
    let mut due: Vec<Waker> = Vec::with_capacity(1024);
    loop {
        let sleep = {
            let now = Instant::now();
            timer.lock().pop_due(now, &mut due).map(|at| at - now)
        };
        // Wake outside the lock: waking may take the runtime's own locks.
        for waker in due.drain(..) {
            waker.wake();
        }
        match sleep {
            Some(d) => std::thread::park_timeout(d),
            None => std::thread::park(),
        }
    }
}

/// Linux rounds sleeps up by the thread's timer slack (50 µs by default); 1 µs
/// keeps `park_timeout` close to the deadline.
pub(crate) fn lower_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument and affects only the
    // calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Correctness only (never early, always wakes); how late it wakes is measured
    /// against tokio's timer by `cargo bench --bench timer_lateness`.
    #[tokio::test]
    async fn never_wakes_before_the_deadline() {
        for i in 0..20u64 {
            let deadline = Instant::now() + Duration::from_micros(300 + 70 * i);
            sleep_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
        // A deadline in the past completes at once.
        sleep_until(Instant::now() - Duration::from_millis(1)).await;
    }

    #[tokio::test]
    async fn many_timers_fire_in_order_and_reset_works() {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in (0..200u64).rev() {
            tasks.push(tokio::spawn(async move {
                let deadline = start + Duration::from_micros(100 * i);
                let mut sleep = sleep_until(deadline + Duration::from_secs(60));
                sleep.reset(deadline);
                sleep.await;
                Instant::now() >= deadline
            }));
        }
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
