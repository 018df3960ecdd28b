//! The per-scenario settings that `defaults:` may also set, and their value rules.
//!
//! Both places are checked with the same code (so `trials: 0` reads the same under
//! `defaults:` as under a scenario) and each error points at the place it was
//! written; a scenario's own value then wins over the default.

use super::raw::{RawSettings, RawSlo};
use super::Slo;
use crate::config::error::ConfigError;
use crate::config::source::Source;

pub(super) const DEFAULT_SEED: u64 = 42;
pub(super) const DEFAULT_MAX_ERROR_RATE: f64 = 0.05;

/// Checked settings; `None` where not written (or written wrong, and reported).
#[derive(Debug, Clone, Default)]
pub(super) struct Settings {
    pub warmup: Option<u64>,
    pub max_tokens: Option<u32>,
    pub ignore_eos: Option<bool>,
    pub stream: Option<bool>,
    pub seed: Option<u64>,
    pub trials: Option<u32>,
    pub slo: Option<Slo>,
    pub max_error_rate: Option<f64>,
}

impl Settings {
    /// `self` where set, else `fallback`. An `slo` block replaces the default block
    /// as a whole.
    pub fn or(self, fallback: &Settings) -> Settings {
        Settings {
            warmup: self.warmup.or(fallback.warmup),
            max_tokens: self.max_tokens.or(fallback.max_tokens),
            ignore_eos: self.ignore_eos.or(fallback.ignore_eos),
            stream: self.stream.or(fallback.stream),
            seed: self.seed.or(fallback.seed),
            trials: self.trials.or(fallback.trials),
            slo: self.slo.or(fallback.slo),
            max_error_rate: self.max_error_rate.or(fallback.max_error_rate),
        }
    }
}

/// Checks settings written under `prefix` (`defaults` or `scenarios.NAME`).
pub(super) fn check(
    source: &Source,
    prefix: &[&str],
    raw: RawSettings,
    errors: &mut Vec<ConfigError>,
) -> Settings {
    let mut report = |key: &str, message: String| {
        let path: Vec<&str> = prefix.iter().copied().chain([key]).collect();
        errors.push(source.at_value(&path, message));
    };
    let max_tokens = raw.max_tokens.filter(|&n| {
        if n == 0 {
            report(
                "max_tokens",
                "must be at least 1 (tokens to generate per request)".into(),
            );
        }
        n > 0
    });
    let trials = raw.trials.filter(|&n| {
        if n == 0 {
            report(
                "trials",
                "must be at least 1 (how many times the scenario runs)".into(),
            );
        }
        n > 0
    });
    let max_error_rate = raw.max_error_rate.filter(|&r| {
        let ok = (0.0..=1.0).contains(&r);
        if !ok {
            report(
                "max_error_rate",
                format!("must be a fraction from 0 to 1, e.g. 0.05 for 5% (got {r})"),
            );
        }
        ok
    });
    let slo = raw.slo.map(|raw| check_slo(source, prefix, raw, errors));
    Settings {
        warmup: raw.warmup,
        max_tokens,
        ignore_eos: raw.ignore_eos,
        stream: raw.stream,
        seed: raw.seed,
        trials,
        slo,
        max_error_rate,
    }
}

fn check_slo(source: &Source, prefix: &[&str], raw: RawSlo, errors: &mut Vec<ConfigError>) -> Slo {
    let mut bound = |key: &str, value: Option<f64>| {
        value.filter(|&ms| {
            let ok = ms.is_finite() && ms > 0.0;
            if !ok {
                let path: Vec<&str> = prefix.iter().copied().chain(["slo", key]).collect();
                errors.push(source.at_value(
                    &path,
                    format!("must be a positive number of milliseconds (got {ms}); leave it out for no bound"),
                ));
            }
            ok
        })
    };
    Slo {
        ttft_ms: bound("ttft_ms", raw.ttft_ms),
        tpot_ms: bound("tpot_ms", raw.tpot_ms),
        e2e_ms: bound("e2e_ms", raw.e2e_ms),
    }
}
