//! Mistakes in workloads.yaml.

use super::*;
use crate::config::{Arrival, Load};

fn scenario(body: &str) -> String {
    format!("prompts:\n  p: {{ text: hi }}\nscenarios:\n  s:\n{body}")
}

pub(super) fn workload_error(body: &str) -> ConfigError {
    only_error(TARGETS, MODELS, &scenario(body))
}

#[test]
fn unknown_key_suggests_the_right_one() {
    let e = workload_error("    prompt: p\n    concurency: 4\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:5: scenarios.s.concurency");
    assert_eq!(
        e.message,
        "unknown key `concurency`; did you mean `concurrency`?"
    );
    assert!(e.to_string().ends_with(
        "workloads.yaml:6:5: scenarios.s.concurency: unknown key `concurency`; did you mean `concurrency`?"
    ));
}

#[test]
fn unknown_key_without_a_close_match_lists_the_keys() {
    let e = workload_error("    prompt: p\n    concurrency: 1\n    requests: 1\n    banana: 1\n");
    assert_eq!(place(&e), "workloads.yaml:8:5: scenarios.s.banana");
    assert!(
        e.message
            .starts_with("unknown key `banana`; the keys allowed here are `prompt`, `concurrency`"),
        "{}",
        e.message
    );
}

#[test]
fn wrong_type_says_what_was_expected() {
    let e = workload_error("    prompt: p\n    concurrency: lots\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:18: scenarios.s.concurrency");
    assert_eq!(
        e.message,
        "expected a whole number >= 0 (no quotes), got the text \"lots\""
    );
}

#[test]
fn unknown_enum_value_suggests() {
    let e = workload_error("    prompt: p\n    rate: 1\n    arrival: poison\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:7:14: scenarios.s.arrival");
    assert!(
        e.message
            .starts_with("unknown value `poison`; did you mean `poisson`?"),
        "{}",
        e.message
    );
}

#[test]
fn concurrency_and_rate_together() {
    let e = workload_error("    prompt: p\n    concurrency: 4\n    rate: 2\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:7:5: scenarios.s.rate");
    assert!(
        e.message
            .contains("both `concurrency` (closed loop) and `rate` (open loop)"),
        "{}",
        e.message
    );
}

#[test]
fn neither_concurrency_nor_rate() {
    let e = workload_error("    prompt: p\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:4:3: scenarios.s");
    assert!(
        e.message.starts_with("no load; add `concurrency: N`"),
        "{}",
        e.message
    );
}

#[test]
fn rate_must_be_positive() {
    let e = workload_error("    prompt: p\n    rate: -3\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:6:11: scenarios.s.rate");
    assert_eq!(
        e.message,
        "must be > 0 requests per second (got -3); for a closed loop use `concurrency` instead"
    );
    let e = workload_error("    prompt: p\n    rate: 0\n    requests: 1\n");
    assert!(e.message.contains("(got 0)"), "{}", e.message);
}

/// `concurrency: 1000000000` is refused where written, unless the scenario sends
/// so few requests that the loop never needs that many (it is then capped).
#[test]
fn concurrency_has_an_upper_bound() {
    let e = workload_error("    prompt: p\n    concurrency: 1000000000\n    duration: 10s\n");
    assert_eq!(place(&e), "workloads.yaml:6:18: scenarios.s.concurrency");
    assert!(
        e.message
            .starts_with("at most 65535 requests can be in flight"),
        "{}",
        e.message
    );
    assert!(e.message.contains("got 1000000000"), "{}", e.message);
    let e = workload_error(
        "    prompt: p\n    rate: 5\n    max_concurrency: 70000\n    duration: 1s\n",
    );
    assert_eq!(
        place(&e),
        "workloads.yaml:7:22: scenarios.s.max_concurrency"
    );
    let e = workload_error("    prompt: p\n    concurrency: [4, 70000]\n    duration: 1s\n");
    assert!(e.message.ends_with("got 70000"), "{}", e.message);
    let capped = scenario("    prompt: p\n    concurrency: 1000000000\n    requests: 2\n");
    assert!(load(TARGETS, MODELS, &capped).is_ok());
}

