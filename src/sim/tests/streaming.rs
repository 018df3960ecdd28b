//! Streamed responses: content, usage modes, chunking and timing.

use serde_json::{json, Value};

use super::*;
use crate::sim::UsageMode;

#[tokio::test]
async fn chat_stream_has_exact_tokens_and_a_separate_usage_chunk() {
    let server = start(instant()).await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({
            "max_tokens": 16, "stream_options": {"include_usage": true}
        })),
    )
    .await;
    assert_eq!(sse.status, 200);
    assert!(sse.body_error.is_none());
    assert_eq!(sse.tokens(), 16);
    assert_eq!(sse.content().len(), 16);
    let chunks = sse.chunks();
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let last_content = &chunks[chunks.len() - 2];
    assert_eq!(last_content["choices"][0]["finish_reason"], "length");
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(
        usage_chunk["usage"],
        json!({"prompt_tokens": 4, "completion_tokens": 16, "total_tokens": 20})
    );
    assert!(sse.has_done());
    // Every chunk of a response carries the same id.
    assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]));
    server.shutdown().await;
}

#[tokio::test]
async fn ttft_and_inter_token_gaps_follow_the_schedule() {
    let config = SimConfig {
        ttft_ms: 30.0,
        itl_ms: 5.0,
        ..SimConfig::default()
    };
    let server = start(config).await;
    // A busy machine can only make a response later, never earlier, so the
    // best of three attempts is judged; one on-time response proves the
    // schedule is right.
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let sse = stream(
            &server,
            "/chat/completions",
            chat_body(json!({"max_tokens": 40})),
        )
        .await;
        let content = sse.content();
        assert_eq!(content.len(), 40);
        let ttft_ms = content[0].0.as_secs_f64() * 1e3;
        let mean_gap_ms = (content[39].0 - content[0].0).as_secs_f64() * 1e3 / 39.0;
        if (ttft_ms - 30.0).abs() <= 3.0 && (mean_gap_ms - 5.0).abs() <= 1.0 {
            server.shutdown().await;
            return;
        }
        attempts.push(format!(
            "TTFT {ttft_ms:.2} ms, mean gap {mean_gap_ms:.3} ms"
        ));
    }
    panic!(
        "off schedule: {attempts:?}; server stats {:?}",
        server.stats()
    );
}

#[tokio::test]
async fn multi_token_chunks() {
    let server = start(SimConfig {
        tokens_per_chunk: 4,
        ..instant()
    })
    .await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 16})),
    )
    .await;
    assert_eq!(sse.content().len(), 4);
    assert_eq!(sse.tokens(), 16);
    // 18 tokens in chunks of 4: the last chunk carries the remaining 2.
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 18})),
    )
    .await;
    let content = sse.content();
    assert_eq!(content.len(), 5);
    assert_eq!(content[4].1.split_whitespace().count(), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn completions_endpoint_streams_text() {
    let server = start(instant()).await;
    let body = json!({"model": "other", "prompt": "a b c", "max_tokens": 5, "stream": true,
                      "stream_options": {"include_usage": true}});
    let sse = stream(&server, "/completions", body).await;
    assert_eq!(sse.status, 200);
    assert_eq!(sse.tokens(), 5);
    let chunks = sse.chunks();
    assert_eq!(chunks[0]["object"], "text_completion");
    assert_eq!(chunks[0]["model"], "other", "the requested model is echoed");
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "length");
    assert_eq!(chunks[5]["usage"]["prompt_tokens"], 3);
    assert!(sse.has_done());
    server.shutdown().await;
}

#[tokio::test]
async fn usage_modes_and_missing_done() {
    let usage = json!({"max_tokens": 3, "stream_options": {"include_usage": true}});
    let server = start(SimConfig {
        usage: UsageMode::OnLastChunk,
        send_done: false,
        ..instant()
    })
    .await;
    let sse = stream(&server, "/chat/completions", chat_body(usage.clone())).await;
    assert!(sse.body_error.is_none());
    assert!(!sse.has_done());
    let chunks = sse.chunks();
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    assert_eq!(last["usage"]["completion_tokens"], 3);
    server.shutdown().await;

    let server = start(SimConfig {
        usage: UsageMode::None,
        ..instant()
    })
    .await;
    let sse = stream(&server, "/chat/completions", chat_body(usage)).await;
    assert!(sse.chunks().iter().all(|c| c.get("usage").is_none()));
    assert!(sse.has_done());
    // Without include_usage no usage is sent in any mode.
    let server2 = start(instant()).await;
    let sse = stream(
        &server2,
        "/chat/completions",
        chat_body(json!({"max_tokens": 3})),
    )
    .await;
    assert!(sse.chunks().iter().all(|c| c.get("usage").is_none()));
    server.shutdown().await;
    server2.shutdown().await;
}

