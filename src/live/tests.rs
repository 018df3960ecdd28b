//! The live metrics against the summary, on the same rows: every counter equals the
//! summary's count and every histogram holds as many samples as the summary's
//! statistic, trial by trial; the summary gauges carry the summary's figures.

use std::collections::BTreeMap;

use serde_json::json;

use super::{LiveRun, Recorder, RunLabels};
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::{ClientHealth, Stats, Summary};
use crate::record::RequestRow;
use crate::telemetry::record::PromSample;

/// A row with what every row has; `extra` adds or replaces fields.
fn row(scenario: &str, trial: u32, index: u64, extra: serde_json::Value) -> RequestRow {
    let mut base = json!({
        "scenario": scenario, "trial": trial, "index": index, "warmup": false, "ok": true,
        "scheduled_ms": index as f64 * 10.0, "start_ms": index as f64 * 10.0 + 0.4,
        "end_ms": index as f64 * 10.0 + 90.0, "send_lag_ms": 0.4 + index as f64 * 0.3,
        "ttft_ms": 20.0 + index as f64, "response_ttft_ms": 20.4 + index as f64,
        "e2e_ms": 89.6, "response_e2e_ms": 90.0, "tpot_ms": 4.9,
        "itl_ms": [4.0, 5.5, 6.25, 0.0], "prompt_tokens": 64, "output_tokens": 5,
        "chunks": 5, "token_source": "usage", "in_flight": 1,
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::from_value(base).unwrap()
}

fn failed(kind: &str) -> serde_json::Value {
    json!({"ok": false, "error_kind": kind, "error": "boom", "ttft_ms": null,
           "tpot_ms": null, "itl_ms": [], "output_tokens": 0, "chunks": 0})
}

/// Every kind of row the summary tells apart, in each of two trials of two scenarios.
fn rows() -> Vec<RequestRow> {
    let mut rows = Vec::new();
    for scenario in ["chat", "long"] {
        for trial in 0..2 {
            let mut i = 0..;
            let mut add = |extra| rows.push(row(scenario, trial, i.next().unwrap(), extra));
            add(json!({"warmup": true}));
            add(json!({"warmup": true, "ok": false, "error_kind": "timeout", "error": "slow"}));
            for _ in 0..(5 + trial * 3) {
                add(json!({}));
            }
            add(json!({"prompt_tokens": null, "itl_ms": [], "tpot_ms": null, "output_tokens": 1}));
            add(json!({"ttft_ms": null, "tpot_ms": null, "itl_ms": [], "output_tokens": 0}));
            add(failed("http_5xx"));
            add(failed("http_5xx"));
            add(failed("timeout"));
            add(failed("cancelled"));
            add(failed("dropped"));
            add(json!({"send_lag_ms": 2500.0}));
        }
    }
    rows
}

fn fed(rows: &[RequestRow]) -> (Summary, Vec<PromSample>, String) {
    let mut manifest = crate::report::tests::fixture_manifest(&["chat", "long"]);
    for s in &mut manifest.scenarios {
        s.trials = 2;
    }
    let live = LiveRun::standalone(RunLabels {
        run_id: manifest.run.id.clone(),
        target: manifest.run.target.clone(),
        model: manifest.run.model.clone(),
    });
    let mut summary = SummaryBuilder::new(manifest);
    let mut recorder = Recorder::new(live.clone());
    for r in rows {
        summary.add(r);
        recorder.observe(r);
    }
    for (scenario, trial, limited) in [
        ("chat", 0, false),
        ("chat", 1, true),
        ("long", 0, false),
        ("long", 1, false),
    ] {
        let health = ClientHealth {
            client_limited: limited,
            cpu_utilisation: 0.25,
            ..ClientHealth::default()
        };
        recorder.trial_finished(scenario, trial, &health);
        summary.add_health(scenario, trial, health);
    }
    let summary = summary.finish();
    live.summarise(&summary);
    let mut text = String::new();
    live.metrics().encode_prometheus_text(&mut text).unwrap();
    let samples = crate::telemetry::prometheus::parse(&text).unwrap();
    let mut openmetrics = String::new();
    live.metrics().encode_openmetrics(&mut openmetrics).unwrap();
    (summary, samples, openmetrics)
}

/// The sum of `name` over the samples whose labels include `labels`.
fn value(samples: &[PromSample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn count(stats: Option<Stats>) -> f64 {
    stats.map_or(0.0, |s| s.count as f64)
}

#[test]
fn counters_and_histograms_equal_the_summary_trial_by_trial() {
    let (summary, samples, _) = fed(&rows());
    for s in &summary.scenarios {
        for (trial, m) in s.trials.iter().enumerate() {
            let trial = trial.to_string();
            let at = [("scenario", s.name.as_str()), ("trial", trial.as_str())];
            let v = |name: &str| value(&samples, name, &at);
            let with = |name: &str, k: &str, val: &str| {
                let mut labels = at.to_vec();
                labels.push((k, val));
                value(&samples, name, &labels)
            };
            let c = &m.requests;
            assert_eq!(v("llm_bench_requests_completed_total"), c.succeeded as f64);
            assert_eq!(v("llm_bench_requests_failed_total"), c.failed as f64);
            for (kind, n) in &m.errors {
                assert_eq!(
                    with(
                        "llm_bench_requests_failed_total",
                        "error_kind",
                        kind.as_str()
                    ),
                    *n as f64,
                    "{kind}"
                );
            }
            assert_eq!(
                with("llm_bench_requests_excluded_total", "reason", "warmup"),
                c.warmup as f64
            );
            assert_eq!(
                with("llm_bench_requests_excluded_total", "reason", "cancelled"),
                c.cancelled as f64
            );
            assert_eq!(
                with("llm_bench_requests_excluded_total", "reason", "dropped"),
                c.dropped as f64
            );
            assert_eq!(
                v("llm_bench_output_tokens_total"),
                m.output_tokens_total as f64
            );
            assert_eq!(
                v("llm_bench_prompt_tokens_total"),
                m.prompt_tokens_total as f64
            );
            assert_eq!(v("llm_bench_ttft_seconds_count"), count(m.ttft_ms));
            assert_eq!(v("llm_bench_tpot_seconds_count"), count(m.tpot_ms));
            assert_eq!(v("llm_bench_itl_seconds_count"), count(m.itl_ms));
            assert_eq!(v("llm_bench_e2e_seconds_count"), count(m.e2e_ms));
            assert_eq!(
                v("llm_bench_send_lag_seconds_count"),
                count(m.schedule.send_lag_ms)
            );
            // The sums are the summary's means × counts, in seconds.
            for (name, stats) in [
                ("llm_bench_ttft_seconds_sum", m.ttft_ms),
                ("llm_bench_itl_seconds_sum", m.itl_ms),
            ] {
                let stats = stats.unwrap();
                let expected = stats.mean * stats.count as f64 / 1000.0;
                assert!(
                    (v(name) - expected).abs() < 1e-9,
                    "{name}: {} vs {expected}",
                    v(name)
                );
            }
            let limited = m.client_health.as_ref().unwrap().client_limited;
            assert_eq!(v("llm_bench_client_limited"), f64::from(u8::from(limited)));
            assert_eq!(v("llm_bench_client_cpu_utilisation"), 0.25);
        }
    }
}

#[test]
fn histogram_buckets_place_values_by_le() {
    let (_, samples, _) = fed(&rows());
    let bucket = |le: &str| {
        value(
            &samples,
            "llm_bench_itl_seconds_bucket",
            &[("scenario", "chat"), ("trial", "0"), ("le", le)],
        )
    };
    // Per full row: gaps 4, 5.5, 6.25 and 0 ms; 6 full rows in trial 0.
    assert_eq!(bucket("0.0001"), 6.0); // the 0 ms gaps
    assert_eq!(bucket("0.005"), 12.0); // + 4 ms
    assert_eq!(bucket("0.0075"), 24.0); // + 5.5 and 6.25 ms
    assert_eq!(bucket("+Inf"), 24.0);
    let lag = |le: &str| {
        value(
            &samples,
            "llm_bench_send_lag_seconds_bucket",
            &[("scenario", "chat"), ("trial", "0"), ("le", le)],
        )
    };
    assert_eq!(
        lag("+Inf") - lag("2.5"),
        0.0,
        "a 2.5 s lag is in the 2.5 s bucket"
    );
    assert_eq!(lag("2.5") - lag("1.0"), 1.0);
}

#[test]
fn summary_gauges_carry_the_summarys_figures() {
    let (summary, samples, _) = fed(&rows());
    for s in &summary.scenarios {
        let m = &s.metrics;
        let at = |stat: &'static str| [("scenario", s.name.as_str()), ("stat", stat)];
        let ttft = m.ttft_ms.unwrap();
        assert_eq!(
            value(&samples, "llm_bench_result_ttft_seconds", &at("p50")),
            ttft.p50 / 1000.0
        );
        assert_eq!(
            value(&samples, "llm_bench_result_ttft_seconds", &at("p99")),
            ttft.p99 / 1000.0
        );
        assert_eq!(
            value(&samples, "llm_bench_result_e2e_seconds", &at("mean")),
            m.e2e_ms.unwrap().mean / 1000.0
        );
        let of = |name| value(&samples, name, &[("scenario", s.name.as_str())]);
        assert_eq!(of("llm_bench_result_requests_per_second"), m.requests_per_s);
        assert_eq!(
            of("llm_bench_result_output_tokens_per_second"),
            m.output_tokens_per_s
        );
        assert_eq!(
            of("llm_bench_result_success_ratio"),
            m.success_rate.unwrap()
        );
        let limited = m.client_health.as_ref().unwrap().client_limited;
        assert_eq!(
            of("llm_bench_result_client_limited"),
            f64::from(u8::from(limited))
        );
    }
    // One trial of `chat` was client-limited: the pooled figure says so.
    assert_eq!(
        value(
            &samples,
            "llm_bench_result_client_limited",
            &[("scenario", "chat")]
        ),
        1.0
    );
}

/// Every series carries the run's identity and its place in the run, and nothing
/// per request: the label names are a closed set.
#[test]
fn labels_are_bounded() {
    let (_, samples, _) = fed(&rows());
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &samples {
        for k in s.labels.keys() {
            *names.entry(k.as_str()).or_default() += 1;
        }
        assert_eq!(s.labels["run_id"], "20250101-120000-sim", "{s:?}");
        assert_eq!(s.labels["target"], "sim");
        assert_eq!(s.labels["model"], "sim-model");
        assert!(s.name.starts_with("llm_bench_"), "{}", s.name);
    }
    let allowed = [
        "run_id",
        "target",
        "model",
        "scenario",
        "trial",
        "error_kind",
        "reason",
        "stat",
        "le",
    ];
    assert!(names.keys().all(|k| allowed.contains(k)), "{names:?}");
}

#[test]
fn openmetrics_exposition_parses() {
    let (_, _, text) = fed(&rows());
    assert!(text.ends_with("# EOF\n"));
    openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    assert!(text.contains("# TYPE llm_bench_ttft_seconds histogram\n"));
}
