//! Before the first trial: which sources can be read (NVML, the server's and
//! DCGM's metrics pages), what the environment is; then, per trial, starting every
//! source with a first reading.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::fingerprint::{self, Environment};
use super::options::TelemetryOptions;
use super::record::{PromSample, ScrapeSource};
use super::running::{sample_gpus, scrape_loop, RunningSampler};
use super::urls::{is_loopback, metrics_url};
use super::{nvml, prometheus};

/// A scrape slower than this counts as failed.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// The sources a run reads, decided once before its first request.
#[derive(Debug)]
pub struct TelemetrySampler {
    gpus: Option<nvml::Gpus>,
    gpu_interval: Duration,
    server_url: Option<String>,
    dcgm_url: Option<String>,
    scrape_interval: Duration,
    client: reqwest::Client,
}

/// Where the run's requests go, as far as telemetry cares.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub base_url: &'a str,
    /// The built-in simulated server, which uses no GPU.
    pub is_sim: bool,
    pub api_key: Option<&'a str>,
    /// Certificates to trust for an `https://` target (`--ca-cert`).
    pub ca_cert: Option<&'a crate::client::CaCert>,
}

impl TelemetrySampler {
    /// Opens NVML, reads each Prometheus endpoint once and asks the server what it
    /// is. A source that cannot be used is dropped with one line on stderr saying
    /// why and how to change it; the run always goes on.
    pub async fn prepare(
        options: &TelemetryOptions,
        target: Target<'_>,
    ) -> (TelemetrySampler, Environment) {
        let client = crate::client::trust::trusting(reqwest::Client::builder(), target.ca_cert)
            .timeout(SCRAPE_TIMEOUT)
            .no_proxy()
            .build()
            .unwrap_or_default();
        let mut env = Environment::default();
        let mut sampler = TelemetrySampler {
            gpus: None,
            gpu_interval: options.gpu_interval,
            server_url: None,
            dcgm_url: None,
            scrape_interval: options.scrape_interval,
            client,
        };
        let mut metrics_engine = None;
        if options.enabled {
            sampler.gpus = open_gpus(options, target, &mut env).await;
            if let Some(url) = metrics_url(&options.metrics, target.base_url) {
                match sampler.probe(&url).await {
                    Ok(samples) => {
                        metrics_engine = prometheus::engine_of(&samples);
                        if metrics_engine.is_none() {
                            eprintln!("server metrics: {url} has no vLLM or SGLang series; its raw samples are kept in telemetry.jsonl");
                        }
                        sampler.server_url = Some(url);
                    }
                    Err(e) => eprintln!(
                        "server metrics not collected: {url}: {e} (set `metrics:` in targets.yaml or pass --metrics-url URL, or `off` to silence this)"
                    ),
                }
            }
            if let Some(url) = &options.dcgm_url {
                match sampler.probe(url).await {
                    Ok(samples) => {
                        if env.gpus.is_empty() {
                            let (gpus, driver) = fingerprint::dcgm_environment(&samples);
                            if !gpus.is_empty() {
                                env.gpus = gpus;
                                env.gpu_source = Some("dcgm".into());
                                env.driver_version = driver;
                                env.gpu_note = None;
                            }
                        }
                        sampler.dcgm_url = Some(url.clone());
                    }
                    Err(e) => eprintln!(
                        "DCGM exporter not read: {url}: {e}; GPU figures from it are not measured"
                    ),
                }
            }
        } else {
            env.gpu_note = Some("telemetry off (--no-telemetry)".into());
        }
        let info = fingerprint::server_info(
            target.base_url,
            target.api_key,
            target.ca_cert,
            metrics_engine,
        );
        env.server = Some(info.await);
        (sampler, env)
    }

    /// Fetches and parses a metrics page once.
    async fn probe(&self, url: &str) -> Result<Vec<PromSample>, String> {
        let text = prometheus::fetch(&self.client, url).await?;
        tokio::task::spawn_blocking(move || prometheus::parse(&text))
            .await
            .map_err(|e| format!("parser failed: {e}"))?
    }

    /// Whether anything is sampled during trials.
    pub fn is_active(&self) -> bool {
        self.gpus.is_some() || self.server_url.is_some() || self.dcgm_url.is_some()
    }

    /// Starts sampling for one trial; returns once every source has its first
    /// reading, so that reading precedes the trial's first request.
    pub async fn start(&self) -> RunningSampler {
        let gpu = self.gpus.clone().map(|gpus| {
            let interval = self.gpu_interval;
            let (stop_tx, stop_rx) = mpsc::channel::<()>();
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name("llm-bench-nvml".into())
                .spawn(move || sample_gpus(&gpus, interval, &stop_rx, ready_tx));
            (stop_tx, thread.ok(), ready_rx)
        });
        let mut running = RunningSampler {
            gpu: None,
            scrapers: Vec::new(),
        };
        for (source, url) in [
            (ScrapeSource::Server, &self.server_url),
            (ScrapeSource::Dcgm, &self.dcgm_url),
        ] {
            let Some(url) = url.clone() else { continue };
            let first = (Instant::now(), prometheus::fetch(&self.client, &url).await);
            let cancel = CancellationToken::new();
            let task = tokio::spawn(scrape_loop(
                self.client.clone(),
                url,
                self.scrape_interval,
                cancel.clone(),
                first,
            ));
            running.scrapers.push((source, cancel, task));
        }
        if let Some((stop, thread, ready)) = gpu {
            // The thread signals after its first tick; a thread that failed to start
            // drops the sender and this returns at once.
            let _ = ready.await;
            running.gpu = thread.map(|t| (stop, t));
        }
        running
    }
}

async fn open_gpus(
    options: &TelemetryOptions,
    target: Target<'_>,
    env: &mut Environment,
) -> Option<nvml::Gpus> {
    if !options.gpus_explicit && target.is_sim {
        env.gpu_note = Some("the built-in simulated server uses no GPU".into());
        return None;
    }
    if !options.gpus_explicit && !is_loopback(target.base_url) {
        let host = reqwest::Url::parse(target.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let note = format!(
            "GPU power and energy are not measured: the server ({host}) is not on this machine (pass --gpus to measure this machine's GPUs anyway, or --dcgm-url for the server's)"
        );
        eprintln!("{note}");
        env.gpu_note = Some(note);
        return None;
    }
    let selection = match &options.gpus {
        Some(s) => s.clone(),
        None => {
            let note = "no NVIDIA GPU visible (CUDA_VISIBLE_DEVICES hides them all); GPU power and energy are not measured";
            eprintln!("{note}");
            env.gpu_note = Some(note.into());
            return None;
        }
    };
    let library = options.nvml_library.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let gpus = nvml::open(&selection, library.as_deref())?;
        let description = gpus.describe();
        Ok::<_, String>((gpus, description))
    })
    .await
    .unwrap_or_else(|e| Err(format!("NVML: {e}")));
    match opened {
        Ok((gpus, (info, driver, cuda))) => {
            env.gpus = info;
            env.gpu_source = Some("nvml".into());
            env.driver_version = driver;
            env.cuda_version = cuda;
            eprintln!(
                "GPU telemetry: {} through NVML every {:?}",
                env.describe(),
                options.gpu_interval
            );
            Some(gpus)
        }
        Err(why) => {
            let note =
                format!("no NVIDIA GPU visible ({why}); GPU power and energy are not measured");
            eprintln!("{note}");
            env.gpu_note = Some(note);
            None
        }
    }
}
