//! Bytes on the wire: SSE events and full JSON responses.
//!
//! A stream may emit hundreds of thousands of chunks per second across all
//! requests, so chunks are not built with serde. Everything that is constant
//! for a request (id, created, model) is rendered once into a `head`; each
//! chunk is then `head` + static text + a few words copied into a reused
//! buffer, with no formatting and no allocation per token.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde_json::json;

use super::request::Api;
use super::stream::Plan;

/// Text of the generated tokens: one short word with a leading space each, so
/// counting whitespace-separated words gives the token count. No word needs
/// JSON escaping.
const WORDS: [&str; 8] = [
    " the", " sim", " says", " hello", " to", " every", " bench", " run",
];

/// Text of token number `i`.
fn word(i: u32) -> &'static str {
    WORDS[i as usize % WORDS.len()]
}

/// `prompt_tokens`, `completion_tokens`, `total_tokens` of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub prompt: u64,
    pub completion: u64,
}

impl Usage {
    fn write_json(&self, out: &mut BytesMut) {
        // fmt::Write on BytesMut cannot fail; it grows as needed.
        let _ = write!(
            out,
            r#"{{"prompt_tokens":{},"completion_tokens":{},"total_tokens":{}}}"#,
            self.prompt,
            self.completion,
            self.prompt + self.completion
        );
    }
}

/// Pre-rendered pieces of one response.
#[derive(Debug)]
pub(crate) struct Frames {
    api: Api,
    /// `data: {"id":..,"object":..,"created":..,"model":..,"choices":[`
    head: Vec<u8>,
}

impl Frames {
    pub fn new(api: Api, index: u64, created: u64, model: &str) -> Frames {
        let (id_prefix, object) = match api {
            Api::Chat => ("chatcmpl", "chat.completion.chunk"),
            Api::Completions => ("cmpl", "text_completion"),
        };
        // The model name comes from the request, so it is escaped properly
        // (once per request, hence serde is fine here).
        let model = serde_json::to_string(model).unwrap_or_else(|_| "\"\"".into());
        let head = format!(
            r#"data: {{"id":"{id_prefix}-{index}","object":"{object}","created":{created},"model":{model},"choices":["#
        );
        Frames {
            api,
            head: head.into_bytes(),
        }
    }

