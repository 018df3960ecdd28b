//! Token-length distributions as written in workloads.yaml: a prompt's
//! `synthetic_tokens` and a scenario's `output_tokens`.
//!
//! A length is a plain number (every request the same) or a one-key mapping that
//! names a distribution: `fixed: 128`, `uniform: [64, 256]`,
//! `normal: {mean: 128, sd: 32}`, `lognormal: {mean: 128, sd: 64}` or
//! `empirical: [32, 64, 64, 512]` (each request draws one entry). Serde checks the
//! shape (with line and column); [`check`] the values, reporting every problem.
//! Drawing from them is `workload::lengths`'s job.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::config::error::ConfigError;
use crate::config::source::Source;

/// The longest length a distribution may give: far beyond any context window, low
/// enough that a typo (an extra zero or three) is caught before a run builds
/// prompts of that size.
pub const MAX_LENGTH_TOKENS: u32 = 1_000_000;

/// A validated length distribution, in tokens. Every draw is at least 1.
#[derive(Debug, Clone, PartialEq)]
pub enum Lengths {
    Fixed(u32),
    /// Uniform over the whole numbers `lo..=hi`.
    Uniform {
        lo: u32,
        hi: u32,
    },
    /// Normal, rounded, at least 1.
    Normal {
        mean: f64,
        sd: f64,
    },
    /// Log-normal with this mean and standard deviation of the length itself (not of
    /// its logarithm), rounded, at least 1: long-tailed, like real prompt lengths.
    LogNormal {
        mean: f64,
        sd: f64,
    },
    /// Each draw picks one of these, equally likely.
    Empirical(Vec<u32>),
}

impl Lengths {
    /// The mean of the distribution (before rounding and clamping).
    pub fn mean(&self) -> f64 {
        match self {
            Lengths::Fixed(n) => f64::from(*n),
            Lengths::Uniform { lo, hi } => (f64::from(*lo) + f64::from(*hi)) / 2.0,
            Lengths::Normal { mean, .. } | Lengths::LogNormal { mean, .. } => *mean,
            Lengths::Empirical(values) => {
                values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
            }
        }
    }

    /// How the distribution is named in run.json, reports and the workload hash,
    /// e.g. `uniform[64,256]`.
    pub fn describe(&self) -> String {
        match self {
            Lengths::Fixed(n) => n.to_string(),
            Lengths::Uniform { lo, hi } => format!("uniform[{lo},{hi}]"),
            Lengths::Normal { mean, sd } => format!("normal(mean={mean},sd={sd})"),
            Lengths::LogNormal { mean, sd } => format!("lognormal(mean={mean},sd={sd})"),
            Lengths::Empirical(values) => {
                let list: Vec<String> = values.iter().map(u32::to_string).collect();
                format!("empirical[{}]", list.join(","))
            }
        }
    }
}

/// A length as written: a number or a one-key mapping.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawLengths {
    Number(u32),
    Named(NamedLengths),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(super) enum NamedLengths {
    Fixed(u32),
    Uniform([u32; 2]),
    Normal(MeanSd),
    Lognormal(MeanSd),
    Empirical(Vec<u32>),
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with `mean` and `sd`")]
pub(super) struct MeanSd {
    pub mean: f64,
    pub sd: f64,
}

impl<'de> Deserialize<'de> for RawLengths {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LengthsVisitor;
        impl<'de> Visitor<'de> for LengthsVisitor {
            type Value = RawLengths;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a token count, or one of `fixed: N`, `uniform: [LO, HI]`, \
                     `normal: {mean: M, sd: S}`, `lognormal: {mean: M, sd: S}`, \
                     `empirical: [N, ...]`",
                )
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawLengths, E> {
                u32::try_from(v)
                    .map(RawLengths::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLengths, A::Error> {
                NamedLengths::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawLengths::Named)
            }
        }
        deserializer.deserialize_any(LengthsVisitor)
    }
}

/// Validates a written length at `path` (e.g. `prompts.p.synthetic_tokens`);
/// problems go to `errors`, and a usable stand-in comes back so later checks go on.
pub(super) fn check(
    source: &Source,
    path: &[&str],
    raw: RawLengths,
    errors: &mut Vec<ConfigError>,
) -> Lengths {
    let mut fail = |message: String| errors.push(source.at_value(path, message));
    let in_range = |n: u32| (1..=MAX_LENGTH_TOKENS).contains(&n);
    let range_text = format!("from 1 to {MAX_LENGTH_TOKENS} tokens");
    match raw {
        RawLengths::Number(n) | RawLengths::Named(NamedLengths::Fixed(n)) => {
            if !in_range(n) {
                fail(format!("must be {range_text} (got {n})"));
            }
            Lengths::Fixed(n.clamp(1, MAX_LENGTH_TOKENS))
        }
        RawLengths::Named(NamedLengths::Uniform([lo, hi])) => {
            if !in_range(lo) || !in_range(hi) || lo > hi {
                fail(format!(
                    "`uniform: [LO, HI]` needs 1 <= LO <= HI <= {MAX_LENGTH_TOKENS} (got [{lo}, {hi}])"
                ));
                return Lengths::Fixed(lo.clamp(1, MAX_LENGTH_TOKENS));
            }
            Lengths::Uniform { lo, hi }
        }
        RawLengths::Named(NamedLengths::Normal(MeanSd { mean, sd })) => {
            if !mean_sd_ok(mean, sd) {
                fail(mean_sd_message("normal", mean, sd));
                return Lengths::Fixed(1);
            }
            Lengths::Normal { mean, sd }
        }
        RawLengths::Named(NamedLengths::Lognormal(MeanSd { mean, sd })) => {
            if !mean_sd_ok(mean, sd) {
                fail(mean_sd_message("lognormal", mean, sd));
                return Lengths::Fixed(1);
            }
            Lengths::LogNormal { mean, sd }
        }
        RawLengths::Named(NamedLengths::Empirical(values)) => {
            if values.is_empty() {
                fail(
                    "`empirical:` is empty; list the lengths to draw from, e.g. [64, 128, 512]"
                        .into(),
                );
                return Lengths::Fixed(1);
            }
            if let Some(bad) = values.iter().find(|&&v| !in_range(v)) {
                fail(format!(
                    "every `empirical:` length must be {range_text} (got {bad})"
                ));
                return Lengths::Fixed(1);
            }
            Lengths::Empirical(values)
        }
    }
}

fn mean_sd_ok(mean: f64, sd: f64) -> bool {
    mean.is_finite()
        && sd.is_finite()
        && mean >= 1.0
        && mean <= f64::from(MAX_LENGTH_TOKENS)
        && sd >= 0.0
}

fn mean_sd_message(kind: &str, mean: f64, sd: f64) -> String {
    format!(
        "`{kind}:` needs 1 <= mean <= {MAX_LENGTH_TOKENS} and sd >= 0, in tokens (got mean {mean}, \
         sd {sd}); e.g. `{kind}: {{mean: 128, sd: 32}}`"
    )
}
