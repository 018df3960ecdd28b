//! Single payloads, shaped like each server's documented output, and the ones
//! that are not chunks at all.

use super::*;

#[test]
fn role_only_first_delta_has_no_content() {
    // OpenAI and vLLM: empty content; llama.cpp: null content; llama-cpp-python: none.
    for data in [
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"c","model":"m","system_fingerprint":"b6497-cd08fc3e","object":"chat.completion.chunk"}"#,
        r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}"#,
    ] {
        assert_eq!(parse(data), ChunkInfo::default(), "{data}");
    }
}

#[test]
fn content_chunk() {
    let info = parse(
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1726000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":{"content":" Hello"},"logprobs":null,"finish_reason":null}]}"#,
    );
    assert_eq!(info.content_bytes, 6);
    assert!(info.has_content());
    assert!(!info.has_reasoning);
    assert_eq!(
        (info.usage, info.finish_reason, info.error),
        (None, None, None)
    );
}

#[test]
fn final_usage_chunk_with_empty_choices() {
    let info = parse(
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":14,"total_tokens":21,"completion_tokens":7}}"#,
    );
    assert_eq!(info.content_bytes, 0);
    assert_eq!(info.usage, usage(14, 7));
    assert_eq!(info.finish_reason, None);
}

#[test]
fn usage_on_a_content_chunk_continuous_usage_stats() {
    // vLLM `stream_options: {"include_usage": true, "continuous_usage_stats": true}`.
    let info = parse(
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":14,"total_tokens":16,"completion_tokens":2}}"#,
    );
    assert_eq!(info.content_bytes, 1);
    assert_eq!(info.usage, usage(14, 2));
}