#[test]
fn gamma_needs_burstiness() {
    let e = workload_error("    prompt: p\n    rate: 4\n    arrival: gamma\n    requests: 1\n");
    assert_eq!(place(&e), "workloads.yaml:7:14: scenarios.s.arrival");
    assert!(
        e.message.starts_with("`gamma` needs `burstiness: K`"),
        "{}",
        e.message
    );
}

#[test]
fn burstiness_needs_gamma_and_a_positive_value() {
    let e = workload_error(
        "    prompt: p\n    rate: 4\n    arrival: constant\n    burstiness: 2\n    requests: 1\n",
    );
    assert_eq!(place(&e), "workloads.yaml:8:5: scenarios.s.burstiness");
    assert!(
        e.message.contains("shapes `arrival: gamma` only"),
        "{}",
        e.message
    );
    let e = workload_error(
        "    prompt: p\n    rate: 4\n    arrival: gamma\n    burstiness: 0\n    requests: 1\n",
    );
    assert_eq!(place(&e), "workloads.yaml:8:17: scenarios.s.burstiness");
    assert!(
        e.message.starts_with("must be > 0 (got 0)"),
        "{}",
        e.message
    );
}

#[test]
fn open_loop_keys_are_rejected_for_a_closed_loop() {
    let e = workload_error(
        "    prompt: p\n    concurrency: 2\n    max_concurrency: 8\n    requests: 1\n",
    );
    assert_eq!(place(&e), "workloads.yaml:7:5: scenarios.s.max_concurrency");
    assert!(
        e.message.contains("applies to an open loop (`rate`) only"),
        "{}",
        e.message
    );
}

#[test]
fn bad_duration() {
    let e = workload_error("    prompt: p\n    concurrency: 1\n    duration: 10 parsecs\n");
    assert_eq!(place(&e), "workloads.yaml:7:15: scenarios.s.duration");
    assert_eq!(
        e.message,
        "`10 parsecs` is not a duration: unknown unit `parsecs` (use ms, s, m or h); \
         write a number with a unit: 500ms, 10s, 2m, 1h"
    );
}

#[test]
fn missing_stop_condition() {
    let e = workload_error("    prompt: p\n    concurrency: 1\n");
    assert_eq!(place(&e), "workloads.yaml:4:3: scenarios.s");
    assert!(
        e.message
            .starts_with("no stop condition; add `requests: N`"),
        "{}",
        e.message
    );
}

#[test]
fn unknown_prompt_reference() {
    let text = "prompts:\n  short: { text: hi }\nscenarios:\n  s: { prompt: shrot, concurrency: 1, requests: 1 }\n";
    let e = only_error(TARGETS, MODELS, text);
    assert_eq!(place(&e), "workloads.yaml:4:16: scenarios.s.prompt");
    assert_eq!(
        e.message,
        "no prompt named `shrot` in `prompts:`; did you mean `short`?"
    );
}

#[test]
fn unknown_default_prompt_is_reported_once() {
    let text = "defaults: { prompt: nope }\nprompts:\n  p: { text: hi }\nscenarios:\n  a: { concurrency: 1, requests: 1 }\n  b: { concurrency: 1, requests: 1 }\n";
    let e = only_error(TARGETS, MODELS, text);
    assert_eq!(place(&e), "workloads.yaml:1:21: defaults.prompt");
}

#[test]
fn duplicate_scenario_names() {
    let text = "prompts:\n  p: { text: hi }\nscenarios:\n  s: { prompt: p, concurrency: 1, requests: 1 }\n  s: { prompt: p, concurrency: 2, requests: 1 }\n";
    let e = only_error(TARGETS, MODELS, text);
    assert_eq!(place(&e), "workloads.yaml:5:3: scenarios.s");
    assert!(e.message.contains("appears twice"), "{}", e.message);
}

#[test]
fn prompt_needs_exactly_one_source() {
    let text = "prompts:\n  p: { text: hi, synthetic_tokens: 5 }\n  q: {}\nscenarios:\n  s: { prompt: p, concurrency: 1, requests: 1 }\n";
    let errors = load(TARGETS, MODELS, text).unwrap_err().0;
    let places: Vec<String> = errors.iter().map(place).collect();
    assert_eq!(
        places,
        [
            "workloads.yaml:2:18: prompts.p.synthetic_tokens",
            "workloads.yaml:3:3: prompts.q"
        ]
    );
}

