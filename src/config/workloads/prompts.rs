//! `prompts:` entries: fixed text, or synthetic text of a given token length.

use super::lengths::{self, RawLengths};
use super::prefix;
use super::raw::RawPrompt;
use super::{PromptSource, PromptSpec};
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// Checks one prompt; a broken one is still returned (so scenarios that name it do
/// not get a second, misleading error) and the problems go to `errors`.
pub(super) fn check(
    source: &Source,
    name: String,
    raw: RawPrompt,
    errors: &mut Vec<ConfigError>,
) -> PromptSpec {
    let at = |key: &'static str| ["prompts", name.as_str(), key];
    let prompt_source = match (raw.text, raw.synthetic_tokens) {
        (Some(text), None) => {
            if text.trim().is_empty() {
                errors.push(source.at_value(&at("text"), "is empty; write the prompt text"));
            }
            if raw.spread.is_some() {
                errors.push(source.at_key(
                    &at("spread"),
                    "`spread` varies the length of synthetic prompts only; remove it or use \
                     `synthetic_tokens` instead of `text`",
                ));
            }
            PromptSource::Template { text }
        }
        (None, Some(RawLengths::Named(named))) => {
            if raw.spread.is_some() {
                errors.push(source.at_key(
                    &at("spread"),
                    "`spread` varies a fixed `synthetic_tokens` count; with a distribution \
                     the distribution sets the spread: remove `spread`",
                ));
            }
            let lengths = lengths::check(
                source,
                &at("synthetic_tokens"),
                RawLengths::Named(named),
                errors,
            );
            PromptSource::SyntheticLengths { lengths }
        }
        (None, Some(RawLengths::Number(tokens))) => {
            if tokens == 0 {
                errors.push(source.at_value(&at("synthetic_tokens"), "must be at least 1"));
            }
            let spread = raw.spread.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&spread) {
                errors.push(source.at_value(
                    &at("spread"),
                    format!(
                        "must be from 0 to 1: the standard deviation of the length as a \
                         fraction of `synthetic_tokens`, e.g. 0.1 (got {spread})"
                    ),
                ));
            }
            PromptSource::Synthetic { tokens, spread }
        }
        (Some(_), Some(_)) => {
            errors.push(source.at_key(
                &at("synthetic_tokens"),
                "set either `text` (a fixed prompt) or `synthetic_tokens` (generated text of \
                 that many tokens), not both",
            ));
            PromptSource::Template {
                text: String::new(),
            }
        }
        (None, None) => {
            errors.push(source.at_key(
                &["prompts", name.as_str()],
                "no prompt; add `text: \"...\"` for a fixed prompt or `synthetic_tokens: N` for \
                 generated text of N tokens",
            ));
            PromptSource::Template {
                text: String::new(),
            }
        }
    };
    let shared_prefix = raw.shared_prefix.map(|written| {
        if matches!(prompt_source, PromptSource::Template { .. }) {
            errors.push(source.at_key(
                &at("shared_prefix"),
                "`shared_prefix` builds generated prefixes for `synthetic_tokens` prompts; \
                 with `text`, write the shared part into the text and set \
                 `prefix_cache: allow`",
            ));
        }
        prefix::check(source, &at("shared_prefix"), written, errors)
    });
    PromptSpec {
        name,
        source: prompt_source,
        prefix_cache: raw.prefix_cache.unwrap_or_default(),
        shared_prefix,
    }
}
