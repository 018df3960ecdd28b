//! A scenario's load keys: a closed loop (`concurrency`), an open loop (`rate`,
//! `arrival`, `burstiness`, `max_concurrency`) or a trace's schedule (`trace:`).
//! These are where most mistakes happen (`concurrency` and `rate` together,
//! `burstiness` without `gamma`, a zero rate), so each combination gets its own
//! message saying which key to keep.

use super::super::raw::{OneOrList, RawArrival, RawScenario, RawTrace};
use super::super::{Arrival, Load};
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// `concurrency` (a closed loop) or `rate` (an open loop, with its arrival
/// process); both, or neither, is an error that says what to write instead.
pub(super) fn check(
    source: &Source,
    name: &str,
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Load {
    let at = |key: &'static str| ["scenarios", name, key];
    // A list is a sweep: its values are checked, and put in place one by one, by
    // `sweep::expand`; here it stands in as a valid placeholder.
    let concurrency = raw.concurrency.as_ref().map(|c| match c {
        OneOrList::One(n) => *n,
        OneOrList::List(_) => 1,
    });
    let rate = raw.rate.as_ref().map(|r| match r {
        OneOrList::One(r) => *r,
        OneOrList::List(_) => 1.0,
    });
    match (concurrency, rate) {
        (Some(concurrency), None) => {
            if concurrency == 0 {
                errors.push(source.at_value(
                    &at("concurrency"),
                    "must be at least 1 (requests kept in flight)",
                ));
            }
            let open_only = [
                ("arrival", raw.arrival.is_some()),
                ("burstiness", raw.burstiness.is_some()),
                ("max_concurrency", raw.max_concurrency.is_some()),
            ];
            for (key, set) in open_only {
                if set {
                    errors.push(source.at_key(
                        &["scenarios", name, key],
                        format!(
                            "`{key}` applies to an open loop (`rate`) only; remove it, or \
                             replace `concurrency` with `rate`"
                        ),
                    ));
                }
            }
            Load::Closed {
                concurrency: concurrency.max(1),
            }
        }
        (None, Some(rate)) => {
            if !(rate.is_finite() && rate > 0.0) {
                errors.push(source.at_value(
                    &at("rate"),
                    format!(
                        "must be > 0 requests per second (got {rate}); for a closed loop use \
                         `concurrency` instead"
                    ),
                ));
            }
            if raw.max_concurrency == Some(0) {
                errors.push(source.at_value(
                    &at("max_concurrency"),
                    "must be at least 1; leave it out for no cap",
                ));
            }
            Load::Open {
                rate,
                arrival: arrival(source, name, raw, errors),
                max_concurrency: raw.max_concurrency.filter(|&n| n > 0),
            }
        }
        (Some(_), Some(_)) => {
            errors.push(source.at_key(
                &at("rate"),
                "both `concurrency` (closed loop) and `rate` (open loop) are set; keep one",
            ));
            Load::Closed { concurrency: 1 }
        }
        (None, None) => {
            errors.push(source.at_key(
                &["scenarios", name],
                "no load; add `concurrency: N` (closed loop: N requests in flight) or \
                 `rate: R` (open loop: R requests per second)",
            ));
            Load::Closed { concurrency: 1 }
        }
    }
}

fn arrival(
    source: &Source,
    name: &str,
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Arrival {
    let at = |key: &'static str| ["scenarios", name, key];
    let burstiness = raw.burstiness.filter(|&b| {
        let ok = b.is_finite() && b > 0.0;
        if !ok {
            errors.push(source.at_value(
                &at("burstiness"),
                format!(
                    "must be > 0 (got {b}); 1 is Poisson, below 1 burstier, above 1 more regular"
                ),
            ));
        }
        ok
    });
    match (raw.arrival, raw.burstiness) {
        (Some(RawArrival::Gamma), None) => {
            errors.push(source.at_value(
                &at("arrival"),
                "`gamma` needs `burstiness: K` (K > 0; 1 is Poisson, below 1 burstier, above 1 \
                 more regular)",
            ));
            Arrival::Poisson
        }
        (Some(RawArrival::Gamma) | None, Some(_)) => match burstiness {
            Some(burstiness) => Arrival::Gamma { burstiness },
            None => Arrival::Poisson,
        },
        (Some(kind @ (RawArrival::Constant | RawArrival::Poisson)), Some(_)) => {
            let kind = if kind == RawArrival::Constant {
                "constant"
            } else {
                "poisson"
            };
            errors.push(source.at_key(
                &at("burstiness"),
                format!(
                    "`burstiness` shapes `arrival: gamma` only, not `{kind}`; remove one of them"
                ),
            ));
            Arrival::Poisson
        }
        (Some(RawArrival::Constant), None) => Arrival::Constant,
        (Some(RawArrival::Poisson) | None, None) => Arrival::Poisson,
    }
}

/// A scenario with `trace:`: the trace's rows are its prompts (by length), its
/// `max_tokens` and its schedule, so the keys that set those elsewhere are refused.
/// The prompt's name stands for the trace in reports and the workload hash.
pub(super) fn from_trace(
    source: &Source,
    name: &str,
    raw: &RawScenario,
    written: &RawTrace,
    errors: &mut Vec<ConfigError>,
) -> (String, Load) {
    let at = |key: &'static str| ["scenarios", name, "trace", key];
    let replaced = [
        (
            "prompt",
            raw.prompt.is_some(),
            "the prompts (one of each row's input length)",
        ),
        (
            "max_tokens",
            raw.max_tokens.is_some(),
            "`max_tokens` (each row's output length)",
        ),
        ("dataset", raw.dataset.is_some(), "the prompts"),
        ("concurrency", raw.concurrency.is_some(), "the schedule"),
        ("rate", raw.rate.is_some(), "the schedule"),
        ("arrival", raw.arrival.is_some(), "the schedule"),
        ("burstiness", raw.burstiness.is_some(), "the schedule"),
    ];
    for (key, set, what) in replaced {
        if set {
            errors.push(source.at_key(
                &["scenarios", name, key],
                format!("a `trace:` sets {what}; remove `{key}` (or `trace:`)"),
            ));
        }
    }
    if raw.max_concurrency == Some(0) {
        errors.push(source.at_value(
            &["scenarios", name, "max_concurrency"],
            "must be at least 1; leave it out for no cap",
        ));
    }
    let time_scale = written.time_scale.unwrap_or(1.0);
    if !(time_scale.is_finite() && time_scale > 0.0) {
        errors.push(source.at_value(
            &at("time_scale"),
            format!(
                "must be > 0 (got {time_scale}): offsets are multiplied by it, so 0.5 replays \
                 twice as fast and 2 half as fast"
            ),
        ));
    }
    let Some(file) = written.file.as_deref() else {
        errors.push(source.at_key(
            &["scenarios", name, "trace"],
            "no `file`; add `file: PATH` (a JSONL or CSV trace, relative to the config folder)",
        ));
        return (String::new(), Load::Closed { concurrency: 1 });
    };
    let dir = super::super::trace::base_dir(&source.file);
    let trace = match super::super::trace::read(&dir, file, time_scale.max(f64::MIN_POSITIVE)) {
        Ok(trace) => trace,
        Err(bad) => {
            errors.extend(bad);
            return (String::new(), Load::Closed { concurrency: 1 });
        }
    };
    let load = Load::Trace {
        trace,
        max_concurrency: raw.max_concurrency.filter(|&n| n > 0),
    };
    (format!("trace:{file}"), load)
}

/// The requests kept in flight must fit [`super::super::MAX_CONCURRENCY`] once capped by
/// the requests the scenario sends (`total`, warm-up included).
pub(super) fn check_in_flight(
    source: &Source,
    name: &str,
    load: &Load,
    total: Option<u64>,
    errors: &mut Vec<ConfigError>,
) {
    let (key, concurrency) = match load {
        Load::Closed { concurrency } => ("concurrency", *concurrency),
        Load::Open {
            max_concurrency: Some(cap),
            ..
        } => ("max_concurrency", *cap),
        Load::Trace {
            max_concurrency: Some(cap),
            ..
        } => ("max_concurrency", *cap),
        Load::Open { .. } | Load::Trace { .. } => return,
    };
    if super::super::usable_concurrency(concurrency, total) > super::super::MAX_CONCURRENCY {
        let message = super::super::too_many_in_flight(concurrency);
        errors.push(source.at_value(&["scenarios", name, key], message));
    }
}
