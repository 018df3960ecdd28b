//! `baselines/<target>/<scenario>.json`: the blessed measurement a run is judged by.
//!
//! A baseline keeps everything a later comparison needs without the original run
//! folder: who blessed it and why, the fingerprint, the scenario spec, every trial's
//! statistics, the between-trial noise per metric and the raw per-request samples the
//! statistics were computed from (TTFT, TPOT, E2E, output tokens, outcome). ITL is
//! kept as an HDR histogram (microseconds, 3 significant digits, V2 + DEFLATE
//! encoding, base64: the format of HdrHistogram's interval logs, readable by every
//! HdrHistogram implementation), since a run has one ITL per token. A trial keeps at
//! most [`SAMPLES_PER_TRIAL`] requests' samples: a longer trial keeps a seeded
//! uniform random subset and records of how many requests in `sampled_from`.
//!
//! The file is canonical JSON (keys sorted, two-space indentation, arrays of plain
//! values on one line), so a bless shows up as a readable diff. Its layout is
//! described by `schemas/baseline.schema.json`. `schema_version` is "MAJOR.MINOR":
//! a newer minor only adds fields; an unknown major is refused.
//!
//! Every run writes the same structure, unblessed, as
//! `RESULTS/<scenario>.baseline.json.new`, so `llm-bench bless --from RESULTS`
//! promotes a run without re-running it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fingerprint::Fingerprint;
use super::metric::MetricId;
use crate::manifest::ScenarioSpec;
use crate::metrics::Metrics;
use crate::record::{ErrorKind, RequestRow};

/// The schema this build writes. 1.1 added `samples.sampled_from` (a trial's
/// samples capped at [`SAMPLES_PER_TRIAL`]); a 1.0 reader ignores it, which matters
/// only to its request-level bootstrap of a sampled trial's throughput.
pub const SCHEMA_VERSION: &str = "1.1";
/// The major version this build reads.
pub const SCHEMA_MAJOR: u32 = 1;

/// One scenario's blessed (or candidate) measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: String,
    pub tool_version: String,
    /// When it was blessed (a candidate: when its run ended).
    pub created_at: String,
    /// Who blessed it; `None` in a candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blessed_by: Option<String>,
    /// Why (`--reason`); `None` in a candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// The run it was taken from.
    pub run_id: String,
    pub target: String,
    pub scenario: String,
    /// Always `linear` (see [`crate::metrics::percentile`]).
    pub percentile_method: String,
    pub fingerprint: Fingerprint,
    pub spec: ScenarioSpec,
    /// Between-trial standard deviation of each metric's log, from these trials;
    /// a comparison never assumes less spread than this.
    pub noise: BTreeMap<MetricId, f64>,
    pub trials: Vec<TrialRecord>,
}

/// One trial: counts, statistics and the samples they were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub trial: u32,
    /// The measured window (first send to last completion) throughputs divide by.
    pub duration_s: f64,
    pub succeeded: u64,
    pub failed: u64,
    #[serde(default)]
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Mean output tokens per successful request, to detect output-length drift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_mean: Option<f64>,
    pub stats: BTreeMap<MetricId, f64>,
    pub samples: Samples,
}

/// Raw per-request samples of one trial, one entry per measured request (warm-up,
/// cancelled and dropped requests excluded) in request order.
///
/// A trial of more than [`SAMPLES_PER_TRIAL`] measured requests keeps a uniform
/// random subset of that many (see [`SamplesBuilder`]) and says of how many in
/// `sampled_from`; its counts, durations and statistics stay those of every request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// `null` for a success, else the error kind.
    pub error_kind: Vec<Option<ErrorKind>>,
    pub ttft_ms: Vec<Option<f64>>,
    pub tpot_ms: Vec<Option<f64>>,
    pub e2e_ms: Vec<f64>,
    pub output_tokens: Vec<u64>,
    /// Every inter-token latency of the trial's successful requests, in microseconds:
    /// base64 of an HdrHistogram V2+DEFLATE encoding (3 significant digits).
    pub itl_us_hdr: String,
    /// Measured requests the columns were sampled from, when they hold only
    /// [`SAMPLES_PER_TRIAL`] of them; absent when they hold every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<u64>,
}