    /// The chat chunk that announces the assistant role with empty content, as
    /// OpenAI and vLLM send before the first token.
    pub fn role(&self, out: &mut BytesMut) {
        if self.api == Api::Chat {
            out.put_slice(&self.head);
            out.put_slice(
                br#"{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            );
            out.put_slice(b"\n\n");
        }
    }

    /// A content chunk with tokens `first..first + count`; the last one carries
    /// its finish reason and maybe the usage.
    pub fn content(
        &self,
        out: &mut BytesMut,
        first: u32,
        count: u32,
        finish: Option<&str>,
        usage: Option<Usage>,
    ) {
        self.open_choice(out);
        for i in first..first + count {
            out.put_slice(word(i).as_bytes());
        }
        out.put_slice(match self.api {
            Api::Chat => br#""},"logprobs":null,"finish_reason":"#.as_slice(),
            Api::Completions => br#"","logprobs":null,"finish_reason":"#.as_slice(),
        });
        match finish {
            Some(reason) => {
                out.put_u8(b'"');
                out.put_slice(reason.as_bytes());
                out.put_u8(b'"');
            }
            None => out.put_slice(b"null"),
        }
        out.put_slice(b"}]");
        if let Some(usage) = usage {
            out.put_slice(br#","usage":"#);
            usage.write_json(out);
        }
        out.put_slice(b"}\n\n");
    }

    /// A chunk whose `data:` is not valid JSON (an unterminated string), for
    /// testing how clients cope with a corrupted stream.
    pub fn malformed(&self, out: &mut BytesMut, first: u32, count: u32) {
        self.open_choice(out);
        for i in first..first + count {
            out.put_slice(word(i).as_bytes());
        }
        out.put_slice(b"\n\n");
    }

    /// The usage-only chunk OpenAI sends last: empty `choices`, then `usage`.
    pub fn usage(&self, out: &mut BytesMut, usage: Usage) {
        out.put_slice(&self.head);
        out.put_slice(br#"],"usage":"#);
        usage.write_json(out);
        out.put_slice(b"}\n\n");
    }

    pub fn done(out: &mut BytesMut) {
        out.put_slice(b"data: [DONE]\n\n");
    }

    fn open_choice(&self, out: &mut BytesMut) {
        out.put_slice(&self.head);
        out.put_slice(match self.api {
            Api::Chat => br#"{"index":0,"delta":{"content":""#.as_slice(),
            Api::Completions => br#"{"index":0,"text":""#.as_slice(),
        });
    }
}

/// The body of a non-streamed response (built once per request, so serde).
pub(crate) fn full_response(plan: &Plan) -> Vec<u8> {
    let Plan {
        api,
        index,
        created,
        ref model,
        tokens,
        finish,
        ..
    } = *plan;
    let usage = plan.usage();
    let text: String = (0..tokens).map(word).collect();
    let usage = json!({
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.prompt + usage.completion,
    });
    let body = match api {
        Api::Chat => json!({
            "id": format!("chatcmpl-{index}"),
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": finish,
            }],
            "usage": usage,
        }),
        Api::Completions => json!({
            "id": format!("cmpl-{index}"),
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}],
            "usage": usage,
        }),
    };
    // Serialising a `Value` cannot fail (all keys are strings).
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// Parses every `data:` event of `out` as JSON.
    fn events(out: &BytesMut) -> Vec<Value> {
        let text = std::str::from_utf8(out).unwrap();
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn chat_chunks_are_valid_openai_json() {
        let frames = Frames::new(Api::Chat, 7, 1_700_000_000, "a \"quoted\" model");
        let mut out = BytesMut::new();
        frames.role(&mut out);
        frames.content(&mut out, 0, 2, None, None);
        let usage = Usage {
            prompt: 3,
            completion: 3,
        };
        frames.content(&mut out, 2, 1, Some("length"), Some(usage));
        frames.usage(&mut out, usage);
        let events = events(&out);
        assert_eq!(events.len(), 4);
        assert_eq!(events[0]["id"], "chatcmpl-7");
        assert_eq!(events[0]["object"], "chat.completion.chunk");
        assert_eq!(events[0]["model"], "a \"quoted\" model");
        assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(events[1]["choices"][0]["delta"]["content"], " the sim");
        assert_eq!(events[1]["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(events[2]["choices"][0]["finish_reason"], "length");
        assert_eq!(events[2]["usage"]["total_tokens"], 6);
        assert_eq!(events[3]["choices"].as_array().unwrap().len(), 0);
        assert_eq!(events[3]["usage"]["completion_tokens"], 3);
    }

    #[test]
    fn completion_chunks_and_malformed_chunk() {
        let frames = Frames::new(Api::Completions, 1, 2, "m");
        let mut out = BytesMut::new();
        frames.role(&mut out);
        frames.content(&mut out, 0, 1, Some("stop"), None);
        let events = events(&out);
        assert_eq!(events.len(), 1, "no role chunk for completions");
        assert_eq!(events[0]["object"], "text_completion");
        assert_eq!(events[0]["choices"][0]["text"], " the");
        assert_eq!(events[0]["choices"][0]["finish_reason"], "stop");

        let mut bad = BytesMut::new();
        frames.malformed(&mut bad, 0, 1);
        let data = std::str::from_utf8(&bad)
            .unwrap()
            .trim()
            .strip_prefix("data: ")
            .unwrap()
            .to_string();
        assert!(serde_json::from_str::<Value>(&data).is_err());
    }

    #[test]
    fn full_response_carries_text_and_usage() {
        let plan = Plan {
            api: Api::Chat,
            index: 3,
            created: 4,
            model: "m".into(),
            frames: Frames::new(Api::Chat, 3, 4, "m"),
            tokens: 5,
            finish: "length",
            prompt_tokens: 2,
            tokens_per_chunk: 1,
            usage: None,
            send_done: true,
            faults: Default::default(),
            stall: std::time::Duration::ZERO,
            stamps: None,
        };
        let body = full_response(&plan);
        let value: Value = serde_json::from_slice(&body).unwrap();
        let content = value["choices"][0]["message"]["content"].as_str().unwrap();
        assert_eq!(content.split_whitespace().count(), 5);
        assert_eq!(value["usage"]["total_tokens"], 7);
    }
}
