//! Lining generators' timelines up: each folder's rows count from its own trial
//! start; merged, they count from the earliest generator's.
//!
//! Each trial's start is a `CLOCK_MONOTONIC` reading (`client_health.jsonl`
//! `clock_start_ns`). Folders from one host (the same kernel boot id) share that
//! clock and line up exactly. Folders from several hosts are placed on wall-clock
//! time through the `CLOCK_REALTIME` anchor `run.json` records; how far off that
//! can be is each anchor's reading spread plus each host's NTP estimated error,
//! and a merge beyond the bound it is given is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use super::check::ScenarioParts;
use super::Folder;
use crate::clock::ClockAnchor;
use crate::usage_error::UsageError;

/// Where each folder's trials sit on the merged timeline.
#[derive(Debug, Default)]
pub struct Alignment {
    /// (folder, scenario, trial) → ms to add to the folder's row times.
    pub offsets_ms: BTreeMap<(usize, String, u32), f64>,
    /// The folder each (scenario, trial) counts from (offset 0).
    pub origin: BTreeMap<(String, u32), usize>,
    /// `monotonic` or `realtime`; `none` when no scenario was shared.
    pub method: &'static str,
    pub uncertainty_ms: f64,
    pub max_start_skew_ms: f64,
}

/// Aligns the generators of every shared scenario; shards need nothing.
pub fn align(
    folders: &[Folder],
    scenarios: &[ScenarioParts],
    bound: Duration,
) -> Result<Alignment, UsageError> {
    let mut out = Alignment {
        method: "none",
        ..Alignment::default()
    };
    let shared: Vec<&ScenarioParts> = scenarios.iter().filter(|s| s.folders.len() > 1).collect();
    let involved: Vec<usize> = {
        let mut v: Vec<usize> = shared
            .iter()
            .flat_map(|s| s.folders.iter().copied())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    if involved.is_empty() {
        return Ok(out);
    }
    let anchors: Vec<(usize, &ClockAnchor)> = involved
        .iter()
        .map(|&i| match &folders[i].manifest.run.distribution.clock {
            Some(anchor) => Ok((i, anchor)),
            None => Err(UsageError(format!(
                "{}: `run.clock` is missing (written by llm-bench 0.x before `--generator`, or on a system without CLOCK_MONOTONIC); \
                 its timeline cannot be lined up with the other generators'",
                folders[i].path.display()
            ))),
        })
        .collect::<Result<_, _>>()?;
    let one_host = {
        let first = anchors[0].1.boot_id.as_ref();
        first.is_some() && anchors.iter().all(|(_, a)| a.boot_id.as_ref() == first)
    };
    if one_host {
        out.method = "monotonic";
        out.uncertainty_ms = 0.0;
    } else {
        out.method = "realtime";
        out.uncertainty_ms = realtime_uncertainty_ms(folders, &anchors)?;
        if out.uncertainty_ms > bound.as_secs_f64() * 1000.0 {
            return Err(UsageError(format!(
                "the generators' clocks may disagree by up to {:.3} ms (NTP estimated error plus reading spread), more than \
                 --max-clock-uncertainty {} ms allows: the merged timeline could be off by that much. Synchronise the hosts' \
                 clocks better (chrony against a nearby server), or raise the bound",
                out.uncertainty_ms,
                bound.as_secs_f64() * 1000.0
            )));
        }
    }
    for scenario in shared {
        let name = &scenario.spec.name;
        let mut trials: BTreeMap<u32, Vec<(usize, i128)>> = BTreeMap::new();
        for &i in &scenario.folders {
            let anchor = anchors.iter().find(|(j, _)| *j == i).map(|(_, a)| *a);
            for (&trial, &start_ns) in folders[i].trial_starts.get(name).into_iter().flatten() {
                let at = match (one_host, anchor) {
                    (true, _) | (false, None) => i128::from(start_ns),
                    (false, Some(anchor)) => anchor.realtime_of(start_ns),
                };
                trials.entry(trial).or_default().push((i, at));
            }
        }
        for (trial, starts) in trials {
            let (origin, zero) = starts
                .iter()
                .copied()
                .min_by_key(|(_, at)| *at)
                .unwrap_or((scenario.folders[0], 0));
            let latest = starts.iter().map(|(_, at)| *at).max().unwrap_or(zero);
            out.max_start_skew_ms = out.max_start_skew_ms.max((latest - zero) as f64 / 1e6);
            out.origin.insert((name.clone(), trial), origin);
            for (i, at) in starts {
                out.offsets_ms
                    .insert((i, name.clone(), trial), (at - zero) as f64 / 1e6);
            }
        }
    }
    Ok(out)
}

/// Bound on the disagreement of any two hosts' wall clocks: both anchors'
/// reading spread plus both hosts' NTP estimated error. An unsynchronised clock
/// has no bound.
fn realtime_uncertainty_ms(
    folders: &[Folder],
    anchors: &[(usize, &ClockAnchor)],
) -> Result<f64, UsageError> {
    let mut per_host = Vec::new();
    for &(i, anchor) in anchors {
        let error_ns = match (anchor.ntp_synchronized, anchor.ntp_est_error_us) {
            (Some(true), Some(est)) => est.saturating_mul(1000),
            _ => {
                return Err(UsageError(format!(
                    "{}: `run.clock.ntp_synchronized` is not true: that host's wall clock was not synchronised (NTP) \
                     when it ran, so its timeline cannot be lined up with generators on other hosts. Run chrony or \
                     systemd-timesyncd on every generator host (or run the generators on one host)",
                    folders[i].path.display()
                )))
            }
        };
        per_host.push(error_ns.saturating_add(anchor.read_uncertainty_ns));
    }
    per_host.sort_unstable();
    let worst_pair = per_host.iter().rev().take(2).sum::<u64>();
    Ok(worst_pair as f64 / 1e6)
}
