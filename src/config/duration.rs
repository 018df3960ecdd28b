//! Durations written by people: `500ms`, `10s`, `2m`, `1h`, `1m30s`, or plain seconds.
//!
//! Config files keep the text as written ([`DurationText`]) and parse it during
//! validation, so a bad duration is reported alongside every other problem instead
//! of stopping the YAML parse. The CLI's `--duration` flags share [`parse_duration`].

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: {reason}")]
pub struct DurationError {
    text: String,
    reason: String,
}

/// Parses `500ms`, `10s`, `2m`, `1h`, `1.5s`, `1m30s`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let fail = |reason: &str| DurationError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail("it is empty"));
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return seconds_to_duration(seconds).map_err(|r| fail(&r));
    }
    let mut total = 0.0f64;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(fail("expected a number followed by a unit (ms, s, m or h)"));
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| fail("expected a number followed by a unit (ms, s, m or h)"))?;
        rest = rest[number_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" => 3600.0,
            "" => return Err(fail("a number needs a unit after it (ms, s, m or h)")),
            unit => return Err(fail(&format!("unknown unit `{unit}` (use ms, s, m or h)"))),
        };
        total += number * scale;
        rest = rest[unit_len..].trim_start();
    }
    seconds_to_duration(total).map_err(|r| fail(&r))
}

fn seconds_to_duration(seconds: f64) -> Result<Duration, String> {
    if !seconds.is_finite() {
        return Err("it is not a finite number".to_string());
    }
    if seconds < 0.0 {
        return Err("it is negative".to_string());
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| "it is too large".to_string())
}

/// A duration as written in a config file: text, or a number of seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DurationText {
    Text(String),
    Seconds(f64),
}

impl DurationText {
    pub fn parse(&self) -> Result<Duration, DurationError> {
        match self {
            DurationText::Text(text) => parse_duration(text),
            DurationText::Seconds(seconds) => {
                seconds_to_duration(*seconds).map_err(|reason| DurationError {
                    text: seconds.to_string(),
                    reason,
                })
            }
        }
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 10s, 2m, 1h or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationText, E> {
                Ok(DurationText::Seconds(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationText, E> {
                Ok(DurationText::Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationText, E> {
                Ok(DurationText::Seconds(v))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Option<u128> {
        parse_duration(text).ok().map(|d| d.as_millis())
    }

    #[test]
    fn parses_units_and_plain_seconds() {
        assert_eq!(ms("500ms"), Some(500));
        assert_eq!(ms("10s"), Some(10_000));
        assert_eq!(ms("2m"), Some(120_000));
        assert_eq!(ms("1h"), Some(3_600_000));
        assert_eq!(ms("1.5s"), Some(1_500));
        assert_eq!(ms("1m30s"), Some(90_000));
        assert_eq!(ms(" 10 s "), Some(10_000));
        assert_eq!(ms("30"), Some(30_000));
        assert_eq!(ms("0"), Some(0));
    }

    #[test]
    fn rejects_nonsense_with_a_reason() {
        let err = parse_duration("10 parsecs").unwrap_err().to_string();
        assert_eq!(
            err,
            "`10 parsecs` is not a duration: unknown unit `parsecs` (use ms, s, m or h)"
        );
        for bad in [
            "", "s", "10 10", "-5s", "-5", "1e400", "NaN", "inf", "..s", "1.2.3s", "5µs",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn numbers_from_yaml_are_seconds() {
        let d: DurationText = serde_yaml::from_str("2.5").unwrap();
        assert_eq!(d.parse().unwrap(), Duration::from_millis(2500));
        let d: DurationText = serde_yaml::from_str("\"2m\"").unwrap();
        assert_eq!(d.parse().unwrap(), Duration::from_secs(120));
        assert!(serde_yaml::from_str::<DurationText>("[1]").is_err());
    }
}
