//! Telemetry records of a trial → the `telemetry` block of its metrics in
//! `summary.json`. Pure: the same records and window give the same numbers at run
//! time and in `llm-bench report`.

use serde::{Deserialize, Serialize};

use super::energy::{GpuAccumulator, GpuMetrics};
use super::prometheus::{self, ServerAccumulator, ServerMetrics};
use super::record::{GpuSample, GpuSource, Scrape, ScrapeSource, TelemetryRecord};
use super::server_state::ServerAtStart;

/// What was measured besides the requests, for one trial or a scenario's trials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// GPUs read through NVML on this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuMetrics>,
    /// GPUs read from a DCGM exporter (`--dcgm-url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dcgm: Option<GpuMetrics>,
    /// The server's own Prometheus metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerMetrics>,
    /// The server's gauges in the trial's first scrape, before its first request
    /// (a scenario's pooled metrics: its first trial's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_at_start: Option<ServerAtStart>,
}

impl Telemetry {
    /// The GPU figures energy per token is taken from: NVML's when they have an
    /// energy, else DCGM's.
    pub fn energy(&self) -> Option<&GpuMetrics> {
        [&self.gpu, &self.dcgm]
            .into_iter()
            .flatten()
            .find(|g| g.energy_j.is_some())
    }
}

/// A trial's telemetry before its tokens are known; trials pool by [`merge`](Self::merge).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TelemetryAccumulator {
    gpu: Option<GpuAccumulator>,
    dcgm: Option<GpuAccumulator>,
    server: Option<ServerAccumulator>,
    server_at_start: Option<ServerAtStart>,
}

impl TelemetryAccumulator {
    /// One trial's records (any order) over its measured window.
    pub fn from_records(records: &[&TelemetryRecord], window_ms: Option<(f64, f64)>) -> Self {
        let mut nvml: Vec<&GpuSample> = Vec::new();
        let mut server: Vec<&Scrape> = Vec::new();
        let mut dcgm: Vec<GpuSample> = Vec::new();
        for r in records {
            match r {
                TelemetryRecord::Gpu(s) => nvml.push(s),
                TelemetryRecord::Scrape(s) if s.source == ScrapeSource::Server => server.push(s),
                TelemetryRecord::Scrape(s) => dcgm.extend(prometheus::dcgm_gpu_samples(s)),
            }
        }
        let dcgm: Vec<&GpuSample> = dcgm.iter().collect();
        TelemetryAccumulator {
            gpu: GpuAccumulator::from_samples(GpuSource::Nvml, &nvml, window_ms),
            dcgm: GpuAccumulator::from_samples(GpuSource::Dcgm, &dcgm, window_ms),
            server_at_start: ServerAtStart::of(&server),
            server: (!server.is_empty()).then(|| ServerAccumulator::from_scrapes(&server)),
        }
    }

    pub fn merge(&mut self, other: &TelemetryAccumulator) {
        fn pool<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>, merge: impl Fn(&mut T, &T)) {
            match (mine.as_mut(), theirs) {
                (Some(m), Some(t)) => merge(m, t),
                (None, Some(t)) => *mine = Some(t.clone()),
                _ => {}
            }
        }
        pool(&mut self.gpu, &other.gpu, GpuAccumulator::merge);
        pool(&mut self.dcgm, &other.dcgm, GpuAccumulator::merge);
        pool(&mut self.server, &other.server, ServerAccumulator::merge);
        // Trials pool in order: the scenario starts as its first trial did.
        self.server_at_start = self.server_at_start.or(other.server_at_start);
    }

    /// `None` when nothing was recorded.
    pub fn finish(
        &self,
        output_tokens: u64,
        goodput_requests_per_s: Option<f64>,
    ) -> Option<Telemetry> {
        let t = Telemetry {
            gpu: self
                .gpu
                .as_ref()
                .map(|g| g.finish(output_tokens, goodput_requests_per_s)),
            dcgm: self
                .dcgm
                .as_ref()
                .map(|g| g.finish(output_tokens, goodput_requests_per_s)),
            server: self.server.as_ref().and_then(ServerAccumulator::finish),
            server_at_start: self.server_at_start,
        };
        (t.gpu.is_some() || t.dcgm.is_some() || t.server.is_some()).then_some(t)
    }
}
