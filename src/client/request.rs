//! Request bodies for the two OpenAI APIs.
//!
//! Everything but the prompt is the same for every request of a scenario, so it is
//! rendered once ([`BodyTemplate::prepare`]) and each request only appends its prompt
//! between the two fixed halves: at a thousand requests finishing at once, building
//! each body through a `serde_json::Value` tree held the client back from reading
//! the streams it was timing.

use serde_json::{json, Map, Value};

/// Which OpenAI endpoint is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `POST /chat/completions` with `messages`.
    Chat,
    /// `POST /completions` with `prompt`.
    Completions,
}

impl Api {
    pub fn path(self) -> &'static str {
        match self {
            Api::Chat => "chat/completions",
            Api::Completions => "completions",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Completions => "completions",
        }
    }
}

/// Everything but the prompt, fixed for a scenario.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    pub api: Api,
    pub model: String,
    pub max_tokens: u32,
    pub ignore_eos: bool,
    pub stream: bool,
    /// Extra fields merged last (models.yaml `extra_body`), so they can override ours.
    pub extra: Map<String, Value>,
}

impl BodyTemplate {
    /// The JSON body for one prompt.
    ///
    /// Streams ask for `stream_options.include_usage` so token counts come from the
    /// server's tokenizer rather than from counting chunks. `ignore_eos` is only sent
    /// when asked for: strict servers answer 422 to fields they do not know.
    pub fn body(&self, prompt: &str) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("model".into(), Value::String(self.model.clone()));
        match self.api {
            Api::Chat => body.insert(
                "messages".into(),
                json!([{ "role": "user", "content": prompt }]),
            ),
            Api::Completions => body.insert("prompt".into(), Value::String(prompt.to_string())),
        };
        body.insert("max_tokens".into(), json!(self.max_tokens));
        body.insert("stream".into(), json!(self.stream));
        if self.stream {
            body.insert("stream_options".into(), json!({ "include_usage": true }));
        }
        if self.ignore_eos {
            body.insert("ignore_eos".into(), json!(true));
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }

    /// The most output tokens a response may hold: `max_tokens` (or `extra_body`'s,
    /// which replaces it), capped by `max_completion_tokens`, times `n` choices.
    /// `None` when `extra_body` sets one of them to something that is not a count.
    pub fn output_limit(&self) -> Option<u64> {
        let count = |key: &str| self.extra.get(key).map(Value::as_u64);
        let max_tokens = count("max_tokens").unwrap_or(Some(u64::from(self.max_tokens)))?;
        let limit = match count("max_completion_tokens") {
            Some(cap) => max_tokens.min(cap?),
            None => max_tokens,
        };
        let choices = count("n").unwrap_or(Some(1))?.max(1);
        Some(limit.saturating_mul(choices))
    }

    /// The body rendered once, split where the prompt goes.
    pub fn prepare(&self) -> PreparedBody {
        let whole = self.body(PROMPT_MARK);
        let mark = serde_json::to_vec(PROMPT_MARK).unwrap_or_default();
        let mut found = whole
            .windows(mark.len())
            .enumerate()
            .filter(|(_, w)| *w == mark);
        match (found.next(), found.next()) {
            (Some((at, _)), None) => PreparedBody {
                prefix: whole[..at].to_vec(),
                suffix: Some(whole[at + mark.len()..].to_vec()),
                stream: self.stream,
                output_limit: self.output_limit(),
            },
            // `extra_body` replaced the prompt's field (or, absurdly, holds the mark):
            // every request gets the same body, as `body` would give it.
            _ => PreparedBody {
                prefix: self.body(""),
                suffix: None,
                stream: self.stream,
                output_limit: self.output_limit(),
            },
        }
    }
}

/// Stands for the prompt while the fixed part of a body is rendered; control
/// characters keep it from colliding with anything a config would hold.
const PROMPT_MARK: &str = "\u{1}llm-bench prompt\u{1}";

/// A scenario's request body with a hole for the prompt: see [`BodyTemplate::prepare`].
#[derive(Debug, Clone)]
pub struct PreparedBody {
    /// Everything before the prompt's JSON string.
    prefix: Vec<u8>,
    /// Everything after it; `None` when the body has no prompt field.
    suffix: Option<Vec<u8>>,
    /// Whether the body asks for a streamed response.
    pub stream: bool,
    /// [`BodyTemplate::output_limit`].
    pub output_limit: Option<u64>,
}

