//! `--request-log`: one line per request, with its real timestamps.

use std::net::{Ipv4Addr, SocketAddr};

use serde_json::{json, Value};

use super::{chat_body, SimConfig, SimServer};

async fn start_logged(config: SimConfig, log: &std::path::Path) -> SimServer {
    config.validate().expect("test config is valid");
    SimServer::start_logged(
        config,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Some(log),
    )
    .await
    .expect("server starts")
}

fn lines(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn each_request_is_logged_with_its_id_and_when_its_chunks_left() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = start_logged(
        SimConfig {
            ttft_ms: 30.0,
            itl_ms: 4.0,
            ..SimConfig::default()
        },
        &log,
    )
    .await;
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", server.base_url());
    let streamed = client
        .post(&url)
        .header("X-Request-Id", "run-a-0-7")
        .json(&chat_body(json!({"max_tokens": 6})))
        .send()
        .await
        .unwrap();
    streamed.bytes().await.unwrap();
    let whole = client
        .post(&url)
        .json(&json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}))
        .send()
        .await
        .unwrap();
    whole.bytes().await.unwrap();
    server.shutdown().await;

    let lines = lines(&log);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let s = &lines[0];
    assert_eq!(s["request_id"], "run-a-0-7");
    assert_eq!(s["index"], 0);
    assert_eq!(s["chunks"], 6);
    assert_eq!(s["complete"], true);
    let ns = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    // The precise timer fires on time or late, never early; the upper bounds
    // leave room for a loaded test machine.
    let ttft_ms = (ns(s, "first_chunk_ns") - ns(s, "arrival_ns")) as f64 / 1e6;
    assert!((30.0..60.0).contains(&ttft_ms), "TTFT {ttft_ms} ms");
    // Deadlines are absolute (arrival + TTFT + k steps), so a late first chunk
    // shortens the span to the last one by as much: bound the whole span from
    // arrival, which the timer can only overshoot.
    let last_ms = (ns(s, "last_chunk_ns") - ns(s, "arrival_ns")) as f64 / 1e6;
    assert!(
        (50.0..100.0).contains(&last_ms),
        "TTFT 30 ms + 5 steps of 4 ms ended after {last_ms} ms"
    );
    // Timestamps are CLOCK_MONOTONIC, the clock llm-bench's `clock_start_ns` uses.
    let now = crate::clock::monotonic_ns(std::time::Instant::now()).unwrap();
    assert!(ns(s, "last_chunk_ns") < now);

    let w = &lines[1];
    assert_eq!(w["request_id"], Value::Null);
    assert_eq!(
        (w["index"].as_u64(), w["chunks"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(w["complete"], true);
    assert_eq!(ns(w, "first_chunk_ns"), ns(w, "last_chunk_ns"));
}

#[tokio::test]
async fn a_cut_stream_is_logged_as_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let server = start_logged(
        SimConfig {
            ttft_ms: 0.0,
            itl_ms: 1.0,
            disconnect_rate: 1.0,
            ..SimConfig::default()
        },
        &log,
    )
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&chat_body(json!({"max_tokens": 8})))
        .send()
        .await
        .unwrap();
    assert!(response.bytes().await.is_err(), "the stream is cut");
    server.shutdown().await;
    let lines = lines(&log);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["complete"], false);
    assert_eq!(lines[0]["chunks"], 4, "cut half-way: {}", lines[0]);
}
