//! Turns serde_yaml's errors into `ConfigError`s a person can act on.
//!
//! serde_yaml formats its errors as `path: message at line L column C`; this splits
//! that back into the key path, the position and the message, then rewrites the
//! message: `unknown field `concurency`, expected one of ...` becomes `unknown key
//! `concurency`; did you mean `concurrency`?`, and `invalid type: string "lots",
//! expected u32` becomes `expected a whole number >= 0, got the string "lots"`.
//! Anything not recognised as a serde message is a YAML syntax error.

use super::error::ConfigError;
use super::locate::{second_occurrence, Position};
use super::source::Source;
use super::suggest::{did_you_mean, list};

/// The messages serde and this module's deserializers raise; used to find where
/// serde_yaml's path prefix ends.
const KNOWN_STARTS: &[&str] = &[
    "invalid type: ",
    "invalid value: ",
    "invalid length ",
    "unknown variant `",
    "unknown field `",
    "missing field `",
    "duplicate field `",
    "duplicate key `",
];

pub(crate) fn from_yaml_error(
    source: &Source,
    error: &serde_yaml::Error,
    expected: &str,
) -> ConfigError {
    let position = error.location().map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let mut text = error.to_string();
    if let Some(p) = position {
        let mark = format!(" at line {} column {}", p.line, p.column);
        if let Some(at) = text.find(&mark) {
            text.replace_range(at..at + mark.len(), "");
        }
    }
    match split_path(&text) {
        Some((path, message)) => semantic(source, position, path, message, expected),
        None => syntax(source, position, &text),
    }
}

/// Whether serde_yaml could not read the text as YAML at all (as opposed to YAML
/// that does not fit the expected shape).
pub(crate) fn is_syntax_error(error: &serde_yaml::Error) -> bool {
    split_path(&error.to_string()).is_none()
}

/// Splits `path: message` where `message` is one serde raises.
fn split_path(text: &str) -> Option<(&str, &str)> {
    if KNOWN_STARTS.iter().any(|s| text.starts_with(s)) {
        return Some(("", text));
    }
    text.match_indices(": ").find_map(|(i, _)| {
        let rest = &text[i + 2..];
        KNOWN_STARTS
            .iter()
            .any(|s| rest.starts_with(s))
            .then(|| (&text[..i], rest))
    })
}

fn semantic(
    source: &Source,
    position: Option<Position>,
    path: &str,
    message: &str,
    expected: &str,
) -> ConfigError {
    let path = if path == "." { "" } else { path };
    let child = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    let error = |position, path: String, message: String| {
        ConfigError::new(&source.file, position, path, message)
    };
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (key, valid) = quoted_names(rest);
        let message = match did_you_mean(&key, valid.iter().map(String::as_str)) {
            Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
            None if valid.is_empty() => format!("unknown key `{key}`; no keys are allowed here"),
            None => format!(
                "unknown key `{key}`; the keys allowed here are {}",
                list(valid.iter().map(String::as_str))
            ),
        };
        return error(position, child(&key), message);
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (value, valid) = quoted_names(rest);
        let choices = list(valid.iter().map(String::as_str));
        let message = match did_you_mean(&value, valid.iter().map(String::as_str)) {
            Some(best) => {
                format!("unknown value `{value}`; did you mean `{best}`? (one of {choices})")
            }
            None => format!("unknown value `{value}`; expected one of {choices}"),
        };
        return error(position, path.to_string(), message);
    }
    for prefix in ["duplicate field ", "duplicate key "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (key, _) = quoted_names(rest);
            let full = child(&key);
            let segments: Vec<&str> = full.split('.').collect();
            let position = second_occurrence(&source.text, &segments).or(position);
            return error(
                position,
                full,
                format!("`{key}` appears twice here; keep one (YAML keys must be unique)"),
            );
        }
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let (key, _) = quoted_names(rest);
        return error(position, child(&key), format!("missing key `{key}`"));
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(split) = rest.rfind(", expected ") {
                let got = describe_unexpected(&rest[..split]);
                let wanted = describe_expected(&rest[split + ", expected ".len()..]);
                let message = if path.is_empty() && prefix == "invalid type: " {
                    format!("the file should hold {expected}, but it holds {got}")
                } else {
                    format!("expected {wanted}, got {got}")
                };
                return error(position, path.to_string(), message);
            }
        }
    }
    error(position, path.to_string(), message.to_string())
}

fn syntax(source: &Source, position: Option<Position>, text: &str) -> ConfigError {
    if text.contains("more than one document") {
        return ConfigError::new(
            &source.file,
            position,
            "",
            "the file holds more than one YAML document; remove the `---` separator lines",
        );
    }
    let detail = text.replace(" at line ", " that starts at line ");
    ConfigError::new(
        &source.file,
        position,
        "",
        format!(
            "invalid YAML: {detail}; check the indentation here (spaces, not tabs) and put \
             values containing `: `, ` #`, `{{` or `[` in quotes"
        ),
    )
}

/// The first backquoted name and the rest of the backquoted names in `text`
/// (serde's "`x`, expected one of `a`, `b`").
fn quoted_names(text: &str) -> (String, Vec<String>) {
    let mut names = text
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string());
    let first = names.next().unwrap_or_default();
    (first, names.collect())
}

/// serde's `Unexpected` wording, in plain terms.
fn describe_unexpected(got: &str) -> String {
    let unquote = |s: &str| s.trim_matches('`').to_string();
    if let Some(s) = got.strip_prefix("string ") {
        return format!("the text {s}");
    }
    if let Some(n) = got
        .strip_prefix("integer ")
        .or_else(|| got.strip_prefix("floating point "))
    {
        return format!("the number {}", unquote(n));
    }
    if let Some(b) = got.strip_prefix("boolean ") {
        return unquote(b);
    }
    match got {
        "unit value" => "nothing (an empty value or `null`)".to_string(),
        "map" => "a mapping".to_string(),
        "sequence" => "a list".to_string(),
        other => other.to_string(),
    }
}

/// serde's "expected" wording (Rust type names), in plain terms.
fn describe_expected(wanted: &str) -> String {
    match wanted {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number >= 0 (no quotes)".to_string(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number (no quotes)".to_string(),
        "f32" | "f64" => "a number (no quotes)".to_string(),
        "a boolean" => "`true` or `false`".to_string(),
        "a map" => "a mapping (`key: value` entries)".to_string(),
        "a sequence" => "a list".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_serde_paths() {
        assert_eq!(
            split_path("scenarios.a: unknown field `x`, expected `y`"),
            Some(("scenarios.a", "unknown field `x`, expected `y`"))
        );
        assert_eq!(
            split_path("unknown field `x`, expected `y`"),
            Some(("", "unknown field `x`, expected `y`"))
        );
        assert_eq!(
            split_path("a: b: invalid type: map, expected u32"),
            Some(("a: b", "invalid type: map, expected u32"))
        );
        assert_eq!(split_path("did not find expected key, while parsing"), None);
    }

    #[test]
    fn reads_backquoted_names() {
        let (first, rest) = quoted_names("`concurency`, expected one of `concurrency`, `rate`");
        assert_eq!(first, "concurency");
        assert_eq!(rest, vec!["concurrency", "rate"]);
        assert_eq!(quoted_names("nothing"), (String::new(), Vec::new()));
    }
}
