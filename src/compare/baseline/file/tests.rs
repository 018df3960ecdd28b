//! Reading baseline files: both parsing paths agree, versions and broken files
//! are refused with a message, sampled trials round-trip byte for byte.

use super::*;
use crate::compare::baseline::tests::sample_row;
use crate::compare::baseline::to_text;
use crate::compare::baseline::{canonical_json, write, SamplesBuilder};
use crate::record::{ErrorKind, RequestRow};

/// The fast path (straight into the struct) and the `Value` path read a file
/// the same, for a baseline with every optional part: errors, missing TTFTs,
/// an open loop with an SLO, custom thresholds, noise.
#[test]
fn fast_path_reads_what_the_value_path_reads() {
    use crate::config::thresholds::{Thresholds, Tolerance};
    use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec, SloSpec};
    use crate::record::TokenSource;
    let spec = ScenarioSpec {
        name: "open".into(),
        prompt: "short".into(),
        load: LoadSpec::Open {
            rate: 12.5,
            arrival: "gamma".into(),
            burstiness: Some(0.5),
            max_concurrency: Some(64),
        },
        requests: Some(40),
        duration_s: None,
        warmup: 2,
        max_tokens: 16,
        ignore_eos: true,
        stream: true,
        seed: 7,
        output_tokens: None,
        shared_prefix: None,
        tokenizer_sha256: None,
        approximate_lengths: None,
        prefix_cache: Default::default(),
        max_trials: None,
        trials: 3,
        slo: SloSpec {
            ttft_ms: Some(80.0),
            tpot_ms: Some(9.5),
            e2e_ms: None,
        },
        max_error_rate: 0.25,
        thresholds: Thresholds {
            alpha: 0.01,
            ttft: Tolerance {
                relative: 0.08,
                absolute: 3.0,
            },
            ..Thresholds::default()
        },
    };
    let manifest = Manifest {
        schema_version: crate::manifest::SCHEMA_VERSION,
        run: RunMeta {
            id: "r".into(),
            tool_version: "0.1.0".into(),
            git_commit: Some("abc".into()),
            target: "t".into(),
            base_url: "http://h/v1".into(),
            api: "chat".into(),
            model: "m".into(),
            workload_hash: "w".into(),
            started_at: "2025-01-01T00:00:00Z".into(),
            ended_at: Some("2025-01-01T00:01:00Z".into()),
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: None,
            distribution: Default::default(),
        },
        scenarios: vec![spec],
    };
    let rows: Vec<RequestRow> = (0..3u32)
        .flat_map(|trial| (0..42u64).map(move |i| (trial, i)))
        .map(|(trial, i)| {
            let failed = i % 9 == 4;
            let x = 40.0 + f64::from(trial) + (i * 37 % 11) as f64 / 3.0;
            RequestRow {
                scenario: "open".into(),
                trial,
                index: i,
                request_id: None,
                warmup: i < 2,
                ok: !failed,
                status: Some(if failed { 429 } else { 200 }),
                error_kind: failed.then_some(ErrorKind::RateLimited),
                error: failed.then(|| "HTTP 429".into()),
                scheduled_ms: i as f64 * 80.0,
                start_ms: i as f64 * 80.0 + 0.013,
                end_ms: i as f64 * 80.0 + x + 75.0,
                send_lag_ms: 0.013,
                ttfb_ms: (!failed).then_some(x - 0.5),
                ttft_ms: (!failed && i % 7 != 3).then_some(x),
                ttfr_ms: None,
                response_ttft_ms: (!failed).then_some(x + 0.013),
                e2e_ms: x + 75.0,
                response_e2e_ms: x + 75.013,
                tpot_ms: (!failed).then_some(5.0 + (i % 3) as f64 / 7.0),
                itl_ms: if failed {
                    vec![]
                } else {
                    vec![5.001, 4.999, 5.3]
                },
                prompt_tokens: Some(12),
                requested_output_tokens: None,
                output_tokens: if failed { 0 } else { 16 },
                chunks: if failed { 0 } else { 16 },
                token_source: TokenSource::Usage,
                in_flight: 3,
                itl_rest: None,
                flags: Vec::new(),
                attempts: 1,
                first_attempt_error: None,
                new_connection: None,
                connect_ms: None,
                conversation: None,
                turn: None,
                first_token_wait_ms: None,
                client_stall: false,
            }
        })
        .collect();
    let mut baseline = crate::compare::candidates(&manifest, &rows).remove(0);
    baseline.blessed_by = Some("alice".into());
    baseline.reason = Some("why \"not\"".into());
    assert!(!baseline.noise.is_empty() && !baseline.trials[0].errors.is_empty());
    let text = to_text(&baseline);
    let path = Path::new("b/t/open.json");
    let fast: Baseline = serde_json::from_str(&text).expect("the fast path applies");
    let slow = parse_via_value(&text, path).unwrap();
    assert_eq!(fast, slow);
    assert_eq!(parse(&text, path).unwrap(), slow);
    assert_eq!(to_text(&fast), text);
}

