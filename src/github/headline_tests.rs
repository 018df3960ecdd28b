use super::*;
use crate::compare::metric::MetricId;
use crate::compare::verdict::{Method, Outcome, Totals};
use crate::config::thresholds::Thresholds;

fn row(
    metric: MetricId,
    base: f64,
    current: f64,
    verdict: Verdict,
    gated: bool,
) -> MetricComparison {
    let tolerance = metric.tolerance(&Thresholds::default());
    let delta = match metric.kind() {
        Kind::SuccessRate => base - current,
        _ => metric.orientation() * (current / base).ln(),
    };
    MetricComparison {
        metric,
        gated,
        method: Method::Welch,
        low_confidence: false,
        baseline: Some(base),
        current: Some(current),
        delta: Some(delta),
        ci_low: Some(delta - 0.01),
        ci_high: Some(delta + 0.01),
        p_worse: None,
        p_better: None,
        p_adjusted: None,
        tolerance,
        min_effect: 0.05,
        threshold: None,
        trials_used: None,
        between_run_sd: None,
        partial: false,
        verdict,
        note: None,
        forced: false,
    }
}

fn scenario(name: &str, status: Status, metrics: Vec<MetricComparison>) -> ScenarioComparison {
    ScenarioComparison {
        scenario: name.into(),
        status,
        baseline_path: format!("baselines/sim/{name}.json"),
        baseline: None,
        current_trials: 4,
        not_comparable: if status == Status::NotComparable {
            vec!["max_tokens differs".into()]
        } else {
            vec![]
        },
        warnings: vec![],
        thresholds: Thresholds::default(),
        server_state: None,
        alpha_share: 1.0,
        metrics,
    }
}

fn comparison(scenarios: Vec<ScenarioComparison>) -> Comparison {
    Comparison {
        schema_version: 1,
        tool_version: "0.1.0".into(),
        run_id: "r".into(),
        target: "sim".into(),
        baseline_dir: "baselines".into(),
        correction: "holm".into(),
        gated_tests: 0,
        sequential_looks: 1,
        strict: false,
        totals: Totals::default(),
        outcome: Outcome::Pass,
        scenarios,
    }
}

fn quiet(name: &str) -> ScenarioComparison {
    scenario(
        name,
        Status::Compared,
        vec![row(
            MetricId::TtftP50,
            50.0,
            50.2,
            Verdict::WithinNoise,
            true,
        )],
    )
}

fn ctx() -> RunContext {
    RunContext {
        commit: Some("abc1234def5678".into()),
        run_number: Some("123".into()),
        run_url: Some("https://github.com/acme/serving/actions/runs/99".into()),
        artifact_url: Some("https://github.com/acme/serving/actions/runs/99/artifacts/5".into()),
    }
}

#[test]
fn a_pass_says_so_first_with_commit_run_and_artifact() {
    let c = comparison(vec![quiet("a"), quiet("b"), quiet("c"), quiet("d")]);
    assert_eq!(
        comparison_headline(&c, &ctx()),
        "✅ No regression in 4 scenarios · `abc1234` · [run #123](https://github.com/acme/serving/actions/runs/99) \
         · [results artifact](https://github.com/acme/serving/actions/runs/99/artifacts/5)"
    );
    assert_eq!(
        comparison_headline(&comparison(vec![quiet("a")]), &RunContext::default()),
        "✅ No regression in 1 scenario"
    );
}

#[test]
fn a_regression_names_the_scenario_metric_and_values() {
    let mut slow = scenario(
        "chat-c4",
        Status::Compared,
        vec![
            row(MetricId::TtftP50, 50.9, 65.6, Verdict::Regression, true),
            row(MetricId::E2eP50, 900.0, 910.0, Verdict::WithinNoise, true),
        ],
    );
    slow.metrics.push(row(
        MetricId::RequestsPerS,
        10.0,
        9.0,
        Verdict::Regression,
        true,
    ));
    let c = comparison(vec![quiet("a"), slow, quiet("b")]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "❌ Regression in `chat-c4`: TTFT p50 +28.9% (50.9 → 65.6 ms) · 1 more regression in `chat-c4`"
    );
}

