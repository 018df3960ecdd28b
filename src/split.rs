//! Splitting one benchmark over several machines: `--shard I/N` gives each machine
//! a disjoint part of the scenarios, `--generator I/N` a share of each scenario's
//! load. `llm-bench merge` puts the parts back together.
//!
//! Every machine computes the same split from the same config, without talking to
//! the others: the assignment depends only on the selected scenarios (names and
//! expected durations), never on the order they are listed in or on the machine.
//! Generators share the request indices of one schedule: generator I sends the
//! requests whose index is I-1 modulo N, so their union is exactly what one process
//! sends, and an index (hence an `X-Request-Id`) is never sent twice.

use crate::manifest::Part;
use crate::usage_error::UsageError;
use crate::workload::{LoadPlan, ScenarioPlan};

/// Parses `I/N` (1 ≤ I ≤ N) for `flag`; the message says how to fix it.
pub fn parse_part(flag: &str, text: &str) -> Result<Part, UsageError> {
    let bad = |why: &str| {
        UsageError(format!(
            "{flag} {text}: {why}; write I/N with 1 ≤ I ≤ N, e.g. {flag} 1/3 for the first of three"
        ))
    };
    let (index, count) = text.split_once('/').ok_or_else(|| bad("expected I/N"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| bad("I and N must be whole numbers"))
    };
    let (index, count) = (number(index)?, number(count)?);
    if count == 0 {
        return Err(bad("N must be at least 1"));
    }
    if index == 0 || index > count {
        return Err(bad(&format!(
            "I must be between 1 and {count} (parts are numbered from 1; a Kubernetes completion index I is part I+1)"
        )));
    }
    Ok(Part { index, count })
}

/// Seconds a scenario is expected to take in all (its trials), when the config
/// says: a duration limit, or an open loop's requests at its rate. A closed loop
/// limited by requests alone depends on the server: `None`.
pub fn expected_seconds(plan: &ScenarioPlan) -> Option<f64> {
    let per_trial = match (plan.duration, &plan.load, plan.total_requests) {
        (Some(d), _, _) => d.as_secs_f64(),
        (None, LoadPlan::Open { rate, .. }, Some(n)) if *rate > 0.0 => n as f64 / rate,
        _ => return None,
    };
    Some(per_trial * f64::from(plan.spec.trials.max(1)))
}

/// Which shard (0-based) each item goes to, for `count` shards. Items of known
/// length are placed longest first on the least loaded shard (ties: by name, then
/// the lowest shard); the rest, by name, on the shard with the fewest of them.
pub fn assign(items: &[(&str, Option<f64>)], count: u32) -> Vec<usize> {
    let count = count.max(1) as usize;
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (name_a, secs_a) = items[a];
        let (name_b, secs_b) = items[b];
        // Known before unknown, longer first, then by name.
        secs_b
            .is_some()
            .cmp(&secs_a.is_some())
            .then(secs_b.unwrap_or(0.0).total_cmp(&secs_a.unwrap_or(0.0)))
            .then(name_a.cmp(name_b))
    });
    let mut seconds = vec![0.0f64; count];
    let mut unknown = vec![0usize; count];
    let mut shard_of = vec![0; items.len()];
    for i in order {
        let shard = match items[i].1 {
            Some(secs) => {
                let s = least(count, |s| (seconds[s], unknown[s] as f64));
                seconds[s] += secs;
                s
            }
            None => {
                let s = least(count, |s| (unknown[s] as f64, seconds[s]));
                unknown[s] += 1;
                s
            }
        };
        shard_of[i] = shard;
    }
    shard_of
}

