//! Helpers of the merge tests (tests/merge.rs, tests/merge_shards.rs): running
//! `llm-bench merge`, and what must add up between one run and a merged one.
//! Included with `#[path = "common/merged.rs"]`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use llm_bench::metrics::Summary;

/// `llm-bench merge OUT DIRS...`.
pub fn merge(out: &Path, dirs: &[PathBuf]) -> Output {
    super::common::bin()
        .arg("merge")
        .arg(out)
        .args(dirs)
        .output()
        .unwrap()
}

/// Counts, tokens and error kinds of every trial and of the whole scenario.
pub fn totals(summary: &Summary) -> Vec<String> {
    summary
        .scenarios
        .iter()
        .flat_map(|s| {
            std::iter::once(&s.metrics)
                .chain(&s.trials)
                .map(move |m| (s, m))
        })
        .map(|(s, m)| {
            format!(
                "{} {:?} out={} prompt={} errors={:?}",
                s.name, m.requests, m.output_tokens_total, m.prompt_tokens_total, m.errors
            )
        })
        .collect()
}
