//! `llm-bench merge`: results folders of `run --shard` and `run --generator` →
//! one folder as a single run would have written it.
//!
//! The merge works on the rows, never on summaries: the merged `requests.jsonl`
//! holds every row of every folder (a generator's times moved onto the merged
//! timeline, see [`align`]), so the summary the caller computes from it has the
//! percentiles of the concatenated rows (exact up to the summary's per-trial cap,
//! from its HDR histogram beyond), counts and tokens summed, and rates over the
//! merged window. Shards need no alignment: their scenarios are disjoint.
//! Whether the folders belong together is checked first ([`check`]).

pub mod align;
pub mod check;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::manifest::{Manifest, MergeInfo, MergedFolder};
use crate::metrics::health::ClientHealth;
use crate::results::{self, MANIFEST, REQUESTS, TELEMETRY};
use crate::runner::sink::{TrialHealth, HEALTH_FILE};
use crate::usage_error::UsageError;

/// One results folder given to the merge.
#[derive(Debug)]
pub struct Folder {
    pub path: PathBuf,
    pub manifest: Manifest,
    /// Scenario → trial → `CLOCK_MONOTONIC` ns at the trial's time zero.
    pub trial_starts: BTreeMap<String, BTreeMap<u32, u64>>,
    health: Vec<TrialHealth>,
}

impl Folder {
    /// Reads `run.json` and `client_health.jsonl` of a results folder.
    pub fn read(path: &Path) -> anyhow::Result<Folder> {
        if !path.join(MANIFEST).is_file() || !path.join(REQUESTS).is_file() {
            return Err(UsageError(format!(
                "{} is not a results folder: it needs {MANIFEST} and {REQUESTS} (pass folders that `llm-bench run` wrote)",
                path.display()
            ))
            .into());
        }
        let manifest = results::read_manifest(path)?;
        let mut health = Vec::new();
        if let Ok(text) = std::fs::read_to_string(path.join(HEALTH_FILE)) {
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                match serde_json::from_str::<TrialHealth>(line) {
                    Ok(h) => health.push(h),
                    Err(e) => eprintln!(
                        "warning: {}:{}: skipped an unreadable line: {e}",
                        path.join(HEALTH_FILE).display(),
                        n + 1
                    ),
                }
            }
        }
        let mut trial_starts: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
        for h in &health {
            if let Some(ns) = h.clock_start_ns {
                trial_starts
                    .entry(h.scenario.clone())
                    .or_default()
                    .insert(h.trial, ns);
            }
        }
        Ok(Folder {
            path: path.to_path_buf(),
            manifest,
            trial_starts,
            health,
        })
    }
}