#[test]
fn usage_null_or_partial() {
    // TGI and OpenAI send `"usage": null` on every chunk but the last.
    let info = parse(
        r#"{"object":"chat.completion.chunk","id":"","created":1,"model":"m","system_fingerprint":"2.2.1-dev0-native","choices":[{"index":0,"delta":{"role":"assistant","content":"Deep"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
    );
    assert_eq!((info.content_bytes, info.usage), (4, None));
    assert_eq!(parse(r#"{"usage":{}}"#).usage, Some(Usage::default()));
    let info = parse(r#"{"usage":{"completion_tokens":3,"prompt_tokens":null}}"#);
    assert_eq!(
        info.usage,
        Some(Usage {
            prompt_tokens: None,
            completion_tokens: Some(3)
        })
    );
    // OpenAI's detail objects are ignored.
    let info = parse(
        r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
    );
    assert_eq!(info.usage, usage(9, 3));
}

#[test]
fn sglang_chunk() {
    let info = parse(
        r#"{"id":"0f4b","object":"chat.completion.chunk","created":1730000000,"model":"Qwen/Qwen2.5-7B-Instruct","choices":[{"index":0,"delta":{"role":null,"content":"Paris","reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],"usage":null}"#,
    );
    assert_eq!((info.content_bytes, info.has_reasoning), (5, false));
    let info = parse(
        r#"{"id":"0f4b","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[{"index":0,"delta":{"role":null,"content":null,"reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":"stop","matched_stop":151645}],"usage":null}"#,
    );
    assert_eq!(info.content_bytes, 0);
    assert_eq!(info.finish_reason.as_deref(), Some("stop"));
}

#[test]
fn llama_cpp_last_chunks_with_timings() {
    // Older llama-server: usage and timings on the finish chunk.
    let info = parse(
        r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1722354477,"id":"chatcmpl-x","model":"gpt-3.5-turbo","object":"chat.completion.chunk","usage":{"completion_tokens":10,"prompt_tokens":5,"total_tokens":15},"timings":{"prompt_n":5,"prompt_ms":20.1,"prompt_per_token_ms":4.02,"prompt_per_second":248.7,"predicted_n":10,"predicted_ms":95.3,"predicted_per_token_ms":9.53,"predicted_per_second":104.9}}"#,
    );
    assert_eq!(info.finish_reason.as_deref(), Some("stop"));
    assert_eq!(info.usage, usage(5, 10));
    // Newer llama-server (since PR #15444): a separate chunk with no choices.
    let info = parse(
        r#"{"choices":[],"created":1758108431,"id":"chatcmpl-Ca3q","model":"google/gemma-3-1b-it-qat-q4_0","system_fingerprint":"b6497-cd08fc3e","object":"chat.completion.chunk","usage":{"completion_tokens":31,"prompt_tokens":75,"total_tokens":106},"timings":{"cache_n":0,"prompt_n":75,"prompt_ms":180.025,"prompt_per_token_ms":2.400333333333333,"prompt_per_second":416.60880433273155,"predicted_n":31,"predicted_ms":875.429,"predicted_per_token_ms":28.239645161290323,"predicted_per_second":35.41120981827196}}"#,
    );
    assert_eq!((info.content_bytes, info.usage), (0, usage(75, 31)));
}

#[test]
fn completions_text_chunk() {
    let info = parse(
        r#"{"id":"cmpl-5d2c","object":"text_completion","created":1726000000,"model":"m","choices":[{"index":0,"text":" Paris","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}"#,
    );
    assert_eq!(info.content_bytes, 6);
    // TGI's completions endpoint: `""` means "not finished".
    let info = parse(
        r#"{"id":"","choices":[{"finish_reason":"","index":0,"logprobs":null,"text":"Object"}],"created":1,"model":"m","object":"text_completion","system_fingerprint":"2.2.1-dev0-native","usage":null}"#,
    );
    assert_eq!((info.content_bytes, info.finish_reason), (6, None));
    assert_eq!(parse(r#"{"choices":[{"text":""}]}"#).content_bytes, 0);
}

#[test]
fn reasoning_content_deepseek_r1_on_vllm() {
    let info = parse(
        r#"{"id":"chatcmpl-3f2e","object":"chat.completion.chunk","created":1738000000,"model":"deepseek-ai/DeepSeek-R1-Distill-Qwen-7B","choices":[{"index":0,"delta":{"reasoning_content":"Okay"},"logprobs":null,"finish_reason":null}]}"#,
    );
    assert_eq!(
        (info.content_bytes, info.reasoning_bytes, info.has_reasoning),
        (0, 4, true)
    );
    assert!(!info.has_content());
}

#[test]
fn reasoning_field_newer_vllm() {
    let info =
        parse(r#"{"choices":[{"index":0,"delta":{"reasoning":" so"},"finish_reason":null}]}"#);
    assert_eq!((info.reasoning_bytes, info.has_reasoning), (3, true));
    // Both spellings of the same text count once.
    let info = parse(r#"{"choices":[{"delta":{"reasoning":" so","reasoning_content":" so"}}]}"#);
    assert_eq!(info.reasoning_bytes, 3);
    // Empty or null reasoning is none; content and reasoning can share a delta.
    let info =
        parse(r#"{"choices":[{"delta":{"reasoning":"","reasoning_content":null,"content":"A"}}]}"#);
    assert_eq!((info.content_bytes, info.has_reasoning), (1, false));
    let info = parse(r#"{"choices":[{"delta":{"reasoning_content":"</think>","content":"A"}}]}"#);
    assert_eq!((info.content_bytes, info.reasoning_bytes), (1, 8));
}

#[test]
fn escaped_content_counts_decoded_bytes() {
    // "hi" in quotes, then a newline: 5 bytes once decoded.
    assert_eq!(
        parse(r#"{"choices":[{"delta":{"content":"\"hi\"\n"}}]}"#).content_bytes,
        5
    );
    // \u escapes (Python's json.dumps default): é is 2 bytes, 😀 (a surrogate pair) 4.
    assert_eq!(
        parse(r#"{"choices":[{"delta":{"content":"\u00e9"}}]}"#).content_bytes,
        2
    );
    assert_eq!(
        parse(r#"{"choices":[{"delta":{"content":"\ud83d\ude00"}}]}"#).content_bytes,
        4
    );
    assert_eq!(
        parse(r#"{"choices":[{"delta":{"content":"é😀"}}]}"#).content_bytes,
        6
    );
    assert_eq!(
        parse(r#"{"choices":[{"text":"a\\b\/\t"}]}"#).content_bytes,
        5
    );
}

#[test]
fn several_choices() {
    // n > 1: any choice's text is content; the first finish_reason is kept.
    let info = parse(
        r#"{"choices":[{"index":0,"delta":{"content":"ab"},"finish_reason":null},{"index":1,"delta":{"content":"cde"},"finish_reason":"length"},{"index":2,"delta":{},"finish_reason":"stop"}]}"#,
    );
    assert_eq!(info.content_bytes, 5);
    assert_eq!(info.finish_reason.as_deref(), Some("length"));
}

#[test]
fn whole_non_streamed_response() {
    let info = parse(
        r#"{
          "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Ahoy!\nMatey", "reasoning_content": "think", "tool_calls": []}, "logprobs": null, "finish_reason": "stop"}],
          "usage": {"prompt_tokens": 23, "completion_tokens": 30, "total_tokens": 53}
        }"#,
    );
    assert_eq!((info.content_bytes, info.reasoning_bytes), (11, 5));
    assert_eq!(info.usage, usage(23, 30));
    assert_eq!(info.finish_reason.as_deref(), Some("stop"));
    let info = parse(
        r#"{"object":"text_completion","choices":[{"index":0,"text":"Paris.","finish_reason":"length"}],"usage":{"prompt_tokens":6,"completion_tokens":2}}"#,
    );
    assert_eq!(info.content_bytes, 6);
}

#[test]
fn unknown_fields_are_skipped() {
    // Tool-call arguments are JSON inside a string: escapes everywhere, all skipped.
    let info = parse(
        r#"{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"city\": \"Paris\"}"}}],"audio":null,"refusal":null},"logprobs":{"content":[{"token":"x","logprob":-0.1,"bytes":[120],"top_logprobs":[]}]},"finish_reason":null}],"prompt_logprobs":null,"kv_transfer_params":null,"obfuscation":"a\"b","nested":{"deep":[[[{"x":[1,2,{"y":null}]}]]]},"n":1.5e10,"t":true}"#,
    );
    assert_eq!(info, ChunkInfo::default());
}

#[test]
fn kept_strings_borrow_from_the_payload() {
    let info =
        parse(r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"error":{"message":"boom"}}"#);
    assert!(matches!(info.finish_reason, Some(Cow::Borrowed("stop"))));
    assert!(matches!(info.error, Some(Cow::Borrowed("boom"))));
    // Escapes force a copy, with the text decoded.
    let info = parse(r#"{"error":{"message":"bad \"x\""}}"#);
    assert!(matches!(info.error, Some(Cow::Owned(ref m)) if m == "bad \"x\""));
}

// ---- errors reported inside the stream ----

#[test]
fn error_object_with_message() {
    // OpenAI, vLLM and SGLang streaming errors; llama.cpp's has `code` first.
    for data in [
        r#"{"error":{"object":"error","message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.","type":"BadRequestError","param":null,"code":400}}"#,
        r#"{"error":{"code":500,"message":"The decoder prompt (length 9000) is longer than the maximum model length of 8192.","type":"server_error"}}"#,
    ] {
        let info = parse(data);
        assert_eq!(
            info.error.as_deref(),
            Some(
                "The decoder prompt (length 9000) is longer than the maximum model length of 8192."
            )
        );
    }
}

#[test]
fn error_string() {
    // TGI.
    let info = parse(
        r#"{"error":"Request failed during generation: Server error: CUDA out of memory.","error_type":"generation"}"#,
    );
    assert_eq!(
        info.error.as_deref(),
        Some("Request failed during generation: Server error: CUDA out of memory.")
    );
}

#[test]
fn top_level_error_response() {
    // vLLM's `ErrorResponse` sent as the payload itself.
    let info = parse(
        r#"{"object":"error","message":"[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]","type":"BadRequestError","param":null,"code":400}"#,
    );
    assert_eq!(
        info.error.as_deref(),
        Some("[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]")
    );
    assert_eq!(
        parse(r#"{"object":"error"}"#).error.as_deref(),
        Some(NO_MESSAGE)
    );
    // `message` alone, or with another object type, is not an error.
    assert_eq!(
        parse(r#"{"object":"chat.completion","message":"hi"}"#).error,
        None
    );
}

#[test]
fn error_without_a_usable_message() {
    for data in [
        r#"{"error":{}}"#,
        r#"{"error":{"message":""}}"#,
        r#"{"error":{"message":null,"code":503}}"#,
        r#"{"error":{"message":["a","b"],"code":503}}"#,
        r#"{"error":{"message":{"text":"x"}}}"#,
        r#"{"error":true}"#,
        r#"{"error":503}"#,
        r#"{"error":["x"]}"#,
    ] {
        assert_eq!(parse(data).error.as_deref(), Some(NO_MESSAGE), "{data}");
    }
}

#[test]
fn values_that_say_no_error() {
    for data in [
        r#"{"error":null}"#,
        r#"{"error":false}"#,
        r#"{"error":""}"#,
        r#"{"error":0}"#,
        r#"{"error":[]}"#,
    ] {
        assert_eq!(parse(data).error, None, "{data}");
    }
}

// ---- payloads that are not chunks ----

#[test]
fn malformed_json() {
    for data in [
        r#"{"choices":[{"delta":{"content":"Hel"#,
        "not json",
        r#"{"choices":[]} trailing"#,
        r#"{"choices":[],}"#,
        "{\"choices\":[{\"delta\":{\"content\":\"a\u{1}b\"}}]}",
    ] {
        let err = parse_chunk(data).unwrap_err();
        assert_eq!(err.kind(), ChunkErrorKind::NotJson, "{data}");
    }
    let err = parse_chunk(r#"{"choices":[{"delta":{"content":"Hel"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"malformed chunk: not valid JSON (EOF while parsing a string at line 1 column 36): {"choices":[{"delta":{"content":"Hel"#
    );
}

#[test]
fn json_that_is_not_a_chunk() {
    for data in [
        "[]",
        r#""text""#,
        "42",
        "null",
        r#"{"choices":{}}"#,
        r#"{"choices":[{"delta":{"content":42}}]}"#,
        r#"{"choices":[{"text":["a"]}]}"#,
        r#"{"usage":{"prompt_tokens":-1}}"#,
        r#"{"usage":{"prompt_tokens":1.5}}"#,
        r#"{"choices":[{"finish_reason":1}]}"#,
    ] {
        let err = parse_chunk(data).unwrap_err();
        assert_eq!(err.kind(), ChunkErrorKind::NotAChunk, "{data}");
    }
    let err = parse_chunk(r#"{"choices":[{"delta":{"content":42}}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"malformed chunk: JSON, but not a completion chunk (invalid type: integer `42`, expected a string at line 1 column 34): {"choices":[{"delta":{"content":42}}]}"#
    );
}

#[test]
fn blank_payload_is_empty_not_an_error() {
    for data in ["", " ", "\n", " \t\r\n "] {
        assert_eq!(parse_chunk(data), Ok(ChunkInfo::default()), "{data:?}");
    }
}

#[test]
fn error_excerpt_is_short_and_on_one_line() {
    let long = format!(
        "{{\"choices\":[{{\"delta\":{{\"content\":\"{}",
        "x\n".repeat(500)
    );
    let err = parse_chunk(&long).unwrap_err();
    assert_eq!(err.excerpt().chars().count(), EXCERPT_CHARS);
    assert!(err.excerpt().ends_with('…'));
    assert!(!err.to_string().contains('\n'));
    assert!(err.detail().chars().count() <= EXCERPT_CHARS);
    // serde_json quotes a wrong-typed string in full: the detail is cut too.
    let data = format!(r#"{{"usage":{{"prompt_tokens":"{}"}}}}"#, "9".repeat(1000));
    let err = parse_chunk(&data).unwrap_err();
    assert!(
        err.detail().chars().count() <= EXCERPT_CHARS,
        "{}",
        err.detail()
    );
    assert!(err.to_string().chars().count() < 500);
    // Short payloads are quoted whole.
    assert_eq!(parse_chunk("nope").unwrap_err().excerpt(), "nope");
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // serde_json skips ignored values without recursing...
    let data = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(parse_chunk(&data), Ok(ChunkInfo::default()));
    // ...and stops at 128 levels where this parser recurses.
    let data = format!(
        "{{\"error\":{}\"x\"{}}}",
        "{\"message\":".repeat(100_000),
        "}".repeat(100_000)
    );
    assert_eq!(
        parse_chunk(&data).unwrap_err().kind(),
        ChunkErrorKind::NotJson
    );
    let data = format!("{{\"choices\":{}", "[".repeat(100_000));
    assert!(parse_chunk(&data).is_err());
}