impl PreparedBody {
    /// The body for one request: `write_prompt` appends the prompt as a JSON string
    /// (quotes included), e.g. with `serde_json::to_writer`.
    pub fn render(
        &self,
        prompt_len_hint: usize,
        write_prompt: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        let Some(suffix) = &self.suffix else {
            return self.prefix.clone();
        };
        let mut out = Vec::with_capacity(self.prefix.len() + prompt_len_hint + 2 + suffix.len());
        out.extend_from_slice(&self.prefix);
        write_prompt(&mut out);
        out.extend_from_slice(suffix);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_body_asks_for_usage_and_merges_extra() {
        let mut extra = Map::new();
        extra.insert("min_tokens".into(), json!(16));
        let t = BodyTemplate {
            api: Api::Chat,
            model: "m".into(),
            max_tokens: 16,
            ignore_eos: true,
            stream: true,
            extra,
        };
        let v: Value = serde_json::from_slice(&t.body("hi \"there\"")).unwrap();
        assert_eq!(v["messages"][0]["content"], "hi \"there\"");
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["ignore_eos"], true);
        assert_eq!(v["min_tokens"], 16);
        assert_eq!(v["max_tokens"], 16);
    }

    #[test]
    fn completions_body_without_stream_has_no_stream_options() {
        let t = BodyTemplate {
            api: Api::Completions,
            model: "m".into(),
            max_tokens: 4,
            ignore_eos: false,
            stream: false,
            extra: Map::new(),
        };
        let v: Value = serde_json::from_slice(&t.body("p")).unwrap();
        assert_eq!(v["prompt"], "p");
        assert!(v.get("stream_options").is_none());
        assert!(v.get("ignore_eos").is_none());
    }

    fn prepared(t: &BodyTemplate, prompt: &str) -> Vec<u8> {
        t.prepare().render(prompt.len(), |out| {
            serde_json::to_writer(out, prompt).unwrap()
        })
    }

    #[test]
    fn prepared_bodies_are_byte_identical_to_built_ones() {
        let mut extra = Map::new();
        extra.insert("min_tokens".into(), json!(16));
        extra.insert("zz".into(), json!({"nested": ["a", 1]}));
        for api in [Api::Chat, Api::Completions] {
            for stream in [true, false] {
                let t = BodyTemplate {
                    api,
                    model: "org/model \"v2\"".into(),
                    max_tokens: 7,
                    ignore_eos: stream,
                    stream,
                    extra: extra.clone(),
                };
                for prompt in ["", "hello world", "quote \" and \\ and \n and é ✓"] {
                    assert_eq!(prepared(&t, prompt), t.body(prompt), "{api:?} {prompt}");
                }
            }
        }
    }

    #[test]
    fn the_output_limit_follows_what_the_body_asks_for() {
        let mut t = BodyTemplate {
            api: Api::Chat,
            model: "m".into(),
            max_tokens: 16,
            ignore_eos: false,
            stream: true,
            extra: Map::new(),
        };
        assert_eq!(t.output_limit(), Some(16));
        t.extra.insert("n".into(), json!(3));
        assert_eq!(t.output_limit(), Some(48));
        t.extra.insert("max_completion_tokens".into(), json!(10));
        assert_eq!(t.output_limit(), Some(30));
        t.extra.insert("max_tokens".into(), json!(4));
        assert_eq!(t.prepare().output_limit, Some(12));
        t.extra.insert("max_tokens".into(), Value::Null);
        assert_eq!(t.output_limit(), None);
    }

    #[test]
    fn extra_body_replacing_the_prompt_field_wins_as_before() {
        let mut extra = Map::new();
        extra.insert(
            "messages".into(),
            json!([{"role": "user", "content": "fixed"}]),
        );
        let t = BodyTemplate {
            api: Api::Chat,
            model: "m".into(),
            max_tokens: 1,
            ignore_eos: false,
            stream: true,
            extra,
        };
        assert_eq!(prepared(&t, "ignored"), t.body("ignored"));
        let v: Value = serde_json::from_slice(&prepared(&t, "ignored")).unwrap();
        assert_eq!(v["messages"][0]["content"], "fixed");
    }
}
