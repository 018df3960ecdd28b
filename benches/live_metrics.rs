//! What `--metrics-listen` adds to the row writer's work per finished request, in
//! the same run as what it already does: a row of 128 tokens (127 gaps) serialised
//! to its `requests.jsonl` line, then the live recorder's share of the same row.
//!
//! cargo bench --bench live_metrics

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use llm_bench::live::{LiveRun, Recorder, RunLabels};
use llm_bench::record::RequestRow;

fn row() -> RequestRow {
    let itl: Vec<f64> = (0..127).map(|i| 5.0 + f64::from(i % 7) * 0.013).collect();
    serde_json::from_value(serde_json::json!({
        "scenario": "default", "trial": 0, "index": 42, "warmup": false, "ok": true,
        "scheduled_ms": 1000.0, "start_ms": 1000.02, "end_ms": 1700.0, "send_lag_ms": 0.02,
        "ttft_ms": 50.1, "response_ttft_ms": 50.12, "e2e_ms": 699.98, "response_e2e_ms": 700.0,
        "tpot_ms": 5.11, "itl_ms": itl, "prompt_tokens": 64, "output_tokens": 128,
        "chunks": 128, "token_source": "usage", "in_flight": 64,
    }))
    .expect("a valid row")
}

fn per_row(c: &mut Criterion) {
    let row = row();
    let mut group = c.benchmark_group("per_row");
    group.bench_function("to_json_line", |b| {
        let mut line = Vec::with_capacity(4096);
        b.iter(|| {
            line.clear();
            serde_json::to_writer(&mut line, black_box(&row)).expect("serialisable");
            black_box(line.len())
        })
    });
    let run = LiveRun::standalone(RunLabels {
        run_id: "20261203-120000-sim".into(),
        target: "sim".into(),
        model: "sim-model".into(),
    });
    let mut recorder = Recorder::new(run);
    group.bench_function("live_observe", |b| {
        b.iter(|| recorder.observe(black_box(&row)))
    });
    group.finish();
}

criterion_group!(benches, per_row);
criterion_main!(benches);
