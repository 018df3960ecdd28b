use super::cells::signed;
use super::*;
use crate::compare::metric::{EffectiveThreshold, Kind, MetricId};
use crate::compare::verdict::{
    BaselineInfo, Comparison, Method, MetricComparison, Outcome, ScenarioComparison,
};
use crate::config::thresholds::{Thresholds, Tolerance};

fn row(
    metric: MetricId,
    verdict: Verdict,
    values: (f64, f64),
    ci: (f64, f64),
    gated: bool,
) -> MetricComparison {
    let t = Thresholds::default();
    let tolerance = metric.tolerance(&t);
    let (base, cur) = values;
    let delta = match metric.kind() {
        Kind::SuccessRate => base - cur,
        _ => metric.orientation() * (cur / base).ln(),
    };
    MetricComparison {
        metric,
        gated,
        method: if metric == MetricId::SuccessRate {
            Method::Fisher
        } else {
            Method::Welch
        },
        low_confidence: false,
        baseline: Some(base),
        current: Some(cur),
        delta: Some(delta),
        ci_low: Some(ci.0),
        ci_high: Some(ci.1),
        p_worse: Some(if delta > 0.0 { 0.0004 } else { 0.9996 }),
        p_better: Some(if delta > 0.0 { 0.9996 } else { 0.0004 }),
        p_adjusted: Some(0.002),
        tolerance,
        min_effect: EffectiveThreshold::of(metric, tolerance, base).delta(metric),
        threshold: Some(EffectiveThreshold::of(metric, tolerance, base)),
        trials_used: None,
        between_run_sd: Some(0.01),
        partial: false,
        verdict,
        note: None,
        forced: false,
    }
}

fn fixture() -> Comparison {
    let compared = ScenarioComparison {
        scenario: "chat".into(),
        status: Status::Compared,
        baseline_path: "baselines/sim/chat.json".into(),
        baseline: Some(BaselineInfo {
            created_at: "2025-01-01T12:00:00+00:00".into(),
            blessed_by: Some("alice".into()),
            reason: Some("vLLM 0.6.3".into()),
            git_commit: Some("0123456789abcdef0123".into()),
            run_id: "20250101-120000-sim".into(),
            trials: 5,
            tool_version: "0.1.0".into(),
            runs: 1,
        }),
        current_trials: 4,
        not_comparable: vec![],
        warnings: vec!["new error kind `timeout` (2 requests): never seen in the baseline".into()],
        server_state: Some(crate::compare::server_state::StateComparison {
            baseline: crate::compare::server_state::SideState {
                state: crate::compare::server_state::TrialServerState {
                    prefix_cache_hit_rate: Some(0.0),
                    requests_running_at_start: Some(0.0),
                    ..Default::default()
                },
                server: Some("vllm 0.6.3".into()),
            },
            current: crate::compare::server_state::SideState {
                state: crate::compare::server_state::TrialServerState {
                    prefix_cache_hit_rate: Some(0.01),
                    requests_running_at_start: Some(0.0),
                    ..Default::default()
                },
                server: Some("vllm 0.6.3".into()),
            },
            mismatches: vec![],
        }),
        alpha_share: 1.0,
        thresholds: Thresholds::default(),
        metrics: vec![
            row(
                MetricId::TtftP50,
                Verdict::Regression,
                (50.2, 60.4),
                (0.15, 0.22),
                true,
            ),
            row(
                MetricId::OutputTokensPerS,
                Verdict::Improvement,
                (1000.0, 1100.0),
                (-0.12, -0.07),
                true,
            ),
            MetricComparison {
                low_confidence: true,
                method: Method::Bootstrap,
                ..row(
                    MetricId::TpotP50,
                    Verdict::Inconclusive,
                    (5.0, 5.1),
                    (-0.03, 0.07),
                    true,
                )
            },
            row(
                MetricId::SuccessRate,
                Verdict::WithinNoise,
                (1.0, 0.998),
                (-0.004, 0.009),
                true,
            ),
            row(
                MetricId::ItlP90,
                Verdict::WithinNoise,
                (5.4, 5.41),
                (-0.01, 0.012),
                false,
            ),
            MetricComparison {
                note: Some("output length changed".into()),
                tolerance: Tolerance {
                    relative: 0.05,
                    absolute: 5.0,
                },
                ..row(
                    MetricId::E2eP90,
                    Verdict::NotComparable,
                    (700.0, 650.0),
                    (-0.1, -0.05),
                    false,
                )
            },
        ],
    };
    let new = ScenarioComparison {
        scenario: "long".into(),
        status: Status::New,
        baseline_path: "baselines/sim/long.json".into(),
        baseline: None,
        current_trials: 4,
        not_comparable: vec![],
        warnings: vec![],
        server_state: None,
        alpha_share: 1.0,
        thresholds: Thresholds::default(),
        metrics: vec![],
    };
    let other = ScenarioComparison {
        scenario: "burst".into(),
        status: Status::NotComparable,
        baseline_path: "baselines/sim/burst.json".into(),
        not_comparable: vec!["model: `a` in the baseline, `b` now".into()],
        ..new.clone()
    };
    Comparison {
        schema_version: 1,
        tool_version: "0.1.0".into(),
        run_id: "20250102-120000-sim".into(),
        target: "sim".into(),
        baseline_dir: "baselines".into(),
        correction: "holm".into(),
        gated_tests: 4,
        strict: false,
        sequential_looks: 1,
        totals: Totals {
            regressions: 1,
            improvements: 1,
            within_noise: 1,
            inconclusive: 1,
            not_comparable: 1,
            new: 1,
        },
        outcome: Outcome::Regression,
        scenarios: vec![compared, new, other],
    }
}

#[test]
fn comparison_md() {
    insta::assert_snapshot!(markdown(&fixture()));
}

#[test]
fn console_table() {
    insta::assert_snapshot!(console(&fixture()));
}

#[test]
fn headline_pluralises() {
    let t = Totals {
        regressions: 2,
        improvements: 1,
        within_noise: 14,
        inconclusive: 1,
        ..Totals::default()
    };
    assert_eq!(
        headline(&t),
        "❌ 2 regressions · ✅ 1 improvement · ⚪ 14 within noise · ❔ 1 inconclusive"
    );
}

#[test]
fn signs_never_show_negative_zero() {
    assert_eq!(signed(-0.0, 1), "0.0");
    assert_eq!(signed(-0.04, 1), "0.0");
    assert_eq!(signed(-1.25, 1), "−1.2");
    assert_eq!(signed(3.0, 1), "+3.0");
}