impl Samples {
    /// Collects the measured rows of one trial (any order; sorted by index here).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a RequestRow>) -> Samples {
        let mut builder = SamplesBuilder::default();
        for row in rows {
            builder.add(row);
        }
        builder.finish()
    }

    fn ok(&self) -> impl Iterator<Item = usize> + '_ {
        self.error_kind
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_none())
            .map(|(i, _)| i)
    }

    /// TTFT of successful requests.
    pub fn ttft(&self) -> Vec<f64> {
        self.ok().filter_map(|i| self.ttft_ms[i]).collect()
    }

    pub fn tpot(&self) -> Vec<f64> {
        self.ok().filter_map(|i| self.tpot_ms[i]).collect()
    }

    pub fn e2e(&self) -> Vec<f64> {
        self.ok().map(|i| self.e2e_ms[i]).collect()
    }

    pub fn output_tokens(&self) -> Vec<f64> {
        self.ok().map(|i| self.output_tokens[i] as f64).collect()
    }

    /// ITL values (ms) rebuilt from the histogram, each bucket at its median value.
    pub fn itl(&self) -> Vec<f64> {
        let Some(h) = decode_histogram(&self.itl_us_hdr) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(h.len() as usize);
        for v in h.iter_recorded() {
            let value = h.median_equivalent(v.value_iterated_to()) as f64 / 1000.0;
            out.extend(std::iter::repeat_n(value, v.count_at_value() as usize));
        }
        out
    }
}

/// Per-request samples a trial keeps at most: enough that the request-level
/// bootstrap and the report's baseline curves are as good as with every request
/// (a p99 from 16,384 requests rests on 164 beyond it; the bootstrap's standard
/// error is well under the noise floor it is added to), few enough that a trial of
/// millions of requests costs what one of 16k does (~1 MiB) instead of ~60 bytes per
/// request, and the committed file stays small. Ordinary CI runs stay below it and
/// keep every request.
pub const SAMPLES_PER_TRIAL: usize = 1 << 14;

/// Seed of the reservoir sampling past [`SAMPLES_PER_TRIAL`] ("llm-samp"), so the
/// same `requests.jsonl` always gives the same candidate.
const SAMPLE_SEED: u64 = 0x6c6c_6d2d_7361_6d70;

/// Builds one trial's [`Samples`] row by row, keeping only the values a baseline
/// stores (57 bytes per request, not the row with its inter-token latencies), so
/// deriving candidates from a long run does not hold the run in memory.
///
/// Past [`SAMPLES_PER_TRIAL`] measured requests the rows kept are a uniform random
/// sample of all of them (reservoir sampling, Vitter 1985, ACM TOMS 11:37,
/// "Algorithm R": the n-th request replaces a random kept one with probability
/// cap/n), drawn from a [`StdRng`] with a fixed seed, so every request is equally
/// likely to be kept whatever the order in which they finished. The ITL histogram
/// still counts every token.
#[derive(Debug)]
pub struct SamplesBuilder {
    /// The kept requests' columns, in the order they were kept (sorted into
    /// request order by [`SamplesBuilder::finish`], in place); `itl_us_hdr` and
    /// `sampled_from` are filled in then.
    kept: Samples,
    /// Request index of each kept request.
    index: Vec<u64>,
    itl: Histogram<u64>,
    cap: usize,
    /// Measured rows seen, kept or not.
    seen: u64,
    /// Created when the cap is first exceeded.
    rng: Option<StdRng>,
}

impl Default for SamplesBuilder {
    fn default() -> Self {
        SamplesBuilder::with_cap(SAMPLES_PER_TRIAL)
    }
}

impl SamplesBuilder {
    /// Keeps at most `cap` rows (at least one).
    pub fn with_cap(cap: usize) -> Self {
        SamplesBuilder {
            kept: Samples::default(),
            index: Vec::new(),
            itl: itl_histogram(),
            cap: cap.max(1),
            seen: 0,
            rng: None,
        }
    }

    /// Adds a row if it is measured (warm-up, cancelled and dropped rows are not).
    pub fn add(&mut self, r: &RequestRow) {
        if !r.measured() {
            return;
        }
        self.seen += 1;
        let len = self.index.len();
        if len < self.cap {
            // Grow by doubling, but never past the cap.
            if len == self.index.capacity() {
                let more = len.max(16).min(self.cap - len);
                let k = &mut self.kept;
                self.index.reserve_exact(more);
                k.error_kind.reserve_exact(more);
                k.ttft_ms.reserve_exact(more);
                k.tpot_ms.reserve_exact(more);
                k.e2e_ms.reserve_exact(more);
                k.output_tokens.reserve_exact(more);
            }
            let k = &mut self.kept;
            self.index.push(r.index);
            k.error_kind.push(r.error_kind);
            k.ttft_ms.push(r.ttft_ms);
            k.tpot_ms.push(r.tpot_ms);
            k.e2e_ms.push(r.e2e_ms);
            k.output_tokens.push(r.output_tokens);
        } else {
            let rng = self
                .rng
                .get_or_insert_with(|| StdRng::seed_from_u64(SAMPLE_SEED));
            let slot = rng.gen_range(0..self.seen) as usize;
            if slot < len {
                let k = &mut self.kept;
                self.index[slot] = r.index;
                k.error_kind[slot] = r.error_kind;
                k.ttft_ms[slot] = r.ttft_ms;
                k.tpot_ms[slot] = r.tpot_ms;
                k.e2e_ms[slot] = r.e2e_ms;
                k.output_tokens[slot] = r.output_tokens;
            }
        }
        if r.ok {
            for v in &r.itl_ms {
                self.itl
                    .saturating_record((v * 1000.0).round().max(0.0) as u64);
            }
        }
    }

