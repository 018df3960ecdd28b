//! One `scenarios:` entry: which prompt, how load is applied, when to stop.
//!
//! How load is applied, the keys where most mistakes happen, is checked in
//! `scenario/load.rs`; this file checks the rest and puts the scenario together.

mod load;

use super::raw::RawScenario;
use super::settings::{self, Settings, DEFAULT_MAX_ERROR_RATE, DEFAULT_SEED};
use super::{Scenario, Stop};
use crate::config::error::ConfigError;
use crate::config::references::unknown_name;
use crate::config::source::Source;
use crate::config::thresholds::{self, RawThresholds};

/// What a scenario may take from `defaults:`.
pub(super) struct Inherited<'a> {
    pub prompt: Option<&'a str>,
    pub settings: &'a Settings,
    /// The project's `thresholds:` block, as written.
    pub thresholds: &'a RawThresholds,
    pub prompt_names: &'a [&'a str],
}

/// Checks one scenario; problems go to `errors` and a best-effort value is returned.
pub(super) fn check(
    source: &Source,
    name: String,
    raw: RawScenario,
    inherited: &Inherited,
    errors: &mut Vec<ConfigError>,
) -> Scenario {
    let base = ["scenarios", name.as_str()];
    if let Err(problem) = check_name(&name) {
        errors.push(source.at_key(&base, problem));
    }
    let own = settings::check(source, &base, raw.settings(), errors).or(inherited.settings);
    let (prompt, load) = match &raw.trace {
        Some(trace) => load::from_trace(source, &name, &raw, trace, errors),
        None => (
            match &raw.dataset {
                Some(written) => dataset_prompt_name(source, &name, &raw, written, errors),
                None => prompt(source, &name, raw.prompt.as_deref(), inherited, errors),
            },
            load::check(source, &name, &raw, errors),
        ),
    };
    let dataset = raw
        .dataset
        .as_ref()
        .and_then(|d| super::dataset::check(source, &name, d, errors));
    let stop = stop(source, &name, &raw, errors);
    let warmup = own.warmup.unwrap_or(0);
    load::check_in_flight(
        source,
        &name,
        &load,
        stop.requests.map(|n| n + warmup),
        errors,
    );
    let slo = own.slo.unwrap_or_default();
    let capacity = raw
        .capacity
        .as_ref()
        .map(|c| super::capacity::check(source, &name, &raw, c, &slo, errors));
    let conversation = conversation(source, &base, &raw, errors);
    Scenario {
        name: name.clone(),
        prompt,
        load,
        stop,
        warmup,
        max_tokens: own.max_tokens,
        output_tokens: output_tokens(source, &base, &raw, errors),
        ignore_eos: own.ignore_eos.unwrap_or(false),
        stream: own.stream.unwrap_or(true),
        seed: own.seed.unwrap_or(DEFAULT_SEED),
        trials: own.trials.unwrap_or(1),
        slo,
        max_error_rate: own.max_error_rate.unwrap_or(DEFAULT_MAX_ERROR_RATE),
        thresholds: scenario_thresholds(source, &base, raw.thresholds.as_ref(), inherited, errors),
        capacity,
        dataset,
        conversation,
    }
}

