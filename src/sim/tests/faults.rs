//! Injected faults, authentication and request validation as a client sees them.

use serde_json::{json, Value};

use super::*;

async fn post(server: &SimServer, body: Value, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("request is answered")
}

async fn error_body(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.expect("JSON error body");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
    assert!(body["error"]["code"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn api_key_is_enforced() {
    let server = start(SimConfig {
        api_key: Some("sekrit".into()),
        ..instant()
    })
    .await;
    let body = chat_body(json!({"max_tokens": 2}));
    let response = post(&server, body.clone(), None).await;
    assert_eq!(response.status(), 401);
    let error = error_body(response).await;
    assert!(
        !error.to_string().contains("sekrit"),
        "the key is never echoed"
    );
    assert_eq!(
        post(&server, body.clone(), Some("wrong")).await.status(),
        401
    );
    assert_eq!(post(&server, body, Some("sekrit")).await.status(), 200);
    let models = format!("{}/models", server.base_url());
    assert_eq!(reqwest::get(&models).await.unwrap().status(), 401);
    // Health and metrics stay open for probes and scrapers.
    let root = server.base_url().trim_end_matches("/v1").to_string();
    assert_eq!(
        reqwest::get(format!("{root}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{root}/metrics"))
            .await
            .unwrap()
            .status(),
        200
    );
    server.shutdown().await;
}

#[tokio::test]
async fn strict_fields_rejects_ignore_eos_with_422() {
    let server = start(SimConfig {
        strict_fields: true,
        ..instant()
    })
    .await;
    let response = post(
        &server,
        chat_body(json!({"max_tokens": 2, "ignore_eos": true})),
        None,
    )
    .await;
    assert_eq!(response.status(), 422);
    let error = error_body(response).await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ignore_eos"),
        "{error}"
    );
    let body = chat_body(
        json!({"max_tokens": 2, "temperature": 0.0, "stream_options": {"include_usage": true}}),
    );
    assert_eq!(post(&server, body, None).await.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn injected_500_and_429() {
    let server = start(SimConfig {
        error_500_rate: 1.0,
        ..instant()
    })
    .await;
    let response = post(&server, chat_body(json!({})), None).await;
    assert_eq!(response.status(), 500);
    error_body(response).await;
    let stats = server.stats();
    assert_eq!(
        (
            stats.requests_total,
            stats.requests_failed_injected,
            stats.requests_ok
        ),
        (1, 1, 0)
    );
    server.shutdown().await;

    let server = start(SimConfig {
        error_429_rate: 1.0,
        ..instant()
    })
    .await;
    let response = post(&server, chat_body(json!({})), None).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    error_body(response).await;
    server.shutdown().await;
}

#[tokio::test]
async fn injected_disconnect_breaks_the_body() {
    let server = start(SimConfig {
        disconnect_rate: 1.0,
        ..instant()
    })
    .await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 10})),
    )
    .await;
    assert_eq!(sse.status, 200);
    assert!(
        sse.body_error.is_some(),
        "the client must see an incomplete body"
    );
    assert_eq!(sse.tokens(), 5, "cut after half the tokens");
    assert!(!sse.has_done());

    // Non-streamed: the client gets half the JSON, then a broken connection.
    let response = post(
        &server,
        json!({"messages": [], "max_tokens": 4, "stream": false}),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let first = body
        .next()
        .await
        .expect("a first part")
        .expect("delivered before the cut");
    assert!(
        serde_json::from_slice::<Value>(&first).is_err(),
        "only part of the document"
    );
    assert!(matches!(body.next().await, Some(Err(_))));
    let stats = server.stats();
    assert_eq!(stats.requests_failed_injected, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn injected_stall_pauses_mid_stream() {
    let config = SimConfig {
        stall_rate: 1.0,
        stall_ms: 80,
        ttft_ms: 0.0,
        itl_ms: 1.0,
        ..SimConfig::default()
    };
    let server = start(config).await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 10})),
    )
    .await;
    let content = sse.content();
    assert_eq!(content.len(), 10);
    // Chunk 5 of 10 is due at 5 x 1 ms + 80 ms. Chunks can arrive late on a
    // busy machine but never early, so the lower bound is exact.
    let ms = |i: usize| content[i].0.as_secs_f64() * 1e3;
    assert!(ms(5) >= 84.0, "chunk 5 at {:.1} ms", ms(5));
    assert!(
        ms(0) < 60.0,
        "the stall must come after the first token, not before: {:.1} ms",
        ms(0)
    );
    assert!(sse.has_done(), "a stall is not a failure");
    server.shutdown().await;
}

#[tokio::test]
async fn injected_malformed_chunk() {
    let server = start(SimConfig {
        malformed_rate: 1.0,
        ..instant()
    })
    .await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 6})),
    )
    .await;
    let invalid = sse
        .events
        .iter()
        .filter(|(_, data)| data != "[DONE]" && serde_json::from_str::<Value>(data).is_err())
        .count();
    assert_eq!(invalid, 1);
    assert_eq!(
        sse.tokens(),
        5,
        "the malformed chunk's token is lost to the client"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_json_400s() {
    let server = start(instant()).await;
    let url = format!("{}/chat/completions", server.base_url());
    for body in [
        "",
        "{not json",
        "[1,2]",
        r#"{"messages": 3}"#,
        r#"{"messages": [], "max_tokens": "many"}"#,
    ] {
        let response = reqwest::Client::new()
            .post(&url)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        error_body(response).await;
    }
    let response = reqwest::get(format!("{}/nowhere", server.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    error_body(response).await;
    server.shutdown().await;
}

#[tokio::test]
async fn same_seed_breaks_the_same_requests() {
    let pattern = |seed| async move {
        let server = start(SimConfig {
            error_500_rate: 0.5,
            seed,
            ..instant()
        })
        .await;
        let mut statuses = Vec::new();
        for _ in 0..16 {
            statuses.push(
                post(&server, json!({"messages": [], "max_tokens": 1}), None)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        server.shutdown().await;
        statuses
    };
    let first = pattern(3).await;
    assert_eq!(first, pattern(3).await);
    assert!(first.contains(&500) && first.contains(&200), "{first:?}");
}
