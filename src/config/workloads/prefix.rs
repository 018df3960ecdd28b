//! `shared_prefix:` on a synthetic prompt: G groups of requests, each group
//! sharing a leading text of L tokens, as prefix-caching servers are benchmarked
//! (a system prompt shared by many users, each with their own question).

use serde::Deserialize;

use super::lengths::MAX_LENGTH_TOKENS;
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// Most groups: each is a prefix the generator builds, so a typo should not
/// ask for millions.
pub const MAX_GROUPS: u32 = 100_000;

/// A validated `shared_prefix:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPrefix {
    /// Request `i` belongs to group `i % groups`.
    pub groups: u32,
    /// The shared text's length in tokens.
    pub tokens: u32,
}

impl SharedPrefix {
    /// As recorded in run.json and hashed, e.g. `4x512`.
    pub fn describe(&self) -> String {
        format!("{}x{}", self.groups, self.tokens)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `groups` (how many different prefixes) and `tokens` (each one's length)"
)]
pub(super) struct RawSharedPrefix {
    pub groups: Option<u32>,
    pub tokens: Option<u32>,
}

pub(super) fn check(
    source: &Source,
    path: &[&str],
    raw: RawSharedPrefix,
    errors: &mut Vec<ConfigError>,
) -> SharedPrefix {
    let at = |key: &'static str| [path, &[key]].concat();
    let groups = raw.groups.unwrap_or(1);
    if !(1..=MAX_GROUPS).contains(&groups) {
        errors.push(source.at_value(
            &at("groups"),
            format!(
                "must be from 1 to {MAX_GROUPS}: how many different shared prefixes (got {groups})"
            ),
        ));
    }
    let tokens = match raw.tokens {
        Some(n) if (1..=MAX_LENGTH_TOKENS).contains(&n) => n,
        Some(n) => {
            errors.push(source.at_value(
                &at("tokens"),
                format!("must be from 1 to {MAX_LENGTH_TOKENS}: the shared prefix's length in tokens (got {n})"),
            ));
            1
        }
        None => {
            errors.push(source.at_key(
                path,
                "no `tokens`; add the shared prefix's length, e.g. `shared_prefix: { groups: 4, tokens: 512 }`",
            ));
            1
        }
    };
    SharedPrefix {
        groups: groups.clamp(1, MAX_GROUPS),
        tokens,
    }
}
