//! The leaves of a payload: a string measured but not kept ([`TextLen`]), a
//! string borrowed unless it has escapes ([`Text`]), a value kept only if it is a
//! string ([`Lenient`]) and the `error` field, which may be anything
//! ([`ErrorValue`]).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::client::chunk::NO_MESSAGE;

/// The length of a JSON string, which is otherwise not kept.
pub(super) struct TextLen(usize);

pub(super) trait OptionalLen {
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
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

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
pub(super) struct Lenient<'a>(pub(super) Option<Cow<'a, str>>);

impl Lenient<'_> {
    pub(super) fn as_str(&self) -> Option<&str> {
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
pub(super) struct ErrorValue<'a>(pub(super) Option<Cow<'a, str>>);

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
