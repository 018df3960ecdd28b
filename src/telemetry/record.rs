//! `telemetry.jsonl`: every GPU sample and every Prometheus scrape of a run, one JSON
//! object a line, tagged by `kind`.
//!
//! Like `requests.jsonl`, the file is the contract: `summary.json`'s telemetry is
//! computed from these lines at run time and again by `llm-bench report`, so the two
//! never differ. Times are milliseconds since the trial started, the same clock as a
//! request row's `start_ms` and `end_ms`, which is what lets energy be taken over
//! exactly the measured window of requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of `telemetry.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TelemetryRecord {
    /// One reading of one GPU through NVML.
    Gpu(GpuSample),
    /// One scrape of a Prometheus endpoint (the server's, or a DCGM exporter's).
    Scrape(Scrape),
}

impl TelemetryRecord {
    pub fn scenario(&self) -> &str {
        match self {
            TelemetryRecord::Gpu(s) => &s.scenario,
            TelemetryRecord::Scrape(s) => &s.scenario,
        }
    }

    pub fn trial(&self) -> u32 {
        match self {
            TelemetryRecord::Gpu(s) => s.trial,
            TelemetryRecord::Scrape(s) => s.trial,
        }
    }
}

/// Where GPU readings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuSource {
    /// NVML on the machine llm-bench runs on.
    Nvml,
    /// A DCGM exporter's Prometheus endpoint (`--dcgm-url`).
    Dcgm,
}

impl GpuSource {
    pub fn name(self) -> &'static str {
        match self {
            GpuSource::Nvml => "NVML",
            GpuSource::Dcgm => "DCGM",
        }
    }
}

/// One GPU at one tick. Every field the device does not support is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    pub scenario: String,
    pub trial: u32,
    /// Milliseconds since the trial started; every GPU of one tick has the same value.
    pub t_ms: f64,
    /// NVML device index.
    pub gpu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// The driver's total energy counter (mJ since the driver loaded; Volta and newer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mj: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_util_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_used_mib: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_clock_mhz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
}

/// Which Prometheus endpoint a scrape read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScrapeSource {
    /// The target's own `/metrics` (vLLM, SGLang, the simulator).
    Server,
    /// A DCGM exporter.
    Dcgm,
}

/// One scrape: every sample it held, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    pub scenario: String,
    pub trial: u32,
    /// Milliseconds since the trial started, taken when the request was sent.
    pub t_ms: f64,
    pub source: ScrapeSource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<PromSample>,
    /// Set when the endpoint could not be read or parsed; `samples` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One series value as exposed, e.g. `vllm:time_to_first_token_seconds_bucket` with
/// labels `{le="0.1", model_name="m"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromSample {
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}
