//! Watches the client's own health while a trial runs (see `metrics::health` for
//! the verdict): a watchdog task that sleeps 10 ms at a time on the precise timer
//! and records how late the runtime let it run, the process's CPU time from
//! `getrusage`, and (open loop) how late the dispatcher woke for each send.
//!
//! Beside it runs the stall watch (`stall_watch`), an OS thread that sees when the
//! whole process did not run, against which each request's first token is checked.
//!
//! Lag samples go into fixed-size HDR histograms, so a watchdog costs the same
//! memory however long the trial runs, and about 100 wake-ups per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::stall_watch::{StallLog, StallWatch};
use crate::live::TrialProbe;
use crate::metrics::health::{ClientHealth, DISPATCH_LAG_LIMIT_MS, SCHED_LAG_LIMIT_MS};
use crate::timer;

const PERIOD: Duration = Duration::from_millis(10);

/// A histogram of lags in microseconds, up to an hour, 3 significant digits.
pub(super) fn lag_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub(super) fn record_lag(h: &mut Histogram<u64>, lag: Duration) {
    h.saturating_record(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn over(h: &Histogram<u64>, limit_ms: f64) -> u64 {
    h.count_between((limit_ms * 1000.0) as u64 + 1, u64::MAX)
}

pub(super) struct Watchdog {
    stop: CancellationToken,
    task: JoinHandle<Histogram<u64>>,
    stall_watch: StallWatch,
    cpu_start: Option<Duration>,
    wall_start: Instant,
}

impl Watchdog {
    /// Starts watching; each lag also goes to the live metrics' `probe`, if any.
    pub fn start(probe: Option<TrialProbe>) -> Watchdog {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut lags = lag_histogram();
            loop {
                let deadline = Instant::now() + PERIOD;
                tokio::select! {
                    _ = timer::sleep_until(deadline) => {}
                    _ = token.cancelled() => break,
                }
                let lag = Instant::now().saturating_duration_since(deadline);
                record_lag(&mut lags, lag);
                if let Some(probe) = &probe {
                    probe.sched_lag(lag);
                }
            }
            lags
        });
        Watchdog {
            stop,
            task,
            stall_watch: StallWatch::start(),
            cpu_start: process_cpu_time(),
            wall_start: Instant::now(),
        }
    }

    /// The stalls seen so far, to check each request's first token against.
    pub fn stall_log(&self) -> Arc<StallLog> {
        self.stall_watch.log()
    }

    /// Stops the watchdog and judges the trial; `dispatch` holds the open loop's
    /// dispatcher lags in µs.
    pub async fn finish(self, dispatch: Option<&Histogram<u64>>) -> ClientHealth {
        let wall_s = self.wall_start.elapsed().as_secs_f64();
        let cpu_s = match (self.cpu_start, process_cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64(),
            _ => 0.0,
        };
        self.stop.cancel();
        let stalls = self.stall_watch.finish();
        let lags = self.task.await.unwrap_or_else(|_| lag_histogram());
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let empty = lags.is_empty();
        ClientHealth {
            sched_lag_samples: lags.len(),
            sched_lag_p50_ms: if empty { 0.0 } else { ms(&lags, 0.5) },
            sched_lag_p99_ms: if empty { 0.0 } else { ms(&lags, 0.99) },
            sched_lag_max_ms: if empty {
                0.0
            } else {
                lags.max() as f64 / 1000.0
            },
            sched_lag_over_limit: over(&lags, SCHED_LAG_LIMIT_MS),
            cpu_s,
            wall_s,
            cpus,
            cpu_utilisation: if wall_s > 0.0 {
                cpu_s / (wall_s * f64::from(cpus))
            } else {
                0.0
            },
            dispatch_lag_p99_ms: dispatch.filter(|h| !h.is_empty()).map(|h| ms(h, 0.99)),
            dispatch_lag_over_limit: dispatch
                .filter(|h| !h.is_empty())
                .map(|h| over(h, DISPATCH_LAG_LIMIT_MS)),
            stalls: stalls.stalls,
            stall_max_ms: stalls.longest.as_secs_f64() * 1000.0,
            stall_total_ms: stalls.total.as_secs_f64() * 1000.0,
            requests_watched: stalls.rows_checked,
            requests_in_stall: stalls.rows_marked,
            first_token_waits_timed: stalls.rows_timed,
            first_token_wait_max_ms: stalls.longest_wait.as_secs_f64() * 1000.0,
            ..ClientHealth::default()
        }
        .judge()
    }
}

/// User + system CPU time of this process so far.
fn process_cpu_time() -> Option<Duration> {
    // SAFETY: getrusage only writes the struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return None;
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}
