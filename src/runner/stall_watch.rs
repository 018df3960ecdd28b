//! Detects when the client could not run: the whole process stopped (SIGSTOP, a
//! hypervisor stealing the core), or the async runtime's threads kept waiting for
//! a CPU another task held ([`super::run_delay`]).
//!
//! Why a thread and not a tokio task: a task that sleeps is also late when the
//! runtime is merely busy (a closed loop's burst of first tokens delays it by
//! milliseconds while every token is still stamped on time), so its lag says
//! little about timestamps. A dedicated OS thread that sleeps [`PERIOD`] at a time
//! on `CLOCK_MONOTONIC` is woken by the kernel, not by the runtime: it is late only
//! when the process could not run at all, and then every timestamp taken during
//! that interval is late too. At each look it also reads how long the runtime's
//! threads waited on a run queue since the last one: a busy loop or a compiler on
//! the client's CPU holds the runtime for a time slice while the watch, which
//! sleeps most of the time, is still woken promptly. Each gap over [`STALL_MIN`]
//! of either kind is kept as a
//! `[start, end]` interval, so rows whose first token fell inside (or right after)
//! one can be marked `client_stall` and counted.
//!
//! Cost: about 1,000 wake-ups per second on its own thread; the intervals are a
//! short `Vec` (a stall is rare), locked only when a row is checked after a stall
//! has been seen.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::run_delay::RunDelay;
use crate::record::FirstTokenWait;

/// How long the watcher sleeps between looks at the clock.
pub const PERIOD: Duration = Duration::from_millis(1);
/// A wake-up later than this is a stall: the label the self-check is judged by
/// (paired TTFT error over 1 ms) starts here.
pub const STALL_MIN: Duration = Duration::from_millis(1);
/// After a stall the runtime still has to work through what piled up (a wave of
/// readable sockets): first tokens stamped within this plus the stall's own
/// length after its end were late too. A stall of d ms leaves about d ms of
/// arrivals, which a runtime that was less than half busy clears in under d ms.
pub const AFTERMATH: Duration = Duration::from_millis(1);
/// The longest aftermath a stall is given, so a row is checked against the few
/// most recent stalls only.
const MAX_AFTERMATH: Duration = Duration::from_millis(50);
/// Intervals kept per trial; beyond it stalls are counted but not kept (a trial
/// stalled this often is client-limited whatever the rows say).
const MAX_INTERVALS: usize = 65_536;

/// One interval during which the process did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub start: Instant,
    pub end: Instant,
}

impl Stall {
    pub fn duration(&self) -> Duration {
        self.end.saturating_duration_since(self.start)
    }

    /// How long after its end events were still late: [`AFTERMATH`] plus the
    /// stall's length, at most [`MAX_AFTERMATH`].
    fn aftermath(&self) -> Duration {
        (AFTERMATH + self.duration()).min(MAX_AFTERMATH)
    }

    /// Whether an event stamped at `t` was delayed by this stall: inside it, or
    /// in its aftermath.
    fn delayed(&self, t: Instant) -> bool {
        t >= self.start && t <= self.end + self.aftermath()
    }
}

/// The stalls seen so far in one trial, and how many rows were checked against
/// them. Shared between the watcher thread (writes) and the trial's tasks (read).
#[derive(Debug, Default)]
pub struct StallLog {
    stalls: Mutex<Vec<Stall>>,
    /// Stalls seen, including those past [`MAX_INTERVALS`]; a row is checked
    /// under the lock only once this is non-zero.
    seen: AtomicU64,
    rows_checked: AtomicU64,
    /// Rows whose first token's wait in the kernel is known.
    rows_timed: AtomicU64,
    /// The longest of those waits, in µs.
    longest_wait_us: AtomicU64,
    rows_marked: AtomicU64,
}

impl StallLog {
    /// Records a stall (the watcher's side).
    pub fn push(&self, stall: Stall) {
        let mut stalls = self.stalls.lock().unwrap_or_else(|p| p.into_inner());
        if stalls.len() < MAX_INTERVALS {
            stalls.push(stall);
        }
        self.seen.fetch_add(1, Ordering::Release);
    }

