//! Dataset prompts at run time: which record each request sends, read back from
//! the file by its offset.
//!
//! The config's index measured prompts approximately; with the model's
//! `tokenizer:` the file is indexed again and measured exactly, so the length
//! filter means what it says. What stays in memory is the index (24 bytes a
//! record) and the send order (4 bytes a record); each request reads its one
//! record from the file. The order depends on the seed and the request index
//! only: every trial, and every run with that seed, sends the same records in
//! the same order (the per-request salt still differs, see `prompts`).

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::tokenizer::TokenCounter;
use crate::config::dataset::{self, index, Record, RecordText};
use crate::config::{Dataset, DatasetFormat, Sampling};

/// A dataset ready to hand out prompts.
#[derive(Debug)]
pub struct DatasetPrompts {
    file: File,
    path: PathBuf,
    format: DatasetFormat,
    index: Arc<index::DatasetIndex>,
    /// Indices into `index.records` of the records that passed the filter, in
    /// send order (shuffled for sampling without replacement).
    order: Vec<u32>,
    sample: Sampling,
    seed: u64,
    /// Whether requests ask for their record's output length.
    record_output: bool,
    /// Whether a tokenizer measured the lengths.
    exact: bool,
    /// A read failure is reported once, not per request.
    warned: AtomicBool,
}

/// Why a dataset cannot be used for a run; the message says how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DatasetError(pub String);

impl DatasetPrompts {
    /// Opens `dataset` for a run: measured again with `tokenizer` when given,
    /// filtered, put in order with `seed`. `record_output`: requests ask for
    /// their record's output length (when it has one).
    pub fn open(
        dataset: &Dataset,
        tokenizer: Option<&TokenCounter>,
        seed: u64,
        record_output: bool,
    ) -> Result<DatasetPrompts, DatasetError> {
        let index = match tokenizer {
            None => Arc::clone(&dataset.index),
            Some(tokenizer) => {
                let mut count = |text: &str| {
                    tokenizer.count(text).map_or_else(
                        || dataset::approx_tokens(text),
                        |n| u32::try_from(n).unwrap_or(u32::MAX),
                    )
                };
                let indexed = dataset::pass::index(&dataset.path, dataset.format, &mut count)
                    .map_err(|bad| {
                        let lines: Vec<String> = bad
                            .into_iter()
                            .map(|b| dataset::to_config_error(&dataset.path, b).to_string())
                            .collect();
                        DatasetError(lines.join("\n"))
                    })?;
                if indexed.sha256 != dataset.index.sha256 {
                    return Err(DatasetError(format!(
                        "{}: the file changed while the config was read; run again",
                        dataset.path.display()
                    )));
                }
                Arc::new(indexed)
            }
        };
        let mut order: Vec<u32> = (0..index.records.len())
            .filter(|&i| dataset.keeps(index.records[i].input_tokens))
            .map(|i| i as u32)
            .collect();
        if order.is_empty() {
            return Err(DatasetError(empty_after_filter(dataset, &index, tokenizer)));
        }
        if dataset.sample == Sampling::WithoutReplacement {
            order.shuffle(&mut SmallRng::seed_from_u64(seed));
        }
        let file = File::open(&dataset.path)
            .map_err(|e| DatasetError(format!("{}: cannot read: {e}", dataset.path.display())))?;
        Ok(DatasetPrompts {
            file,
            path: dataset.path.clone(),
            format: dataset.format,
            index,
            order,
            sample: dataset.sample,
            seed,
            record_output,
            exact: tokenizer.is_some(),
            warned: AtomicBool::new(false),
        })
    }

    /// Records that passed the filter.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Whether a tokenizer measured the lengths the filter used.
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// The record request `index` sends.
    pub fn record(&self, index: u64) -> Record {
        let n = self.order.len() as u64;
        let at = match self.sample {
            Sampling::Sequential | Sampling::WithoutReplacement => index % n,
            Sampling::WithReplacement => {
                // Its own generator per request, so the draw does not depend on
                // the order requests are made in.
                let mut rng = SmallRng::seed_from_u64(
                    self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x6461_7461,
                );
                rng.gen_range(0..n)
            }
        };
        self.index.records[self.order[at as usize] as usize]
    }

