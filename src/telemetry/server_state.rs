//! What the server was doing when a trial started: its gauges in the trial's first
//! scrape, taken before the trial's first request.
//!
//! A trial that starts while the server still runs other requests, or with its KV
//! cache already full, measures a different server than one that starts idle; the
//! baseline keeps these numbers so a comparison can tell (and refuse) such a pair
//! instead of calling the difference a regression.

use serde::{Deserialize, Serialize};

use super::prometheus::{gauge_value, GaugeName};
use super::record::Scrape;

/// The server's gauges at the start of a trial; each absent when the server does
/// not expose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerAtStart {
    /// Requests the server was running (vLLM `num_requests_running`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_running: Option<f64>,
    /// Requests queued (vLLM `num_requests_waiting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_waiting: Option<f64>,
    /// Share of the KV cache in use, 0–1 (vLLM `kv_cache_usage_perc`, older
    /// `gpu_cache_usage_perc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_usage: Option<f64>,
}

impl ServerAtStart {
    /// From the earliest successful scrape of a trial; `None` when none succeeded
    /// or it held none of the gauges.
    pub fn of(scrapes: &[&Scrape]) -> Option<ServerAtStart> {
        let first = scrapes
            .iter()
            .filter(|s| s.error.is_none())
            .min_by(|a, b| a.t_ms.total_cmp(&b.t_ms))?;
        let state = ServerAtStart {
            requests_running: gauge_value(&first.samples, GaugeName::RequestsRunning),
            requests_waiting: gauge_value(&first.samples, GaugeName::RequestsWaiting),
            kv_cache_usage: gauge_value(&first.samples, GaugeName::KvCacheUsage),
        };
        (state != ServerAtStart::default()).then_some(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::record::{PromSample, ScrapeSource};

    fn scrape(t_ms: f64, running: f64, kv: f64) -> Scrape {
        let sample = |name: &str, value: f64| PromSample {
            name: name.into(),
            labels: Default::default(),
            value,
        };
        Scrape {
            scenario: "s".into(),
            trial: 0,
            t_ms,
            source: ScrapeSource::Server,
            samples: vec![
                sample("vllm:num_requests_running", running),
                sample("vllm:num_requests_waiting", 0.0),
                sample("vllm:gpu_cache_usage_perc", kv),
            ],
            error: None,
        }
    }

    #[test]
    fn the_earliest_successful_scrape_is_the_state_at_start() {
        let late = scrape(500.0, 4.0, 0.6);
        let first = scrape(-1.0, 2.0, 0.25);
        let mut failed = scrape(-5.0, 9.0, 0.9);
        failed.error = Some("refused".into());
        let state = ServerAtStart::of(&[&late, &first, &failed]).unwrap();
        assert_eq!(state.requests_running, Some(2.0));
        assert_eq!(state.requests_waiting, Some(0.0));
        assert_eq!(state.kv_cache_usage, Some(0.25), "the older vLLM name");
        assert_eq!(ServerAtStart::of(&[&failed]), None);
    }
}
