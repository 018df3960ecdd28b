//! Defaults, key-by-key overrides, value rules and the effective minimum effect.

use super::*;

fn raw(yaml: &str) -> RawThresholds {
    serde_yaml::from_str(yaml).unwrap()
}

#[test]
fn empty_means_defaults() {
    assert_eq!(
        validate(&RawThresholds::default()).unwrap(),
        Thresholds::default()
    );
}

#[test]
fn scenario_overrides_key_by_key() {
    let project = raw("ttft: { relative: 0.1, absolute_ms: 3 }\nalpha: 0.01\n");
    let scenario = raw("ttft: { relative: 0.2 }\n");
    let t = validate(&scenario.or(&project)).unwrap();
    assert_eq!(
        t.ttft,
        Tolerance {
            relative: 0.2,
            absolute: 3.0
        }
    );
    assert_eq!(t.alpha, 0.01);
    assert_eq!(t.tpot, Thresholds::default().tpot);
}

#[test]
fn rejects_unknown_keys_and_bad_values() {
    assert!(serde_yaml::from_str::<RawThresholds>("ttft: { relatve: 0.1 }").is_err());
    assert!(serde_yaml::from_str::<RawThresholds>("latency: 3").is_err());
    let problems = validate(&raw("alpha: 0.7\nttft: { relative: -1 }\n")).unwrap_err();
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[0].path, vec!["ttft", "relative"]);
    assert!(
        problems[0].message.contains("0.05 is 5%"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[1].path, vec!["alpha"]);
}

#[test]
fn capacity_has_its_own_tolerance() {
    assert_eq!(Thresholds::default().capacity.relative, 0.10);
    let project = raw("capacity: { absolute_per_s: 2 }\nthroughput: { relative: 0.2 }\n");
    let scenario = raw("capacity: { relative: 0.15 }\n");
    let t = validate(&scenario.or(&project)).unwrap();
    assert_eq!(
        t.capacity,
        Tolerance {
            relative: 0.15,
            absolute: 2.0
        }
    );
    assert_eq!(t.throughput.relative, 0.2);
    let problems = validate(&raw("capacity: { relative: -0.1 }\n")).unwrap_err();
    assert_eq!(problems[0].path, vec!["capacity", "relative"]);
}

#[test]
fn noise_floor_zero_is_refused_and_between_run_sd_is_a_fraction() {
    let problems = validate(&raw("noise_floor: 0\nbetween_run_sd: 0.7\n")).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].path, vec!["between_run_sd"]);
    assert_eq!(problems[1].path, vec!["noise_floor"]);
    assert!(
        problems[1].message.contains("above 0"),
        "{}",
        problems[1].message
    );
    let t = validate(&raw("between_run_sd: 0\nnoise_floor: 0.005\n")).unwrap();
    assert_eq!((t.between_run_sd, t.noise_floor), (0.0, 0.005));
}

#[test]
fn energy_tolerance() {
    let t = validate(&raw(
        "energy: { relative: 0.1, absolute_j_per_token: 0.002 }\n",
    ))
    .unwrap();
    assert_eq!(
        t.energy,
        Tolerance {
            relative: 0.1,
            absolute: 0.002
        }
    );
    assert!(serde_yaml::from_str::<RawThresholds>("energy: { absolute_ms: 1 }").is_err());
    let problems = validate(&raw("energy: { relative: -0.1 }\n")).unwrap_err();
    assert_eq!(problems[0].path, vec!["energy", "relative"]);
}

#[test]
fn effective_delta_takes_the_larger_floor() {
    let t = Tolerance {
        relative: 0.05,
        absolute: 2.0,
    };
    assert!((t.log_delta(100.0) - 1.05f64.ln()).abs() < 1e-12);
    assert!(
        (t.log_delta(10.0) - 1.2f64.ln()).abs() < 1e-12,
        "2 ms of 10 ms is 20%"
    );
}
