//! `dataset:` on a scenario: prompts read from a file of real (or realistic)
//! requests, as vLLM's `bench serve` and GuideLLM read ShareGPT and JSONL.
//!
//! Checked at load time, like a trace: the file is indexed once (see [`pass`]),
//! so `llm-bench validate` finds every bad line or record before a run starts,
//! and the file's SHA-256 enters the workload hash. Lengths measured here use
//! the approximation (one whitespace-separated word per token); a run whose
//! model has a `tokenizer:` measures them again exactly (see `workload::dataset`).

pub mod index;
pub mod pass;
pub mod record;
mod sharegpt;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

pub use index::{DatasetIndex, Record};
pub use record::{Output, RecordText};

use crate::config::error::ConfigError;
use crate::config::source::Source;

/// How a dataset file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// One JSON array of `{"conversations": [{"from", "value"}, ...]}`.
    ShareGpt,
    /// One JSON object per line with `prompt`.
    Jsonl,
}

impl DatasetFormat {
    pub fn name(self) -> &'static str {
        match self {
            DatasetFormat::ShareGpt => "sharegpt",
            DatasetFormat::Jsonl => "jsonl",
        }
    }
}

/// Which record each request sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// A seeded shuffle, each record once until all were sent, then the same
    /// order again (vLLM's `bench serve` samples ShareGPT this way).
    #[default]
    WithoutReplacement,
    /// Each request draws any record, seeded: repeats are possible.
    WithReplacement,
    /// File order, from the first record again after the last.
    Sequential,
}

impl Sampling {
    pub fn name(self) -> &'static str {
        match self {
            Sampling::WithoutReplacement => "without_replacement",
            Sampling::WithReplacement => "with_replacement",
            Sampling::Sequential => "sequential",
        }
    }
}

/// `dataset:` as written.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `file` and optionally `format`, `sample`, `seed`, \
                 `min_input_tokens` and `max_input_tokens`"
)]
pub(in crate::config::workloads) struct RawDataset {
    pub file: Option<String>,
    pub format: Option<DatasetFormat>,
    pub sample: Option<Sampling>,
    pub seed: Option<u64>,
    pub min_input_tokens: Option<u32>,
    pub max_input_tokens: Option<u32>,
}

/// A scenario's validated `dataset:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// As written in workloads.yaml (relative to the config folder).
    pub file: String,
    /// Where it was read from.
    pub path: PathBuf,
    pub format: DatasetFormat,
    pub sample: Sampling,
    /// `None`: the scenario's seed (or `--seed`).
    pub seed: Option<u64>,
    pub min_input_tokens: Option<u32>,
    pub max_input_tokens: Option<u32>,
    /// The records with approximate lengths; shared by the scenario's clones.
    pub index: Arc<DatasetIndex>,
}

impl Dataset {
    /// Whether a prompt of `tokens` tokens passes the length filter.
    pub fn keeps(&self, tokens: u32) -> bool {
        self.min_input_tokens.is_none_or(|lo| tokens >= lo)
            && self.max_input_tokens.is_none_or(|hi| tokens <= hi)
    }

    /// The filter in words, for messages: `between 4 and 512 tokens`.
    pub fn filter_text(&self) -> String {
        match (self.min_input_tokens, self.max_input_tokens) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi} tokens"),
            (Some(lo), None) => format!("at least {lo} tokens"),
            (None, Some(hi)) => format!("at most {hi} tokens"),
            (None, None) => "any length".to_string(),
        }
    }
}

/// The approximate length of a text in tokens: its whitespace-separated words
/// (what the built-in simulator counts; real tokenizers give about 1.3 tokens a
/// word of English prose).
pub fn approx_tokens(text: &str) -> u32 {
    u32::try_from(text.split_whitespace().count()).unwrap_or(u32::MAX)
}

/// Checks a scenario's `dataset:` and indexes its file; `None` after an error.
pub(in crate::config::workloads) fn check(
    source: &Source,
    scenario: &str,
    written: &RawDataset,
    errors: &mut Vec<ConfigError>,
) -> Option<Dataset> {
    let at = |key: &'static str| ["scenarios", scenario, "dataset", key];
    let before = errors.len();
    if let (Some(lo), Some(hi)) = (written.min_input_tokens, written.max_input_tokens) {
        if lo > hi {
            errors.push(source.at_value(
                &at("max_input_tokens"),
                format!("must be at least `min_input_tokens` ({lo}); got {hi}"),
            ));
        }
    }
    let Some(file) = written.file.as_deref() else {
        errors.push(source.at_key(
            &["scenarios", scenario, "dataset"],
            "no `file`; add `file: PATH` (a ShareGPT .json or a JSONL of prompts, relative to \
             the config folder)",
        ));
        return None;
    };
    let format = match written.format.or_else(|| format_of(file)) {
        Some(format) => format,
        None => {
            errors.push(source.at_key(
                &["scenarios", scenario, "dataset"],
                format!(
                    "cannot tell the format of `{file}` from its name; add `format: sharegpt` \
                     (one JSON array) or `format: jsonl` (one object per line)"
                ),
            ));
            return None;
        }
    };
    let dir = super::trace::base_dir(&source.file);
    let path = dir.join(file);
    let indexed = pass::index(&path, format, &mut approx_tokens);
    let index = match indexed {
        Ok(index) => index,
        Err(bad) => {
            errors.extend(bad.into_iter().map(|b| to_config_error(&path, b)));
            return None;
        }
    };
    if index.records.is_empty() {
        errors.push(ConfigError::new(
            &path,
            None,
            "",
            "the dataset has no records; a JSONL dataset needs lines like \
             `{\"prompt\": \"...\"}`, a ShareGPT one conversations with a human turn",
        ));
    }
    (errors.len() == before).then(|| Dataset {
        file: file.to_string(),
        path,
        format,
        sample: written.sample.unwrap_or_default(),
        seed: written.seed,
        min_input_tokens: written.min_input_tokens,
        max_input_tokens: written.max_input_tokens,
        index: Arc::new(index),
    })
}

/// `.jsonl` is JSONL, `.json` ShareGPT.
fn format_of(file: &str) -> Option<DatasetFormat> {
    let extension = Path::new(file).extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "jsonl" => Some(DatasetFormat::Jsonl),
        "json" => Some(DatasetFormat::ShareGpt),
        _ => None,
    }
}

/// A problem of the file as a config error: `file:LINE: reason` for JSONL,
/// `file: record N: reason` for ShareGPT.
pub fn to_config_error(path: &Path, bad: index::Bad) -> ConfigError {
    let (line, message) = match bad.at {
        index::At::Line(n) => (Some(n as usize), bad.reason),
        index::At::Record(n) => (None, format!("record {n}: {}", bad.reason)),
        index::At::File => (None, bad.reason),
    };
    ConfigError {
        file: path.to_path_buf(),
        line,
        column: None,
        path: String::new(),
        message,
    }
}
