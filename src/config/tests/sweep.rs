//! Load sweeps: a list of `concurrency` or `rate` values expands into scenarios,
//! one per value, in order, with every other field copied; a bad list is refused
//! where written.

use super::workloads::workload_error;
use super::*;
use crate::config::{Arrival, Load};

fn sweep_workloads(body: &str) -> String {
    format!("prompts:\n  p: {{ text: hi }}\nscenarios:\n  sweep:\n{body}  other:\n    prompt: p\n    concurrency: 2\n    requests: 3\n")
}

#[test]
fn a_concurrency_list_expands_in_order_with_every_field_copied() {
    let config = load(
        TARGETS,
        MODELS,
        &sweep_workloads(
            "    prompt: p\n    concurrency: [16, 1, 4]\n    requests: 7\n    warmup: 2\n    trials: 3\n    max_tokens: 9\n    slo: { ttft_ms: 100 }\n",
        ),
    )
    .expect("valid");
    let names: Vec<&str> = config
        .workloads
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["sweep.c16", "sweep.c1", "sweep.c4", "other"]);
    for (s, concurrency) in config.workloads.scenarios.iter().zip([16, 1, 4]) {
        assert_eq!(s.load, Load::Closed { concurrency });
        assert_eq!(s.prompt, "p");
        assert_eq!(s.stop.requests, Some(7));
        assert_eq!((s.warmup, s.trials, s.max_tokens), (2, 3, Some(9)));
        assert_eq!(s.slo.ttft_ms, Some(100.0));
    }
    let picked: Vec<&str> = config
        .workloads
        .select("sweep")
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(picked, ["sweep.c16", "sweep.c1", "sweep.c4"]);
    assert_eq!(config.workloads.select("sweep.c4").len(), 1);
    assert_eq!(config.workloads.select("other").len(), 1);
    assert!(config.workloads.select("swee").is_empty());
}

#[test]
fn a_rate_list_keeps_arrival_and_cap_and_prints_rates_without_trailing_zeros() {
    let config = load(
        TARGETS,
        MODELS,
        &sweep_workloads(
            "    prompt: p\n    rate: [0.5, 2, 8.25]\n    arrival: gamma\n    burstiness: 0.5\n    max_concurrency: 4\n    duration: 2s\n",
        ),
    )
    .expect("valid");
    let names: Vec<&str> = config
        .workloads
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["sweep.r0.5", "sweep.r2", "sweep.r8.25", "other"]);
    assert_eq!(
        config.workloads.scenarios[1].load,
        Load::Open {
            rate: 2.0,
            arrival: Arrival::Gamma { burstiness: 0.5 },
            max_concurrency: Some(4),
        }
    );
    assert_eq!(
        config.workloads.scenarios[2].stop.duration,
        Some(std::time::Duration::from_secs(2))
    );
}

#[test]
fn a_scalar_scenario_keeps_its_name_and_hash() {
    // The hash of the minimal config before sweeps existed.
    let config = load(TARGETS, MODELS, WORKLOADS).expect("valid");
    let names: Vec<&str> = config
        .workloads
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["s"]);
    assert_eq!(config.workloads.hash, SCALAR_HASH);
}

/// workloads_hash of `WORKLOADS`, computed before load sweeps were added.
const SCALAR_HASH: &str = "dcb97e7c78dc398adfa3f4e6892ab81f8f4b68fd5003301c19598a897fae3949";

#[test]
fn an_empty_sweep_is_an_error() {
    let e = workload_error("    prompt: p\n    concurrency: []\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:18: scenarios.s.concurrency");
    assert!(
        e.message.starts_with("an empty list sweeps nothing"),
        "{}",
        e.message
    );
}

#[test]
fn a_sweep_value_must_be_positive() {
    let e = workload_error("    prompt: p\n    concurrency: [1, 0]\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:18: scenarios.s.concurrency");
    assert_eq!(
        e.message,
        "every value must be from 1 to 65535 (requests kept in flight); got 0"
    );
    let e = workload_error("    prompt: p\n    rate: [2, -1]\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:11: scenarios.s.rate");
    assert_eq!(
        e.message,
        "every value must be > 0 requests per second; got -1"
    );
}

#[test]
fn a_sweep_value_must_be_a_number() {
    let e = workload_error("    prompt: p\n    concurrency: [1, lots]\n    requests: 1\n");
    assert!(place(&e).starts_with("workloads.yaml:6:"), "{}", place(&e));
    assert!(
        place(&e).contains("scenarios.s.concurrency"),
        "{}",
        place(&e)
    );
    assert!(e.message.contains("a whole number >= 0"), "{}", e.message);
    let e = workload_error("    prompt: p\n    rate:\n      - 2\n      - fast\n    requests: 1\n");
    assert!(place(&e).starts_with("workloads.yaml:8:"), "{}", place(&e));
    assert!(e.message.contains("a number"), "{}", e.message);
}

#[test]
fn a_duplicate_sweep_value_is_an_error() {
    let e = workload_error("    prompt: p\n    rate: [2, 4, 2.0]\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:11: scenarios.s.rate");
    assert_eq!(
        e.message,
        "2 listed twice; each value becomes its own scenario, so list it once"
    );
}

#[test]
fn a_sweep_has_at_most_32_values() {
    let values: Vec<String> = (1..=33).map(|n| n.to_string()).collect();
    let e = workload_error(&format!(
        "    prompt: p\n    concurrency: [{}]\n    requests: 1\n",
        values.join(", ")
    ));
    assert_eq!(place(&e), "workloads.yaml:6:18: scenarios.s.concurrency");
    assert!(
        e.message
            .starts_with("a sweep has at most 32 values (got 33)"),
        "{}",
        e.message
    );
}

#[test]
fn a_sweep_point_may_not_take_another_scenarios_name() {
    let text = "prompts:\n  p: { text: hi }\nscenarios:\n  s:\n    prompt: p\n    concurrency: [1, 4]\n    requests: 1\n  s.c4:\n    prompt: p\n    concurrency: 1\n    requests: 1\n";
    let Err(ConfigErrors(errors)) = load(TARGETS, MODELS, text) else {
        panic!("expected errors");
    };
    let collision = errors
        .iter()
        .find(|e| e.message.contains("already the name of a scenario"))
        .expect("a collision error");
    assert_eq!(place(collision), "workloads.yaml:8:3: scenarios.s.c4");
    assert!(
        collision
            .message
            .starts_with("`s.c4` is already the name of a scenario made from `s`"),
        "{}",
        collision.message
    );
}
