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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Part;

    /// Generator `i` of 2 on host `boot`, its trial 0 starting at monotonic `start_ns`.
    fn folder(
        i: u32,
        boot: &str,
        anchor_realtime_ns: u64,
        start_ns: u64,
        ntp: Option<u64>,
    ) -> Folder {
        let mut manifest = crate::report::tests::fixture_manifest(&["chat"]);
        manifest.run.distribution.generator = Some(Part { index: i, count: 2 });
        manifest.run.distribution.clock = Some(ClockAnchor {
            monotonic_ns: 1_000_000_000,
            realtime_ns: anchor_realtime_ns,
            read_uncertainty_ns: 500,
            boot_id: Some(boot.into()),
            ntp_synchronized: Some(ntp.is_some()),
            ntp_est_error_us: ntp.or(Some(16_000_000)),
            ntp_max_error_us: Some(16_000_000),
        });
        Folder {
            path: format!("gen{i}").into(),
            manifest,
            trial_starts: [("chat".to_string(), [(0u32, start_ns)].into())].into(),
            health: Vec::new(),
        }
    }

    fn parts(folders: &[Folder]) -> Vec<ScenarioParts> {
        vec![ScenarioParts {
            spec: folders[0].manifest.scenarios[0].clone(),
            folders: (0..folders.len()).collect(),
        }]
    }

    const BOUND: Duration = Duration::from_millis(10);

    #[test]
    fn one_host_lines_up_on_the_monotonic_clock_exactly() {
        // Wall clocks that disagree wildly do not matter on one host.
        let folders = [
            folder(1, "boot-a", 5_000_000_000, 2_000_000_000, None),
            folder(2, "boot-a", 9_000_000_000, 2_025_000_000, None),
        ];
        let a = align(&folders, &parts(&folders), BOUND).unwrap();
        assert_eq!(a.method, "monotonic");
        assert_eq!(a.uncertainty_ms, 0.0);
        assert_eq!(a.offsets_ms[&(1, "chat".into(), 0)], 25.0);
        assert_eq!(a.offsets_ms[&(0, "chat".into(), 0)], 0.0);
        assert_eq!(a.origin[&("chat".into(), 0)], 0);
        assert_eq!(a.max_start_skew_ms, 25.0);
    }

    #[test]
    fn hosts_line_up_on_wall_clock_within_the_bound_or_are_refused() {
        // Host b's trial starts 40 ms (wall clock) before host a's.
        let synced = |ea, eb| {
            [
                folder(1, "boot-a", 5_000_000_000, 1_100_000_000, Some(ea)),
                folder(2, "boot-b", 5_060_000_000, 1_000_000_000, Some(eb)),
            ]
        };
        let folders = synced(3_000, 4_000);
        let a = align(&folders, &parts(&folders), BOUND).unwrap();
        assert_eq!(a.method, "realtime");
        assert!(
            (a.uncertainty_ms - 7.001).abs() < 1e-9,
            "{}",
            a.uncertainty_ms
        );
        assert_eq!(a.origin[&("chat".into(), 0)], 1);
        assert!((a.offsets_ms[&(0, "chat".into(), 0)] - 40.0).abs() < 1e-9);

        let folders = synced(6_000, 5_000);
        let e = align(&folders, &parts(&folders), BOUND)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("11.001 ms") && e.contains("--max-clock-uncertainty 10 ms"),
            "{e}"
        );

        let folders = [
            folder(1, "boot-a", 5_000_000_000, 1_100_000_000, Some(1_000)),
            folder(2, "boot-b", 5_060_000_000, 1_000_000_000, None),
        ];
        let e = align(&folders, &parts(&folders), BOUND)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("gen2: `run.clock.ntp_synchronized` is not true"),
            "{e}"
        );
    }
}
