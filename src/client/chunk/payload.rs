//! The serde side of [`parse_chunk`](super::parse_chunk): visitors that fold a
//! payload into the few facts the client needs while it is being read, skipping
//! every other field unread and borrowing the strings that are kept.
//!
//! Layout: this file follows the payload's shape (top-level fields, `choices`,
//! one choice, its message); `values` reads the leaves: a string measured or
//! borrowed, a value kept only if it is a string, the `error` field.

mod values;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use self::values::{ErrorValue, Lenient, OptionalLen, Text, TextLen};
use super::{ChunkInfo, Usage, NO_MESSAGE};

/// The top-level fields that matter; everything else is skipped unread.
#[derive(Default)]
pub(super) struct Payload<'a> {
    choices: Choices<'a>,
    usage: Option<Usage>,
    error: Option<ErrorValue<'a>>,
    object: Option<Lenient<'a>>,
    message: Option<Lenient<'a>>,
}

impl<'a> Payload<'a> {
    pub(super) fn into_info(self) -> ChunkInfo<'a> {
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