/// `conversation:`; a trace's rows are single requests, so the two do not mix.
fn conversation(
    source: &Source,
    base: &[&str],
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Option<super::Conversation> {
    let written = raw.conversation.clone()?;
    let path = [base, &["conversation"]].concat();
    if raw.trace.is_some() {
        errors.push(source.at_key(
            &path,
            "a `trace:` replays single requests; remove `conversation:` (or `trace:`)",
        ));
    }
    Some(super::conversation::check(source, &path, written, errors))
}

/// The scenario's own `thresholds:` (checked where written) over the project's; a
/// value already reported as wrong falls back to its default.
fn scenario_thresholds(
    source: &Source,
    base: &[&str],
    own: Option<&RawThresholds>,
    inherited: &Inherited,
    errors: &mut Vec<ConfigError>,
) -> thresholds::Thresholds {
    let own = own.cloned().unwrap_or_default();
    thresholds::check(source, base, &own, errors);
    thresholds::validate(&own.or(inherited.thresholds)).unwrap_or_default()
}

/// `output_tokens:`, which replaces `max_tokens` (so the two together are a
/// mistake: which one would win is not obvious).
fn output_tokens(
    source: &Source,
    base: &[&str],
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Option<super::Lengths> {
    let written = raw.output_tokens.clone()?;
    let path = [base, &["output_tokens"]].concat();
    if raw.max_tokens.is_some() {
        errors.push(source.at_key(
            &path,
            "set either `max_tokens` (one limit for every request) or `output_tokens` (each \
             request's limit drawn from a distribution), not both",
        ));
    }
    Some(super::lengths::check(source, &path, written, errors))
}

/// Scenario names appear on the command line and in result file names.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "scenario names may use letters, digits, `-`, `_` and `.` only (they are used \
             with `--scenario` and in file names); rename `{name}`"
        ))
    }
}

fn prompt(
    source: &Source,
    name: &str,
    own: Option<&str>,
    inherited: &Inherited,
    errors: &mut Vec<ConfigError>,
) -> String {
    let prompt = match (own, inherited.prompt) {
        (Some(p), _) => p,
        // `defaults.prompt` is checked once, where it is written.
        (None, Some(p)) => return p.to_string(),
        (None, None) => {
            errors.push(source.at_key(
                &["scenarios", name],
                format!(
                    "no `prompt`; add `prompt: NAME` naming one of the `prompts:` ({})",
                    inherited.prompt_names.join(", ")
                ),
            ));
            return String::new();
        }
    };
    if !inherited.prompt_names.contains(&prompt) {
        let message = unknown_name("prompt", prompt, inherited.prompt_names, "`prompts:`");
        errors.push(source.at_value(&["scenarios", name, "prompt"], message));
    }
    prompt.to_string()
}

/// The prompt name of a scenario with `dataset:` (`dataset:FILE`, for reports);
/// a `prompt` or `trace` beside it is refused, since the dataset sets the prompts.
fn dataset_prompt_name(
    source: &Source,
    scenario: &str,
    raw: &RawScenario,
    written: &super::dataset::RawDataset,
    errors: &mut Vec<ConfigError>,
) -> String {
    for (key, set) in [
        ("prompt", raw.prompt.is_some()),
        ("trace", raw.trace.is_some()),
    ] {
        if set {
            errors.push(source.at_key(
                &["scenarios", scenario, key],
                format!("a `dataset:` sets the prompts; remove `{key}` (or `dataset:`)"),
            ));
        }
    }
    format!("dataset:{}", written.file.as_deref().unwrap_or_default())
}

fn stop(source: &Source, name: &str, raw: &RawScenario, errors: &mut Vec<ConfigError>) -> Stop {
    let at = |key: &'static str| ["scenarios", name, key];
    // A trace stops on its own, at its last row.
    if raw.requests.is_none() && raw.duration.is_none() && raw.trace.is_none() {
        errors.push(source.at_key(
            &["scenarios", name],
            "no stop condition; add `requests: N` (measured requests, after warm-up) and/or \
             `duration: 30s`",
        ));
    }
    let requests = raw.requests.filter(|&n| {
        if n == 0 {
            errors.push(source.at_value(
                &at("requests"),
                "must be at least 1; leave it out to stop on `duration` only",
            ));
        }
        n > 0
    });
    let duration = raw.duration.as_ref().and_then(|text| match text.parse() {
        Ok(d) if d.is_zero() => {
            errors.push(source.at_value(&at("duration"), "must be longer than 0, e.g. 30s"));
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(source.at_value(
                &at("duration"),
                format!("{e}; write a number with a unit: 500ms, 10s, 2m, 1h"),
            ));
            None
        }
    });
    Stop { requests, duration }
}
