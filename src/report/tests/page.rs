//! Tests of `report.html` on the shared fixtures: every chart and nothing external,
//! a baseline's overlay and verdict, load sweeps, and the size budget at 100,000
//! requests.

use super::{build, fixture, fixture_manifest, run_meta, spec, synthetic_rows, Synthetic};
use crate::manifest::{LoadSpec, Manifest, SloSpec, SCHEMA_VERSION};
use crate::report::html;

#[test]
fn html_has_every_chart_and_nothing_external() {
    let (summary, series) = fixture();
    let page = html::render(&summary, &series, None);
    assert!(page.starts_with("<!doctype html>"));
    for needle in ["http://", "https://", "<link", "src=", "@import", "url("] {
        let hits: Vec<&str> = page
            .lines()
            .filter(|l| l.contains(needle) && !l.contains("xmlns=\"http://www.w3.org/2000/svg\""))
            .collect();
        assert!(hits.is_empty(), "external reference `{needle}`: {hits:?}");
    }
    // Six charts per scenario plus three per sweep (none here: different loop kinds).
    assert_eq!(page.matches("<svg ").count(), 6 * 2, "{page}");
    assert_eq!(page.matches("<figure>").count(), 12);
    assert!(page.contains("chat-short") && page.contains("rate_limited"));
    assert!(page.contains("TTFT (ms)") && page.contains("requests in flight"));
    // Rendering is pure: the same inputs give the same bytes.
    assert_eq!(page, html::render(&summary, &series, None));
}

#[test]
fn html_overlays_a_baseline_and_shows_the_verdict() {
    let (summary, series) = fixture();
    let view = html::BaselineView {
        label: "baselines/main".into(),
        series: Some(&series),
        verdict: Some(html::Verdict {
            status: html::VerdictStatus::Regression,
            text: "TTFT p50 +12% in `chat-short`".into(),
        }),
    };
    let page = html::render(&summary, &series, Some(&view));
    assert!(page.contains("class=\"verdict bad\""));
    assert!(page.contains("TTFT p50 +12% in `chat-short`"));
    assert!(page.contains("TTFT distribution vs baseline"));
    assert_eq!(
        page.matches(">\nbaseline\n<").count(),
        2 * 2,
        "one legend entry per CDF"
    );
}

#[test]
fn html_draws_sweeps() {
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run: run_meta(),
        scenarios: [1u32, 4, 16]
            .iter()
            .map(|&c| {
                spec(
                    &format!("c{c}"),
                    LoadSpec::Closed { concurrency: c },
                    40,
                    1,
                    SloSpec {
                        ttft_ms: Some(70.0),
                        tpot_ms: None,
                        e2e_ms: None,
                    },
                )
            })
            .collect(),
    };
    let (summary, series) = build(&manifest, |spec, trial, f| {
        let c = match spec.load {
            LoadSpec::Closed { concurrency } => f64::from(concurrency),
            LoadSpec::Open { .. } | LoadSpec::Trace { .. } => 1.0,
        };
        let shape = Synthetic {
            ttft_ms: 30.0 + 3.0 * c,
            itl_ms: 4.0 + 0.2 * c,
            tokens: 16,
            error_rate: 0.0,
        };
        synthetic_rows(spec, trial, 40, &shape, f)
    });
    let sweeps = crate::report::series::sweeps(&summary);
    assert_eq!(sweeps.len(), 1);
    assert_eq!(
        sweeps[0]
            .points
            .iter()
            .map(|p| p.offered)
            .collect::<Vec<_>>(),
        [1.0, 4.0, 16.0]
    );
    let page = html::render(&summary, &series, None);
    assert!(page.contains("id=\"sweeps\""));
    assert_eq!(page.matches("<svg ").count(), 6 * 3 + 3);
    assert!(page.contains("goodput: met the SLO / s"));
}

/// The size budget: a run of 100,000 requests (two scenarios of 50,000, 64 tokens
/// each) renders to under 512 KiB of HTML, because every chart is downsampled; the
/// page's size depends on the number of scenarios, not of requests. The budget is
/// stated in docs/reports.md.
#[test]
fn html_for_100k_requests_stays_under_budget() {
    const BUDGET_BYTES: usize = 512 * 1024;
    let mut manifest = fixture_manifest(&["closed-100k", "open-100k"]);
    manifest.scenarios[0].load = LoadSpec::Closed { concurrency: 64 };
    manifest.scenarios[1].load = LoadSpec::Open {
        rate: 200.0,
        arrival: "poisson".into(),
        burstiness: None,
        max_concurrency: None,
    };
    let (summary, series) = build(&manifest, |spec, trial, f| {
        let shape = Synthetic {
            ttft_ms: 80.0,
            itl_ms: 8.0,
            tokens: 64,
            error_rate: 0.01,
        };
        synthetic_rows(spec, trial, 50_000 - spec.warmup, &shape, f)
    });
    let total: u64 = summary
        .scenarios
        .iter()
        .map(|s| s.metrics.requests.total)
        .sum();
    assert_eq!(total, 100_000);
    let page = html::render(&summary, &series, None);
    eprintln!("report.html for 100,000 requests: {} bytes", page.len());
    assert!(
        page.len() < BUDGET_BYTES,
        "{} bytes, budget {BUDGET_BYTES}",
        page.len()
    );
    for s in &series.scenarios {
        assert!(s.timeline.points.len() <= crate::report::series::MAX_TIME_POINTS);
        assert!(s.ttft_cdf.len() <= crate::report::series::MAX_CDF_POINTS);
    }
}
