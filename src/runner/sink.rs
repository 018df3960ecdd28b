//! The one place request rows go: appended to `requests.jsonl` as they finish and
//! folded into the summary, on a thread of its own so file I/O never stalls the
//! async workers.
//!
//! Rows are flushed to disk whenever the channel is momentarily empty, so under
//! light load every row is on disk as soon as it finishes, and under heavy load
//! writes are batched without rows waiting more than a few microseconds.
//!
//! Each trial's [`ClientHealth`] travels the same channel, after the trial's rows,
//! and is appended to `client_health.jsonl` so `llm-bench report` sees it too.
//!
//! With live metrics on (`--metrics-listen`, `--pushgateway`), the same thread
//! feeds them each row right after the summary, so both count the same rows.

mod jsonl;

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::live::Recorder;
use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::ClientHealth;
use crate::record::RequestRow;
use crate::redact::Redactor;
use crate::write_error::{WriteContext, WriteError};

use super::{Interrupt, StopCause};
use jsonl::JsonlFile;

/// Next to `requests.jsonl`: one [`TrialHealth`] per line.
pub const HEALTH_FILE: &str = "client_health.jsonl";

/// One line of [`HEALTH_FILE`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrialHealth {
    pub scenario: String,
    pub trial: u32,
    /// `CLOCK_MONOTONIC` (ns) at the trial's time zero, the origin of its rows'
    /// `start_ms`: lets rows be lined up with timestamps another process on this
    /// host took on the same clock, such as `llm-bench serve-sim --request-log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_start_ns: Option<u64>,
    #[serde(flatten)]
    pub health: ClientHealth,
}

enum Message {
    /// Boxed, so the channel's every message is not row-sized.
    Row(Box<RequestRow>),
    /// Boxed for the same reason (one per trial).
    Health(Box<TrialHealth>),
    /// Answered once every row sent before it is on disk.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// TTFTs kept for the live median: the most recent this many.
pub const TTFT_RING: usize = 256;

/// Live counters for progress display. Workers only do relaxed atomic adds and
/// stores here: no lock, no allocation on the hot path.
#[derive(Debug)]
pub struct Progress {
    pub done: AtomicU64,
    pub failed: AtomicU64,
    pub output_tokens: AtomicU64,
    /// TTFTs written so far; `ttft_seen % TTFT_RING` is the next slot.
    pub ttft_seen: AtomicU64,
    /// The most recent TTFTs in microseconds, a ring overwritten in place.
    ttft_us: [AtomicU32; TTFT_RING],
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            output_tokens: AtomicU64::new(0),
            ttft_seen: AtomicU64::new(0),
            ttft_us: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

impl Progress {
    fn record_ttft(&self, ttft_ms: f64) {
        let slot = self.ttft_seen.fetch_add(1, Ordering::Relaxed) as usize % TTFT_RING;
        let us = (ttft_ms * 1000.0).clamp(0.0, u32::MAX as f64) as u32;
        self.ttft_us[slot].store(us, Ordering::Relaxed);
    }

    /// Median of the last (up to [`TTFT_RING`]) TTFTs recorded after the counter
    /// stood at `since`, in ms. Approximate while writers race the reader, which
    /// is fine for a progress line.
    pub fn recent_ttft_p50_ms(&self, since: u64) -> Option<f64> {
        let seen = self.ttft_seen.load(Ordering::Relaxed);
        let from = since.max(seen.saturating_sub(TTFT_RING as u64));
        let mut recent: Vec<u32> = (from..seen)
            .map(|i| self.ttft_us[i as usize % TTFT_RING].load(Ordering::Relaxed))
            .collect();
        if recent.is_empty() {
            return None;
        }
        let mid = recent.len() / 2;
        let (_, median, _) = recent.select_nth_unstable(mid);
        Some(f64::from(*median) / 1000.0)
    }
}

/// Sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct SinkHandle {
    tx: Sender<Message>,
    pub progress: Arc<Progress>,
}

impl SinkHandle {
    pub fn send(&self, row: RequestRow) {
        self.progress.done.fetch_add(1, Ordering::Relaxed);
        if !row.ok {
            self.progress.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.progress
            .output_tokens
            .fetch_add(row.output_tokens, Ordering::Relaxed);
        if let Some(t) = row.ttft_ms {
            self.progress.record_ttft(t);
        }
        // The receiver only goes away after every handle is dropped.
        let _ = self.tx.send(Message::Row(Box::new(row)));
    }

    pub fn send_health(&self, health: TrialHealth) {
        let _ = self.tx.send(Message::Health(Box::new(health)));
    }

    /// Resolves once every row sent so far is written and flushed to
    /// `requests.jsonl` (for `--max-trials`, which reads the run so far).
    pub async fn flushed(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// The writer thread; [`Sink::close`] waits for it and returns the summary builder.
pub struct Sink {
    handle: SinkHandle,
    thread: JoinHandle<Closed>,
}

/// What the writer thread leaves: the summary of every row it was given, and the
/// first write that failed, after which it wrote nothing more.
pub struct Closed {
    pub summary: SummaryBuilder,
    pub failure: Option<WriteError>,
}

impl Sink {
    /// Starts writing `path` (requests.jsonl) and [`HEALTH_FILE`] beside it. The
    /// first write that fails stops `interrupt` at once: nothing more can be
    /// recorded, so nothing more should be sent.
    pub fn start(path: &Path, manifest: Manifest, interrupt: Interrupt) -> anyhow::Result<Sink> {
        Sink::start_with(path, manifest, interrupt, None)
    }

    /// [`Sink::start`], also feeding every row and trial verdict to `live`.
    pub fn start_with(
        path: &Path,
        manifest: Manifest,
        interrupt: Interrupt,
        mut live: Option<Recorder>,
    ) -> anyhow::Result<Sink> {
        let rows = JsonlFile::create(path)?;
        let health = JsonlFile::create(&path.with_file_name(HEALTH_FILE))?;
        let (tx, rx) = channel();
        let progress = Arc::<Progress>::default();
        let sent = Arc::clone(&progress);
        let thread = std::thread::Builder::new()
            .name("llm-bench-sink".into())
            .spawn(move || {
                lower_priority();
                let mut summary = SummaryBuilder::new(manifest);
                let redactor = crate::redact::global();
                let failure =
                    write_rows(rx, rows, health, &mut summary, &sent, &redactor, &mut live).err();
                if failure.is_some() {
                    interrupt.stop_now(StopCause::WriteFailed);
                }
                Closed { summary, failure }
            })
            .context("cannot start the writer thread")?;
        Ok(Sink {
            handle: SinkHandle { tx, progress },
            thread,
        })
    }

    pub fn handle(&self) -> SinkHandle {
        self.handle.clone()
    }

    /// Waits until every row sent so far is on disk (or the first write failed).
    /// All other handles must have been dropped, or this waits for them.
    pub fn close(self) -> anyhow::Result<Closed> {
        drop(self.handle);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))
    }
}

/// Linux gives each thread its own nice value: at +10 the writer gets a small share
/// of a core the runtime needs, and all of it while the runtime is idle. A lower
/// weight alone does not stop it from holding the core for a whole time slice once
/// it runs (milliseconds, while a burst of first tokens waits), hence also
/// [`YIELD_EVERY`].
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on `who = 0` changes only the calling thread's nice value.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS as _, 0, 10);
    }
}

