//! Rows of `requests.jsonl` that repeat an earlier row's scenario, trial and index.
//!
//! A run writes each request once, so a repeat means the file was edited or two
//! files were appended together; counted twice it would double the request count
//! and skew every percentile without a word. Readers keep the first and say how
//! many they skipped.
//!
//! Indices of a trial are dense from 0, so each trial keeps one bit per index
//! (125 KB per million requests); an index past [`DENSE_LIMIT`], which no run
//! writes but a broken file may hold, goes to a set instead.

use std::collections::{HashMap, HashSet};

use crate::record::RequestRow;

/// Indices below this are tracked in a bitmap (2 MiB per trial at most).
const DENSE_LIMIT: u64 = 1 << 24;

/// Which (scenario, trial, index) have been seen.
#[derive(Debug, Default)]
pub struct SeenRows {
    trials: HashMap<String, HashMap<u32, Seen>>,
    /// Rows skipped as repeats.
    pub duplicates: u64,
    /// The first repeat: scenario, trial, index.
    pub first_duplicate: Option<(String, u32, u64)>,
}

#[derive(Debug, Default)]
struct Seen {
    dense: Vec<u64>,
    sparse: HashSet<u64>,
}

impl Seen {
    /// Marks `index`; false when it was already marked.
    fn insert(&mut self, index: u64) -> bool {
        if index >= DENSE_LIMIT {
            return self.sparse.insert(index);
        }
        let (word, bit) = ((index / 64) as usize, index % 64);
        if word >= self.dense.len() {
            self.dense.resize(word + 1, 0);
        }
        let fresh = self.dense[word] & (1 << bit) == 0;
        self.dense[word] |= 1 << bit;
        fresh
    }
}

impl SeenRows {
    /// True the first time a row's (scenario, trial, index) is seen; a repeat is
    /// counted.
    pub fn first(&mut self, row: &RequestRow) -> bool {
        let trials = match self.trials.get_mut(row.scenario.as_str()) {
            Some(trials) => trials,
            None => self.trials.entry(row.scenario.clone()).or_default(),
        };
        if trials.entry(row.trial).or_default().insert(row.index) {
            return true;
        }
        self.duplicates += 1;
        self.first_duplicate
            .get_or_insert_with(|| (row.scenario.clone(), row.trial, row.index));
        false
    }

    /// The warning for `file`, when rows were skipped.
    pub fn warning(&self, file: &std::path::Path) -> Option<String> {
        let (scenario, trial, index) = self.first_duplicate.as_ref()?;
        let rows = if self.duplicates == 1 { "row" } else { "rows" };
        Some(format!(
            "warning: {}: skipped {} duplicated {rows} (the same scenario, trial and index as an \
             earlier row, first `{scenario}` trial {trial} request {index}); each request is \
             counted once. Were two runs' files appended together?",
            file.display(),
            self.duplicates,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(scenario: &str, trial: u32, index: u64) -> RequestRow {
        let text = format!(
            r#"{{"scenario":"{scenario}","trial":{trial},"index":{index},"warmup":false,"ok":true,"scheduled_ms":0.0,"start_ms":0.0,"end_ms":1.0,"send_lag_ms":0.0,"e2e_ms":1.0,"response_e2e_ms":1.0,"output_tokens":1,"chunks":1,"token_source":"usage","in_flight":1}}"#
        );
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn repeats_are_found_per_scenario_and_trial() {
        let mut seen = SeenRows::default();
        for (s, t, i) in [
            ("a", 0, 0),
            ("a", 0, 1),
            ("a", 1, 0),
            ("b", 0, 0),
            ("a", 0, 1 << 40),
        ] {
            assert!(seen.first(&row(s, t, i)), "{s} {t} {i}");
        }
        assert!(!seen.first(&row("a", 0, 1)));
        assert!(!seen.first(&row("a", 0, 1 << 40)));
        assert!(!seen.first(&row("b", 0, 0)));
        assert_eq!(seen.duplicates, 3);
        assert_eq!(seen.first_duplicate, Some(("a".into(), 0, 1)));
        let warning = seen
            .warning(std::path::Path::new("r/requests.jsonl"))
            .unwrap();
        assert!(
            warning.starts_with("warning: r/requests.jsonl: skipped 3 duplicated rows"),
            "{warning}"
        );
        assert_eq!(SeenRows::default().warning(std::path::Path::new("x")), None);
    }
}
