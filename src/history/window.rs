//! The size bound of a history file: merging new records keeps the newest `keep`
//! records of each scenario (a rolling window), so a nightly that runs for years
//! writes a file of bounded size (about 2 KiB per record: 365 nights of 4
//! scenarios are ~3 MiB).
//!
//! A record of a run already in the file (same run id and scenario) replaces it,
//! so adding one results folder twice keeps one record.

use std::collections::BTreeMap;

use super::Entry;

/// `old` with `new` appended (oldest first), re-added runs replaced in place, then
/// trimmed to the newest `keep` (at least 1) records per scenario.
pub fn merge(old: Vec<Entry>, new: &[Entry], keep: usize) -> Vec<Entry> {
    let mut merged = old;
    for entry in new {
        match merged
            .iter_mut()
            .find(|e| e.run_id == entry.run_id && e.scenario == entry.scenario)
        {
            Some(existing) => *existing = entry.clone(),
            None => merged.push(entry.clone()),
        }
    }
    trim(merged, keep)
}

/// Keeps the newest `keep` records of each scenario, in file order.
pub fn trim(entries: Vec<Entry>, keep: usize) -> Vec<Entry> {
    let keep = keep.max(1);
    let mut per_scenario: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &entries {
        *per_scenario.entry(e.scenario.as_str()).or_default() += 1;
    }
    let mut to_drop: BTreeMap<String, usize> = per_scenario
        .into_iter()
        .map(|(s, n)| (s.to_string(), n.saturating_sub(keep)))
        .collect();
    entries
        .into_iter()
        .filter(|e| match to_drop.get_mut(&e.scenario) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}
