//! End-to-end: a scenario with `trace:` replays the shipped example trace against
//! the simulator, and the simulator's own request log shows each request arriving
//! when the trace says (times `time_scale`) with the trace's `max_tokens`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use llm_bench::sim::SimConfig;

/// The rows of `configs/traces/example.jsonl`: (offset ms, input, output).
fn example_rows() -> Vec<(f64, u32, u32)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/traces/example.jsonl"),
    )
    .unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = rows[0]["timestamp"].as_f64().unwrap();
    rows.iter()
        .map(|r| {
            (
                r["timestamp"].as_f64().unwrap() - first,
                r["input_length"].as_u64().unwrap() as u32,
                r["output_length"].as_u64().unwrap() as u32,
            )
        })
        .collect()
}

/// A config folder with one target at `url` and one scenario, `replay`, whose
/// `trace:` block is `trace` (the example traces are copied beside it).
fn config_dir(root: &Path, url: &str, trace: &str) -> PathBuf {
    let dir = root.join("configs");
    std::fs::create_dir_all(dir.join("traces")).unwrap();
    for name in ["example.jsonl", "example.csv"] {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("configs/traces")
            .join(name);
        std::fs::copy(shipped, dir.join("traces").join(name)).unwrap();
    }
    std::fs::write(
        dir.join("targets.yaml"),
        format!("default: local\ntargets:\n  local:\n    base_url: {url}\n    api: chat\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("models.yaml"),
        "default: sim-model\nmodels:\n  sim-model: { max_tokens: 8 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("workloads.yaml"),
        format!(
            "prompts:\n  short: {{ text: \"Say hello.\" }}\n\
             scenarios:\n  replay:\n    trace: {trace}\n    ignore_eos: true\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn a_trace_is_replayed_on_its_schedule_with_its_lengths() {
    let _serial = timing_sensitive();
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("sim-requests.jsonl");
    let config = SimConfig {
        ttft_ms: 5.0,
        itl_ms: 0.5,
        ..SimConfig::default()
    };
    let server = Sim::start_logged(config, Some(&log));
    let scale = 0.5;
    let dir = config_dir(
        tmp.path(),
        &server.url(),
        &format!("{{ file: traces/example.jsonl, time_scale: {scale} }}"),
    );
    let out = out_dir(&tmp);
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&o);
    drop(server);

    let trace = example_rows();
    let rows = rows(&out);
    assert_eq!(rows.len(), trace.len());
    let health: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(out.join("client_health.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let start_ns = health["clock_start_ns"].as_u64().unwrap() as f64;
    let served: HashMap<String, serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| (e["request_id"].as_str().unwrap().to_string(), e))
        .collect();
    assert_eq!(served.len(), trace.len());
    let mut late_ms = Vec::new();
    for row in &rows {
        let (offset_ms, input, output) = trace[row.index as usize];
        let want_ms = offset_ms * scale;
        assert!(
            (row.scheduled_ms - want_ms).abs() < 0.01,
            "request {} scheduled at {} ms, the trace says {want_ms}",
            row.index,
            row.scheduled_ms
        );
        let e = &served[row.request_id.as_deref().unwrap()];
        // What the server received: the trace's output length as max_tokens, and
        // a prompt of the input length (plus the one-word salt).
        assert_eq!(e["max_tokens"].as_u64(), Some(u64::from(output)), "{e}");
        assert_eq!(row.output_tokens, u64::from(output));
        assert_eq!(row.prompt_tokens, Some(u64::from(input) + 1));
        // Arrival at the server versus the trace's time: never early (5 µs of
        // rounding), and late by no more than the open loop's tolerance on a
        // loaded machine.
        let arrival_ms = (e["arrival_ns"].as_u64().unwrap() as f64 - start_ns) / 1e6;
        late_ms.push(arrival_ms - want_ms);
    }
    let (min, max) = late_ms
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let mean = late_ms.iter().sum::<f64>() / late_ms.len() as f64;
    assert!(
        min > -0.005,
        "a request arrived {min} ms before its trace time"
    );
    // Generous upper bounds: a shared CI machine delays a wake-up by several ms
    // (8 ms on average was seen with a compile running beside it), never the
    // other way.
    assert!(
        mean < 25.0 && max < 250.0,
        "late by {mean} ms on average, {max} at most"
    );

    let s = summary(&out);
    let m = &s.scenarios[0].metrics;
    assert_eq!(m.requests.succeeded, trace.len() as u64);
    let span_s = trace.last().unwrap().0 * scale / 1000.0;
    let want_rate = (trace.len() - 1) as f64 / span_s;
    assert!((m.schedule.target_rate.unwrap() - want_rate).abs() < 1e-6);
    assert!(m.schedule.send_lag_ms.is_some(), "send lag is reported");
    validated_summary(&out);
}

/// The Azure layout (CSV) reads the same requests as the JSONL one: the same
/// workload hash, so baselines of either compare.
#[test]
fn the_csv_layout_reads_the_same_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let hash = |sub: &str, trace: &str| {
        let dir = config_dir(&tmp.path().join(sub), "http://127.0.0.1:9", trace);
        let config = llm_bench::config::load_dir(&dir, &|_| None).unwrap();
        config.workloads.hash
    };
    let jsonl = hash("a", "{ file: traces/example.jsonl }");
    assert_eq!(jsonl, hash("b", "{ file: traces/example.csv }"));
    // The time scale changes what is sent, so it changes the hash.
    assert_ne!(
        jsonl,
        hash("c", "{ file: traces/example.jsonl, time_scale: 2 }")
    );
}

/// A bad row fails the config check with the trace file, line and reason (exit 2).
#[test]
fn a_bad_trace_line_is_named_with_its_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = config_dir(
        tmp.path(),
        "http://127.0.0.1:9",
        "{ file: traces/bad.jsonl }",
    );
    std::fs::write(
        dir.join("traces/bad.jsonl"),
        "{\"timestamp\": 0, \"input_length\": 4, \"output_length\": 2}\n\
         {\"timestamp\": 10, \"input_length\": 4}\n",
    )
    .unwrap();
    let o = bin()
        .args(["validate", "--config-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // `validate` lists the problems on stdout.
    let err = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(err.contains("traces/bad.jsonl:2:"), "{err}");
    assert!(err.contains("output_length"), "{err}");
    let out = out_dir(&tmp);
    let o = bin()
        .args(["run", "--config-dir"])
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("traces/bad.jsonl:2:"));
}
