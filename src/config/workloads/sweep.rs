//! Load sweeps: `concurrency: [1, 4, 16]` or `rate: [2, 4, 8]` in one scenario.
//!
//! A sweep is the usual way to find where a server saturates, and writing one
//! scenario per load level by hand invites copies that drift apart. So a list
//! expands at parse time into one ordinary scenario per value, in list order, named
//! `<scenario>.c<N>` or `<scenario>.r<R>` (a `.`, not `@`: the names become
//! baseline file names, which allow letters, digits, `-`, `_` and `.`); everything
//! else is copied. Later stages
//! (plans, reports, baselines) see plain scenarios, and the HTML report groups them
//! back into a sweep because they differ only in load.

use super::raw::{OneOrList, RawScenario};
use super::{Load, Scenario};
use crate::config::error::ConfigError;
use crate::config::source::Source;

/// More points than this is almost certainly a typo (and a very long run).
pub(super) const MAX_POINTS: usize = 32;

/// The load levels a scenario sweeps, checked; `None` when it is not a sweep.
/// Problems go to `errors` and leave no points.
pub(super) fn points(
    source: &Source,
    name: &str,
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<Load>> {
    // Both keys set is reported by `scenario::check`; sweep neither then.
    if raw.concurrency.is_some() && raw.rate.is_some() {
        return Some(Vec::new());
    }
    if let Some(OneOrList::List(values)) = &raw.concurrency {
        let at = ["scenarios", name, "concurrency"];
        let range = format!(
            "every value must be from 1 to {} (requests kept in flight)",
            super::MAX_CONCURRENCY
        );
        let valid = |&n: &u32| (1..=super::MAX_CONCURRENCY).contains(&n);
        let ok = check_list(source, &at, values, valid, &range, errors);
        let points = values
            .iter()
            .map(|&concurrency| Load::Closed { concurrency });
        return Some(if ok { points.collect() } else { Vec::new() });
    }
    if let Some(OneOrList::List(values)) = &raw.rate {
        let at = ["scenarios", name, "rate"];
        let range = "every value must be > 0 requests per second";
        let positive = |r: &f64| r.is_finite() && *r > 0.0;
        let ok = check_list(source, &at, values, positive, range, errors);
        // The open-loop settings (arrival, cap) come from the checked scenario.
        let points = values.iter().map(|&rate| Load::Open {
            rate,
            arrival: super::Arrival::Poisson,
            max_concurrency: None,
        });
        return Some(if ok { points.collect() } else { Vec::new() });
    }
    None
}

/// Length, duplicates and each value's range (`valid`, explained by `range`).
fn check_list<T: PartialEq + ToString>(
    source: &Source,
    at: &[&str],
    values: &[T],
    valid: impl Fn(&T) -> bool,
    range: &str,
    errors: &mut Vec<ConfigError>,
) -> bool {
    let key = at.last().copied().unwrap_or_default();
    if values.is_empty() {
        errors.push(source.at_value(
            at,
            format!(
                "an empty list sweeps nothing; give one value (`{key}: 4`) or several \
                 (`{key}: [1, 4, 16]`)"
            ),
        ));
        return false;
    }
    if values.len() > MAX_POINTS {
        errors.push(source.at_value(
            at,
            format!(
                "a sweep has at most {MAX_POINTS} values (got {}); split it into several \
                 scenarios",
                values.len()
            ),
        ));
        return false;
    }
    let duplicates: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| valid(v) && values[..*i].contains(v))
        .map(|(_, v)| v.to_string())
        .collect();
    if !duplicates.is_empty() {
        errors.push(source.at_value(
            at,
            format!(
                "{} listed twice; each value becomes its own scenario, so list it once",
                duplicates.join(", ")
            ),
        ));
    }
    let out_of_range: Vec<String> = values
        .iter()
        .filter(|v| !valid(v))
        .map(T::to_string)
        .collect();
    if !out_of_range.is_empty() {
        errors.push(source.at_value(at, format!("{range}; got {}", out_of_range.join(", "))));
    }
    duplicates.is_empty() && out_of_range.is_empty()
}

/// One scenario per point, in list order, copied from `checked` (the scenario as
/// parsed with a placeholder load).
pub(super) fn expand(checked: Scenario, points: Vec<Load>) -> Vec<Scenario> {
    points
        .into_iter()
        .map(|point| {
            let (suffix, load) = match (point, &checked.load) {
                (Load::Closed { concurrency }, _) => {
                    (format!("c{concurrency}"), Load::Closed { concurrency })
                }
                (
                    Load::Open { rate, .. },
                    Load::Open {
                        arrival,
                        max_concurrency,
                        ..
                    },
                ) => (
                    format!("r{rate}"),
                    Load::Open {
                        rate,
                        arrival: *arrival,
                        max_concurrency: *max_concurrency,
                    },
                ),
                (point @ Load::Open { rate, .. }, Load::Closed { .. } | Load::Trace { .. }) => {
                    (format!("r{rate}"), point)
                }
                // `points` makes closed and open points only.
                (point @ Load::Trace { .. }, _) => ("trace".to_string(), point),
            };
            Scenario {
                name: format!("{}.{suffix}", checked.name),
                load,
                ..checked.clone()
            }
        })
        .collect()
}

/// `sweep` selects every point of that sweep (`sweep.c1`, `sweep.c4`, ...);
/// `sweep.c4` (or a plain scenario's name) selects that one scenario.
pub(super) fn selects(scenario_name: &str, wanted: &str) -> bool {
    scenario_name == wanted
        || scenario_name
            .strip_prefix(wanted)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(is_point_suffix)
}

/// `c4` or `r0.5`: what `expand` appends.
fn is_point_suffix(suffix: &str) -> bool {
    match suffix.split_at_checked(1) {
        Some(("c", n)) => n.parse::<u32>().is_ok_and(|n| n > 0),
        Some(("r", r)) => r.parse::<f64>().is_ok_and(|r| r.is_finite() && r > 0.0),
        _ => false,
    }
}
