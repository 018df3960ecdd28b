//! `${VAR}` and `${VAR:-default}` in targets.yaml, so keys and hosts stay out of git.
//!
//! Expansion runs on individual typed fields after parsing, never on the raw file,
//! so an expanded secret can never appear in a YAML error. `$$` is a literal `$`;
//! any other `$` is an error rather than a guess. Errors name the variable, never a
//! value.

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExpandError {
    /// `${NAME}` without a default, and `NAME` is not set.
    Unset(String),
    /// Malformed syntax; the text says what was expected (it never quotes the value).
    Syntax(&'static str),
}

/// Replaces every `${NAME}` / `${NAME:-default}` / `$$` in `text`.
/// `${NAME:-default}` takes the default when `NAME` is unset or empty, as in sh.
pub(crate) fn expand(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(inner_start) = rest.strip_prefix('{') else {
            return Err(ExpandError::Syntax(
                "a `$` must start `${NAME}` or `${NAME:-default}`; write `$$` for a literal `$`",
            ));
        };
        let Some(close) = inner_start.find('}') else {
            return Err(ExpandError::Syntax("`${` is not closed by `}`"));
        };
        let inner = &inner_start[..close];
        rest = &inner_start[close + 1..];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if !is_variable_name(name) {
            return Err(ExpandError::Syntax(
                "`${...}` must hold a variable name (letters, digits and `_`, not starting \
                 with a digit), optionally followed by `:-default`",
            ));
        }
        match (
            env(name).filter(|v| !v.is_empty() || default.is_none()),
            default,
        ) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => return Err(ExpandError::Unset(name.to_string())),
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Whether `text` refers to any variable (so errors can say "after expansion").
pub(crate) fn has_variables(text: &str) -> bool {
    text.contains("${")
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("gpu-1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<String, ExpandError> {
        expand(text, &env)
    }

    #[test]
    fn expands_variables_and_defaults() {
        assert_eq!(
            run("http://${HOST}:8000/v1").unwrap(),
            "http://gpu-1:8000/v1"
        );
        assert_eq!(run("${MISSING:-fallback}").unwrap(), "fallback");
        assert_eq!(run("${MISSING:-}").unwrap(), "");
        assert_eq!(run("${EMPTY:-x}").unwrap(), "x");
        assert_eq!(run("${EMPTY}").unwrap(), "");
        assert_eq!(run("${HOST:-x}").unwrap(), "gpu-1");
        assert_eq!(run("a$$b$${HOST}").unwrap(), "a$b${HOST}");
        assert_eq!(run("plain").unwrap(), "plain");
        assert_eq!(run("").unwrap(), "");
    }

    #[test]
    fn reports_unset_and_malformed() {
        assert_eq!(run("${MISSING}"), Err(ExpandError::Unset("MISSING".into())));
        for bad in [
            "$HOST",
            "${HOST",
            "${}",
            "${1X}",
            "${A B}",
            "$",
            "${HOST:x}",
        ] {
            assert!(matches!(run(bad), Err(ExpandError::Syntax(_))), "{bad}");
        }
    }
}
