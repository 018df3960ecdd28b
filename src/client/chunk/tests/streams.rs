//! Whole streams from tests/fixtures/sse, through the SSE parser, the way the
//! HTTP client reads them.

use super::*;
use crate::client::sse::{SseEvent, SseParser};

/// What a stream amounts to, the way the HTTP client reads it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    content_chunks: usize,
    content_bytes: usize,
    reasoning_chunks: usize,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    finish_reason: Option<String>,
    error: Option<String>,
    done: bool,
}

fn summarize(chunks: &[&[u8]]) -> Summary {
    let mut s = Summary::default();
    let mut on_event = |event: SseEvent<'_>| {
        assert!(!s.done, "event after [DONE]");
        match event {
            SseEvent::Done => s.done = true,
            SseEvent::Error(data) => s.error = Some(format!("event: {data}")),
            SseEvent::Data(data) => {
                let info = parse_chunk(data).unwrap_or_else(|e| panic!("{e}"));
                if let Some(error) = &info.error {
                    s.error = Some(error.to_string());
                }
                if info.has_content() {
                    s.content_chunks += 1;
                    s.content_bytes += info.content_bytes;
                }
                s.reasoning_chunks += usize::from(info.has_reasoning);
                if let Some(usage) = info.usage {
                    s.prompt_tokens = usage.prompt_tokens.or(s.prompt_tokens);
                    s.completion_tokens = usage.completion_tokens.or(s.completion_tokens);
                }
                if let Some(reason) = info.finish_reason {
                    s.finish_reason = Some(reason.into_owned());
                }
            }
        }
    };
    let mut parser = SseParser::new();
    for chunk in chunks {
        parser.feed(chunk, &mut on_event).unwrap();
    }
    parser.finish(&mut on_event).unwrap();
    s
}

/// Summarizes `stream` whole, and checks every two-way split agrees.
fn check_fixture(stream: &[u8]) -> Summary {
    let whole = summarize(&[stream]);
    for i in 0..=stream.len() {
        assert_eq!(
            summarize(&[&stream[..i], &stream[i..]]),
            whole,
            "split at {i}"
        );
    }
    whole
}

fn summary(content: (usize, usize), reasoning: usize, usage: (u64, u64), finish: &str) -> Summary {
    Summary {
        content_chunks: content.0,
        content_bytes: content.1,
        reasoning_chunks: reasoning,
        prompt_tokens: Some(usage.0),
        completion_tokens: Some(usage.1),
        finish_reason: Some(finish.to_owned()),
        error: None,
        done: true,
    }
}

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sse/",
            $name
        ))
    };
}

#[test]
fn vllm_chat_stream() {
    // Role-only first delta, 7 tokens, an empty finish delta, usage alone.
    let s = check_fixture(fixture!("vllm_chat.sse"));
    assert_eq!(s, summary((7, 22), 0, (14, 7), "stop"));
}

#[test]
fn vllm_continuous_usage_stream() {
    let s = check_fixture(fixture!("vllm_continuous_usage.sse"));
    assert_eq!(s, summary((7, 22), 0, (14, 7), "stop"));
}

#[test]
fn vllm_reasoning_stream() {
    let mut expected = summary((3, 8), 7, (0, 0), "stop");
    (expected.prompt_tokens, expected.completion_tokens) = (None, None);
    assert_eq!(check_fixture(fixture!("vllm_reasoning.sse")), expected);
}

#[test]
fn sglang_stream() {
    let s = check_fixture(fixture!("sglang_chat.sse"));
    assert_eq!(s, summary((5, 21), 0, (25, 5), "stop"));
}

#[test]
fn llama_cpp_stream() {
    // "’" is 3 bytes; `\"example\"` and `:\n` are escaped in the JSON.
    let s = check_fixture(fixture!("llamacpp_chat.sse"));
    assert_eq!(s, summary((7, 29), 0, (75, 7), "stop"));
}

#[test]
fn tgi_stream() {
    let s = check_fixture(fixture!("tgi_chat.sse"));
    assert_eq!(s, summary((6, 28), 0, (9, 6), "length"));
}

#[test]
fn completions_stream() {
    let s = check_fixture(fixture!("vllm_completions.sse"));
    assert_eq!(s, summary((5, 15), 0, (6, 5), "length"));
}

#[test]
fn openai_stream() {
    let s = check_fixture(fixture!("openai_chat.sse"));
    assert_eq!(s, summary((3, 9), 0, (9, 3), "stop"));
}

#[test]
fn sse_starlette_stream_with_crlf_and_pings() {
    let s = check_fixture(fixture!("sse_starlette_crlf.sse"));
    assert_eq!(s, summary((2, 4), 0, (10, 2), "stop"));
}

#[test]
fn in_stream_error() {
    let s = check_fixture(fixture!("vllm_error.sse"));
    assert_eq!(s.content_chunks, 1);
    assert_eq!(
        s.error.as_deref(),
        Some("The decoder prompt (length 9000) is longer than the maximum model length of 8192.")
    );
}
