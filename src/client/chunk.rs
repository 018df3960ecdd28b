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

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

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

/// The top-level fields that matter; everything else is skipped unread.
#[derive(Default)]
struct Payload<'a> {
    choices: Choices<'a>,
    usage: Option<Usage>,
    error: Option<ErrorValue<'a>>,
    object: Option<Lenient<'a>>,
    message: Option<Lenient<'a>>,
}

impl<'a> Payload<'a> {
    fn into_info(self) -> ChunkInfo<'a> {
        let error = match self.error {
            Some(ErrorValue(Some(message))) => Some(message),
            // vLLM's `ErrorResponse`: the error object itself, at the top level.
            _ if self.object.as_ref().and_then(Lenient::as_str) == Some("error") => Some(
                self.message
                    .and_then(|m| m.0)
                    .filter(|m| !m.is_empty())
                    .unwrap_or(Cow::Borrowed(NO_MESSAGE)),
            ),
            _ => None,
        };
        ChunkInfo {
            content_bytes: self.choices.content_bytes,
            reasoning_bytes: self.choices.reasoning_bytes,
            has_reasoning: self.choices.reasoning_bytes > 0,
            usage: self.usage,
            finish_reason: self.choices.finish_reason,
            error,
        }
    }
}

/// Top-level keys. Matched without allocating, like serde's derived identifiers.
enum Field {
    Choices,
    Usage,
    Error,
    Object,
    Message,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Ok(match key {
                    "choices" => Field::Choices,
                    "usage" => Field::Usage,
                    "error" => Field::Error,
                    "object" => Field::Object,
                    "message" => Field::Message,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

// Written by hand rather than derived so that only a JSON object is accepted:
// derived structs also accept arrays, and `[]` would pass as an empty chunk.
impl<'de: 'a, 'a> Deserialize<'de> for Payload<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor<'a>(PhantomData<Payload<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for PayloadVisitor<'a> {
            type Value = Payload<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload<'a>, A::Error> {
                let mut payload = Payload::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match field {
                        Field::Choices => payload.choices = map.next_value()?,
                        Field::Usage => payload.usage = map.next_value()?,
                        Field::Error => payload.error = map.next_value()?,
                        Field::Object => payload.object = map.next_value()?,
                        Field::Message => payload.message = map.next_value()?,
                        Field::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(payload)
            }
        }
        deserializer.deserialize_map(PayloadVisitor(PhantomData))
    }
}

/// `choices`, folded while it is read so no `Vec` is built.
#[derive(Default)]
struct Choices<'a> {
    content_bytes: usize,
    reasoning_bytes: usize,
    finish_reason: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Choices<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoicesVisitor<'a>(PhantomData<Choices<'a>>);
        impl<'de: 'a, 'a> Visitor<'de> for ChoicesVisitor<'a> {
            type Value = Choices<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of choices or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Choices<'a>, E> {
                Ok(Choices::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Choices<'a>, E> {
                Ok(Choices::default())
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Choices<'a>, D::Error> {
                deserializer.deserialize_seq(self)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Choices<'a>, A::Error> {
                let mut choices = Choices::default();
                while let Some(choice) = seq.next_element::<Choice<'a>>()? {
                    // Any choice's text counts (n > 1 streams interleave choices).
                    choices.content_bytes =
                        choices.content_bytes.saturating_add(choice.content_bytes());
                    choices.reasoning_bytes = choices
                        .reasoning_bytes
                        .saturating_add(choice.reasoning_bytes());
                    if choices.finish_reason.is_none() {
                        // TGI's completions endpoint sends `""` for "not finished".
                        choices.finish_reason =
                            choice.finish_reason.map(|r| r.0).filter(|r| !r.is_empty());
                    }
                }
                Ok(choices)
            }
        }
        deserializer.deserialize_option(ChoicesVisitor(PhantomData))
    }
}

/// One entry of `choices`, in any of the three shapes.
#[derive(Deserialize)]
struct Choice<'a> {
    /// Streamed chat.
    #[serde(default)]
    delta: Option<Message>,
    /// Non-streamed chat.
    #[serde(default)]
    message: Option<Message>,
    /// Completions, streamed or not.
    #[serde(default)]
    text: Option<TextLen>,
    #[serde(default, borrow)]
    finish_reason: Option<Text<'a>>,
}

impl Choice<'_> {
    // The alternatives below are spellings of the same thing, so a server that
    // sends two of them (newer vLLM sends both `reasoning` and
    // `reasoning_content`) repeats one text: count it once.

    fn content_bytes(&self) -> usize {
        let delta = self.delta.as_ref().map_or(0, |m| m.content.bytes());
        let message = self.message.as_ref().map_or(0, |m| m.content.bytes());
        delta.max(message).max(self.text.bytes())
    }

    fn reasoning_bytes(&self) -> usize {
        let delta = self.delta.as_ref().map_or(0, Message::reasoning_bytes);
        let message = self.message.as_ref().map_or(0, Message::reasoning_bytes);
        delta.max(message)
    }
}

/// `delta` (streamed) or `message` (non-streamed): the same fields.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<TextLen>,
    #[serde(default)]
    reasoning_content: Option<TextLen>,
    #[serde(default)]
    reasoning: Option<TextLen>,
}

impl Message {
    fn reasoning_bytes(&self) -> usize {
        self.reasoning_content.bytes().max(self.reasoning.bytes())
    }
}

/// The length of a JSON string, which is otherwise not kept.
struct TextLen(usize);

trait OptionalLen {
    fn bytes(&self) -> usize;
}

impl OptionalLen for Option<TextLen> {
    fn bytes(&self) -> usize {
        self.as_ref().map_or(0, |t| t.0)
    }
}

