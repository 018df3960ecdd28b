//! Reading a completion request body: the few fields the simulator acts on,
//! the prompt length, and (in strict mode) fields a picky server rejects.
//!
//! Bodies are untrusted input: every malformed shape becomes a 400 with a
//! message naming the problem, never a panic.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Which OpenAI endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Chat,
    Completions,
}

/// Fields a strict server accepts; anything else gets a 422 when
/// `strict_fields` is on (e.g. vLLM's `ignore_eos` on a stock OpenAI server).
const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "prompt",
    "max_tokens",
    "max_completion_tokens",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "n",
    "stop",
    "seed",
    "user",
];

/// What the simulator needs from a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompletionRequest {
    pub model: Option<String>,
    pub prompt_tokens: u64,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    pub stream: bool,
    pub include_usage: bool,
    pub ignore_eos: bool,
    /// Chained hashes of the prompt's full cache blocks, when the server keeps a
    /// prefix cache (see `prefix_cache`); empty otherwise.
    pub prefix_blocks: Vec<u64>,
}

/// The scalar fields, typed so that serde reports wrong types for us.
/// Missing and `null` fields both read as `None`, as OpenAI treats them.
#[derive(Deserialize)]
struct Scalars {
    model: Option<String>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    ignore_eos: Option<bool>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

impl CompletionRequest {
    /// Reads a body; with `prefix_blocks`, also hashes the prompt's cache blocks.
    pub fn parse(
        api: Api,
        body: &[u8],
        strict_fields: bool,
        prefix_blocks: bool,
    ) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))?;
        let Value::Object(fields) = &value else {
            return Err(ApiError::bad_request("Request body must be a JSON object"));
        };
        if strict_fields {
            let unknown: Vec<&str> = fields
                .keys()
                .map(String::as_str)
                .filter(|k| !KNOWN_FIELDS.contains(k))
                .collect();
            if !unknown.is_empty() {
                return Err(ApiError::unknown_fields(&unknown));
            }
        }
        let scalars = Scalars::deserialize(&value)
            .map_err(|e| ApiError::bad_request(format!("Invalid request: {e}")))?;
        let max_tokens = scalars.max_completion_tokens.or(scalars.max_tokens);
        if max_tokens == Some(0) {
            return Err(ApiError::bad_request("max_tokens must be at least 1"));
        }
        Ok(CompletionRequest {
            model: scalars.model,
            prompt_tokens: prompt_tokens(api, fields)?,
            max_tokens,
            stream: scalars.stream.unwrap_or(false),
            include_usage: scalars
                .stream_options
                .and_then(|o| o.include_usage)
                .unwrap_or(false),
            ignore_eos: scalars.ignore_eos.unwrap_or(false),
            prefix_blocks: if prefix_blocks {
                let words = prompt_words(api, fields);
                super::prefix_cache::block_hashes(words.iter().map(String::as_str))
            } else {
                Vec::new()
            },
        })
    }
}

/// The prompt as text, for the request log: the string contents of every
/// message joined by newlines (chat), or the prompt string (completions).
pub(crate) fn logged_prompt(api: Api, body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match api {
        Api::Chat => {
            let parts: Vec<&str> = value
                .get("messages")?
                .as_array()?
                .iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .collect();
            Some(parts.join("\n"))
        }
        Api::Completions => value.get("prompt")?.as_str().map(str::to_string),
    }
}