    /// The output length request `index` asks for: its record's, when the
    /// record has one and the scenario does not set its own.
    pub fn output_tokens(&self, index: u64) -> Option<u32> {
        let out = self.record(index).output_tokens;
        (self.record_output && out > 0).then_some(out)
    }

    /// The prompt of request `index`, read from the file. A record that cannot
    /// be read back (the file changed during the run) sends an empty prompt,
    /// which the server refuses and the request records; the first such failure
    /// is also printed.
    pub fn prompt(&self, index: u64) -> String {
        let record = self.record(index);
        match self.read(&record) {
            Ok(text) => text.prompt,
            Err(reason) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "warning: {}: cannot read the record at byte {}: {reason}; was the \
                         file changed during the run?",
                        self.path.display(),
                        record.offset
                    );
                }
                String::new()
            }
        }
    }

    fn read(&self, record: &Record) -> Result<RecordText, String> {
        let bytes = read_at(&self.file, &self.path, record.offset, record.len as usize)
            .map_err(|e| e.to_string())?;
        match self.format {
            DatasetFormat::Jsonl => dataset::record::jsonl(&bytes),
            DatasetFormat::ShareGpt => dataset::record::sharegpt(&bytes)?
                .ok_or_else(|| "the conversation has no turns".to_string()),
        }
    }

    /// Mean bytes of a record, to size request buffers.
    pub fn len_hint(&self) -> usize {
        let records = &self.index.records;
        let total: u64 = records.iter().map(|r| u64::from(r.len)).sum();
        (total / records.len().max(1) as u64) as usize
    }

    /// Mean prompt length of the records sent, in tokens.
    pub fn mean_input_tokens(&self) -> u32 {
        let total: u64 = self
            .order
            .iter()
            .map(|&i| u64::from(self.index.records[i as usize].input_tokens))
            .sum();
        (total / self.order.len().max(1) as u64) as u32
    }
}

/// What a dataset scenario approximated without a tokenizer: the lengths its
/// filter compared, and the ShareGPT answers' lengths it asked for; `None` when
/// it measured nothing (JSONL lengths are given as numbers).
pub fn approximated(d: &Dataset, record_output: bool) -> Option<String> {
    let filtered = d.min_input_tokens.is_some() || d.max_input_tokens.is_some();
    let answers = record_output && d.format == DatasetFormat::ShareGpt;
    match (filtered, answers) {
        (true, true) => Some("dataset prompt and answer lengths".into()),
        (true, false) => Some("dataset prompt lengths (for the length filter)".into()),
        (false, true) => Some("dataset answer lengths (as max_tokens)".into()),
        (false, false) => None,
    }
}

fn empty_after_filter(
    dataset: &Dataset,
    index: &index::DatasetIndex,
    tokenizer: Option<&TokenCounter>,
) -> String {
    let lengths = index.records.iter().map(|r| r.input_tokens);
    let (lo, hi) = (lengths.clone().min(), lengths.max());
    let how = if tokenizer.is_some() {
        "counted with the model's tokenizer"
    } else {
        "approximated as words; set the model's `tokenizer:` for exact counts"
    };
    format!(
        "{}: no record's prompt is {} ({how}); its {} records' prompts are {} to {} tokens. \
         Widen `min_input_tokens` / `max_input_tokens` of `dataset:`",
        dataset.path.display(),
        dataset.filter_text(),
        index.records.len(),
        lo.unwrap_or(0),
        hi.unwrap_or(0),
    )
}