impl<'de> Deserialize<'de> for TextLen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenVisitor;
        impl Visitor<'_> for LenVisitor {
            type Value = TextLen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            // Called with the payload's own bytes, or with serde_json's scratch
            // buffer when the string has escapes: either way only measured.
            fn visit_str<E: de::Error>(self, text: &str) -> Result<TextLen, E> {
                Ok(TextLen(text.len()))
            }
        }
        deserializer.deserialize_str(LenVisitor)
    }
}

/// A string that borrows from the payload unless it has escapes.
///
/// (`Option<Cow<str>>` with `#[serde(borrow)]` would always allocate: serde
/// borrows a `Cow` only when it is the field's type itself.)
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(TextVisitor(PhantomData))
            .map(Text)
    }
}

struct TextVisitor<'a>(PhantomData<&'a str>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Cow<'a, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Cow<'a, str>, E> {
        Ok(Cow::Borrowed(text))
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Cow<'a, str>, E> {
        Ok(Cow::Owned(text.to_owned()))
    }
}

/// A value that is used if it is a string and skipped otherwise, for fields
/// that only matter on the error path, where a strange type should not hide
/// the error.
struct Lenient<'a>(Option<Cow<'a, str>>);

impl Lenient<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AnyVisitor {
                text: TextVisitor(PhantomData),
                what: "any JSON value",
            })
            .map(|v| Lenient(v.text))
    }
}

/// The `error` field. `None` inside when the value says "no error" (`null`,
/// `false`, `""`, `[]`, `0`); otherwise the message, or [`NO_MESSAGE`].
struct ErrorValue<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for ErrorValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(AnyVisitor {
            text: TextVisitor(PhantomData),
            what: "an error message or object",
        })?;
        let message = match (value.text, value.message, value.truthy) {
            (Some(text), _, _) if !text.is_empty() => Some(text),
            (_, Some(message), _) if !message.is_empty() => Some(message),
            (_, _, true) => Some(Cow::Borrowed(NO_MESSAGE)),
            _ => None,
        };
        Ok(ErrorValue(message))
    }
}

/// What [`AnyVisitor`] saw.
struct AnyValue<'a> {
    /// The value, if it was a string.
    text: Option<Cow<'a, str>>,
    /// Its `message` member, if it was an object with a string `message`.
    message: Option<Cow<'a, str>>,
    /// Whether it was anything other than `null`, `false`, `0`, `""` or `[]`.
    truthy: bool,
}

/// Accepts any JSON value without failing, skipping what it does not keep.
struct AnyVisitor<'a> {
    text: TextVisitor<'a>,
    what: &'static str,
}

impl<'a> AnyVisitor<'a> {
    fn seen(truthy: bool) -> AnyValue<'a> {
        AnyValue {
            text: None,
            message: None,
            truthy,
        }
    }
}

impl<'de: 'a, 'a> Visitor<'de> for AnyVisitor<'a> {
    type Value = AnyValue<'a>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<AnyValue<'a>, E> {
        let text = self.text.visit_borrowed_str(text)?;
        Ok(AnyValue {
            truthy: !text.is_empty(),
            text: Some(text),
            message: None,
        })
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<AnyValue<'a>, E> {
        let text = self.text.visit_str(text)?;
        Ok(AnyValue {
            truthy: !text.is_empty(),
            text: Some(text),
            message: None,
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(false))
    }
    fn visit_none<E: de::Error>(self) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(false))
    }
    fn visit_bool<E: de::Error>(self, value: bool) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(value))
    }
    fn visit_i64<E: de::Error>(self, value: i64) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(value != 0))
    }
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(value != 0))
    }
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<AnyValue<'a>, E> {
        Ok(Self::seen(value != 0.0))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValue<'a>, A::Error> {
        let mut truthy = false;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            truthy = true;
        }
        Ok(Self::seen(truthy))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue<'a>, A::Error> {
        let mut message = None;
        while let Some(key) = map.next_key::<Text<'de>>()? {
            if key.0 == "message" {
                message = map.next_value::<Lenient<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(AnyValue {
            text: None,
            message,
            truthy: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::sse::{SseEvent, SseParser};

    fn parse(data: &str) -> ChunkInfo<'_> {
        parse_chunk(data).unwrap_or_else(|e| panic!("{e}"))
    }

    fn usage(prompt: u64, completion: u64) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: Some(prompt),
            completion_tokens: Some(completion),
        })
    }

    // ---- single payloads, shaped like each server's documented output ----

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
        let info =
            parse(r#"{"choices":[{"delta":{"reasoning":" so","reasoning_content":" so"}}]}"#);
        assert_eq!(info.reasoning_bytes, 3);
        // Empty or null reasoning is none; content and reasoning can share a delta.
        let info = parse(
            r#"{"choices":[{"delta":{"reasoning":"","reasoning_content":null,"content":"A"}}]}"#,
        );
        assert_eq!((info.content_bytes, info.has_reasoning), (1, false));
        let info =
            parse(r#"{"choices":[{"delta":{"reasoning_content":"</think>","content":"A"}}]}"#);
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
        let info = parse(
            r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"error":{"message":"boom"}}"#,
        );
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
                Some("The decoder prompt (length 9000) is longer than the maximum model length of 8192.")
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

    // ---- whole streams from tests/fixtures/sse, through the SSE parser ----

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

    fn summary(
        content: (usize, usize),
        reasoning: usize,
        usage: (u64, u64),
        finish: &str,
    ) -> Summary {
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
            include_bytes!(concat!("../../tests/fixtures/sse/", $name))
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
            Some(
                "The decoder prompt (length 9000) is longer than the maximum model length of 8192."
            )
        );
    }
}