/// Merges `dirs` into `out` (new or empty): writes `run.json`,
/// `requests.jsonl`, `client_health.jsonl` and `telemetry.jsonl`; the caller
/// summarises and renders them as after a run. Returns what `run.json` records of
/// the merge.
pub fn merge(out: &Path, dirs: &[PathBuf], bound: Duration) -> anyhow::Result<MergeInfo> {
    let folders = dirs
        .iter()
        .map(|d| Folder::read(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if folders.is_empty() {
        return Err(UsageError("merge needs at least one results folder".into()).into());
    }
    let scenarios = check::plan(&folders)?;
    let alignment = align::align(&folders, &scenarios, bound)?;
    let info = MergeInfo {
        folders: folders
            .iter()
            .map(|f| MergedFolder {
                run_id: f.manifest.run.id.clone(),
                shard: f.manifest.run.distribution.shard,
                generator: f.manifest.run.distribution.generator,
            })
            .collect(),
        alignment: alignment.method.to_string(),
        clock_uncertainty_ms: alignment.uncertainty_ms,
        max_start_skew_ms: alignment.max_start_skew_ms,
    };
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!(e).context(format!("cannot create {}", out.display())))?;
    let manifest = merged_manifest(&folders, &scenarios, info.clone());
    let written = results::write_json_atomic(&out.join(MANIFEST), &manifest)
        .and_then(|()| write_rows(out, &folders, &scenarios, &alignment))
        .and_then(|()| write_health(out, &folders, &alignment))
        .and_then(|()| write_telemetry(out, &folders, &alignment));
    if let Err(e) = written {
        // OUT was new or empty: leave it so, and a rerun is not refused.
        for name in [MANIFEST, REQUESTS, HEALTH_FILE, TELEMETRY] {
            let _ = std::fs::remove_file(out.join(name));
        }
        return Err(e);
    }
    Ok(info)
}

/// The first folder's run, spanning all of them, with the scenarios of all.
fn merged_manifest(
    folders: &[Folder],
    scenarios: &[check::ScenarioParts],
    info: MergeInfo,
) -> Manifest {
    let mut run = folders[0].manifest.run.clone();
    let runs = || folders.iter().map(|f| &f.manifest.run);
    run.id = format!("{}-merged", base_id(&run.id));
    run.started_at = runs()
        .map(|r| r.started_at.clone())
        .min()
        .unwrap_or_default();
    run.ended_at = runs()
        .map(|r| r.ended_at.clone())
        .collect::<Option<Vec<_>>>()
        .and_then(|ends| ends.into_iter().max());
    run.interrupted = runs().any(|r| r.interrupted);
    run.interrupted_by = runs().find_map(|r| r.interrupted_by.clone());
    run.distribution = crate::manifest::Distribution {
        merged: Some(info),
        ..Default::default()
    };
    Manifest {
        schema_version: folders[0].manifest.schema_version,
        run,
        scenarios: scenarios.iter().map(|s| s.spec.clone()).collect(),
    }
}

/// A part's run id without its `-shardIofN` / `-genIofN` suffix.
fn base_id(id: &str) -> &str {
    let mut id = id;
    for marker in ["-gen", "-shard"] {
        if let Some(at) = id.rfind(marker) {
            let rest = &id[at + marker.len()..];
            if rest.split_once("of").is_some_and(|(a, b)| {
                [a, b]
                    .iter()
                    .all(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            }) {
                id = &id[..at];
            }
        }
    }
    id
}

/// Every row of every folder, a generator's times moved by its offset.
fn write_rows(
    out: &Path,
    folders: &[Folder],
    scenarios: &[check::ScenarioParts],
    alignment: &align::Alignment,
) -> anyhow::Result<()> {
    let shared: Vec<&str> = scenarios
        .iter()
        .filter(|s| s.folders.len() > 1)
        .map(|s| s.spec.name.as_str())
        .collect();
    let mut failure: Option<anyhow::Error> = None;
    results::write_atomic_with(&out.join(REQUESTS), |w| {
        for (i, folder) in folders.iter().enumerate() {
            let mut io_error = None;
            let read = results::for_each_row(&folder.path, |row| {
                if io_error.is_some() || failure.is_some() {
                    return;
                }
                let mut row = row.clone();
                if shared.contains(&row.scenario.as_str()) {
                    let key = (i, row.scenario.clone(), row.trial);
                    let Some(&offset) = alignment.offsets_ms.get(&key) else {
                        failure = Some(
                            UsageError(format!(
                                "{}: trial {} of scenario `{}` has rows but no `clock_start_ns` in {HEALTH_FILE}; \
                                 its timeline cannot be lined up with the other generators'",
                                folder.path.display(),
                                row.trial,
                                row.scenario
                            ))
                            .into(),
                        );
                        return;
                    };
                    row.scheduled_ms += offset;
                    row.start_ms += offset;
                    row.end_ms += offset;
                }
                let written = serde_json::to_writer(&mut *w, &row)
                    .map_err(std::io::Error::other)
                    .and_then(|()| w.write_all(b"\n"));
                if let Err(e) = written {
                    io_error = Some(e);
                }
            });
            if let Some(e) = io_error {
                return Err(e);
            }
            if let Err(e) = read {
                failure = Some(e);
            }
            if failure.is_some() {
                return Err(std::io::Error::other("merge stopped"));
            }
        }
        Ok(())
    })
    .map_err(|e| failure.take().unwrap_or(e))
}

/// Each trial's client health: a generated trial's pooled over its generators
/// (client-limited if any was), with the time zero of the merged timeline.
fn write_health(
    out: &Path,
    folders: &[Folder],
    alignment: &align::Alignment,
) -> anyhow::Result<()> {
    let mut trials: BTreeMap<(String, u32), Vec<(usize, &TrialHealth)>> = BTreeMap::new();
    for (i, folder) in folders.iter().enumerate() {
        for h in &folder.health {
            trials
                .entry((h.scenario.clone(), h.trial))
                .or_default()
                .push((i, h));
        }
    }
    let mut text = String::new();
    for ((scenario, trial), parts) in trials {
        let origin = alignment.origin.get(&(scenario.clone(), trial)).copied();
        let start = parts
            .iter()
            .find(|(i, _)| Some(*i) == origin)
            .or(parts.first())
            .and_then(|(_, h)| h.clock_start_ns);
        let Some(health) = ClientHealth::pool(parts.iter().map(|(_, h)| &h.health)) else {
            continue;
        };
        let line = TrialHealth {
            scenario,
            trial,
            clock_start_ns: start,
            health,
        };
        text.push_str(&serde_json::to_string(&line)?);
        text.push('\n');
    }
    results::write_atomic(&out.join(HEALTH_FILE), text.as_bytes())
}

/// Telemetry of each trial from the folder its timeline counts from: the
/// server's and GPUs' samples are the same whichever generator took them, and
/// summing them would count the energy twice.
fn write_telemetry(
    out: &Path,
    folders: &[Folder],
    alignment: &align::Alignment,
) -> anyhow::Result<()> {
    let mut text = String::new();
    let mut any = false;
    for (i, folder) in folders.iter().enumerate() {
        if !folder.path.join(TELEMETRY).is_file() {
            continue;
        }
        any = true;
        let mut failed = None;
        results::for_each_telemetry(&folder.path, |record| {
            let key = (record.scenario().to_string(), record.trial());
            if alignment.origin.get(&key).is_some_and(|&o| o != i) {
                return;
            }
            match serde_json::to_string(record) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                }
                Err(e) => failed = Some(e),
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
    }
    if any {
        results::write_atomic(&out.join(TELEMETRY), text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
