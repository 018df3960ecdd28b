//! Values that must never reach a log, an error message or `{:?}` output.
//!
//! API keys and header values are wrapped in [`Secret`] as soon as they are read;
//! its `Debug` and `Display` print `***`, so printing a `Config` is always safe.
//! The client calls [`Secret::expose`] at the one place it builds a request.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::Deserialize;

/// A credential or other sensitive text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The real value, for building a request and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A sensitive value as written in targets.yaml, before `${VAR}` expansion. It may
/// itself be a literal key, so it is just as careful as [`Secret`]: a value of the
/// wrong type is reported without echoing it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretText(pub String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SecretText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("text (put the value in quotes)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretText, E> {
                Ok(SecretText(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretText, E> {
                Err(E::invalid_type(Unexpected::Other(HIDDEN), &self))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretText, E> {
                Err(E::invalid_type(Unexpected::Other(HIDDEN), &self))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretText, E> {
                Err(E::invalid_type(Unexpected::Other(HIDDEN), &self))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretText, E> {
                Err(E::invalid_type(Unexpected::Other(HIDDEN), &self))
            }
        }
        deserializer.deserialize_str(V)
    }
}

const HIDDEN: &str = "a value that is not text (not shown: it may be a secret)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "sk-live-123");
        let raw: SecretText = serde_yaml::from_str("sk-live-123").unwrap();
        assert_eq!(format!("{raw:?}"), "***");
    }

    #[test]
    fn wrong_types_are_not_echoed() {
        for text in ["123456789", "true", "1.5e3"] {
            if let Err(e) = serde_yaml::from_str::<SecretText>(text) {
                assert!(!e.to_string().contains(text), "{e}");
            }
        }
    }
}
