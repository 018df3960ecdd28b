//! Checks that a name refers to something defined: `default:` entries, a scenario's
//! `prompt:`, a target's `model:`. Each answer offers the closest name or lists them.

use super::error::ConfigError;
use super::source::Source;
use super::suggest::{did_you_mean, list};

/// "no {kind} named `x`; did you mean `y`?" or "...; the {kind}s are `a`, `b`".
pub(crate) fn unknown_name(kind: &str, name: &str, known: &[&str], place: &str) -> String {
    let hint = match did_you_mean(name, known.iter().copied()) {
        Some(best) => format!("did you mean `{best}`?"),
        None if known.is_empty() => "none are defined yet".to_string(),
        None => format!("the {kind}s are {}", list(known.iter().copied())),
    };
    format!("no {kind} named `{name}` in {place}; {hint}")
}

/// The entry a file's `default:` key chooses; may be left out when there is exactly
/// one entry. Problems go to `errors` (and an empty name is returned).
pub(crate) fn resolve_default(
    source: &Source,
    kind: &str,
    default: Option<String>,
    known: &[&str],
    errors: &mut Vec<ConfigError>,
) -> String {
    match default {
        Some(name) if known.contains(&name.as_str()) => name,
        Some(name) => {
            errors
                .push(source.at_value(&["default"], unknown_name(kind, &name, known, "this file")));
            String::new()
        }
        None => match known {
            [] => String::new(),
            [only] => only.to_string(),
            _ => {
                errors.push(source.whole_file(format!(
                    "no `default:`; add `default: NAME` naming one of {}",
                    list(known.iter().copied())
                )));
                String::new()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_or_lists() {
        assert_eq!(
            unknown_name("prompt", "shrot", &["short", "long"], "`prompts:`"),
            "no prompt named `shrot` in `prompts:`; did you mean `short`?"
        );
        assert_eq!(
            unknown_name("prompt", "zzz", &["short", "long"], "`prompts:`"),
            "no prompt named `zzz` in `prompts:`; the prompts are `short`, `long`"
        );
    }
}
