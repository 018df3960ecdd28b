//! Telemetry: what the GPUs and the server did while each trial ran, joined to the
//! trial's requests in `summary.json`.
//!
//! Three sources, each optional and none able to stop a run:
//! - GPUs through NVML ([`nvml`]): power, the energy counter, utilisation, memory,
//!   SM clock and temperature, every 250 ms by default, on a thread of its own
//!   (NVML calls block);
//! - the server's Prometheus endpoint ([`prometheus`]), every second by default, on
//!   a task that only fetches text; parsing waits until the trial is over;
//! - optionally a DCGM exporter, read like the server and summarised like NVML.
//!
//! A [`TelemetrySampler`] is prepared once per run (it also records the
//! [`Environment`]); [`TelemetrySampler::start`] takes a first reading of every source
//! before a trial's first request and [`RunningSampler::stop`] a last one after its
//! last response, so the trial's window is always bracketed. Samples keep their
//! [`Instant`](std::time::Instant)s until the trial's start instant is known, then become
//! [`TelemetryRecord`]s on the request rows' clock, written to `telemetry.jsonl` and
//! summarised by [`summary`] over the trial's measured window.
//!
//! This file is the front door: the settings are in `options`, the URLs telemetry
//! derives from the target in `urls`, preparing and starting the sources in
//! `sampler`, a trial being sampled in `running`.

pub mod energy;
pub mod fingerprint;
pub mod nvml;
mod options;
pub mod prometheus;
pub mod record;
mod running;
mod sampler;
pub mod server_state;
pub mod summary;
mod urls;

pub use fingerprint::Environment;
pub use options::{GpuSelection, TelemetryOptions, DEFAULT_GPU_INTERVAL, DEFAULT_SCRAPE_INTERVAL};
pub use record::{GpuSample, GpuSource, PromSample, Scrape, ScrapeSource, TelemetryRecord};
pub use running::RunningSampler;
pub use sampler::{Target, TelemetrySampler};
pub use server_state::ServerAtStart;
pub use summary::{Telemetry, TelemetryAccumulator};
pub use urls::{is_loopback, metrics_url, origin};