    /// The samples in request order (a stable sort by index).
    ///
    /// The columns are permuted in place, so finishing needs one index per kept
    /// request on top of what is kept, not a second copy of every column.
    pub fn finish(mut self) -> Samples {
        let n = self.index.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.index[i]);
        // Position k takes the request now at order[k]: follow each cycle of the
        // permutation, swapping along it, and mark each position done.
        let k = &mut self.kept;
        for start in 0..n {
            let mut at = start;
            while order[at] != at {
                let from = order[at];
                order[at] = at;
                if from == start {
                    break;
                }
                k.error_kind.swap(at, from);
                k.ttft_ms.swap(at, from);
                k.tpot_ms.swap(at, from);
                k.e2e_ms.swap(at, from);
                k.output_tokens.swap(at, from);
                at = from;
            }
        }
        drop(order);
        Samples {
            itl_us_hdr: encode_histogram(&self.itl),
            sampled_from: (self.seen > n as u64).then_some(self.seen),
            ..self.kept
        }
    }
}

/// An empty ITL histogram: 1 µs to one hour, 3 significant digits (longer gaps are
/// recorded as one hour).
pub fn itl_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// base64(V2 + DEFLATE) of a histogram.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Err(_) => String::new(),
    }
}

pub fn decode_histogram(text: &str) -> Option<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).ok()
}

impl TrialRecord {
    /// How many successful requests each kept successful sample stands for, when
    /// the samples are a subset ([`Samples::sampled_from`]); `None` when they hold
    /// every request. Sums over the kept samples (throughput) are scaled by it so
    /// they add up to the whole trial's.
    pub fn sample_weight(&self) -> Option<f64> {
        self.samples.sampled_from?;
        let kept = self.samples.ok().count();
        (kept > 0).then(|| self.succeeded as f64 / kept as f64)
    }

    /// A trial from its summary metrics and its rows.
    pub fn new(trial: u32, metrics: &Metrics, samples: Samples) -> TrialRecord {
        let stats = MetricId::ALL
            .iter()
            .filter_map(|&m| Some((m, m.value(metrics)?)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        TrialRecord {
            trial,
            duration_s: metrics.duration_s,
            succeeded: metrics.requests.succeeded,
            failed: metrics.requests.failed,
            errors: metrics.errors.clone(),
            output_tokens_mean: metrics.output_tokens.map(|s| s.mean),
            stats,
            samples,
        }
    }
}

/// Between-trial standard deviation of ln(statistic), per metric with ≥ 2 positive
/// values. The success rate is tested on counts and has no entry.
pub fn noise(trials: &[TrialRecord]) -> BTreeMap<MetricId, f64> {
    MetricId::ALL
        .iter()
        .filter(|&&m| m != MetricId::SuccessRate)
        .filter_map(|&m| {
            let logs: Vec<f64> = trials
                .iter()
                .filter_map(|t| t.stats.get(&m))
                .filter(|v| **v > 0.0)
                .map(|v| v.ln())
                .collect();
            (logs.len() >= 2 && logs.len() == trials.len())
                .then(|| (m, super::stats::sample_sd(&logs)))
        })
        .collect()
}

/// Why a baseline file cannot be used. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not a valid baseline ({message}); restore it with `git checkout -- {}` \
         or delete it and bless again with `--bless --reason ...`",
        path.display(),
        path.display()
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "{} has baseline schema version {found}, but this llm-bench (v{}) reads {SCHEMA_MAJOR}.x; \
         upgrade llm-bench, or bless again with this version",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    UnsupportedVersion { path: PathBuf, found: String },
}

/// Reads and checks a baseline; `Ok(None)` when the file does not exist.
pub fn read(path: &Path) -> Result<Option<Baseline>, BaselineError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(BaselineError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    parse(&text, path).map(Some)
}

/// Parses baseline text; `path` is only for messages.
pub fn parse(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
    // A valid file of a version this build reads parses straight into the struct;
    // anything else goes through a `Value` first, whose errors say what is wrong
    // (the version before the fields). The struct is the same either way; the fast
    // path halves the time a comparison of large baselines takes.
    if let Ok(baseline) = serde_json::from_str::<Baseline>(text) {
        if schema_major(&baseline.schema_version) == Some(SCHEMA_MAJOR) {
            return check_trials(baseline, path);
        }
    }
    parse_via_value(text, path)
}

/// [`parse`] through a `Value`: checks the version before the fields.
fn parse_via_value(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let value: Value = serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON: {e}")))?;
    let version = value
        .get("schema_version")
        .and_then(Value::as_str)
        .ok_or_else(|| corrupt("no `schema_version`".into()))?;
    match schema_major(version) {
        Some(SCHEMA_MAJOR) => {}
        Some(_) => {
            return Err(BaselineError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version.to_string(),
            })
        }
        None => {
            return Err(corrupt(format!(
                "`schema_version` must look like \"1.0\" (got {version:?})"
            )))
        }
    }
    let baseline: Baseline = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    check_trials(baseline, path)
}