#[test]
fn the_largest_regression_leads_across_scenarios() {
    let c = comparison(vec![
        scenario(
            "small",
            Status::Compared,
            vec![row(
                MetricId::E2eP50,
                1000.0,
                1100.0,
                Verdict::Regression,
                true,
            )],
        ),
        scenario(
            "big",
            Status::Compared,
            vec![row(
                MetricId::TtftP50,
                50.0,
                70.0,
                Verdict::Regression,
                true,
            )],
        ),
    ]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "❌ Regression in `big`: TTFT p50 +40.0% (50.0 → 70.0 ms) · 1 more regression in `small`"
    );
}

#[test]
fn informational_metrics_never_make_a_regression_headline() {
    let c = comparison(vec![scenario(
        "chat",
        Status::Compared,
        vec![
            row(MetricId::TtftP99, 50.0, 90.0, Verdict::Regression, false),
            row(MetricId::TtftP50, 50.0, 50.1, Verdict::WithinNoise, true),
        ],
    )]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "✅ No regression in 1 scenario"
    );
}

#[test]
fn nothing_compared_is_not_a_pass() {
    let c = comparison(vec![
        scenario("a", Status::New, vec![]),
        scenario("b", Status::New, vec![]),
    ]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "🆕 Nothing compared: no baseline yet for `a`, `b`"
    );
    let c = comparison(vec![quiet("old"), scenario("renamed", Status::New, vec![])]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "✅ No regression in 1 scenario · 🆕 no baseline yet for `renamed`"
    );
    let c = comparison(vec![
        quiet("x"),
        scenario("y", Status::NotComparable, vec![]),
    ]);
    assert_eq!(
        comparison_headline(&c, &RunContext::default()),
        "⛔ Not comparable with the baseline: `y`"
    );
}

#[test]
fn regressions_are_listed_first() {
    let mut c = comparison(vec![
        quiet("a"),
        scenario("n", Status::New, vec![]),
        scenario(
            "r",
            Status::Compared,
            vec![row(
                MetricId::TtftP50,
                50.0,
                70.0,
                Verdict::Regression,
                true,
            )],
        ),
        scenario("x", Status::NotComparable, vec![]),
        quiet("b"),
    ]);
    sort_regressions_first(&mut c);
    let order: Vec<&str> = c.scenarios.iter().map(|s| s.scenario.as_str()).collect();
    assert_eq!(order, ["r", "x", "n", "a", "b"]);
}

#[test]
fn failures_say_exit_code_and_first_error() {
    assert_eq!(
        failure_headline(
            2,
            "error: configs/workloads.yaml:3:5: unknown key `concurency`\nmore",
            &RunContext {
                commit: Some("abc1234ffff".into()),
                run_number: Some("7".into()),
                ..RunContext::default()
            }
        ),
        "⛔ benchmark failed (exit 2): error: configs/workloads.yaml:3:5: unknown key 'concurency' · `abc1234` · run #7"
    );
    assert_eq!(
        failure_headline(130, "", &RunContext::default()),
        "⛔ benchmark interrupted (exit 130)"
    );
}

#[test]
fn informational_metrics_are_never_labelled_regression_in_the_report() {
    let c = comparison(vec![scenario(
        "chat",
        Status::Compared,
        vec![
            row(MetricId::TtftP50, 50.0, 50.1, Verdict::WithinNoise, true),
            row(MetricId::TtftP99, 50.0, 90.0, Verdict::Regression, false),
            row(MetricId::E2eP99, 900.0, 500.0, Verdict::Improvement, false),
        ],
    )]);
    let md = crate::compare::render::markdown(&c);
    let info = &md[md.find("Informational (never fail the job)").unwrap()..];
    let table = &info[..info.find("| Metric | Test").unwrap()];
    assert!(
        !table.contains("❌") && !table.contains("regression"),
        "{table}"
    );
    assert!(table.contains("🔸 worse (informational)"), "{table}");
    assert!(table.contains("🔹 better (informational)"), "{table}");
}
