//! Micro-benchmarks of the client's hot paths: what it costs per streamed chunk
//! (SSE framing, chunk parsing), per request (its body, its row) and per summary
//! (percentiles of 10,000 samples). `cargo bench --bench hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use llm_bench::client::chunk::parse_chunk;
use llm_bench::client::sse::SseParser;
use llm_bench::client::{Api, BodyTemplate};
use llm_bench::metrics::Stats;
use llm_bench::record::{Outcome, RequestRow, RequestTiming, RowContext, TokenTimes};
use llm_bench::workload::prompts::PromptGenerator;

/// One chat chunk as vLLM sends it, framed as SSE.
const CHUNK: &[u8] = b"data: {\"id\":\"chatcmpl-7\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"sim-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" hello\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

fn sse(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_chunk");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sse_feed", |b| {
        let mut parser = SseParser::new();
        b.iter(|| {
            let mut events = 0u32;
            parser
                .feed(black_box(CHUNK), |_| events += 1)
                .expect("valid SSE");
            black_box(events)
        })
    });
    let data = std::str::from_utf8(&CHUNK[6..CHUNK.len() - 2]).unwrap();
    group.bench_function("parse_chunk", |b| {
        b.iter(|| {
            black_box(
                parse_chunk(black_box(data))
                    .expect("valid chunk")
                    .content_bytes,
            )
        })
    });
    group.bench_function("sse_feed_and_parse", |b| {
        let mut parser = SseParser::new();
        b.iter(|| {
            let mut bytes = 0usize;
            parser
                .feed(black_box(CHUNK), |event| {
                    if let llm_bench::client::sse::SseEvent::Data(d) = event {
                        bytes += parse_chunk(d).map_or(0, |c| c.content_bytes);
                    }
                })
                .expect("valid SSE");
            black_box(bytes)
        })
    });
    group.finish();
}

/// Recording a response's 128 content-chunk arrivals: as the client does now
/// (`TokenTimes`: gaps as 4-byte microseconds, bounded) against how it did before
/// (one 16-byte `Instant` per chunk in a `Vec`), in the same run.
fn tokens(c: &mut Criterion) {
    let t0 = Instant::now();
    let arrivals: Vec<Instant> = (0..128)
        .map(|i| t0 + Duration::from_micros(5003 * i))
        .collect();
    let mut group = c.benchmark_group("per_request");
    group.bench_function("token_times_128_chunks", |b| {
        b.iter(|| {
            let mut t = TokenTimes::default();
            for &at in black_box(&arrivals) {
                t.push(at);
            }
            black_box(t)
        })
    });
    group.bench_function("instant_vec_128_chunks_before", |b| {
        b.iter(|| {
            let mut t: Vec<Instant> = Vec::new();
            for &at in black_box(&arrivals) {
                t.push(at);
            }
            black_box(t)
        })
    });
    group.finish();
}

fn row(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut timing = RequestTiming::new(t0, t0 + Duration::from_micros(20));
    timing.headers = Some(t0 + Duration::from_millis(1));
    timing.first_byte = Some(t0 + Duration::from_millis(50));
    for i in 0..128 {
        timing
            .tokens
            .push(t0 + Duration::from_millis(50) + Duration::from_micros(5003 * i));
    }
    timing.end = t0 + Duration::from_millis(700);
    let mut outcome = Outcome::new(timing);
    outcome.status = Some(200);
    outcome.usage_prompt_tokens = Some(64);
    outcome.usage_output_tokens = Some(128);
    let ctx = RowContext {
        scenario: "default",
        trial: 0,
        index: 42,
        request_id: Some("20261128-151600-sim-default-0-42"),
        warmup: false,
        trial_start: t0,
        in_flight: 64,
        max_tokens: Some(128),
        requested_output_tokens: None,
        tokenizer_output_tokens: None,
    };
    c.bench_function("per_request/row_new_128_tokens", |b| {
        b.iter(|| black_box(RequestRow::new(ctx, black_box(&outcome))))
    });
    let row = RequestRow::new(ctx, &outcome);
    c.bench_function("per_request/row_to_json_128_tokens", |b| {
        let mut line = Vec::with_capacity(4096);
        b.iter(|| {
            line.clear();
            serde_json::to_writer(&mut line, black_box(&row)).expect("serialisable");
            black_box(line.len())
        })
    });
    // What the sink adds per row when a CI job holds ten secrets (none in the row):
    // compare with row_to_json above.
    let mut line = Vec::new();
    serde_json::to_writer(&mut line, &row).expect("serialisable");
    let redactor = llm_bench::redact::Redactor::new(
        (0..10).map(|i| format!("sk-proj-{i}-0123456789abcdefghijklmnopqrstuv")),
    );
    c.bench_function("per_request/row_redact_128_tokens_10_secrets", |b| {
        b.iter(|| black_box(redactor.redact_bytes(black_box(&line)).len()))
    });
}

fn stats(c: &mut Criterion) {
    // Deterministic, unsorted, latency-like samples.
    let samples: Vec<f64> = (0..10_000u64)
        .map(|i| 50.0 + ((i * 2_654_435_761) % 10_007) as f64 / 100.0)
        .collect();
    c.bench_function("summary/stats_from_samples_10k", |b| {
        b.iter_batched(
            || samples.clone(),
            |mut s| black_box(Stats::from_samples(&mut s)),
            BatchSize::SmallInput,
        )
    });
}

/// A request body with a 256-token synthetic prompt: built through a
/// `serde_json::Value` tree from a generated `String` (how every body was made
/// before) against the prepared template with the prompt written in place (how
/// the runner makes them now), in the same run.
fn body(c: &mut Criterion) {
    let template = BodyTemplate {
        api: Api::Chat,
        model: "meta-llama/Llama-3.1-8B-Instruct".into(),
        max_tokens: 128,
        ignore_eos: true,
        stream: true,
        extra: serde_json::Map::new(),
    };
    let prompts = PromptGenerator::synthetic(256, 0.0, 7);
    let mut group = c.benchmark_group("per_request");
    let mut index = 0u64;
    group.bench_function("body_value_tree_256_tokens", |b| {
        b.iter(|| {
            index += 1;
            black_box(template.body(&prompts.prompt(0, index)))
        })
    });
    let prepared = template.prepare();
    group.bench_function("body_prepared_256_tokens", |b| {
        b.iter(|| {
            index += 1;
            black_box(prepared.render(prompts.len_hint(), |out| prompts.write_json(0, index, out)))
        })
    });
    group.finish();
}

criterion_group!(benches, sse, tokens, row, body, stats);
criterion_main!(benches);
