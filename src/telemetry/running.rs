//! A trial being sampled: the NVML thread and the scrape tasks, and stopping them
//! into `TelemetryRecord`s on the trial's clock.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::record::{GpuSample, Scrape, ScrapeSource, TelemetryRecord};
use super::{nvml, prometheus};

/// Readings of one tick: when, which GPU, what.
pub(super) type GpuTick = (Instant, u32, nvml::Reading);

/// The NVML thread: a tick now, then one every `interval` on an absolute schedule
/// (a slow tick never shifts the later ones), and a last one when told to stop.
pub(super) fn sample_gpus(
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

pub(super) type RawScrape = (Instant, Result<String, String>);

/// Fetches a metrics page every `interval` until cancelled, then once more.
pub(super) async fn scrape_loop(
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
    pub(super) gpu: Option<(mpsc::Sender<()>, std::thread::JoinHandle<Vec<GpuTick>>)>,
    pub(super) scrapers: Vec<(ScrapeSource, CancellationToken, JoinHandle<Vec<RawScrape>>)>,
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
    fn sample_times_are_on_the_trial_clock() {
        let origin = Instant::now();
        let later = origin + Duration::from_millis(1500);
        assert!((ms_since(origin, later) - 1500.0).abs() < 1e-9);
        assert!((ms_since(later, origin) + 1500.0).abs() < 1e-9);
    }
}