#[test]
fn all_semantic_errors_are_collected_in_file_order() {
    let text = "\
defaults:
  trials: 0
prompts:
  p: { synthetic_tokens: 0, spread: 2 }
scenarios:
  a: { prompt: p, rate: 0, requests: 0 }
  b: { prompt: nope, concurrency: 0, duration: 0s, max_error_rate: 1.5, slo: { ttft_ms: -1 } }
";
    let errors = load(TARGETS, MODELS, text).unwrap_err().0;
    let places: Vec<String> = errors.iter().map(place).collect();
    assert_eq!(
        places,
        [
            "workloads.yaml:2:11: defaults.trials",
            "workloads.yaml:4:26: prompts.p.synthetic_tokens",
            "workloads.yaml:4:37: prompts.p.spread",
            "workloads.yaml:6:25: scenarios.a.rate",
            "workloads.yaml:6:38: scenarios.a.requests",
            "workloads.yaml:7:16: scenarios.b.prompt",
            "workloads.yaml:7:35: scenarios.b.concurrency",
            "workloads.yaml:7:48: scenarios.b.duration",
            "workloads.yaml:7:68: scenarios.b.max_error_rate",
            "workloads.yaml:7:89: scenarios.b.slo.ttft_ms",
        ]
    );
}

#[test]
fn defaults_apply_and_scenarios_override_them() {
    let text = "\
defaults: { seed: 7, warmup: 3, trials: 2, slo: { ttft_ms: 100 }, prompt: p }
prompts:
  p: { synthetic_tokens: 64 }
scenarios:
  plain: { concurrency: 2, requests: 5 }
  own: { rate: 2.5, burstiness: 0.5, requests: 5, duration: 1m30s, seed: 9, stream: false, slo: { e2e_ms: 900 } }
";
    let config = load(TARGETS, MODELS, text).expect("valid");
    let plain = config.scenario("plain").unwrap();
    assert_eq!(
        (plain.seed, plain.warmup, plain.trials, plain.stream),
        (7, 3, 2, true)
    );
    assert_eq!(plain.slo.ttft_ms, Some(100.0));
    assert_eq!(plain.max_error_rate, 0.05);
    assert_eq!(plain.load, Load::Closed { concurrency: 2 });
    let own = config.scenario("own").unwrap();
    assert_eq!((own.seed, own.stream, own.prompt.as_str()), (9, false, "p"));
    assert_eq!((own.slo.ttft_ms, own.slo.e2e_ms), (None, Some(900.0)));
    assert_eq!(own.stop.duration, Some(std::time::Duration::from_secs(90)));
    assert_eq!(
        own.load,
        Load::Open {
            rate: 2.5,
            arrival: Arrival::Gamma { burstiness: 0.5 },
            max_concurrency: None
        }
    );
    let names: Vec<&str> = config
        .workloads
        .scenarios
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["plain", "own"]);
}

#[test]
fn hash_ignores_comments_formatting_and_key_order() {
    let a = load(TARGETS, MODELS, WORKLOADS).unwrap().workloads.hash;
    let reformatted = "\
# a comment
prompts:
  p:
    text: \"hi\"   # quoted now

scenarios:
  s: { requests: 1, concurrency: 1, prompt: p }
";
    let b = load(TARGETS, MODELS, reformatted).unwrap().workloads.hash;
    assert_eq!(a, b);
    assert_eq!(a.len(), 64);
    let changed = WORKLOADS.replace("requests: 1", "requests: 2");
    let c = load(TARGETS, MODELS, &changed).unwrap().workloads.hash;
    assert_ne!(a, c);
}

#[test]
fn shape_errors_in_several_entries_are_all_reported() {
    let text = "\
prompts:
  p: { text: hi, lenght: 3 }
scenarios:
  a:
    prompt: p
    concurency: 1
    requests: 1
  b: { prompt: p, concurrency: lots, requests: 1 }
  c: { prompt: p, concurrency: 1, requests: 1 }
extra: 1
";
    let errors = load(TARGETS, MODELS, text).unwrap_err().0;
    let places: Vec<String> = errors.iter().map(place).collect();
    assert_eq!(
        places,
        [
            "workloads.yaml:2:18: prompts.p.lenght",
            "workloads.yaml:6:5: scenarios.a.concurency",
            "workloads.yaml:8:32: scenarios.b.concurrency",
            "workloads.yaml:10:1: extra",
        ]
    );
}
