//! Whether folders can be merged: one benchmark (same target, model, server,
//! config and tool), each scenario either in one folder (a shard) or split over
//! generators that together cover it once.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Folder;
use crate::fingerprint::Fingerprint;
use crate::manifest::{Part, ScenarioSpec};
use crate::usage_error::UsageError;

/// One scenario of the merged run and the folders holding it, by position in the
/// folders given; more than one when generators shared it.
#[derive(Debug)]
pub struct ScenarioParts {
    pub spec: ScenarioSpec,
    pub folders: Vec<usize>,
}

/// Checks that `folders` describe one benchmark and returns its scenarios, in the
/// order the folders list them.
pub fn plan(folders: &[Folder]) -> Result<Vec<ScenarioParts>, UsageError> {
    let first = &folders[0];
    let reference = run_fields(first);
    for folder in &folders[1..] {
        let theirs = run_fields(folder);
        let differs = reference
            .iter()
            .zip(&theirs)
            .find_map(|(a, b)| first_difference(a, b));
        if let Some((field, theirs, ours)) = differs {
            return Err(UsageError(format!(
                "{}: `{field}` is {ours}, but {} has {theirs}; merge only folders of one benchmark \
                 (same target, model, server, config and llm-bench version)",
                folder.path.display(),
                first.path.display(),
            )));
        }
    }
    let mut scenarios: Vec<ScenarioParts> = Vec::new();
    for (i, folder) in folders.iter().enumerate() {
        for spec in &folder.manifest.scenarios {
            match scenarios.iter_mut().find(|s| s.spec.name == spec.name) {
                Some(known) => {
                    let other = &folders[known.folders[0]];
                    let flat =
                        |s: &ScenarioSpec| flatten(&serde_json::to_value(s).unwrap_or_default());
                    if let Some((field, theirs, ours)) =
                        first_difference(&flat(&known.spec), &flat(spec))
                    {
                        return Err(UsageError(format!(
                            "{}: `scenarios.{}.{field}` is {ours}, but {} has {theirs}; generators of one scenario must run the same workload",
                            folder.path.display(),
                            spec.name,
                            other.path.display(),
                        )));
                    }
                    known.folders.push(i);
                }
                None => scenarios.push(ScenarioParts {
                    spec: spec.clone(),
                    folders: vec![i],
                }),
            }
        }
    }
    for scenario in &scenarios {
        check_generators(folders, scenario)?;
    }
    check_shards(folders)?;
    Ok(scenarios)
}

/// The generators of a scenario must be 1..=N of one N, each once; a scenario in
/// one folder must be that folder's whole load.
fn check_generators(folders: &[Folder], scenario: &ScenarioParts) -> Result<(), UsageError> {
    let name = &scenario.spec.name;
    let parts: Vec<(usize, Option<Part>)> = scenario
        .folders
        .iter()
        .map(|&i| (i, folders[i].manifest.run.distribution.generator))
        .collect();
    let shown = |i: usize| folders[i].path.display().to_string();
    if parts.len() > 1 {
        if let Some((i, _)) = parts.iter().find(|(_, p)| p.is_none()) {
            let other = parts.iter().find(|(j, _)| j != i).map_or(0, |(j, _)| *j);
            return Err(UsageError(format!(
                "{}: scenario `{name}` is also in {}, but `run.generator` is unset: one folder holds a whole run of it; \
                 merge generators (`run --generator I/N`) or disjoint shards (`run --shard I/N`), not repeated runs",
                shown(*i),
                shown(other)
            )));
        }
    }
    let count = parts.iter().find_map(|(_, p)| *p).map_or(1, |p| p.count);
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for &(i, part) in &parts {
        let Some(part) = part else { continue };
        if part.count != count {
            return Err(UsageError(format!(
                "{}: `run.generator` is {part}, but other folders of scenario `{name}` ran with {count} generators",
                shown(i)
            )));
        }
        if let Some(j) = seen.insert(part.index, i) {
            return Err(UsageError(format!(
                "{}: `run.generator` {part} of scenario `{name}` is also in {}; give each generator's folder once",
                shown(i),
                shown(j)
            )));
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen.contains_key(k) && count > 1)
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "scenario `{name}`: `run.generator` {} missing (the folders given hold {}); pass every generator's folder",
            missing.join(", "),
            seen.keys().map(|k| format!("{k}/{count}")).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(())
}

/// Shards must be 1..=N of one N; a missing one would silently drop scenarios.
fn check_shards(folders: &[Folder]) -> Result<(), UsageError> {
    let shards: Vec<(usize, Part)> = folders
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((i, f.manifest.run.distribution.shard?)))
        .collect();
    let Some(&(first, Part { count, .. })) = shards.first() else {
        return Ok(());
    };
    if let Some((i, p)) = shards.iter().find(|(_, p)| p.count != count) {
        return Err(UsageError(format!(
            "{}: `run.shard` is {p}, but {} ran as one of {count} shards; merge the shards of one split",
            folders[*i].path.display(),
            folders[first].path.display()
        )));
    }
    let present: BTreeSet<u32> = shards.iter().map(|(_, p)| p.index).collect();
    let missing: Vec<String> = (1..=count)
        .filter(|k| !present.contains(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "`run.shard` {} missing: its scenarios would be left out; pass every shard's folder",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// What must agree between folders, as dotted keys: the run's identity, then the
/// must-match and should-match fingerprint (without the per-scenario workload).
fn run_fields(folder: &Folder) -> [BTreeMap<String, String>; 2] {
    let run = &folder.manifest.run;
    let mut out = BTreeMap::new();
    let mut prints = BTreeMap::new();
    for (key, value) in [
        ("target", &run.target),
        ("base_url", &run.base_url),
        ("api", &run.api),
        ("model", &run.model),
        ("workload_hash", &run.workload_hash),
        ("tool_version", &run.tool_version),
        ("percentile_method", &run.percentile_method),
    ] {
        out.insert(format!("run.{key}"), value.clone());
    }
    if let Some(spec) = folder.manifest.scenarios.first() {
        let mut fingerprint = serde_json::to_value(Fingerprint::of(run, spec)).unwrap_or_default();
        if let Some(must) = fingerprint
            .get_mut("must_match")
            .and_then(Value::as_object_mut)
        {
            must.remove("workload_hash");
        }
        for (k, v) in flatten(&fingerprint) {
            prints.insert(format!("fingerprint.{k}"), v);
        }
    }
    [out, prints]
}

/// The first key (in order) whose value differs: the key, `a`'s value, `b`'s.
fn first_difference(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> Option<(String, String, String)> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&String>| v.map_or("unset".to_string(), |v| format!("`{v}`"));
    keys.into_iter()
        .find(|k| a.get(*k) != b.get(*k))
        .map(|k| (k.clone(), show(a.get(k)), show(b.get(k))))
}

/// Leaves of a JSON value by dotted path; strings unquoted, nulls left out.
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = match prefix {
                        "" => k.clone(),
                        _ => format!("{prefix}.{k}"),
                    };
                    walk(&key, v, out);
                }
            }
            Value::Null => {}
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}
