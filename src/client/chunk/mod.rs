//! What one OpenAI-compatible response payload means for timing.
//!
//! The client needs only a few facts from each streamed `data:` payload: did it
//! carry generated text (a token for TTFT/ITL), did it carry reasoning text, did
//! it report token usage, did it finish, or is it an error. Servers disagree on
//! everything else (vLLM, SGLang, llama.cpp, TGI, LiteLLM and OpenAI each add
//! their own fields, put usage in different chunks, and report errors in three
//! shapes), so [`parse_chunk`] reads only those facts, ignores every other field,
//! and accepts every known variant in one pass:
//!
//! * chat chunks (`choices[i].delta`), completions chunks (`choices[i].text`) and
//!   whole non-streamed chat responses (`choices[i].message`), mixed freely;
//! * reasoning as `reasoning_content` (DeepSeek, vLLM, SGLang) or `reasoning`
//!   (newer vLLM);
//! * `usage` on any chunk: absent, `null` (TGI, OpenAI with `include_usage`),
//!   on every chunk (vLLM `continuous_usage_stats`), on the chunk that carries
//!   `finish_reason` (older llama-server), or alone with `"choices": []`
//!   (OpenAI, vLLM, SGLang, newer llama-server);
//! * errors as `{"error": {"message": …}}` (OpenAI, vLLM, SGLang, llama.cpp),
//!   `{"error": "…"}` (TGI) or `{"object": "error", "message": …}` (vLLM's
//!   `ErrorResponse`).
//!
//! It runs once per streamed chunk, so it builds no owned structures: `choices`
//! is folded as it is read instead of collected, text fields are measured rather
//! than kept, and the strings that are kept (`finish_reason`, error messages)
//! borrow from the payload. The one allocation left is serde_json's own scratch
//! buffer, used only when a string that is read contains a backslash escape
//! (e.g. a `\n` in the content); ignored fields never use it.

mod payload;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use payload::Payload;

/// Most characters of a payload quoted in a [`ChunkError`].
pub const EXCERPT_CHARS: usize = 200;

/// Error text used when a server signals an error without saying what it is.
const NO_MESSAGE: &str = "the server reported an error without a message";

/// What one payload means for timing. Borrows from the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkInfo<'a> {
    /// Bytes (UTF-8, after JSON unescaping) of generated text, over all choices:
    /// `delta.content`, `text` or `message.content`. Zero when the chunk carries
    /// none (role-only first delta, finish or usage chunk).
    pub content_bytes: usize,
    /// Bytes of reasoning text over all choices: `reasoning_content` or
    /// `reasoning`.
    pub reasoning_bytes: usize,
    /// `reasoning_bytes > 0`.
    pub has_reasoning: bool,
    /// Token counts, when the payload has a non-null `usage` object. With
    /// `continuous_usage_stats` every chunk has one: the latest is the total.
    pub usage: Option<Usage>,
    /// The first non-null, non-empty `finish_reason` among the choices.
    pub finish_reason: Option<Cow<'a, str>>,
    /// The server's error message, when the payload is an in-stream error.
    /// Callers should check it first: an error payload may carry nothing else.
    pub error: Option<Cow<'a, str>>,
}

impl ChunkInfo<'_> {
    /// Whether the payload carries generated text: a token for TTFT and ITL.
    pub fn has_content(&self) -> bool {
        self.content_bytes > 0
    }
}

/// Token counts as the server reports them. Either may be missing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

/// A payload that is not a usable chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError {
    kind: ChunkErrorKind,
    detail: String,
    excerpt: String,
}

/// Whether a payload failed to parse as JSON or had an unexpected shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkErrorKind {
    /// Not JSON at all, cut short, or nested too deeply.
    NotJson,
    /// JSON with the wrong shape where this parser reads it: the payload is not
    /// an object, or e.g. `content` is a number. (The first problem found is
    /// reported, so the rest of the payload may be invalid too.)
    NotAChunk,
}

impl ChunkError {
    fn new(error: &serde_json::Error, data: &str) -> Self {
        let kind = match error.classify() {
            serde_json::error::Category::Data => ChunkErrorKind::NotAChunk,
            _ => ChunkErrorKind::NotJson,
        };
        ChunkError {
            kind,
            // serde_json quotes offending string values in full: keep it short too.
            detail: excerpt(&error.to_string()),
            excerpt: excerpt(data),
        }
    }

    pub fn kind(&self) -> ChunkErrorKind {
        self.kind
    }

    /// serde_json's description, with line and column (at most [`EXCERPT_CHARS`]).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The start of the payload, at most [`EXCERPT_CHARS`] characters, with
    /// control characters escaped so it stays on one line.
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ChunkErrorKind::NotJson => "not valid JSON",
            ChunkErrorKind::NotAChunk => "JSON, but not a completion chunk",
        };
        write!(
            f,
            "malformed chunk: {what} ({}): {}",
            self.detail, self.excerpt
        )
    }
}

impl std::error::Error for ChunkError {}

/// Reads what one payload (an SSE event's data, or a whole non-streamed response
/// body) means for timing.
///
/// A payload that is empty or only whitespace carries nothing and gives an empty
/// [`ChunkInfo`] rather than an error: it holds no token that could be lost.
///
/// # Errors
///
/// [`ChunkError`] when the payload is not JSON, or a field read here has the
/// wrong type. Unknown fields, and `null` for any known one, are never errors.
pub fn parse_chunk(data: &str) -> Result<ChunkInfo<'_>, ChunkError> {
    match serde_json::from_str::<Payload<'_>>(data) {
        Ok(payload) => Ok(payload.into_info()),
        // Checked only on failure, to keep the common path free of it.
        Err(_) if data.trim_matches(is_json_whitespace).is_empty() => Ok(ChunkInfo::default()),
        Err(error) => Err(ChunkError::new(&error, data)),
    }
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// At most [`EXCERPT_CHARS`] characters of `text`, control characters escaped.
fn excerpt(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.trim().chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
        if out.len() > EXCERPT_CHARS {
            out.truncate(EXCERPT_CHARS - 1);
            out.push('…');
            break;
        }
    }
    out.into_iter().collect()
}