/// The shard with the smallest key (the lowest index among equals).
fn least(count: usize, key: impl Fn(usize) -> (f64, f64)) -> usize {
    (0..count)
        .min_by(|&a, &b| {
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
        .unwrap_or(0)
}

/// The scenarios of shard `part`; a shard left without any is a usage error.
pub fn shard<T>(
    scenarios: Vec<(ScenarioPlan, T)>,
    part: Part,
) -> Result<Vec<(ScenarioPlan, T)>, UsageError> {
    let total = scenarios.len();
    let items: Vec<(&str, Option<f64>)> = scenarios
        .iter()
        .map(|(plan, _)| (plan.spec.name.as_str(), expected_seconds(plan)))
        .collect();
    let shard_of = assign(&items, part.count);
    let mine: Vec<_> = scenarios
        .into_iter()
        .zip(shard_of)
        .filter(|(_, s)| *s + 1 == part.index as usize)
        .map(|(scenario, _)| scenario)
        .collect();
    if mine.is_empty() {
        return Err(UsageError(format!(
            "--shard {part}: only {total} scenario(s) are selected, so shard {} of {} has none; use at most {total} shards",
            part.index, part.count
        )));
    }
    Ok(mine)
}

/// Generator `part`'s share of `total` (workers, a concurrency cap): as even as
/// possible, the first `total % N` generators taking one more.
pub fn share(total: u32, part: Part) -> u32 {
    total / part.count + u32::from(part.index <= total % part.count)
}

/// Whether request `index` of a schedule is generator `part`'s to send.
pub fn is_mine(index: u64, part: Part) -> bool {
    index % u64::from(part.count) == u64::from(part.index - 1)
}

/// How many of a schedule's first `total` requests generator `part` sends.
pub fn requests_of(total: u64, part: Part) -> u64 {
    (total + u64::from(part.count - part.index)) / u64::from(part.count)
}

/// The `local`-th request a generator sends, as an index of the whole schedule.
pub fn global_index(local: u64, part: Part) -> u64 {
    local * u64::from(part.count) + u64::from(part.index - 1)
}

/// Gives each scenario generator `part`'s share of its in-flight limit (a closed
/// loop's workers, an open loop's cap); the spec keeps the whole. A share of zero
/// is a usage error.
pub fn generator_plans<T>(
    scenarios: &mut [(ScenarioPlan, T)],
    part: Part,
) -> Result<(), UsageError> {
    for (plan, _) in scenarios.iter_mut() {
        let limit = match &mut plan.load {
            LoadPlan::Closed { concurrency } => concurrency,
            LoadPlan::Open {
                max_concurrency: Some(cap),
                ..
            }
            | LoadPlan::Trace {
                max_concurrency: Some(cap),
                ..
            } => cap,
            LoadPlan::Open { .. } | LoadPlan::Trace { .. } => continue,
        };
        let mine = share(*limit, part);
        if mine == 0 {
            return Err(UsageError(format!(
                "--generator {part}: scenario `{}` keeps {} request(s) in flight, too few to split over {} generators; use at most {} generators",
                plan.spec.name, limit, part.count, limit
            )));
        }
        *limit = mine;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(index: u32, count: u32) -> Part {
        Part { index, count }
    }

    #[test]
    fn parts_parse_and_bad_ones_say_how_to_fix() {
        assert_eq!(parse_part("--shard", "2/3").unwrap(), part(2, 3));
        assert_eq!(parse_part("--shard", "1/1").unwrap(), part(1, 1));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/2", ""] {
            let e = parse_part("--shard", bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--shard {bad}:")), "{e}");
            assert!(e.contains("1 ≤ I ≤ N"), "{e}");
        }
        assert!(parse_part("--generator", "0/2")
            .unwrap_err()
            .to_string()
            .contains("completion index"));
    }

    #[test]
    fn shards_are_disjoint_balanced_and_independent_of_order() {
        let items = [
            ("a", Some(60.0)),
            ("b", Some(30.0)),
            ("c", Some(30.0)),
            ("d", None),
            ("e", None),
            ("f", Some(10.0)),
        ];
        let shards = assign(&items, 2);
        let load = |s: usize| -> f64 {
            items
                .iter()
                .zip(&shards)
                .filter(|(_, &x)| x == s)
                .filter_map(|((_, secs), _)| *secs)
                .sum()
        };
        // Longest first on the least loaded: a → 0, b → 1, c → 1, f → 0 (tied at
        // 60 s); of the unknown, d to the shorter shard, e to the other.
        assert_eq!(shards, vec![0, 1, 1, 1, 0, 0]);
        assert_eq!((load(0), load(1)), (70.0, 60.0));
        // The same scenarios listed in another order land on the same shards.
        let mut reversed = items;
        reversed.reverse();
        let mut again = assign(&reversed, 2);
        again.reverse();
        assert_eq!(again, shards);
        // Every item on exactly one shard, whatever N.
        for n in 1..=7 {
            let s = assign(&items, n);
            assert!(s.iter().all(|&x| x < n as usize), "{s:?}");
        }
    }

    #[test]
    fn generator_shares_add_up_and_indices_partition_the_schedule() {
        for total in [1u32, 2, 7, 8, 64] {
            for n in 1..=5 {
                let shares: Vec<u32> = (1..=n).map(|i| share(total, part(i, n))).collect();
                assert_eq!(shares.iter().sum::<u32>(), total, "{total} over {n}");
                let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                assert!(hi - lo <= 1, "{shares:?}");
            }
        }
        for n in 1..=4u32 {
            let mut seen = Vec::new();
            for i in 1..=n {
                let mine: Vec<u64> = (0..20).filter(|&k| is_mine(k, part(i, n))).collect();
                let local: Vec<u64> = (0..mine.len() as u64)
                    .map(|l| global_index(l, part(i, n)))
                    .collect();
                assert_eq!(mine, local);
                assert_eq!(mine.len() as u64, requests_of(20, part(i, n)));
                assert_eq!(
                    (0..7).filter(|&k| is_mine(k, part(i, n))).count() as u64,
                    requests_of(7, part(i, n))
                );
                seen.extend(mine);
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..20).collect::<Vec<_>>());
        }
    }
}
