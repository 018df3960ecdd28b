//! Value checks for targets.yaml: URLs, header names, `${VAR}` error wording.
//!
//! Kept apart from the loader so each rule is small and unit-tested on its own.
//! Messages quote values as written in the file, never after expansion, because an
//! expanded value may carry a credential.

use crate::config::env::{has_variables, ExpandError};

/// A URL problem, quoting the text as written in the file (never an expanded value,
/// which might carry credentials).
pub(crate) fn written(text: &str, problem: &str) -> String {
    if has_variables(text) {
        format!("{problem} (after expanding the variables in `{text}`)")
    } else {
        format!("{problem} (got `{text}`)")
    }
}

pub(crate) fn expand_message(error: ExpandError, alternative: &dyn Fn(&str) -> String) -> String {
    match error {
        ExpandError::Unset(var) => format!(
            "environment variable `{var}` is not set; export it or {}",
            alternative(&var)
        ),
        ExpandError::Syntax(problem) => problem.to_string(),
    }
}

/// Checks an `http(s)://host...` URL and drops trailing slashes.
pub(crate) fn check_url(url: &str) -> Result<String, String> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Err("must start with http:// or https://".to_string());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".to_string());
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host after the scheme".to_string());
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// A base URL is the API root; the client appends `/chat/completions` itself.
pub(crate) fn check_base_url(url: &str) -> Result<String, String> {
    let url = check_url(url)?;
    for suffix in ["/chat/completions", "/completions"] {
        if url.ends_with(suffix) {
            return Err(format!(
                "is the API root that `{suffix}` is appended to; drop `{suffix}` \
                 (e.g. http://127.0.0.1:8000/v1)"
            ));
        }
    }
    Ok(url)
}

/// HTTP header names are RFC 9110 tokens.
pub(crate) fn check_header_name(name: &str) -> Result<(), String> {
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        return Err(format!(
            "`{name}` is not a valid HTTP header name (letters, digits and `-`, no spaces or `:`)"
        ));
    }
    Ok(())
}

/// A header value (or API key, sent as `Authorization`) must stay on its header's
/// line: a CR or LF would end the header early or smuggle in another, and other
/// control characters are not allowed in HTTP field values (RFC 9110 §5.5). The
/// message never quotes the value, which may be a credential.
pub fn check_header_value(value: &str) -> Result<(), String> {
    let bad = value
        .chars()
        .find(|&c| (c.is_ascii_control() && c != '\t') || c == '\u{7f}');
    match bad {
        None => Ok(()),
        Some(c @ ('\r' | '\n')) => Err(format!(
            "contains a line break ({}), which would end the HTTP header early; remove it \
             (a value read from a file often keeps its trailing newline)",
            if c == '\r' { "CR" } else { "LF" }
        )),
        Some(c) => Err(format!(
            "contains the control character U+{:04X}, which HTTP header values cannot carry; \
             remove it",
            u32::from(c)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_stay_on_one_line() {
        assert!(check_header_value("Bearer abc\tdef é").is_ok());
        assert!(check_header_value("abc\r\nX-Evil: 1")
            .unwrap_err()
            .contains("CR"));
        assert!(check_header_value("abc\n").unwrap_err().contains("LF"));
        assert!(check_header_value("a\u{0}b")
            .unwrap_err()
            .contains("U+0000"));
        assert!(check_header_value("a\u{7f}")
            .unwrap_err()
            .contains("U+007F"));
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        assert_eq!(
            check_base_url("http://127.0.0.1:8000/v1/").unwrap(),
            "http://127.0.0.1:8000/v1"
        );
        assert_eq!(
            check_base_url("https://api.example.com/v1").unwrap(),
            "https://api.example.com/v1"
        );
        assert!(check_base_url("127.0.0.1:8000/v1").is_err());
        assert!(check_base_url("http:///v1").is_err());
        assert!(check_base_url("http://host/v1/chat/completions").is_err());
        assert!(check_base_url("http://ho st/v1").is_err());
    }

    #[test]
    fn header_names_are_tokens() {
        assert!(check_header_name("X-Org-Id").is_ok());
        assert!(check_header_name("X Org").is_err());
        assert!(check_header_name("X-Org:").is_err());
        assert!(check_header_name("").is_err());
    }
}
