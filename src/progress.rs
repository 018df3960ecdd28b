//! Progress while a scenario runs, on stderr: a live bar when stderr is a terminal,
//! a plain line every few seconds when it is not (CI logs), never both.
//!
//! Reads only the sink's atomic [`Progress`] counters, on its own task, so drawing
//! never slows the workers. What a line says is a pure function of a [`Snapshot`].

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::runner::sink::Progress;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An `indicatif` bar, redrawn in place.
    Bar,
    /// A log line every [`LINE_EVERY`].
    Lines,
}

impl Mode {
    pub fn detect() -> Mode {
        if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        }
    }
}

/// Interval of plain progress lines.
pub const LINE_EVERY: Duration = Duration::from_secs(10);
const BAR_EVERY: Duration = Duration::from_millis(250);
/// The "current rate" is over this trailing window.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// What limits a trial: a request count (warm-up included), a duration, or both.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub requests: Option<u64>,
    pub duration: Option<Duration>,
}

/// The counters of one trial at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub done: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// Completions per second over the last few seconds.
    pub rate_per_s: f64,
    pub ttft_p50_ms: Option<f64>,
}

/// "120/500 req · 24.1 req/s · 2 errors · TTFT p50 51.2 ms · 5/20 s"
pub fn status_line(s: &Snapshot, limit: Limit) -> String {
    let mut parts = vec![match limit.requests {
        Some(n) => format!("{}/{n} req", s.done),
        None => format!("{} req", s.done),
    }];
    parts.push(format!("{:.1} req/s", s.rate_per_s));
    parts.push(match s.failed {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    });
    parts.push(match s.ttft_p50_ms {
        Some(t) => format!("TTFT p50 {}", crate::units::fmt_ms(t)) + " ms",
        None => "TTFT p50 –".to_string(),
    });
    let elapsed = s.elapsed.as_secs_f64();
    parts.push(match limit.duration {
        Some(d) => format!("{elapsed:.0}/{:.0} s", d.as_secs_f64()),
        None => format!("{elapsed:.0} s"),
    });
    parts.join(" · ")
}

/// Shows progress for one trial until [`TrialProgress::finish`].
pub struct TrialProgress {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl TrialProgress {
    /// Starts showing progress of the counters from their current values on.
    pub fn start(
        mode: Mode,
        label: String,
        progress: Arc<Progress>,
        limit: Limit,
    ) -> TrialProgress {
        let stop = CancellationToken::new();
        let task = tokio::spawn(show(mode, label, progress, limit, stop.clone()));
        TrialProgress { stop, task }
    }

    /// Draws the final state and stops.
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn show(
    mode: Mode,
    label: String,
    progress: Arc<Progress>,
    limit: Limit,
    stop: CancellationToken,
) {
    let mut meter = Meter::new(progress);
    let bar = (mode == Mode::Bar).then(|| new_bar(&label, limit));
    let every = if bar.is_some() { BAR_EVERY } else { LINE_EVERY };
    loop {
        let stopped = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stop.cancelled() => true,
        };
        let snapshot = meter.snapshot();
        match &bar {
            Some(bar) => {
                match (limit.requests, limit.duration) {
                    (Some(_), _) => bar.set_position(snapshot.done),
                    (None, Some(_)) => bar.set_position(snapshot.elapsed.as_millis() as u64),
                    (None, None) => bar.tick(),
                }
                bar.set_message(status_line(&snapshot, limit));
                if stopped {
                    bar.finish();
                }
            }
            None => eprintln!("  {label}: {}", status_line(&snapshot, limit)),
        }
        if stopped {
            return;
        }
    }
}

fn new_bar(label: &str, limit: Limit) -> ProgressBar {
    let length = match (limit.requests, limit.duration) {
        (Some(n), _) => Some(n),
        (None, Some(d)) => Some(d.as_millis() as u64),
        (None, None) => None,
    };
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    let template = if length.is_some() {
        "  {prefix} [{bar:24.cyan/blue}] {msg}"
    } else {
        "  {prefix} {spinner} {msg}"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// Turns the cumulative counters into per-trial numbers and a trailing rate.
struct Meter {
    progress: Arc<Progress>,
    start: Instant,
    base_done: u64,
    base_failed: u64,
    base_ttft: u64,
    recent: VecDeque<(Instant, u64)>,
}

impl Meter {
    fn new(progress: Arc<Progress>) -> Meter {
        let now = Instant::now();
        let base_done = progress.done.load(Ordering::Relaxed);
        Meter {
            base_failed: progress.failed.load(Ordering::Relaxed),
            base_ttft: progress.ttft_seen.load(Ordering::Relaxed),
            progress,
            start: now,
            base_done,
            recent: VecDeque::from([(now, 0)]),
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        let now = Instant::now();
        let done = self.progress.done.load(Ordering::Relaxed) - self.base_done;
        self.recent.push_back((now, done));
        while self.recent.len() > 2 && now - self.recent[1].0 >= RATE_WINDOW {
            self.recent.pop_front();
        }
        let (t0, d0) = self.recent[0];
        let span = (now - t0).as_secs_f64();
        Snapshot {
            done,
            failed: self.progress.failed.load(Ordering::Relaxed) - self.base_failed,
            elapsed: now - self.start,
            rate_per_s: if span > 0.0 {
                (done - d0) as f64 / span
            } else {
                0.0
            },
            ttft_p50_ms: self.progress.recent_ttft_p50_ms(self.base_ttft),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s = Snapshot {
            done: 120,
            failed: 2,
            elapsed: Duration::from_secs(5),
            rate_per_s: 24.06,
            ttft_p50_ms: Some(51.234),
        };
        let both = Limit {
            requests: Some(500),
            duration: Some(Duration::from_secs(20)),
        };
        assert_eq!(
            status_line(&s, both),
            "120/500 req · 24.1 req/s · 2 errors · TTFT p50 51.23 ms · 5/20 s"
        );
        let none = Limit {
            requests: None,
            duration: None,
        };
        let s = Snapshot {
            failed: 1,
            ttft_p50_ms: None,
            ..s
        };
        assert_eq!(
            status_line(&s, none),
            "120 req · 24.1 req/s · 1 error · TTFT p50 – · 5 s"
        );
    }
}