    /// Whether a request's first token was read late because of the client;
    /// counts the row either way. Where the kernel said how long the token's
    /// own bytes waited before the read, that decides: more than [`STALL_MIN`].
    /// A wait that is only a lower bound decides when it is over that; else,
    /// and where no wait is known: whether the token was stamped
    /// (`first_token`) during or right after a stall.
    pub fn check(&self, first_token: Option<Instant>, waited: Option<FirstTokenWait>) -> bool {
        self.rows_checked.fetch_add(1, Ordering::Relaxed);
        let hit = match (first_token, waited) {
            (None, _) => false,
            (Some(_), Some(FirstTokenWait::Exact(waited))) => {
                self.rows_timed.fetch_add(1, Ordering::Relaxed);
                self.longest_wait_us
                    .fetch_max(waited.as_micros() as u64, Ordering::Relaxed);
                waited > STALL_MIN
            }
            (Some(t), Some(FirstTokenWait::AtLeast(waited))) => {
                waited > STALL_MIN || self.in_stall(t)
            }
            (Some(t), None) => self.in_stall(t),
        };
        if hit {
            self.rows_marked.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Whether an event stamped at `t` fell in a stall or its aftermath.
    fn in_stall(&self, t: Instant) -> bool {
        if self.seen.load(Ordering::Acquire) == 0 {
            return false;
        }
        let stalls = self.stalls.lock().unwrap_or_else(|p| p.into_inner());
        // Stalls are pushed in time order: the ones that ended more than the
        // longest aftermath before `t` are behind, so look from the newest back.
        stalls
            .iter()
            .rev()
            .take_while(|s| s.end + MAX_AFTERMATH >= t)
            .any(|s| s.delayed(t))
    }

    /// What the trial saw: stall count, longest, total; rows checked, timed by the
    /// kernel and marked.
    pub fn totals(&self) -> StallTotals {
        let stalls = self.stalls.lock().unwrap_or_else(|p| p.into_inner());
        StallTotals {
            stalls: self.seen.load(Ordering::Acquire),
            longest: stalls.iter().map(Stall::duration).max().unwrap_or_default(),
            total: stalls.iter().map(Stall::duration).sum(),
            rows_checked: self.rows_checked.load(Ordering::Relaxed),
            rows_timed: self.rows_timed.load(Ordering::Relaxed),
            longest_wait: Duration::from_micros(self.longest_wait_us.load(Ordering::Relaxed)),
            rows_marked: self.rows_marked.load(Ordering::Relaxed),
        }
    }
}

/// A trial's stall figures, for its `ClientHealth`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StallTotals {
    pub stalls: u64,
    pub longest: Duration,
    pub total: Duration,
    pub rows_checked: u64,
    /// Rows whose first token's wait in the kernel is known, and the longest.
    pub rows_timed: u64,
    pub longest_wait: Duration,
    pub rows_marked: u64,
}

/// The watcher thread of one trial; [`StallWatch::finish`] stops it.
pub struct StallWatch {
    log: Arc<StallLog>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StallWatch {
    /// Starts watching. If no thread can be started, nothing is detected and no
    /// row is marked.
    pub fn start() -> StallWatch {
        let log = Arc::new(StallLog::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("llm-bench-stall-watch".into())
            .spawn({
                let (log, stop) = (log.clone(), stop.clone());
                move || watch(&log, &stop)
            })
            .ok();
        StallWatch { log, stop, thread }
    }

    /// The log rows are checked against.
    pub fn log(&self) -> Arc<StallLog> {
        self.log.clone()
    }

    /// Stops the thread and returns what it saw.
    pub fn finish(mut self) -> StallTotals {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.log.totals()
    }
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn watch(log: &StallLog, stop: &AtomicBool) {
    crate::timer::lower_timer_slack();
    let mut runtime = RunDelay::of_runtime_threads();
    while !stop.load(Ordering::Relaxed) {
        let due = Instant::now() + PERIOD;
        std::thread::sleep(PERIOD);
        let woke = Instant::now();
        if let Some(stall) = stall_at(due, woke, runtime.waited()) {
            log.push(stall);
        }
    }
}

/// A look at `woke` (due at `due`) that found a runtime thread had waited
/// `runtime_waited` for a CPU since the last look: a stall when either the watch
/// itself woke more than [`STALL_MIN`] late (the process did not run from `due`
/// to `woke`) or the runtime was held that long; it spans the longer of the two,
/// ending now (the runtime read nothing while it waited, and stamps what it reads
/// as it resumes).
pub fn stall_at(due: Instant, woke: Instant, runtime_waited: Duration) -> Option<Stall> {
    let late = woke.saturating_duration_since(due);
    let held = [late, runtime_waited]
        .into_iter()
        .filter(|d| *d > STALL_MIN)
        .max()?;
    Some(Stall {
        start: woke.checked_sub(held).unwrap_or(due.min(woke)),
        end: woke,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_runtime_kept_waiting_is_a_stall_even_when_the_watch_woke_on_time() {
        let t0 = Instant::now();
        let woke = t0 + ms(10);
        let on_time = woke - Duration::from_micros(50);
        assert_eq!(stall_at(on_time, woke, Duration::from_micros(800)), None);
        let s = stall_at(on_time, woke, ms(3)).unwrap();
        assert_eq!(
            (s.start, s.end),
            (woke - ms(3), woke),
            "the runtime's wait, ending now"
        );
        // Both: the longer one.
        let s = stall_at(woke - ms(5), woke, ms(2)).unwrap();
        assert_eq!(s.duration(), ms(5));
        let s = stall_at(woke - ms(2), woke, ms(4)).unwrap();
        assert_eq!(s.duration(), ms(4));
    }

    #[test]
    fn a_late_wake_up_is_a_stall_and_an_on_time_one_is_not() {
        let t0 = Instant::now();
        assert_eq!(
            stall_at(t0, t0 + Duration::from_micros(900), Duration::ZERO),
            None
        );
        assert_eq!(stall_at(t0, t0 + ms(1), Duration::ZERO), None);
        let s = stall_at(t0, t0 + ms(5), Duration::ZERO).unwrap();
        assert_eq!((s.start, s.end, s.duration()), (t0, t0 + ms(5), ms(5)));
    }

    /// A wait the kernel timed decides over the stalls: an exact wait over 1 ms
    /// marks the row anywhere, one under it does not even inside a stall. A
    /// lower bound under 1 ms leaves it to the stalls.
    #[test]
    fn a_timed_wait_decides_and_a_lower_bound_falls_back_to_the_stalls() {
        let t0 = Instant::now();
        let log = StallLog::default();
        log.push(Stall {
            start: t0 + ms(10),
            end: t0 + ms(15),
        });
        let (inside, outside) = (Some(t0 + ms(12)), Some(t0 + ms(40)));
        let exact = |us| Some(FirstTokenWait::Exact(Duration::from_micros(us)));
        let at_least = |us| Some(FirstTokenWait::AtLeast(Duration::from_micros(us)));
        assert!(!log.check(inside, exact(40)), "read on time inside a stall");
        assert!(log.check(outside, exact(1_500)), "read late outside one");
        assert!(!log.check(outside, exact(1_000)), "1 ms is not over 1 ms");
        assert!(log.check(outside, at_least(2_000)), "at least 2 ms");
        assert!(log.check(inside, at_least(300)), "maybe late, in a stall");
        assert!(!log.check(outside, at_least(300)), "maybe late, no stall");
        let totals = log.totals();
        assert_eq!((totals.rows_checked, totals.rows_marked), (6, 3));
        assert_eq!(totals.rows_timed, 3, "only exact waits are timed");
        assert_eq!(totals.longest_wait, Duration::from_micros(1_500));
    }

    /// Rows whose first token fell inside a stall, or within the aftermath after
    /// it, are marked; others, and rows without a first token, are not; every
    /// row is counted.
    #[test]
    fn rows_in_or_right_after_a_stall_are_marked() {
        let t0 = Instant::now();
        let log = StallLog::default();
        assert!(!log.check(Some(t0 + ms(1)), None), "no stall yet");
        log.push(Stall {
            start: t0 + ms(10),
            end: t0 + ms(15),
        });
        log.push(Stall {
            start: t0 + ms(40),
            end: t0 + ms(42),
        });
        let at = |us: u64| Some(t0 + Duration::from_micros(us));
        assert!(!log.check(at(9_999), None), "before the first stall");
        assert!(log.check(at(10_000), None), "at its start");
        assert!(log.check(at(15_000), None), "at its end");
        // Its aftermath: 1 ms plus its own 5 ms.
        assert!(log.check(at(20_900), None), "in its aftermath");
        assert!(!log.check(at(21_100), None), "after the aftermath");
        assert!(!log.check(at(30_000), None), "between stalls");
        assert!(log.check(at(41_000), None), "inside the second");
        assert!(
            log.check(at(44_900), None),
            "in the second's aftermath (1 + 2 ms)"
        );
        assert!(!log.check(None, None), "no first token");
        let totals = log.totals();
        assert_eq!(totals.stalls, 2);
        assert_eq!(totals.longest, ms(5));
        assert_eq!(totals.total, ms(7));
        assert_eq!((totals.rows_checked, totals.rows_marked), (10, 5));
    }
}