/// The major number of a "MAJOR.MINOR" schema version.
fn schema_major(version: &str) -> Option<u32> {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
}

/// A parsed baseline needs trials whose sample columns line up.
fn check_trials(baseline: Baseline, path: &Path) -> Result<Baseline, BaselineError> {
    let corrupt = |message: String| BaselineError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    if baseline.trials.is_empty() {
        return Err(corrupt("it has no trials".into()));
    }
    for t in &baseline.trials {
        let n = t.samples.error_kind.len();
        let s = &t.samples;
        if [
            s.ttft_ms.len(),
            s.tpot_ms.len(),
            s.e2e_ms.len(),
            s.output_tokens.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(corrupt(format!(
                "trial {}: sample columns of different lengths",
                t.trial
            )));
        }
        if s.sampled_from.is_some_and(|from| from < n as u64) {
            return Err(corrupt(format!(
                "trial {}: `sampled_from` is smaller than the samples kept",
                t.trial
            )));
        }
    }
    Ok(baseline)
}

/// The file's text: canonical JSON and a final newline.
pub fn to_text(baseline: &Baseline) -> String {
    let mut text = String::new();
    write_text(&mut text, baseline).expect("writing to a String cannot fail");
    text
}

/// Writes the file's text ([`to_text`]) to `out` piece by piece.
///
/// The per-request sample columns are rendered straight from their vectors, one
/// number at a time: as a `serde_json::Value` tree they would cost ~200 bytes per
/// request (a million-request run's candidate took 250 MiB to write), and written
/// to a file they are never held as text either.
pub fn write_text(out: &mut dyn fmt::Write, baseline: &Baseline) -> fmt::Result {
    let shell = Baseline {
        trials: baseline
            .trials
            .iter()
            .map(|t| TrialRecord {
                trial: t.trial,
                duration_s: t.duration_s,
                succeeded: t.succeeded,
                failed: t.failed,
                errors: t.errors.clone(),
                output_tokens_mean: t.output_tokens_mean,
                stats: t.stats.clone(),
                // The columns are written from `baseline`, never copied.
                samples: Samples {
                    itl_us_hdr: t.samples.itl_us_hdr.clone(),
                    sampled_from: t.samples.sampled_from,
                    ..Samples::default()
                },
            })
            .collect(),
        ..clone_without_trials(baseline)
    };
    let mut value = serde_json::to_value(&shell).expect("a baseline is plain data");
    // Each empty column becomes a marker that `write_value` replaces by the column.
    if let Some(trials) = value.get_mut("trials").and_then(Value::as_array_mut) {
        for (i, trial) in trials.iter_mut().enumerate() {
            let samples = trial.get_mut("samples").and_then(Value::as_object_mut);
            for (column, v) in samples.into_iter().flatten() {
                if v.is_array() {
                    *v = Value::String(format!("{COLUMN_MARKER}{i}:{column}"));
                }
            }
        }
    }
    write_value(out, &value, 0, &|out, marker| {
        let (trial, column) = marker.split_once(':')?;
        let samples = &baseline.trials.get(trial.parse::<usize>().ok()?)?.samples;
        Some(match column {
            "error_kind" => write_column(out, &samples.error_kind),
            "ttft_ms" => write_column(out, &samples.ttft_ms),
            "tpot_ms" => write_column(out, &samples.tpot_ms),
            "e2e_ms" => write_column(out, &samples.e2e_ms),
            "output_tokens" => write_column(out, &samples.output_tokens),
            _ => return None,
        })
    })?;
    out.write_char('\n')
}