#[tokio::test]
async fn eos_stops_early_unless_ignored() {
    let server = start(SimConfig {
        eos_tokens: Some(5),
        output_tokens: 9,
        ..instant()
    })
    .await;
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 20})),
    )
    .await;
    assert_eq!(sse.tokens(), 5);
    let finish = |sse: &Sse| sse.chunks().last().unwrap()["choices"][0]["finish_reason"].clone();
    assert_eq!(finish(&sse), "stop");
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"max_tokens": 20, "ignore_eos": true})),
    )
    .await;
    assert_eq!(sse.tokens(), 20);
    assert_eq!(finish(&sse), "length");
    let sse = stream(
        &server,
        "/chat/completions",
        chat_body(json!({"ignore_eos": true})),
    )
    .await;
    assert_eq!(sse.tokens(), 9, "output_tokens is the default length");
    assert_eq!(finish(&sse), "stop");
    server.shutdown().await;
}

#[tokio::test]
async fn load_beyond_batch_size_slows_every_stream() {
    // Four streams on a batch of two: every step takes twice as long.
    let config = SimConfig {
        ttft_ms: 0.0,
        itl_ms: 4.0,
        batch_size: 2,
        ..SimConfig::default()
    };
    let server = start(config).await;
    let body = chat_body(json!({"max_tokens": 21}));
    let runs = futures_util::future::join_all(
        (0..4).map(|_| stream(&server, "/chat/completions", body.clone())),
    )
    .await;
    for sse in runs {
        let content = sse.content();
        let gap_ms = (content[20].0 - content[0].0).as_secs_f64() * 1e3 / 20.0;
        assert!(gap_ms > 6.5, "gap {gap_ms:.2} ms under 2x load");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn prefill_cost_scales_ttft_with_prompt_length() {
    let config = SimConfig {
        ttft_ms: 5.0,
        ttft_per_prompt_token_ms: 1.0,
        itl_ms: 0.0,
        ..SimConfig::default()
    };
    let server = start(config).await;
    let prompt = vec!["word"; 60].join(" ");
    let body =
        json!({"messages": [{"role": "user", "content": prompt}], "max_tokens": 1, "stream": true});
    let sse = stream(&server, "/chat/completions", body).await;
    let ttft_ms = sse.content()[0].0.as_secs_f64() * 1e3;
    // 5 ms + 60 words x 1 ms. Only the lower bound is tight: a busy machine
    // can add delay but never remove it (exact timing is checked above).
    assert!((64.0..90.0).contains(&ttft_ms), "TTFT {ttft_ms:.2} ms");
    server.shutdown().await;
}

#[tokio::test]
async fn non_streamed_response_has_full_text_and_usage_after_the_whole_schedule() {
    let server = start(SimConfig {
        ttft_ms: 10.0,
        itl_ms: 2.0,
        ..SimConfig::default()
    })
    .await;
    let started = std::time::Instant::now();
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", server.base_url()))
        .json(&json!({"messages": [{"role": "user", "content": "hi there"}], "max_tokens": 11}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    // 10 ms TTFT + 10 more tokens x 2 ms; lower bound tight as above.
    assert!(
        (29.0..50.0).contains(&elapsed_ms),
        "took {elapsed_ms:.2} ms"
    );
    assert_eq!(body["object"], "chat.completion");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(content.split_whitespace().count(), 11);
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 11, "total_tokens": 13})
    );

    let response = reqwest::Client::new()
        .post(format!("{}/completions", server.base_url()))
        .json(&json!({"prompt": "x", "max_tokens": 2}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["usage"]["completion_tokens"], 2);
    server.shutdown().await;
}
