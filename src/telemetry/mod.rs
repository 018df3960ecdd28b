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
//! [`Instant`]s until the trial's start instant is known, then become
//! [`TelemetryRecord`]s on the request rows' clock, written to `telemetry.jsonl` and
//! summarised by [`summary`] over the trial's measured window.

pub mod energy;
pub mod fingerprint;
pub mod nvml;
pub mod prometheus;
pub mod record;
pub mod server_state;
pub mod summary;

use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::MetricsSource;
pub use fingerprint::Environment;
pub use record::{GpuSample, GpuSource, PromSample, Scrape, ScrapeSource, TelemetryRecord};
pub use server_state::ServerAtStart;
pub use summary::{Telemetry, TelemetryAccumulator};

pub const DEFAULT_GPU_INTERVAL: Duration = Duration::from_millis(250);
pub const DEFAULT_SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
/// A scrape slower than this counts as failed.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// `scheme://host:port` of a URL (where vLLM and SGLang serve `/metrics` and
/// `/version`, outside the `/v1` API root).
pub fn origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_string(),
    }
}

/// Where the server's metrics are scraped, if anywhere.
pub fn metrics_url(source: &MetricsSource, base_url: &str) -> Option<String> {
    match source {
        MetricsSource::Default => Some(format!("{}/metrics", origin(base_url))),
        MetricsSource::Url(url) => Some(url.clone()),
        MetricsSource::Off => None,
    }
}

/// Whether a URL points at this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

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

/// Readings of one tick: when, which GPU, what.
type GpuTick = (Instant, u32, nvml::Reading);

/// The NVML thread: a tick now, then one every `interval` on an absolute schedule
/// (a slow tick never shifts the later ones), and a last one when told to stop.
fn sample_gpus(
    gpus: &nvml::Gpus,
    interval: Duration,
    stop: &mpsc::Receiver<()>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> Vec<GpuTick> {
    let mut out = Vec::new();
    let tick = |out: &mut Vec<GpuTick>| {
        let at = Instant::now();
        out.extend(gpus.read().into_iter().map(|(gpu, r)| (at, gpu, r)));
    };
    let started = Instant::now();
    tick(&mut out);
    let _ = ready.send(());
    let interval_ns = interval.as_nanos().max(1);
    loop {
        let elapsed = started.elapsed().as_nanos();
        let next = u32::try_from(elapsed / interval_ns + 1).unwrap_or(u32::MAX);
        let wait = (started + interval * next).saturating_duration_since(Instant::now());
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => tick(&mut out),
            // Told to stop, or the run dropped the sampler.
            _ => {
                tick(&mut out);
                return out;
            }
        }
    }
}

type RawScrape = (Instant, Result<String, String>);

/// Fetches a metrics page every `interval` until cancelled, then once more.
async fn scrape_loop(
    client: reqwest::Client,
    url: String,
    interval: Duration,
    cancel: CancellationToken,
    first: RawScrape,
) -> Vec<RawScrape> {
    let mut out = vec![first];
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {
                let at = Instant::now();
                out.push((at, prometheus::fetch(&client, &url).await));
            }
        }
    }
    out.push((Instant::now(), prometheus::fetch(&client, &url).await));
    out
}

/// Sampling in progress for one trial.
#[derive(Debug)]
pub struct RunningSampler {
    gpu: Option<(mpsc::Sender<()>, std::thread::JoinHandle<Vec<GpuTick>>)>,
    scrapers: Vec<(ScrapeSource, CancellationToken, JoinHandle<Vec<RawScrape>>)>,
}

/// Milliseconds from `origin` to `at`, negative when `at` came first.
fn ms_since(origin: Instant, at: Instant) -> f64 {
    match at.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -(origin.duration_since(at).as_secs_f64() * 1000.0),
    }
}

impl RunningSampler {
    /// Takes a last reading of every source and returns the trial's records on the
    /// clock of its request rows (`origin` is the trial's start instant), in time
    /// order. Parsing happens here, off the request path.
    pub async fn stop(self, origin: Instant, scenario: &str, trial: u32) -> Vec<TelemetryRecord> {
        let ticks = match self.gpu {
            Some((stop, thread)) => {
                let _ = stop.send(());
                tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
                    .await
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        let mut raw = Vec::new();
        for (source, cancel, task) in self.scrapers {
            cancel.cancel();
            if let Ok(scrapes) = task.await {
                raw.extend(scrapes.into_iter().map(|s| (source, s)));
            }
        }
        let scenario = scenario.to_string();
        tokio::task::spawn_blocking(move || {
            let mut records: Vec<TelemetryRecord> = ticks
                .into_iter()
                .map(|(at, gpu, r)| {
                    TelemetryRecord::Gpu(GpuSample {
                        scenario: scenario.clone(),
                        trial,
                        t_ms: ms_since(origin, at),
                        gpu,
                        power_w: r.power_w,
                        energy_mj: r.energy_mj,
                        gpu_util_pct: r.gpu_util_pct,
                        memory_used_mib: r.memory_used_mib,
                        sm_clock_mhz: r.sm_clock_mhz,
                        temperature_c: r.temperature_c,
                    })
                })
                .collect();
            for (source, (at, text)) in raw {
                let (samples, error) = match text.and_then(|t| prometheus::parse(&t)) {
                    Ok(samples) => (samples, None),
                    Err(e) => (Vec::new(), Some(e)),
                };
                records.push(TelemetryRecord::Scrape(Scrape {
                    scenario: scenario.clone(),
                    trial,
                    t_ms: ms_since(origin, at),
                    source,
                    samples,
                    error,
                }));
            }
            records.sort_by(|a, b| record_t(a).total_cmp(&record_t(b)));
            records
        })
        .await
        .unwrap_or_default()
    }
}

fn record_t(r: &TelemetryRecord) -> f64 {
    match r {
        TelemetryRecord::Gpu(s) => s.t_ms,
        TelemetryRecord::Scrape(s) => s.t_ms,
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

    #[test]
    fn urls() {
        assert_eq!(origin("http://10.0.0.5:8000/v1"), "http://10.0.0.5:8000");
        assert_eq!(
            metrics_url(&MetricsSource::Default, "http://h:8000/v1").as_deref(),
            Some("http://h:8000/metrics")
        );
        assert_eq!(metrics_url(&MetricsSource::Off, "http://h:8000/v1"), None);
        assert!(is_loopback("http://127.0.0.1:8000/v1"));
        assert!(is_loopback("http://localhost:8000/v1"));
        assert!(is_loopback("http://[::1]:8000/v1"));
        assert!(!is_loopback("http://10.0.0.5:8000/v1"));
        assert!(!is_loopback("https://api.example.com/v1"));
    }

    #[test]
    fn sample_times_are_on_the_trial_clock() {
        let origin = Instant::now();
        let later = origin + Duration::from_millis(1500);
        assert!((ms_since(origin, later) - 1500.0).abs() < 1e-9);
        assert!((ms_since(later, origin) + 1500.0).abs() < 1e-9);
    }
}
