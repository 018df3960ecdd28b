//! The environment a run measured: GPUs, driver and CUDA versions, and the serving
//! engine with its version and models. Recorded in `run.json` and `summary.json`
//! (`run.environment`) before the first request, so the baseline comparison can
//! refuse to compare an H100 run with an A100 baseline, or vLLM 0.6 with 0.7.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::prometheus;
use crate::client::limits::read_capped;

/// Largest answer to an identity probe read (a `/models` list of a few hundred
/// models is well under 1 MiB).
const PROBE_CAP: usize = 4 * 1024 * 1024;
use super::record::PromSample;

/// What the run ran on. Every part is optional: a run against a remote server with
/// no DCGM exporter knows nothing about its GPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// The measured GPUs, in index order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<GpuInfo>,
    /// Where `gpus` was read: `nvml` or `dcgm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_source: Option<String>,
    /// Why GPUs are not described, when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    /// The CUDA version the driver supports, e.g. `12.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_total_mib: Option<u64>,
}

/// The serving engine, as its API and metrics describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `vllm`, `sglang`, `llama.cpp`, `llm-bench-sim`, …: from `/v1/models`'
    /// `owned_by`, else from the metric names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// From `/version` (vLLM) or `/get_server_info` (SGLang).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Model ids `/v1/models` lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
}

impl Environment {
    /// The GPU model, or every model joined with ` + ` for a mixed set.
    pub fn gpu_name(&self) -> Option<String> {
        let mut names: Vec<&str> = self.gpus.iter().map(|g| g.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        (!names.is_empty()).then(|| names.join(" + "))
    }

    pub fn gpu_count(&self) -> Option<u32> {
        (!self.gpus.is_empty()).then_some(self.gpus.len() as u32)
    }

    /// One line for the console, e.g. `2 × NVIDIA H100 80GB HBM3 (driver 550.54,
    /// CUDA 12.4) · vllm 0.6.3`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let (Some(name), Some(n)) = (self.gpu_name(), self.gpu_count()) {
            let mut versions = Vec::new();
            if let Some(d) = &self.driver_version {
                versions.push(format!("driver {d}"));
            }
            if let Some(c) = &self.cuda_version {
                versions.push(format!("CUDA {c}"));
            }
            let versions = if versions.is_empty() {
                String::new()
            } else {
                format!(" ({})", versions.join(", "))
            };
            parts.push(format!("{n} × {name}{versions}"));
        }
        if let Some(server) = &self.server {
            let engine = server.engine.as_deref().unwrap_or("unknown engine");
            match &server.version {
                Some(v) => parts.push(format!("{engine} {v}")),
                None => parts.push(engine.to_string()),
            }
        }
        parts.join(" · ")
    }
}

/// `owned_by` values that name a serving engine.
fn engine_from_owner(owner: &str) -> Option<&'static str> {
    match owner {
        "vllm" => Some("vllm"),
        "sglang" => Some("sglang"),
        "llamacpp" => Some("llama.cpp"),
        "tgi" | "text-generation-inference" => Some("tgi"),
        "llm-bench-sim" => Some("llm-bench-sim"),
        _ => None,
    }
}

/// GPUs as a DCGM exporter describes them, and the driver version its labels carry.
pub fn dcgm_environment(samples: &[PromSample]) -> (Vec<GpuInfo>, Option<String>) {
    let gpus = prometheus::dcgm_gpus(samples);
    let driver = samples
        .iter()
        .find_map(|s| s.labels.get("DCGM_FI_DRIVER_VERSION").cloned());
    (gpus, driver)
}

/// Asks the server what it is: `{base}/models` for the models and `owned_by`,
/// `/version` at its origin for vLLM's version, `/get_server_info` for SGLang's.
/// Nothing here fails the run; what cannot be learnt stays `None`.
pub async fn server_info(
    base_url: &str,
    api_key: Option<&str>,
    ca_cert: Option<&crate::client::CaCert>,
    metrics_engine: Option<&str>,
) -> ServerInfo {
    let Ok(client) = crate::client::trust::trusting(reqwest::Client::builder(), ca_cert)
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
    else {
        return ServerInfo::default();
    };
    let get = |url: String| {
        let mut request = client.get(url);
        if let Some(key) = api_key {
            request = request.bearer_auth(key);
        }
        async move {
            let response = request.send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            let body = read_capped(response, PROBE_CAP).await.ok()?;
            serde_json::from_slice::<serde_json::Value>(&body).ok()
        }
    };
    let base = base_url.trim_end_matches('/');
    let mut info = ServerInfo::default();
    let mut owner = None;
    if let Some(models) = get(format!("{base}/models")).await {
        if let Some(list) = models["data"].as_array() {
            info.models = list
                .iter()
                .filter_map(|m| m["id"].as_str().map(str::to_string))
                .collect();
            owner = list
                .iter()
                .find_map(|m| m["owned_by"].as_str().and_then(engine_from_owner));
        }
    }
    info.engine = owner.or(metrics_engine).map(str::to_string);
    let origin = super::origin(base_url);
    let version = |v: &serde_json::Value| v["version"].as_str().map(str::to_string);
    info.version = get(format!("{origin}/version"))
        .await
        .as_ref()
        .and_then(version);
    if info.version.is_none() && info.engine.as_deref() == Some("sglang") {
        info.version = get(format!("{origin}/get_server_info"))
            .await
            .as_ref()
            .and_then(version);
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_name_and_count() {
        let gpu = |index, name: &str| GpuInfo {
            index,
            name: name.into(),
            uuid: None,
            memory_total_mib: Some(81559),
        };
        let mut env = Environment {
            gpus: vec![
                gpu(0, "NVIDIA H100 80GB HBM3"),
                gpu(1, "NVIDIA H100 80GB HBM3"),
            ],
            driver_version: Some("550.54.15".into()),
            cuda_version: Some("12.4".into()),
            server: Some(ServerInfo {
                engine: Some("vllm".into()),
                version: Some("0.6.3".into()),
                models: vec!["m".into()],
            }),
            ..Default::default()
        };
        assert_eq!(env.gpu_name().as_deref(), Some("NVIDIA H100 80GB HBM3"));
        assert_eq!(env.gpu_count(), Some(2));
        assert_eq!(
            env.describe(),
            "2 × NVIDIA H100 80GB HBM3 (driver 550.54.15, CUDA 12.4) · vllm 0.6.3"
        );
        env.gpus[1].name = "NVIDIA A100-SXM4-80GB".into();
        assert_eq!(
            env.gpu_name().as_deref(),
            Some("NVIDIA A100-SXM4-80GB + NVIDIA H100 80GB HBM3")
        );
        assert_eq!(Environment::default().gpu_count(), None);
    }
}