/// The chat messages' roles in order, for the request log.
pub(crate) fn logged_roles(api: Api, body: &[u8]) -> Option<Vec<String>> {
    if api != Api::Chat {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    let roles = value.get("messages")?.as_array()?.iter();
    Some(
        roles
            .map(|m| {
                m.get("role")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect(),
    )
}

/// The prompt's tokens in order, as [`prompt_tokens`] counts them: the words of
/// every message (chat) or prompt part (completions), token ids as their numbers.
/// Only called once the body is known to be well formed.
fn prompt_words(api: Api, fields: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut text = |t: &str| out.extend(t.split_whitespace().map(str::to_string));
    let parts: Vec<&Value> = match api {
        Api::Chat => fields
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("content"))
            .flat_map(|c| match c {
                Value::Array(parts) => parts.iter().filter_map(|p| p.get("text")).collect(),
                other => vec![other],
            })
            .collect(),
        Api::Completions => match fields.get("prompt") {
            Some(Value::Array(parts)) => parts.iter().collect(),
            Some(other) => vec![other],
            None => Vec::new(),
        },
    };
    for part in parts {
        match part {
            Value::String(t) => text(t),
            Value::Number(n) => text(&n.to_string()),
            Value::Array(ids) => ids.iter().for_each(|id| text(&id.to_string())),
            _ => {}
        }
    }
    out
}

/// Prompt length in tokens, approximated as whitespace-separated words of all
/// message contents (chat) or of the prompt (completions); a prompt given as
/// token ids counts one token per id.
fn prompt_tokens(api: Api, fields: &Map<String, Value>) -> Result<u64, ApiError> {
    match api {
        Api::Chat => {
            let Some(Value::Array(messages)) = fields.get("messages") else {
                return Err(ApiError::bad_request(
                    "`messages` must be an array of messages",
                ));
            };
            messages.iter().map(message_tokens).sum()
        }
        Api::Completions => match fields.get("prompt") {
            Some(Value::String(text)) => Ok(words(text)),
            Some(Value::Array(parts)) => parts.iter().map(prompt_part_tokens).sum(),
            _ => Err(ApiError::bad_request(
                "`prompt` must be a string, an array of strings or an array of token ids",
            )),
        },
    }
}

fn message_tokens(message: &Value) -> Result<u64, ApiError> {
    let Value::Object(message) = message else {
        return Err(ApiError::bad_request("each message must be an object"));
    };
    match message.get("content") {
        // Assistant messages with tool calls may have no content.
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(text)) => Ok(words(text)),
        // Content parts: count the text of text parts; images etc. are free.
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .map(words)
            .sum()),
        Some(_) => Err(ApiError::bad_request(
            "message `content` must be a string or an array of parts",
        )),
    }
}

fn prompt_part_tokens(part: &Value) -> Result<u64, ApiError> {
    match part {
        Value::String(text) => Ok(words(text)),
        Value::Number(_) => Ok(1),
        Value::Array(ids) => Ok(ids.len() as u64),
        _ => Err(ApiError::bad_request(
            "`prompt` array items must be strings, token ids or arrays of ids",
        )),
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(api: Api, body: &str, strict: bool) -> Result<CompletionRequest, ApiError> {
        CompletionRequest::parse(api, body.as_bytes(), strict, false)
    }

    #[test]
    fn reads_fields_and_counts_prompt_words() {
        let req = parse(
            Api::Chat,
            r#"{"model":"m","messages":[{"role":"user","content":"one two  three"},
               {"role":"user","content":[{"type":"text","text":"four five"},{"type":"image_url"}]}],
               "max_tokens":9,"max_completion_tokens":7,"stream":true,
               "stream_options":{"include_usage":true},"ignore_eos":true}"#,
            false,
        )
        .unwrap();
        assert_eq!(req.model.as_deref(), Some("m"));
        assert_eq!(req.prompt_tokens, 5);
        assert_eq!(req.max_tokens, Some(7));
        assert!(req.stream && req.include_usage && req.ignore_eos);

        let req = parse(
            Api::Completions,
            r#"{"prompt":["a b", [1, 2, 3], 4]}"#,
            false,
        )
        .unwrap();
        assert_eq!(req.prompt_tokens, 6);
        assert!(!req.stream && req.max_tokens.is_none());
    }

    #[test]
    fn bad_bodies_are_400_not_panics() {
        for body in [
            "",
            "{",
            "[]",
            "null",
            r#"{"messages":"hi"}"#,
            r#"{"messages":[1]}"#,
            r#"{"messages":[],"max_tokens":-1}"#,
            r#"{"messages":[],"max_tokens":0}"#,
            r#"{"messages":[],"stream":"yes"}"#,
            r#"{"messages":[{"content":5}]}"#,
        ] {
            let err = parse(Api::Chat, body, false).unwrap_err();
            assert_eq!(err.status, 400, "{body}");
        }
        assert_eq!(
            parse(Api::Completions, r#"{"prompt":{}}"#, false)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn strict_mode_names_unknown_fields() {
        let body = r#"{"messages":[],"temperature":0,"ignore_eos":true}"#;
        assert!(parse(Api::Chat, body, false).is_ok());
        let err = parse(Api::Chat, body, true).unwrap_err();
        assert_eq!(err.status, 422);
        assert!(err.message.contains("ignore_eos"), "{}", err.message);
        assert_eq!(err.param.as_deref(), Some("ignore_eos"));
    }
}
