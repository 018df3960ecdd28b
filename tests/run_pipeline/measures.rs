//! The numbers that matter against what the simulator was told to do: TTFT and
//! ITL, each request's id in the server's log, open-loop rates, token counts.

use super::*;

/// Injected TTFT 50 ms and ITL 5 ms: the measured means are within 2 ms of the truth
/// and every response has exactly max_tokens tokens.
#[test]
fn measures_injected_ttft_and_itl() {
    let _serial = timing_sensitive();
    let server = sim(|c| {
        c.ttft_ms = 50.0;
        c.itl_ms = 5.0;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &[
            "--concurrency",
            "8",
            "--requests",
            "64",
            "--max-tokens",
            "32",
            "--prompt-tokens",
            "64",
        ],
    );
    let s = summary(&out);
    let m = &s.scenarios[0].metrics;
    let ttft = m.ttft_ms.unwrap();
    let itl = m.itl_ms.unwrap();
    // Tokio's 1 ms timer wheel makes the server itself late by up to a millisecond;
    // it reports that lateness, and the truth is what it actually did.
    let truth = 50.0 + server.stats().lateness_mean_ms;
    assert!(
        (ttft.mean - truth).abs() < 2.0,
        "TTFT mean {} ms, truth {truth} ms (50 injected)",
        ttft.mean
    );
    assert!(
        (itl.mean - 5.0).abs() < 2.0,
        "ITL mean {} ms, injected 5",
        itl.mean
    );
    // TPOT = (E2E − TTFT)/(n − 1) = ITL for one token per chunk.
    assert!((m.tpot_ms.unwrap().mean - 5.0).abs() < 2.0);
    assert_eq!(m.requests.succeeded, 64);
    let rows = rows(&out);
    assert_eq!(rows.len(), 64);
    for r in &rows {
        assert_eq!(r.output_tokens, 32, "row {r:?}");
        assert_eq!(r.token_source, TokenSource::Usage);
        assert_eq!(r.itl_ms.len(), 31);
        // 64 words and the per-request salt (one more word to the simulator).
        assert_eq!(r.prompt_tokens, Some(65));
    }
    assert_eq!(m.output_tokens_total, 64 * 32);
}

/// Every request carries an `X-Request-Id` that is also in its row, and each trial
/// records its start on CLOCK_MONOTONIC: with the server's request log, each
/// measured TTFT pairs with the moment the server wrote the first token. The client
/// can never see a token before it was written (rows are rounded to the
/// microsecond, hence the 5 µs allowance), and on a quiet loopback it sees it well
/// within a millisecond; the bounds below leave room for a loaded CI machine.
#[test]
fn ttft_pairs_per_request_with_the_server_request_log() {
    let _serial = timing_sensitive();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("sim-requests.jsonl");
    let config = SimConfig {
        ttft_ms: 20.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    };
    config.validate().unwrap();
    let server = Sim::start_logged(config, Some(&log));
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &["-c", "8", "-n", "48", "--warmup", "0", "--max-tokens", "8"],
    );
    drop(server);

    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let run_id = manifest["run"]["id"].as_str().unwrap();
    let health: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out.join("client_health.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let start_ns = health["clock_start_ns"].as_u64().expect("clock_start_ns") as f64;
    let served: std::collections::HashMap<String, serde_json::Value> =
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|e| (e["request_id"].as_str().unwrap().to_string(), e))
            .collect();
    let rows = rows(&out);
    assert_eq!((rows.len(), served.len()), (48, 48));
    let mut errors_ms = Vec::new();
    for row in &rows {
        let id = row.request_id.as_deref().expect("request_id");
        assert_eq!(id, format!("{run_id}-adhoc-0-{}", row.index));
        let e = &served[id];
        let sent_ns = start_ns + row.start_ms * 1e6;
        let arrival_ns = e["arrival_ns"].as_u64().unwrap() as f64;
        assert!(
            arrival_ns - sent_ns > -5e3,
            "{id} arrived before it was sent"
        );
        let first_token_ns = sent_ns + row.ttft_ms.unwrap() * 1e6;
        let written_ns = e["first_chunk_ns"].as_u64().unwrap() as f64;
        errors_ms.push((first_token_ns - written_ns) / 1e6);
    }
    let mean = errors_ms.iter().sum::<f64>() / errors_ms.len() as f64;
    let (min, max) = errors_ms
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(
        min > -0.005,
        "a first token seen {min} ms before it was written"
    );
    assert!(
        mean < 2.0 && max < 25.0,
        "client late by {mean} ms on average, {max} at most"
    );
}

/// Open loop at a constant and a Poisson rate reaches the target within 5% (2,000
/// Poisson arrivals: the drawn rate itself has a relative spread of about 2.2%).
#[test]
fn open_loop_rates_reach_target() {
    let _serial = timing_sensitive();
    let server = sim(|c| {
        c.ttft_ms = 2.0;
        c.itl_ms = 0.0;
    });
    for arrival in ["constant", "poisson"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = out_dir(&tmp);
        run_ok(
            &server.url(),
            &out,
            &[
                "--rate",
                "400",
                "--arrival",
                arrival,
                "--requests",
                "2000",
                "--max-tokens",
                "4",
                "--no-stream",
            ],
        );
        let m = summary(&out).scenarios[0].metrics.clone();
        let sched = &m.schedule;
        let achieved = sched.achieved_rate.unwrap();
        assert!(
            (achieved / 400.0 - 1.0).abs() < 0.05,
            "{arrival}: achieved {achieved} req/s, target 400"
        );
        assert!(sched.attainment.unwrap() > 0.95, "{arrival}: {sched:?}");
        assert_eq!(sched.reached_target, Some(true));
        assert_eq!(m.requests.succeeded, 2000);
    }
}

/// A server that cuts the usage and the [DONE] marker, and sends 4 tokens per chunk.
#[test]
fn counts_tokens_without_usage_and_with_multi_token_chunks() {
    let server = sim(|c| {
        c.ttft_ms = 5.0;
        c.itl_ms = 1.0;
        c.usage = UsageMode::None;
        c.send_done = false;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &["--requests", "5", "--max-tokens", "12"],
    );
    for r in rows(&out) {
        assert_eq!(r.token_source, TokenSource::Chunks);
        assert_eq!(r.output_tokens, 12);
    }

    let server = sim(|c| {
        c.ttft_ms = 5.0;
        c.itl_ms = 2.0;
        c.tokens_per_chunk = 4;
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = out_dir(&tmp);
    run_ok(
        &server.url(),
        &out,
        &["--requests", "5", "--max-tokens", "16"],
    );
    for r in rows(&out) {
        assert_eq!(r.output_tokens, 16, "usage counts tokens, not chunks");
        assert_eq!(r.chunks, 4);
        // 4 chunks 2 ms apart: TPOT spreads 3 gaps over 15 tokens.
        let tpot = r.tpot_ms.unwrap();
        assert!(tpot > 0.2 && tpot < 1.0, "tpot {tpot}");
    }
}