/// `len` bytes at `offset`, without moving a shared cursor (requests read
/// concurrently).
fn read_at(
    file: &File,
    path: &std::path::Path,
    offset: u64,
    len: usize,
) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    #[cfg(unix)]
    {
        let _ = path;
        std::os::unix::fs::FileExt::read_exact_at(file, &mut buf, offset)?;
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let _ = file;
        let mut own = File::open(path)?;
        own.seek(SeekFrom::Start(offset))?;
        own.read_exact(&mut buf)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSONL dataset of `n` records, record `i` being `i + 1` words long and
    /// asking for `10 + i` output tokens.
    fn dataset(n: usize, sample: Sampling, min: Option<u32>) -> (tempfile::TempDir, Dataset) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let lines: Vec<String> = (0..n)
            .map(|i| {
                let words = vec!["w"; i + 1].join(" ");
                format!(
                    "{{\"prompt\": \"{i} {words}\", \"output_tokens\": {}}}",
                    10 + i
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let index =
            dataset::pass::index(&path, DatasetFormat::Jsonl, &mut dataset::approx_tokens).unwrap();
        let d = Dataset {
            file: "d.jsonl".into(),
            path,
            format: DatasetFormat::Jsonl,
            sample,
            seed: None,
            min_input_tokens: min,
            max_input_tokens: None,
            index: Arc::new(index),
        };
        (dir, d)
    }

    fn first_word(p: &DatasetPrompts, i: u64) -> usize {
        p.prompt(i).split(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn without_replacement_sends_each_record_once_per_pass_in_a_seeded_order() {
        let (_dir, d) = dataset(20, Sampling::WithoutReplacement, None);
        let p = DatasetPrompts::open(&d, None, 7, true).unwrap();
        let pass: Vec<usize> = (0..20).map(|i| first_word(&p, i)).collect();
        let mut sorted = pass.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>(), "no repeats: {pass:?}");
        assert_ne!(pass, sorted, "shuffled");
        let again = DatasetPrompts::open(&d, None, 7, true).unwrap();
        assert_eq!(
            (0..20).map(|i| first_word(&again, i)).collect::<Vec<_>>(),
            pass
        );
        let other = DatasetPrompts::open(&d, None, 8, true).unwrap();
        assert_ne!(
            (0..20).map(|i| first_word(&other, i)).collect::<Vec<_>>(),
            pass
        );
        assert_eq!(first_word(&p, 20), pass[0], "the next pass starts over");
    }

    #[test]
    fn with_replacement_repeats_and_sequential_follows_the_file() {
        let (_dir, d) = dataset(10, Sampling::WithReplacement, None);
        let p = DatasetPrompts::open(&d, None, 1, true).unwrap();
        let drawn: Vec<usize> = (0..50).map(|i| first_word(&p, i)).collect();
        let distinct: std::collections::HashSet<_> = drawn.iter().collect();
        assert!(distinct.len() > 5 && distinct.len() <= 10, "{drawn:?}");
        assert!(
            drawn[..11]
                .iter()
                .collect::<std::collections::HashSet<_>>()
                .len()
                < 11
        );
        let (_dir, d) = dataset(3, Sampling::Sequential, None);
        let p = DatasetPrompts::open(&d, None, 1, true).unwrap();
        assert_eq!(
            (0..5).map(|i| first_word(&p, i)).collect::<Vec<_>>(),
            [0, 1, 2, 0, 1]
        );
    }

    #[test]
    fn the_filter_and_output_lengths_follow_the_records() {
        // Record i is i + 2 words: keep the ones of at least 6 (i >= 4).
        let (_dir, d) = dataset(8, Sampling::Sequential, Some(6));
        let p = DatasetPrompts::open(&d, None, 1, true).unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(first_word(&p, 0), 4);
        assert_eq!(p.output_tokens(0), Some(14));
        let fixed = DatasetPrompts::open(&d, None, 1, false).unwrap();
        assert_eq!(
            fixed.output_tokens(0),
            None,
            "the scenario's own length wins"
        );
        let (_dir, d) = dataset(3, Sampling::Sequential, Some(100));
        let e = DatasetPrompts::open(&d, None, 1, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("at least 100 tokens") && e.contains("2 to 4 tokens"),
            "{e}"
        );
    }
}
