//! The telemetry settings of a run, validated: which GPUs (`--gpus`,
//! CUDA_VISIBLE_DEVICES), how often, and which endpoints.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::MetricsSource;

pub const DEFAULT_GPU_INTERVAL: Duration = Duration::from_millis(250);
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// Which GPUs to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSelection {
    All,
    /// NVML indices or (prefixes of) GPU UUIDs, as CUDA_VISIBLE_DEVICES lists them.
    List(Vec<String>),
}

impl GpuSelection {
    /// `--gpus`: `all`, or indices or UUIDs separated by commas (`0,1`).
    pub fn parse_flag(text: &str) -> Result<GpuSelection, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("all") {
            return Ok(GpuSelection::All);
        }
        let ids: Vec<String> = text.split(',').map(|s| s.trim().to_string()).collect();
        if let Some(bad) = ids
            .iter()
            .find(|id| id.parse::<u32>().is_err() && !id.starts_with("GPU-"))
        {
            return Err(format!(
                "--gpus: `{bad}` is neither a GPU index nor a UUID (examples: `0,1`, `GPU-8f3a`, `all`)"
            ));
        }
        Ok(GpuSelection::List(ids))
    }

    /// What CUDA_VISIBLE_DEVICES makes visible, read as CUDA does: entries up to the
    /// first invalid one; `None` when it hides every GPU (empty, `-1`, `NoDevFiles`).
    /// MIG instances are refused: NVML reports power per physical GPU, not per slice.
    pub fn from_cuda_visible_devices(text: &str) -> Result<Option<GpuSelection>, String> {
        let mut ids = Vec::new();
        for id in text.split(',').map(str::trim) {
            if id.starts_with("MIG-") {
                return Err(format!(
                    "CUDA_VISIBLE_DEVICES names a MIG instance (`{id}`); power and energy are per physical GPU: pass --gpus with its index"
                ));
            }
            if id.parse::<u32>().is_ok() || id.starts_with("GPU-") {
                ids.push(id.to_string());
            } else {
                break;
            }
        }
        Ok((!ids.is_empty()).then_some(GpuSelection::List(ids)))
    }
}

/// Telemetry settings of a run, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryOptions {
    /// False with `--no-telemetry`: no GPU sampling, no scraping.
    pub enabled: bool,
    /// `None`: CUDA_VISIBLE_DEVICES hides every GPU.
    pub gpus: Option<GpuSelection>,
    /// `--gpus` was given: measure this machine's GPUs even when the server looks
    /// remote.
    pub gpus_explicit: bool,
    pub gpu_interval: Duration,
    pub scrape_interval: Duration,
    /// The server's Prometheus endpoint.
    pub metrics: MetricsSource,
    pub dcgm_url: Option<String>,
    /// `LLM_BENCH_NVML_LIB`: where libnvidia-ml is, when not on the loader path.
    pub nvml_library: Option<PathBuf>,
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        TelemetryOptions {
            enabled: true,
            gpus: Some(GpuSelection::All),
            gpus_explicit: false,
            gpu_interval: DEFAULT_GPU_INTERVAL,
            scrape_interval: DEFAULT_SCRAPE_INTERVAL,
            metrics: MetricsSource::Default,
            dcgm_url: None,
            nvml_library: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_flag_and_cuda_visible_devices() {
        assert_eq!(GpuSelection::parse_flag("all"), Ok(GpuSelection::All));
        assert_eq!(
            GpuSelection::parse_flag("0, 1"),
            Ok(GpuSelection::List(vec!["0".into(), "1".into()]))
        );
        assert!(GpuSelection::parse_flag("0,x").unwrap_err().contains("`x`"));
        let cvd = GpuSelection::from_cuda_visible_devices;
        assert_eq!(
            cvd("2,GPU-8f3a,-1,3"),
            Ok(Some(GpuSelection::List(vec![
                "2".into(),
                "GPU-8f3a".into()
            ]))),
            "CUDA stops at the first invalid entry"
        );
        assert_eq!(cvd(""), Ok(None));
        assert_eq!(cvd("-1"), Ok(None));
        assert_eq!(cvd("NoDevFiles"), Ok(None));
        assert!(cvd("MIG-1234").is_err());
    }
}
