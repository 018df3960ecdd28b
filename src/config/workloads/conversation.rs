//! `conversation:` on a scenario: multi-turn chats in which each request carries
//! the conversation so far (the server's own earlier answers included), with a
//! think time between a turn's answer and the next question.
//!
//! Production chat traffic is long histories sharing a growing prefix; a benchmark
//! of single-turn prompts measures something else. The numbers are written like
//! every other length (`lengths.rs`): a count or a one-key distribution. Think
//! times are milliseconds and may be 0; turns and user lengths are at least 1.

use serde::Deserialize;

use super::lengths::{self, Lengths, MeanSd, NamedLengths, RawLengths};
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// Most turns one conversation may have: each turn resends the whole history,
/// so a typo (an extra zero or two) should fail here, not in the server.
pub const MAX_TURNS: u32 = 1_000;

/// Longest think time: an hour, in milliseconds.
pub const MAX_THINK_MS: u32 = 3_600_000;

/// A validated `conversation:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Turns per conversation, drawn per conversation.
    pub turns: Lengths,
    /// Milliseconds between a turn's last byte and the next turn's send, drawn per
    /// turn; `Fixed(0)` (the default) sends at once.
    pub think_time_ms: Lengths,
    /// Each user message's length in tokens; `None`: the scenario prompt's own.
    pub user_tokens: Option<Lengths>,
    /// Where it is written (`workloads.yaml:LINE:COLUMN: scenarios.NAME.conversation`),
    /// for the error a completions target gets, found only once a target is chosen.
    pub written_at: String,
}

impl Conversation {
    /// As recorded in run.json and hashed, e.g.
    /// `turns=6 think_ms=uniform[500,2000] user_tokens=64`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "turns={} think_ms={}",
            self.turns.describe(),
            self.think_time_ms.describe()
        );
        if let Some(user) = &self.user_tokens {
            text.push_str(&format!(" user_tokens={}", user.describe()));
        }
        text
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `turns` and optionally `think_time_ms` and `user_tokens`"
)]
pub(super) struct RawConversation {
    pub turns: Option<RawLengths>,
    pub think_time_ms: Option<RawLengths>,
    pub user_tokens: Option<RawLengths>,
}

/// Validates `conversation:` at `path`; problems go to `errors`.
pub(super) fn check(
    source: &Source,
    path: &[&str],
    raw: RawConversation,
    errors: &mut Vec<ConfigError>,
) -> Conversation {
    let at = |key: &'static str| [path, &[key]].concat();
    let turns = match raw.turns {
        Some(written) => {
            let turns = lengths::check(source, &at("turns"), written, errors);
            if let Some(too_many) = largest(&turns).filter(|&n| n > f64::from(MAX_TURNS)) {
                errors.push(source.at_value(
                    &at("turns"),
                    format!(
                        "at most {MAX_TURNS} turns per conversation (each turn resends the \
                         whole history); got {too_many}"
                    ),
                ));
            }
            turns
        }
        None => {
            errors.push(source.at_key(
                path,
                "no `turns`; add how many turns each conversation has, e.g. \
                 `conversation: { turns: 6, think_time_ms: 1000 }`",
            ));
            Lengths::Fixed(1)
        }
    };
    let think_time_ms = raw
        .think_time_ms
        .map(|written| think_time(source, &at("think_time_ms"), written, errors))
        .unwrap_or(Lengths::Fixed(0));
    let user_tokens = raw
        .user_tokens
        .map(|written| lengths::check(source, &at("user_tokens"), written, errors));
    let written_at = source.at_key(path, "").to_string();
    Conversation {
        turns,
        think_time_ms,
        user_tokens,
        written_at: written_at.trim_end_matches([' ', ':']).to_string(),
    }
}

/// The largest value a distribution can give, where it has one (normal and
/// log-normal are unbounded: their mean is checked instead).
fn largest(lengths: &Lengths) -> Option<f64> {
    Some(match lengths {
        Lengths::Fixed(n) => f64::from(*n),
        Lengths::Uniform { hi, .. } => f64::from(*hi),
        Lengths::Empirical(values) => f64::from(values.iter().copied().max().unwrap_or(1)),
        Lengths::Normal { mean, .. } | Lengths::LogNormal { mean, .. } => *mean,
    })
}

/// A think time: like a length, but in milliseconds and allowed to be 0.
fn think_time(
    source: &Source,
    path: &[&str],
    raw: RawLengths,
    errors: &mut Vec<ConfigError>,
) -> Lengths {
    let mut fail = |message: String| {
        errors.push(source.at_value(path, message));
        Lengths::Fixed(0)
    };
    let ok = |n: u32| n <= MAX_THINK_MS;
    let range = format!("from 0 to {MAX_THINK_MS} ms");
    match raw {
        RawLengths::Number(n) | RawLengths::Named(NamedLengths::Fixed(n)) if ok(n) => {
            Lengths::Fixed(n)
        }
        RawLengths::Named(NamedLengths::Uniform([lo, hi])) if ok(lo) && ok(hi) && lo <= hi => {
            Lengths::Uniform { lo, hi }
        }
        RawLengths::Named(NamedLengths::Empirical(values))
            if !values.is_empty() && values.iter().all(|&v| ok(v)) =>
        {
            Lengths::Empirical(values)
        }
        RawLengths::Named(NamedLengths::Normal(MeanSd { mean, sd })) if mean_sd_ok(mean, sd) => {
            Lengths::Normal { mean, sd }
        }
        RawLengths::Named(NamedLengths::Lognormal(MeanSd { mean, sd }))
            if mean_sd_ok(mean, sd) && mean > 0.0 =>
        {
            Lengths::LogNormal { mean, sd }
        }
        RawLengths::Number(n) | RawLengths::Named(NamedLengths::Fixed(n)) => {
            fail(format!("must be {range} (got {n})"))
        }
        RawLengths::Named(NamedLengths::Uniform([lo, hi])) => fail(format!(
            "`uniform: [LO, HI]` needs 0 <= LO <= HI <= {MAX_THINK_MS} ms (got [{lo}, {hi}])"
        )),
        RawLengths::Named(NamedLengths::Empirical(_)) => fail(format!(
            "`empirical:` needs at least one think time, each {range}, e.g. [0, 500, 2000]"
        )),
        RawLengths::Named(NamedLengths::Normal(MeanSd { mean, sd }))
        | RawLengths::Named(NamedLengths::Lognormal(MeanSd { mean, sd })) => fail(format!(
            "needs 0 < mean <= {MAX_THINK_MS} and sd >= 0, in ms (got mean {mean}, sd {sd}); \
             e.g. `lognormal: {{mean: 1500, sd: 800}}`"
        )),
    }
}

fn mean_sd_ok(mean: f64, sd: f64) -> bool {
    mean.is_finite()
        && sd.is_finite()
        && mean >= 0.0
        && mean <= f64::from(MAX_THINK_MS)
        && sd >= 0.0
}
