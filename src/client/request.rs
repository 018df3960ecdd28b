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
        self.body_with(prompt, json!(self.max_tokens), None)
    }

    /// [`BodyTemplate::body`] with `max_tokens` (and, when given and `extra_body`
    /// sets it, `min_tokens`) replaced by these values.
    fn body_with(&self, prompt: &str, max_tokens: Value, min_tokens: Option<Value>) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("model".into(), Value::String(self.model.clone()));
        match self.api {
            Api::Chat => body.insert(
                "messages".into(),
                json!([{ "role": "user", "content": prompt }]),
            ),
            Api::Completions => body.insert("prompt".into(), Value::String(prompt.to_string())),
        };
        body.insert("max_tokens".into(), max_tokens);
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
        if let Some(min_tokens) = min_tokens {
            if body.contains_key("min_tokens") {
                body.insert("min_tokens".into(), min_tokens);
            }
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }

    /// The most output tokens a response may hold: `max_tokens` (or `extra_body`'s,
    /// which replaces it), capped by `max_completion_tokens`, times `n` choices.
    /// `None` when `extra_body` sets one of them to something that is not a count.
    pub fn output_limit(&self) -> Option<u64> {
        output_limit(&self.extra, u64::from(self.max_tokens))
    }

    /// The body rendered once, split where the prompt goes.
    pub fn prepare(&self) -> PreparedBody {
        self.prepare_holes(false)
    }

    /// Like [`BodyTemplate::prepare`], with a second hole where each request's own
    /// `max_tokens` goes (and `min_tokens`, when `extra_body` sets it, so a server
    /// that honours it generates exactly that many): for `output_tokens:`
    /// distributions.
    pub fn prepare_per_request_output(&self) -> PreparedBody {
        self.prepare_holes(true)
    }

    fn prepare_holes(&self, per_request_output: bool) -> PreparedBody {
        let (max_tokens, min_tokens) = match per_request_output {
            true => (json!(OUTPUT_MARK), Some(json!(OUTPUT_MARK))),
            false => (json!(self.max_tokens), None),
        };
        let whole = self.body_with(PROMPT_MARK, max_tokens, min_tokens);
        let marks = [
            (
                serde_json::to_vec(PROMPT_MARK).unwrap_or_default(),
                Hole::Prompt,
            ),
            (
                serde_json::to_vec(OUTPUT_MARK).unwrap_or_default(),
                Hole::OutputTokens,
            ),
        ];
        let mut found: Vec<(usize, usize, Hole)> = Vec::new();
        for (mark, hole) in &marks {
            for (at, _) in whole
                .windows(mark.len())
                .enumerate()
                .filter(|(_, w)| w == mark)
            {
                found.push((at, mark.len(), *hole));
            }
        }
        found.sort_by_key(|f| f.0);
        let limit_keys: Map<String, Value> = self
            .extra
            .iter()
            .filter(|(k, _)| LIMIT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let prompts = found.iter().filter(|f| f.2 == Hole::Prompt).count();
        if prompts != 1 {
            // `extra_body` replaced the prompt's field (or, absurdly, holds the
            // mark): every request gets the same body, as `body` would give it.
            return PreparedBody {
                pieces: vec![self.body("")],
                holes: Vec::new(),
                stream: self.stream,
                output_limit: self.output_limit(),
                limit_keys,
            };
        }
        let mut pieces = Vec::new();
        let mut holes = Vec::new();
        let mut from = 0;
        for (at, len, hole) in found {
            pieces.push(whole[from..at].to_vec());
            holes.push(hole);
            from = at + len;
        }
        pieces.push(whole[from..].to_vec());
        PreparedBody {
            pieces,
            holes,
            stream: self.stream,
            output_limit: self.output_limit(),
            limit_keys,
        }
    }
}

/// The `extra_body` keys that bound a response's length.
const LIMIT_KEYS: [&str; 3] = ["max_tokens", "max_completion_tokens", "n"];

/// See [`BodyTemplate::output_limit`].
fn output_limit(extra: &Map<String, Value>, max_tokens: u64) -> Option<u64> {
    let count = |key: &str| extra.get(key).map(Value::as_u64);
    let max_tokens = count("max_tokens").unwrap_or(Some(max_tokens))?;
    let limit = match count("max_completion_tokens") {
        Some(cap) => max_tokens.min(cap?),
        None => max_tokens,
    };
    let choices = count("n").unwrap_or(Some(1))?.max(1);
    Some(limit.saturating_mul(choices))
}

/// Stands for the prompt while the fixed part of a body is rendered; control
/// characters keep it from colliding with anything a config would hold.
const PROMPT_MARK: &str = "\u{1}llm-bench prompt\u{1}";
/// Stands for a request's own output length, the same way.
const OUTPUT_MARK: &str = "\u{1}llm-bench output tokens\u{1}";

/// What goes between two fixed pieces of a prepared body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Prompt,
    OutputTokens,
}

/// A scenario's request body with holes for the prompt (and each request's output
/// length): see [`BodyTemplate::prepare`].
#[derive(Debug, Clone)]
pub struct PreparedBody {
    /// The fixed bytes; a hole sits between each two.
    pieces: Vec<Vec<u8>>,
    holes: Vec<Hole>,
    /// Whether the body asks for a streamed response.
    pub stream: bool,
    /// [`BodyTemplate::output_limit`].
    pub output_limit: Option<u64>,
    /// The `extra_body` keys that bound the output, for a request's own limit.
    limit_keys: Map<String, Value>,
}

impl PreparedBody {
    /// The body for one request: `write_prompt` appends the prompt as a JSON string
    /// (quotes included), e.g. with `serde_json::to_writer`.
    pub fn render(
        &self,
        prompt_len_hint: usize,
        write_prompt: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        self.render_with(prompt_len_hint, None, write_prompt)
    }

    /// [`PreparedBody::render`] with this request's own output length, for a body
    /// from [`BodyTemplate::prepare_per_request_output`].
    pub fn render_with(
        &self,
        prompt_len_hint: usize,
        output_tokens: Option<u32>,
        write_prompt: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        let fixed: usize = self.pieces.iter().map(Vec::len).sum();
        let mut out = Vec::with_capacity(fixed + prompt_len_hint + 16);
        let mut write_prompt = Some(write_prompt);
        for (piece, hole) in self
            .pieces
            .iter()
            .zip(self.holes.iter().map(Some).chain([None]))
        {
            out.extend_from_slice(piece);
            match hole {
                Some(Hole::Prompt) => {
                    if let Some(write) = write_prompt.take() {
                        write(&mut out);
                    }
                }
                Some(Hole::OutputTokens) => {
                    let n = output_tokens.unwrap_or(1);
                    out.extend_from_slice(n.to_string().as_bytes());
                }
                None => {}
            }
        }
        out
    }

    /// The most output tokens a request with this output length may get back
    /// ([`BodyTemplate::output_limit`] with it as `max_tokens`).
    pub fn output_limit_of(&self, output_tokens: Option<u32>) -> Option<u64> {
        match output_tokens {
            Some(n) if self.holes.contains(&Hole::OutputTokens) => {
                output_limit(&self.limit_keys, u64::from(n))
            }
            _ => self.output_limit,
        }
    }
}

#[cfg(test)]
mod tests;