/// Everything of a baseline but its trials.
fn clone_without_trials(b: &Baseline) -> Baseline {
    Baseline {
        schema_version: b.schema_version.clone(),
        tool_version: b.tool_version.clone(),
        created_at: b.created_at.clone(),
        blessed_by: b.blessed_by.clone(),
        reason: b.reason.clone(),
        git_commit: b.git_commit.clone(),
        run_id: b.run_id.clone(),
        target: b.target.clone(),
        scenario: b.scenario.clone(),
        percentile_method: b.percentile_method.clone(),
        fingerprint: b.fingerprint.clone(),
        spec: b.spec.clone(),
        noise: b.noise.clone(),
        trials: Vec::new(),
    }
}

/// Starts a string that stands for a sample column (no real value starts with it).
const COLUMN_MARKER: &str = "\u{1}column:";

/// Writes `[a, b, …]` exactly as [`canonical_json`] writes an array of scalars.
fn write_column<T: Serialize>(out: &mut dyn fmt::Write, items: &[T]) -> fmt::Result {
    out.write_char('[')?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        let value = serde_json::to_value(item).unwrap_or(Value::Null);
        write_value(out, &value, 0, &|_, _| None)?;
    }
    out.write_char(']')
}

/// Writes a baseline through a temporary file and a rename, streaming the text.
pub fn write(path: &Path, baseline: &Baseline) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    crate::results::write_atomic_with(path, |file| {
        let mut out = IoText { file, error: None };
        match write_text(&mut out, baseline) {
            Ok(()) => Ok(()),
            Err(fmt::Error) => Err(out
                .error
                .unwrap_or_else(|| std::io::Error::other("formatting failed"))),
        }
    })
}

/// [`fmt::Write`] onto an [`std::io::Write`], keeping the I/O error a formatter
/// cannot carry.
struct IoText<'a> {
    file: &'a mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl fmt::Write for IoText<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.file.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// JSON with object keys sorted at every level, two-space indentation, arrays of
/// scalars kept on one line and floats rounded to 10 significant digits: stable
/// bytes for equal values, whatever serde_json's map order, and diffs that show
/// changed numbers rather than reflowed arrays.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, &|_, _| None).expect("writing to a String cannot fail");
    out
}

/// Writes a sample column named by a marker; `None` when the marker names none.
type ColumnWriter<'a> = dyn Fn(&mut dyn fmt::Write, &str) -> Option<fmt::Result> + 'a;

/// Writes `value` at indentation `depth`; a string starting with [`COLUMN_MARKER`]
/// is handed to `column`, which writes the column it names.
fn write_value(
    out: &mut dyn fmt::Write,
    value: &Value,
    depth: usize,
    column: &ColumnWriter<'_>,
) -> fmt::Result {
    let indent = |out: &mut dyn fmt::Write, depth: usize| -> fmt::Result {
        for _ in 0..depth {
            out.write_str("  ")?;
        }
        Ok(())
    };
    match value {
        Value::Object(map) if map.is_empty() => out.write_str("{}"),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.write_str("{\n")?;
            for (i, key) in keys.iter().enumerate() {
                indent(out, depth + 1)?;
                write!(out, "{}: ", Value::String((*key).clone()))?;
                write_value(out, &map[key.as_str()], depth + 1, column)?;
                out.write_str(if i + 1 < keys.len() { ",\n" } else { "\n" })?;
            }
            indent(out, depth)?;
            out.write_char('}')
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            out.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_value(out, item, depth, column)?;
            }
            out.write_char(']')
        }
        Value::Array(items) => {
            out.write_str("[\n")?;
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1)?;
                write_value(out, item, depth + 1, column)?;
                out.write_str(if i + 1 < items.len() { ",\n" } else { "\n" })?;
            }
            indent(out, depth)?;
            out.write_char(']')
        }
        Value::Number(n) if n.is_f64() => write!(
            out,
            "{}",
            Value::from(round_significant(n.as_f64().unwrap_or(0.0)))
        ),
        Value::String(text) => match text
            .strip_prefix(COLUMN_MARKER)
            .and_then(|m| column(out, m))
        {
            Some(written) => written,
            None => write!(out, "{value}"),
        },
        scalar => write!(out, "{scalar}"),
    }
}

