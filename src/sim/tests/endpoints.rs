//! The non-completion endpoints, counters and server lifecycle.

use serde_json::{json, Value};

use super::*;

#[tokio::test]
async fn models_lists_the_configured_model() {
    let server = start(SimConfig {
        model: "my-model".into(),
        ..instant()
    })
    .await;
    let body: Value = reqwest::get(format!("{}/models", server.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["id"], "my-model");
    assert_eq!(body["data"][0]["owned_by"], "llm-bench-sim");
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_and_stats_count_what_was_served() {
    let server = start(instant()).await;
    for _ in 0..3 {
        let sse = stream(
            &server,
            "/chat/completions",
            chat_body(json!({"max_tokens": 7})),
        )
        .await;
        assert!(sse.has_done());
    }
    let stats = server.stats();
    assert_eq!(stats.requests_total, 3);
    assert_eq!(stats.requests_ok, 3);
    assert_eq!(stats.output_tokens_total, 21);
    assert_eq!(stats.prompt_tokens_total, 12);
    assert_eq!(stats.active_requests, 0);

    let root = server.base_url().trim_end_matches("/v1").to_string();
    let text = reqwest::get(format!("{root}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(value("vllm:request_success_total"), 3.0);
    assert_eq!(value("vllm:generation_tokens_total"), 21.0);
    assert_eq!(value("vllm:prompt_tokens_total"), 12.0);
    assert_eq!(value("vllm:num_requests_running"), 0.0);
    assert_eq!(value("vllm:num_requests_waiting"), 0.0);
    assert!(value("llm_bench_sim_lateness_seconds_count") >= 21.0);
    assert!(text.contains("# TYPE vllm:num_requests_running gauge"));
    assert!(text.contains("# TYPE vllm:request_success_total counter"));
    server.shutdown().await;
}

#[tokio::test]
async fn active_requests_are_counted_while_streaming() {
    let server = start(SimConfig {
        ttft_ms: 0.0,
        itl_ms: 20.0,
        batch_size: 1,
        ..SimConfig::default()
    })
    .await;
    let body = chat_body(json!({"max_tokens": 10}));
    let (a, b) = (
        stream(&server, "/chat/completions", body.clone()),
        stream(&server, "/chat/completions", body),
    );
    let probe = async {
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let root = server.base_url().trim_end_matches("/v1").to_string();
        let text = reqwest::get(format!("{root}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (server.stats().active_requests, text)
    };
    let (_, _, (active, text)) = tokio::join!(a, b, probe);
    assert_eq!(active, 2);
    assert!(
        text.contains("vllm:num_requests_running{model_name=\"sim-model\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vllm:num_requests_waiting{model_name=\"sim-model\"} 1"),
        "{text}"
    );
    assert_eq!(server.stats().active_requests, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn health_and_base_url() {
    let server = start(instant()).await;
    let url = server.base_url();
    assert_eq!(url, format!("http://127.0.0.1:{}/v1", server.addr().port()));
    let health = reqwest::get(url.replace("/v1", "/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_prompt_with_idle_keep_alive_connections() {
    let server = start(instant()).await;
    let client = reqwest::Client::new();
    // Leaves a pooled keep-alive connection open.
    client
        .get(format!("{}/models", server.base_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let addr = server.addr();
    let started = std::time::Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn a_client_that_walks_away_frees_its_slot() {
    let server = start(SimConfig {
        ttft_ms: 0.0,
        itl_ms: 10.0,
        ..SimConfig::default()
    })
    .await;
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&chat_body(json!({"max_tokens": 1000})))
        .send()
        .await
        .unwrap();
    assert_eq!(server.stats().active_requests, 1);
    drop(response);
    // The server notices at its next write (one ITL later).
    let mut waited = 0;
    while server.stats().active_requests != 0 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert_eq!(server.stats().active_requests, 0);
    server.shutdown().await;
}
