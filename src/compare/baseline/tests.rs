use super::*;
use crate::record::RequestRow;

#[test]
fn histogram_round_trips() {
    let mut h = itl_histogram();
    for v in [5_000u64, 5_100, 5_100, 12_345, 0] {
        h.saturating_record(v);
    }
    let back = decode_histogram(&encode_histogram(&h)).unwrap();
    assert_eq!(back.len(), 5);
    assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
    let s = Samples {
        itl_us_hdr: encode_histogram(&h),
        ..Samples::default()
    };
    let itl = s.itl();
    assert_eq!(itl.len(), 5);
    assert!((itl[4] - 12.345).abs() < 0.02, "{itl:?}");
}

/// A run of one closed-loop scenario `s` on target `t`.
pub(crate) fn tiny_manifest() -> crate::manifest::Manifest {
    use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec};
    Manifest {
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
        scenarios: vec![ScenarioSpec {
            name: "s".into(),
            prompt: "short".into(),
            load: LoadSpec::Closed { concurrency: 4 },
            requests: Some(40),
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
            trials: 3,
            slo: Default::default(),
            max_error_rate: 0.05,
            thresholds: Default::default(),
        }],
    }
}

/// A small three-trial candidate of [`tiny_manifest`]'s scenario.
pub(crate) fn tiny_baseline() -> Baseline {
    let rows: Vec<RequestRow> = (0..3u32)
        .flat_map(|trial| {
            (0..40).map(move |i| RequestRow {
                trial,
                e2e_ms: 100.0 + f64::from(trial) + i as f64,
                ..sample_row(i)
            })
        })
        .collect();
    crate::compare::candidates(&tiny_manifest(), &rows).remove(0)
}

pub(crate) fn sample_row(index: u64) -> RequestRow {
    use crate::record::TokenSource;
    let failed = index % 97 == 5;
    RequestRow {
        scenario: "s".into(),
        trial: 0,
        index,
        request_id: None,
        warmup: false,
        ok: !failed,
        status: Some(if failed { 500 } else { 200 }),
        error_kind: failed.then_some(ErrorKind::Http5xx),
        error: None,
        scheduled_ms: 0.0,
        start_ms: 0.0,
        end_ms: index as f64,
        send_lag_ms: 0.0,
        ttfb_ms: None,
        ttft_ms: (index % 13 != 0).then_some(index as f64 / 2.0),
        ttfr_ms: None,
        response_ttft_ms: None,
        e2e_ms: index as f64,
        response_e2e_ms: index as f64,
        tpot_ms: (index % 11 != 0).then_some(5.0),
        itl_ms: vec![5.0, 5.5],
        prompt_tokens: None,
        requested_output_tokens: None,
        output_tokens: if failed { 0 } else { 1 + index % 7 },
        chunks: 3,
        token_source: TokenSource::Usage,
        in_flight: 1,
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
}

/// Up to the cap every measured request is kept, exactly as before the cap
/// existed; past it a seeded uniform sample of `cap` requests in request order,
/// the same whatever order the rows came in, with every ITL still counted.
#[test]
fn long_trials_keep_a_seeded_uniform_sample() {
    let rows: Vec<RequestRow> = (0..10_000).map(sample_row).collect();
    let build = |cap: usize, rows: &mut dyn Iterator<Item = &RequestRow>| {
        let mut b = SamplesBuilder::with_cap(cap);
        rows.for_each(|r| b.add(r));
        b.finish()
    };
    let all = build(10_000, &mut rows.iter());
    assert_eq!(all.sampled_from, None);
    assert_eq!(
        all.e2e_ms,
        (0..10_000).map(|i| i as f64).collect::<Vec<_>>()
    );
    assert_eq!(all.ttft_ms[13], None);
    assert_eq!(all.ttft_ms[14], Some(7.0));
    assert_eq!(all.tpot_ms[11], None);
    assert_eq!(all.error_kind[5], Some(ErrorKind::Http5xx));
    assert_eq!(
        all,
        Samples::from_rows(&rows),
        "the default cap is above 10k"
    );

    // Rows finish out of order: sorted back into request order in place.
    let shuffled: Vec<&RequestRow> = (0..10_000).map(|i| &rows[i * 7919 % 10_000]).collect();
    assert_eq!(build(10_000, &mut shuffled.iter().copied()), all);
    assert_eq!(build(10_000, &mut rows.iter().rev()), all);

    // Each kept request's columns stay together, in request order.
    let consistent = |s: &Samples| {
        assert!(s.e2e_ms.windows(2).all(|w| w[0] < w[1]), "request order");
        for (i, &e2e) in s.e2e_ms.iter().enumerate() {
            let row = sample_row(e2e as u64);
            assert_eq!(s.ttft_ms[i], row.ttft_ms);
            assert_eq!(s.tpot_ms[i], row.tpot_ms);
            assert_eq!(s.error_kind[i], row.error_kind);
            assert_eq!(s.output_tokens[i], row.output_tokens);
        }
    };
    let kept = build(1000, &mut rows.iter());
    assert_eq!(kept.sampled_from, Some(10_000));
    assert_eq!(kept.e2e_ms.len(), 1000);
    assert_eq!(kept, build(1000, &mut rows.iter()), "seeded");
    consistent(&kept);
    consistent(&build(1000, &mut shuffled.iter().copied()));
    // Uniform: the mean index is 4999.5 give or take 3 standard errors
    // (2887 / √1000 · √0.9 ≈ 87).
    let mean = kept.e2e_ms.iter().sum::<f64>() / 1000.0;
    assert!((mean - 4999.5).abs() < 260.0, "{mean}");
    let reversed = build(1000, &mut rows.iter().rev());
    assert_eq!(reversed.e2e_ms.len(), 1000);
    assert_eq!(reversed.sampled_from, Some(10_000));
    consistent(&reversed);
    assert_eq!(kept.itl_us_hdr, all.itl_us_hdr, "every ITL counts");

    // Each kept success stands for succeeded / kept successes.
    let succeeded = all.error_kind.iter().filter(|e| e.is_none()).count() as u64;
    let kept_ok = kept.error_kind.iter().filter(|e| e.is_none()).count() as f64;
    let trial = |samples: Samples| TrialRecord {
        run: 0,
        trial: 0,
        duration_s: 10.0,
        succeeded,
        failed: 10_000 - succeeded,
        errors: BTreeMap::new(),
        output_tokens_mean: None,
        stats: BTreeMap::new(),
        server: None,
        samples,
    };
    assert_eq!(trial(all).sample_weight(), None);
    assert_eq!(
        trial(kept).sample_weight(),
        Some(succeeded as f64 / kept_ok)
    );
}
