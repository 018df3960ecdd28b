//! Request bodies for the two OpenAI APIs.

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
}
