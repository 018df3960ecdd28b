//! `--gpus`, `--telemetry-interval`, `--metrics-url` and friends → what telemetry
//! samples during the run.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};

use super::parse_flag_duration;
use crate::cli::TelemetryArgs;
use crate::config;
use crate::telemetry::{GpuSelection, TelemetryOptions};
use crate::usage_error::UsageError;

/// Telemetry flags (and the target's `metrics:` setting) → what to sample. The
/// GPUs default to CUDA_VISIBLE_DEVICES, as the server's own processes see them.
pub(super) fn telemetry_options(
    args: &TelemetryArgs,
    target_metrics: config::MetricsSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<TelemetryOptions> {
    let TelemetryArgs {
        gpus,
        telemetry_interval,
        scrape_interval,
        metrics_url,
        dcgm_url,
        no_telemetry,
    } = args;
    let usage = |e: String| anyhow!(UsageError(e));
    let gpu_selection = match (gpus, env("CUDA_VISIBLE_DEVICES")) {
        (Some(flag), _) => Some(GpuSelection::parse_flag(flag).map_err(usage)?),
        (None, Some(visible)) => {
            GpuSelection::from_cuda_visible_devices(&visible).map_err(usage)?
        }
        (None, None) => Some(GpuSelection::All),
    };
    let interval = |flag: &str, text: &str| -> anyhow::Result<Duration> {
        let d = parse_flag_duration(flag, text)?;
        if d < Duration::from_millis(10) {
            bail!(UsageError(format!(
                "{flag} must be at least 10ms (got {text}); sampling faster measures the sampler"
            )));
        }
        Ok(d)
    };
    let check = |flag: &str, url: &str| -> anyhow::Result<String> {
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.trim_end_matches('/').to_string())
        } else {
            Err(usage(format!(
                "{flag} must start with http:// or https:// (got `{url}`)"
            )))
        }
    };
    let metrics = match metrics_url.as_deref() {
        None => target_metrics,
        Some("off") => config::MetricsSource::Off,
        Some(url) => config::MetricsSource::Url(check("--metrics-url", url)?),
    };
    Ok(TelemetryOptions {
        enabled: !no_telemetry,
        gpus: gpu_selection,
        gpus_explicit: gpus.is_some(),
        gpu_interval: interval("--telemetry-interval", telemetry_interval)?,
        scrape_interval: interval("--scrape-interval", scrape_interval)?,
        metrics,
        dcgm_url: dcgm_url
            .as_deref()
            .map(|u| check("--dcgm-url", u))
            .transpose()?,
        nvml_library: env("LLM_BENCH_NVML_LIB")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
    })
}