/// Rounds to 10 significant digits: `100.36019999999999` is written `100.3602`,
/// which reads better in a diff and parses back to exactly the same number (ten
/// digits are within every float parser's exact fast path), so rewriting a file
/// read from disk gives the same bytes.
fn round_significant(v: f64) -> f64 {
    if v.is_finite() {
        format!("{v:.9e}").parse().unwrap_or(v)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_inlines_plain_arrays() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.5, null], "a": {"z": [], "y": [{"k": 1}]}}"#)
                .unwrap();
        let text = canonical_json(&v);
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"y\": [\n      {\n        \"k\": 1\n      }\n    ],\n    \"z\": []\n  },\n  \"b\": [1, 2.5, null]\n}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        let noisy: Value = serde_json::from_str("[100.36019999999999, 0.1, 1e-7, 3]").unwrap();
        let once = canonical_json(&noisy);
        assert_eq!(once, "[100.3602, 0.1, 1e-7, 3]");
        assert_eq!(
            canonical_json(&serde_json::from_str(&once).unwrap()),
            once,
            "idempotent"
        );
    }

    #[test]
    fn histogram_round_trips() {
        let mut h = itl_histogram();
        for v in [5_000u64, 5_100, 5_100, 12_345, 0] {
            h.saturating_record(v);
        }
        let back = decode_histogram(&encode_histogram(&h)).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        let s = Samples {
            itl_us_hdr: encode_histogram(&h),
            ..Samples::default()
        };
        let itl = s.itl();
        assert_eq!(itl.len(), 5);
        assert!((itl[4] - 12.345).abs() < 0.02, "{itl:?}");
    }

    /// The fast path (straight into the struct) and the `Value` path read a file
    /// the same, for a baseline with every optional part: errors, missing TTFTs,
    /// an open loop with an SLO, custom thresholds, noise.
    #[test]
    fn fast_path_reads_what_the_value_path_reads() {
        use crate::config::thresholds::{Thresholds, Tolerance};
        use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec, SloSpec};
        use crate::record::TokenSource;
        let spec = ScenarioSpec {
            name: "open".into(),
            prompt: "short".into(),
            load: LoadSpec::Open {
                rate: 12.5,
                arrival: "gamma".into(),
                burstiness: Some(0.5),
                max_concurrency: Some(64),
            },
            requests: Some(40),
            duration_s: None,
            warmup: 2,
            max_tokens: 16,
            ignore_eos: true,
            stream: true,
            seed: 7,
            trials: 3,
            slo: SloSpec {
                ttft_ms: Some(80.0),
                tpot_ms: Some(9.5),
                e2e_ms: None,
            },
            max_error_rate: 0.25,
            thresholds: Thresholds {
                alpha: 0.01,
                ttft: Tolerance {
                    relative: 0.08,
                    absolute: 3.0,
                },
                ..Thresholds::default()
            },
        };
        let manifest = Manifest {
            schema_version: crate::manifest::SCHEMA_VERSION,
            run: RunMeta {
                id: "r".into(),
                tool_version: "0.1.0".into(),
                git_commit: Some("abc".into()),
                target: "t".into(),
                base_url: "http://h/v1".into(),
                api: "chat".into(),
                model: "m".into(),
                workload_hash: "w".into(),
                started_at: "2025-01-01T00:00:00Z".into(),
                ended_at: Some("2025-01-01T00:01:00Z".into()),
                interrupted: false,
                percentile_method: "linear".into(),
                environment: None,
            },
            scenarios: vec![spec],
        };
        let rows: Vec<RequestRow> = (0..3u32)
            .flat_map(|trial| (0..42u64).map(move |i| (trial, i)))
            .map(|(trial, i)| {
                let failed = i % 9 == 4;
                let x = 40.0 + f64::from(trial) + (i * 37 % 11) as f64 / 3.0;
                RequestRow {
                    scenario: "open".into(),
                    trial,
                    index: i,
                    request_id: None,
                    warmup: i < 2,
                    ok: !failed,
                    status: Some(if failed { 429 } else { 200 }),
                    error_kind: failed.then_some(ErrorKind::RateLimited),
                    error: failed.then(|| "HTTP 429".into()),
                    scheduled_ms: i as f64 * 80.0,
                    start_ms: i as f64 * 80.0 + 0.013,
                    end_ms: i as f64 * 80.0 + x + 75.0,
                    send_lag_ms: 0.013,
                    ttfb_ms: (!failed).then_some(x - 0.5),
                    ttft_ms: (!failed && i % 7 != 3).then_some(x),
                    ttfr_ms: None,
                    response_ttft_ms: (!failed).then_some(x + 0.013),
                    e2e_ms: x + 75.0,
                    response_e2e_ms: x + 75.013,
                    tpot_ms: (!failed).then_some(5.0 + (i % 3) as f64 / 7.0),
                    itl_ms: if failed {
                        vec![]
                    } else {
                        vec![5.001, 4.999, 5.3]
                    },
                    prompt_tokens: Some(12),
                    output_tokens: if failed { 0 } else { 16 },
                    chunks: if failed { 0 } else { 16 },
                    token_source: TokenSource::Usage,
                    in_flight: 3,
                    itl_rest: None,
                    flags: Vec::new(),
                    attempts: 1,
                    first_attempt_error: None,
                    new_connection: None,
                    connect_ms: None,
                }
            })
            .collect();
        let mut baseline = crate::compare::candidates(&manifest, &rows).remove(0);
        baseline.blessed_by = Some("alice".into());
        baseline.reason = Some("why \"not\"".into());
        assert!(!baseline.noise.is_empty() && !baseline.trials[0].errors.is_empty());
        let text = to_text(&baseline);
        let path = Path::new("b/t/open.json");
        let fast: Baseline = serde_json::from_str(&text).expect("the fast path applies");
        let slow = parse_via_value(&text, path).unwrap();
        assert_eq!(fast, slow);
        assert_eq!(parse(&text, path).unwrap(), slow);
        assert_eq!(to_text(&fast), text);
    }

    fn sample_row(index: u64) -> RequestRow {
        use crate::record::TokenSource;
        let failed = index % 97 == 5;
        RequestRow {
            scenario: "s".into(),
            trial: 0,
            index,
            request_id: None,
            warmup: false,
            ok: !failed,
            status: Some(if failed { 500 } else { 200 }),
            error_kind: failed.then_some(ErrorKind::Http5xx),
            error: None,
            scheduled_ms: 0.0,
            start_ms: 0.0,
            end_ms: index as f64,
            send_lag_ms: 0.0,
            ttfb_ms: None,
            ttft_ms: (index % 13 != 0).then_some(index as f64 / 2.0),
            ttfr_ms: None,
            response_ttft_ms: None,
            e2e_ms: index as f64,
            response_e2e_ms: index as f64,
            tpot_ms: (index % 11 != 0).then_some(5.0),
            itl_ms: vec![5.0, 5.5],
            prompt_tokens: None,
            output_tokens: if failed { 0 } else { 1 + index % 7 },
            chunks: 3,
            token_source: TokenSource::Usage,
            in_flight: 1,
            itl_rest: None,
            flags: Vec::new(),
            attempts: 1,
            first_attempt_error: None,
            new_connection: None,
            connect_ms: None,
        }
    }

    /// Up to the cap every measured request is kept, exactly as before the cap
    /// existed; past it a seeded uniform sample of `cap` requests in request order,
    /// the same whatever order the rows came in, with every ITL still counted.
    #[test]
    fn long_trials_keep_a_seeded_uniform_sample() {
        let rows: Vec<RequestRow> = (0..10_000).map(sample_row).collect();
        let build = |cap: usize, rows: &mut dyn Iterator<Item = &RequestRow>| {
            let mut b = SamplesBuilder::with_cap(cap);
            rows.for_each(|r| b.add(r));
            b.finish()
        };
        let all = build(10_000, &mut rows.iter());
        assert_eq!(all.sampled_from, None);
        assert_eq!(
            all.e2e_ms,
            (0..10_000).map(|i| i as f64).collect::<Vec<_>>()
        );
        assert_eq!(all.ttft_ms[13], None);
        assert_eq!(all.ttft_ms[14], Some(7.0));
        assert_eq!(all.tpot_ms[11], None);
        assert_eq!(all.error_kind[5], Some(ErrorKind::Http5xx));
        assert_eq!(
            all,
            Samples::from_rows(&rows),
            "the default cap is above 10k"
        );

        // Rows finish out of order: sorted back into request order in place.
        let shuffled: Vec<&RequestRow> = (0..10_000).map(|i| &rows[i * 7919 % 10_000]).collect();
        assert_eq!(build(10_000, &mut shuffled.iter().copied()), all);
        assert_eq!(build(10_000, &mut rows.iter().rev()), all);

        // Each kept request's columns stay together, in request order.
        let consistent = |s: &Samples| {
            assert!(s.e2e_ms.windows(2).all(|w| w[0] < w[1]), "request order");
            for (i, &e2e) in s.e2e_ms.iter().enumerate() {
                let row = sample_row(e2e as u64);
                assert_eq!(s.ttft_ms[i], row.ttft_ms);
                assert_eq!(s.tpot_ms[i], row.tpot_ms);
                assert_eq!(s.error_kind[i], row.error_kind);
                assert_eq!(s.output_tokens[i], row.output_tokens);
            }
        };
        let kept = build(1000, &mut rows.iter());
        assert_eq!(kept.sampled_from, Some(10_000));
        assert_eq!(kept.e2e_ms.len(), 1000);
        assert_eq!(kept, build(1000, &mut rows.iter()), "seeded");
        consistent(&kept);
        consistent(&build(1000, &mut shuffled.iter().copied()));
        // Uniform: the mean index is 4999.5 give or take 3 standard errors
        // (2887 / √1000 · √0.9 ≈ 87).
        let mean = kept.e2e_ms.iter().sum::<f64>() / 1000.0;
        assert!((mean - 4999.5).abs() < 260.0, "{mean}");
        let reversed = build(1000, &mut rows.iter().rev());
        assert_eq!(reversed.e2e_ms.len(), 1000);
        assert_eq!(reversed.sampled_from, Some(10_000));
        consistent(&reversed);
        assert_eq!(kept.itl_us_hdr, all.itl_us_hdr, "every ITL counts");

        // Each kept success stands for succeeded / kept successes.
        let succeeded = all.error_kind.iter().filter(|e| e.is_none()).count() as u64;
        let kept_ok = kept.error_kind.iter().filter(|e| e.is_none()).count() as f64;
        let trial = |samples: Samples| TrialRecord {
            trial: 0,
            duration_s: 10.0,
            succeeded,
            failed: 10_000 - succeeded,
            errors: BTreeMap::new(),
            output_tokens_mean: None,
            stats: BTreeMap::new(),
            samples,
        };
        assert_eq!(trial(all).sample_weight(), None);
        assert_eq!(
            trial(kept).sample_weight(),
            Some(succeeded as f64 / kept_ok)
        );
    }

    /// A sampled trial round-trips through the file, both readers and the generic
    /// canonical writer; streamed to a file, the text is the same bytes.
    #[test]
    fn sampled_baselines_round_trip_and_stream_to_the_same_bytes() {
        use crate::manifest::{LoadSpec, Manifest, RunMeta, ScenarioSpec};
        let spec = ScenarioSpec {
            name: "s".into(),
            prompt: "short".into(),
            load: LoadSpec::Closed { concurrency: 4 },
            requests: Some(3000),
            duration_s: None,
            warmup: 0,
            max_tokens: 16,
            ignore_eos: true,
            stream: true,
            seed: 7,
            trials: 1,
            slo: Default::default(),
            max_error_rate: 0.05,
            thresholds: Default::default(),
        };
        let manifest = Manifest {
            schema_version: crate::manifest::SCHEMA_VERSION,
            run: RunMeta {
                id: "r".into(),
                tool_version: "0.1.0".into(),
                git_commit: None,
                target: "t".into(),
                base_url: "http://h/v1".into(),
                api: "chat".into(),
                model: "m".into(),
                workload_hash: "w".into(),
                started_at: "2025-01-01T00:00:00Z".into(),
                ended_at: None,
                interrupted: false,
                percentile_method: "linear".into(),
                environment: None,
            },
            scenarios: vec![spec],
        };
        let rows: Vec<RequestRow> = (0..3000).map(sample_row).collect();
        let mut baseline = crate::compare::candidates(&manifest, &rows).remove(0);
        let mut b = SamplesBuilder::with_cap(500);
        rows.iter().for_each(|r| b.add(r));
        baseline.trials[0].samples = b.finish();
        let text = to_text(&baseline);
        assert!(text.contains("\"sampled_from\": 3000,"), "{text}");
        let path = Path::new("b/t/s.json");
        let back = parse(&text, path).unwrap();
        assert!(back == parse_via_value(&text, path).unwrap());
        assert!(back.trials[0].samples == baseline.trials[0].samples);
        assert!(to_text(&back) == text);
        let generic = canonical_json(&serde_json::to_value(&baseline).unwrap()) + "\n";
        assert!(generic == text);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t").join("s.json");
        write(&file, &baseline).unwrap();
        assert!(std::fs::read_to_string(&file).unwrap() == text);
        let names: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s.json"], "no temporary file left");

        let mut broken = baseline.clone();
        broken.trials[0].samples.sampled_from = Some(10);
        assert!(matches!(
            parse(&to_text(&broken), path),
            Err(BaselineError::Corrupt { .. })
        ));
    }

    #[test]
    fn refuses_unknown_major_and_garbage() {
        let path = Path::new("baselines/t/s.json");
        let err = parse(r#"{"schema_version": "2.0"}"#, path).unwrap_err();
        assert!(matches!(err, BaselineError::UnsupportedVersion { .. }));
        assert!(err.to_string().contains("reads 1.x"), "{err}");
        let err = parse("{not json", path).unwrap_err();
        assert!(
            err.to_string()
                .contains("git checkout -- baselines/t/s.json"),
            "{err}"
        );
        assert!(matches!(
            parse(r#"{"schema_version": 1}"#, path),
            Err(BaselineError::Corrupt { .. })
        ));
    }
}