#[test]
fn refuses_unknown_major_and_garbage() {
    let path = Path::new("baselines/t/s.json");
    let err = parse(r#"{"schema_version": "3.0"}"#, path).unwrap_err();
    assert!(matches!(err, BaselineError::UnsupportedVersion { .. }));
    assert!(err.to_string().contains("reads 1.x and 2.x"), "{err}");
    let err = parse("{not json", path).unwrap_err();
    assert!(
        err.to_string()
            .contains("git checkout -- baselines/t/s.json"),
        "{err}"
    );
    // A bare number is read as its major version: the file is then judged by
    // its fields, not reported as having no version.
    let err = parse(r#"{"schema_version": 1}"#, path).unwrap_err();
    assert!(matches!(err, BaselineError::Corrupt { .. }));
    assert!(!err.to_string().contains("schema_version"), "{err}");
    let err = parse(r#"{"schema_version": 7}"#, path).unwrap_err();
    assert!(
        matches!(err, BaselineError::UnsupportedVersion { .. }),
        "{err}"
    );
    let err = parse(r#"{"schema_version": true}"#, path).unwrap_err();
    assert!(err.to_string().contains("must be a string"), "{err}");
}

/// A whole baseline whose version is the number 1 reads like "1.0"; one whose
/// trials repeat a trial number (1,000 copies of trial 0) is refused.
#[test]
fn integer_versions_read_and_duplicate_trials_are_refused() {
    let path = Path::new("baselines/t/s.json");
    let good = crate::compare::baseline::tests::tiny_baseline();
    let mut value = serde_json::to_value(&good).unwrap();
    value["schema_version"] = serde_json::json!(1);
    let back = parse(&value.to_string(), path).unwrap();
    assert_eq!(back.schema_version, "1.0");
    assert_eq!(back.trials, good.trials);

    let mut copies = good.clone();
    copies.trials = std::iter::repeat_n(good.trials[0].clone(), 1000).collect();
    let err = parse(&to_text(&copies), path).unwrap_err();
    assert!(matches!(err, BaselineError::Corrupt { .. }));
    assert!(
        err.to_string().contains("trial 0 appears 1000 times"),
        "{err}"
    );
}

/// A sampled trial round-trips through the file, both readers and the generic
/// canonical writer; streamed to a file, the text is the same bytes.
#[test]
fn sampled_baselines_round_trip_and_stream_to_the_same_bytes() {
    use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec};
    let spec = ScenarioSpec {
        name: "s".into(),
        prompt: "short".into(),
        load: LoadSpec::Closed { concurrency: 4 },
        requests: Some(3000),
        duration_s: None,
        warmup: 0,
        max_tokens: 16,
        ignore_eos: true,
        stream: true,
        seed: 7,
        output_tokens: None,
        shared_prefix: None,
        tokenizer_sha256: None,
        approximate_lengths: None,
        prefix_cache: Default::default(),
        max_trials: None,
        trials: 1,
        slo: Default::default(),
        max_error_rate: 0.05,
        thresholds: Default::default(),
    };
    let manifest = Manifest {
        schema_version: crate::manifest::SCHEMA_VERSION,
        run: RunMeta {
            id: "r".into(),
            tool_version: "0.1.0".into(),
            git_commit: None,
            target: "t".into(),
            base_url: "http://h/v1".into(),
            api: "chat".into(),
            model: "m".into(),
            workload_hash: "w".into(),
            started_at: "2025-01-01T00:00:00Z".into(),
            ended_at: None,
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: None,
            distribution: Default::default(),
        },
        scenarios: vec![spec],
    };
    let rows: Vec<RequestRow> = (0..3000).map(sample_row).collect();
    let mut baseline = crate::compare::candidates(&manifest, &rows).remove(0);
    let mut b = SamplesBuilder::with_cap(500);
    rows.iter().for_each(|r| b.add(r));
    baseline.trials[0].samples = b.finish();
    let text = to_text(&baseline);
    assert!(text.contains("\"sampled_from\": 3000,"), "{text}");
    let path = Path::new("b/t/s.json");
    let back = parse(&text, path).unwrap();
    assert!(back == parse_via_value(&text, path).unwrap());
    assert!(back.trials[0].samples == baseline.trials[0].samples);
    assert!(to_text(&back) == text);
    let generic = canonical_json(&serde_json::to_value(&baseline).unwrap()) + "\n";
    assert!(generic == text);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t").join("s.json");
    write(&file, &baseline).unwrap();
    assert!(std::fs::read_to_string(&file).unwrap() == text);
    let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["s.json"], "no temporary file left");

    let mut broken = baseline.clone();
    broken.trials[0].samples.sampled_from = Some(10);
    assert!(matches!(
        parse(&to_text(&broken), path),
        Err(BaselineError::Corrupt { .. })
    ));
}