/// The writer gives the core back (`sched_yield`) every [`YIELD_EVERY`] of writing
/// while fewer than this many rows wait. When a closed loop's requests finish
/// together, the runtime wakes for their successors' first tokens while the writer
/// serialises the burst; a writer that held on for its slice made those tokens
/// wait: at 1,024 streams on a pinned core, paired TTFT error p99 was above 1 ms in
/// 5 of 12 runs and 4–7 ms in 4, against at most 1.2 ms in 12 runs with the yield
/// (docs/performance.md). Past this backlog the runtime is saturated for longer
/// than a burst; the writer then stops yielding and keeps its share, so the rows
/// waiting in memory stay bounded.
const YIELD_BELOW_BACKLOG: u64 = 4096;

/// How long the writer writes before it yields: short against the 1 ms a first
/// token may wait, and long enough for a few dozen rows (~7 µs each). Yielding
/// after every row made a writer that shares its core with a busy process (in one
/// scheduling group) write one row per turn it got: a 4,096-request run at 1,024
/// streams took 39 s to finish instead of 12 s.
const YIELD_EVERY: Duration = Duration::from_micros(200);

fn write_rows(
    rx: Receiver<Message>,
    mut out: JsonlFile,
    mut health_out: JsonlFile,
    summary: &mut SummaryBuilder,
    progress: &Progress,
    redactor: &Redactor,
    live: &mut Option<Recorder>,
) -> Result<(), WriteError> {
    let mut line = Vec::with_capacity(4096);
    let mut written: u64 = 0;
    let mut since_yield = Instant::now();
    loop {
        let row = match rx.try_recv() {
            Ok(row) => row,
            Err(TryRecvError::Empty) => {
                // Nothing waiting: put what we have on disk (a no-op when empty).
                out.flush()?;
                let next = rx.recv();
                since_yield = Instant::now();
                match next {
                    Ok(row) => row,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        line.clear();
        let row = match row {
            Message::Row(row) => *row,
            Message::Flush(done) => {
                out.flush()?;
                let _ = done.send(());
                continue;
            }
            Message::Health(h) => {
                serde_json::to_writer(&mut line, &h)
                    .map_err(std::io::Error::from)
                    .writing(&health_out.path)?;
                line.push(b'\n');
                health_out.push(&redactor.redact_bytes(&line))?;
                health_out.flush()?;
                if let Some(live) = live.as_mut() {
                    live.trial_finished(&h.scenario, h.trial, &h.health);
                }
                summary.add_health(&h.scenario, h.trial, h.health);
                continue;
            }
        };
        serde_json::to_writer(&mut line, &row)
            .map_err(std::io::Error::from)
            .writing(&out.path)?;
        line.push(b'\n');
        // A server's error text in a row may echo the key it was sent.
        out.push(&redactor.redact_bytes(&line))?;
        summary.add(&row);
        if let Some(live) = live.as_mut() {
            live.observe(&row);
        }
        written += 1;
        let sent = progress.done.load(Ordering::Relaxed);
        if sent.saturating_sub(written) < YIELD_BELOW_BACKLOG
            && since_yield.elapsed() >= YIELD_EVERY
        {
            std::thread::yield_now();
            since_yield = Instant::now();
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_ttft_median_covers_only_recent_requests() {
        let p = Progress::default();
        assert_eq!(p.recent_ttft_p50_ms(0), None);
        for t in [10.0, 30.0, 20.0] {
            p.record_ttft(t);
        }
        assert_eq!(p.recent_ttft_p50_ms(0), Some(20.0));
        let since = p.ttft_seen.load(Ordering::Relaxed);
        assert_eq!(p.recent_ttft_p50_ms(since), None);
        for i in 0..1000 {
            p.record_ttft(f64::from(i));
        }
        // Only the last 256 (744..=999) remain.
        assert_eq!(p.recent_ttft_p50_ms(since), Some(872.0));
    }
}
