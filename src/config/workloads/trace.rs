//! `trace:` on a scenario: a recorded request log to replay on its own schedule.
//!
//! Public LLM serving traces give, per request, when it arrived and how many tokens
//! went in and came out, and nothing of the text. Two layouts are read, chosen by
//! the file's extension:
//!
//! - **JSONL** (any extension but `.csv`), one object per line, as Mooncake's
//!   traces: `timestamp` (milliseconds), `input_length`, `output_length`. Other
//!   keys (`hash_ids`, ...) are ignored.
//! - **CSV** (`.csv`), as Azure's LLM inference traces: a header naming
//!   `TIMESTAMP` (`2023-11-16 18:15:46.6805900`, or a number of seconds),
//!   `ContextTokens` and `GeneratedTokens`; other columns are ignored.
//!
//! Offsets are taken from the first row, so a trace may start at any time. Rows
//! must be in time order: a replay sends them in file order, and a row earlier than
//! the one before it is more likely a merged or corrupt file than an intent. The
//! trace is read line by line at load time, keeping three numbers a row (a million
//! rows is 16 MB), so that `llm-bench validate` finds every bad line before a run
//! starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::error::ConfigError;
use crate::config::locate::Position;

/// Largest trace file read (a bound on what a config can make us load).
const MAX_TRACE_BYTES: u64 = 1 << 30;
/// Most bad lines reported from one file.
const MAX_REPORTED: usize = 20;

/// A parsed trace: what a scenario with `trace:` replays.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The path as written in workloads.yaml (relative to the config folder).
    pub file: String,
    pub format: TraceFormat,
    /// Offsets are multiplied by this: 0.5 replays twice as fast.
    pub time_scale: f64,
    /// In file order; shared, since plans and their clones all read the same rows.
    pub requests: Arc<[TraceRequest]>,
    /// SHA-256 (hex) of the rows as read (offset, input, output), for the workload
    /// hash: the same requests at the same times hash the same whatever the layout.
    pub sha256: String,
}

/// Which layout a trace file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Mooncake-style JSONL: `timestamp` (ms), `input_length`, `output_length`.
    Jsonl,
    /// Azure-style CSV: `TIMESTAMP`, `ContextTokens`, `GeneratedTokens`.
    Csv,
}

impl TraceFormat {
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Jsonl => "jsonl",
            TraceFormat::Csv => "csv",
        }
    }
}

/// One request of a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRequest {
    /// Milliseconds after the first row, as recorded (before `time_scale`).
    pub offset_ms: f64,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

impl Trace {
    /// The mean request rate of the replay (requests per second, after
    /// `time_scale`); `None` for a trace whose rows all share one time.
    pub fn mean_rate(&self) -> Option<f64> {
        let last = self.requests.last()?.offset_ms * self.time_scale;
        (last > 0.0).then(|| (self.requests.len() - 1) as f64 / (last / 1000.0))
    }
}

/// Reads the trace at `dir/file`. Every bad line (up to [`MAX_REPORTED`]) becomes
/// an error naming the trace file and line.
pub(super) fn read(dir: &Path, file: &str, time_scale: f64) -> Result<Trace, Vec<ConfigError>> {
    let path = dir.join(file);
    let whole = |message: String| vec![ConfigError::new(&path, None, "", message)];
    let file_handle = match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_TRACE_BYTES => {
            return Err(whole(format!(
                "the trace is {} bytes; at most {MAX_TRACE_BYTES} are read. Cut it into \
                 shorter traces (e.g. `head -n 100000`)",
                m.len()
            )))
        }
        Ok(_) => std::fs::File::open(&path).map_err(|e| whole(cannot_read(&e)))?,
        Err(e) => return Err(whole(cannot_read(&e))),
    };
    let format = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        TraceFormat::Csv
    } else {
        TraceFormat::Jsonl
    };
    // Line by line: only the rows stay in memory, not the file's text.
    let lines = std::io::BufRead::lines(std::io::BufReader::new(file_handle)).map(|line| {
        line.map_err(|e| format!("cannot read this line ({e}); a trace is UTF-8 text"))
    });
    let requests = parse_lines(lines, format).map_err(|bad| {
        bad.into_iter()
            .map(|(line, reason)| {
                ConfigError::new(&path, Some(Position { line, column: 1 }), "", reason)
            })
            .collect::<Vec<_>>()
    })?;
    Ok(Trace {
        file: file.to_string(),
        format,
        time_scale,
        sha256: digest(&requests),
        requests: requests.into(),
    })
}

fn cannot_read(e: &std::io::Error) -> String {
    format!(
        "cannot read the trace: {e}; `trace:` is a path relative to the config folder \
         (the folder of workloads.yaml)"
    )
}

/// The rows of a trace's text, or each bad line (1-based) and why.
#[cfg(test)]
fn parse(text: &str, format: TraceFormat) -> Result<Vec<TraceRequest>, Vec<(usize, String)>> {
    parse_lines(text.lines().map(Ok), format)
}

/// [`parse`] over lines as they are read; a line that could not be read carries why.
fn parse_lines<S: AsRef<str>>(
    lines: impl Iterator<Item = Result<S, String>>,
    format: TraceFormat,
) -> Result<Vec<TraceRequest>, Vec<(usize, String)>> {
    let mut bad = Vec::new();
    let mut rows = Vec::new();
    let mut first_ms: Option<f64> = None;
    let mut last_ms = f64::NEG_INFINITY;
    let mut lines = lines.enumerate().map(|(i, l)| (i + 1, l));
    let columns = match format {
        TraceFormat::Jsonl => None,
        TraceFormat::Csv => match csv_header(&mut lines) {
            Ok(columns) => Some(columns),
            Err(problem) => return Err(vec![problem]),
        },
    };
    for (line, content) in lines {
        if bad.len() >= MAX_REPORTED {
            break;
        }
        let content = match &content {
            Ok(content) => content.as_ref(),
            Err(reason) => {
                bad.push((line, reason.clone()));
                continue;
            }
        };
        if content.trim().is_empty() {
            continue;
        }
        let row = match &columns {
            None => jsonl_row(content),
            Some(columns) => csv_row(content, columns),
        };
        let (at_ms, input, output) = match row {
            Ok(row) => row,
            Err(reason) => {
                bad.push((line, reason));
                continue;
            }
        };
        if let Err(reason) = check_row(at_ms, last_ms, input, output) {
            bad.push((line, reason));
            continue;
        }
        last_ms = at_ms;
        let first = *first_ms.get_or_insert(at_ms);
        rows.push(TraceRequest {
            // To the microsecond: CSV times are absolute (about 1.7e12 ms), where an
            // f64 difference carries noise below that.
            offset_ms: ((at_ms - first) * 1000.0).round() / 1000.0,
            input_tokens: input,
            output_tokens: output,
        });
    }
    if rows.is_empty() && bad.is_empty() {
        bad.push((1, "the trace has no requests".to_string()));
    }
    if bad.is_empty() {
        Ok(rows)
    } else {
        Err(bad)
    }
}

fn check_row(at_ms: f64, last_ms: f64, input: u32, output: u32) -> Result<(), String> {
    if !at_ms.is_finite() || at_ms < 0.0 {
        return Err(format!("the timestamp must be a time >= 0 (got {at_ms})"));
    }
    if at_ms < last_ms {
        return Err(format!(
            "the timestamp ({at_ms} ms) is earlier than the row before ({last_ms} ms); rows are \
             replayed in file order, so sort the trace by time first"
        ));
    }
    if input == 0 {
        return Err("the input length must be at least 1 token".into());
    }
    if output == 0 {
        return Err("the output length must be at least 1 token (it becomes `max_tokens`)".into());
    }
    Ok(())
}

/// Mooncake's keys; anything else on the line is ignored.
#[derive(Deserialize)]
struct JsonlRow {
    timestamp: f64,
    input_length: u32,
    output_length: u32,
}

fn jsonl_row(line: &str) -> Result<(f64, u32, u32), String> {
    let row: JsonlRow = serde_json::from_str(line).map_err(|e| {
        // serde's own position is within the line; the error names the line.
        let text = e.to_string();
        let e = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(m, _)| m);
        format!(
            "{e}; each line must be a JSON object with `timestamp` (ms), `input_length` and \
             `output_length` (whole numbers of tokens)"
        )
    })?;
    Ok((row.timestamp, row.input_length, row.output_length))
}

/// Where the three columns read are in each CSV row.
struct CsvColumns {
    timestamp: usize,
    input: usize,
    output: usize,
    width: usize,
}

const CSV_NAMES: [&str; 3] = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];

fn csv_header<S: AsRef<str>>(
    lines: &mut impl Iterator<Item = (usize, Result<S, String>)>,
) -> Result<CsvColumns, (usize, String)> {
    let (line, header) = loop {
        match lines.next() {
            None => return Err((1, "the trace has no header and no requests".into())),
            Some((line, Err(reason))) => return Err((line, reason)),
            Some((line, Ok(text))) if !text.as_ref().trim().is_empty() => break (line, text),
            Some(_) => {}
        }
    };
    let header = header.as_ref();
    let names: Vec<&str> = header
        .split(',')
        .map(|n| n.trim().trim_matches('"'))
        .collect();
    let find = |wanted: &str| names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
    match (find(CSV_NAMES[0]), find(CSV_NAMES[1]), find(CSV_NAMES[2])) {
        (Some(timestamp), Some(input), Some(output)) => Ok(CsvColumns {
            timestamp,
            input,
            output,
            width: names.len(),
        }),
        _ => Err((
            line,
            format!(
                "the header must name the columns {} (as Azure's LLM inference traces do); \
                 found {}",
                CSV_NAMES.join(", "),
                names.join(", ")
            ),
        )),
    }
}

fn csv_row(line: &str, columns: &CsvColumns) -> Result<(f64, u32, u32), String> {
    let fields: Vec<&str> = line
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    if fields.len() != columns.width {
        return Err(format!(
            "{} fields where the header has {}",
            fields.len(),
            columns.width
        ));
    }
    let count = |i: usize, name: &str| {
        fields[i].parse::<u32>().map_err(|_| {
            format!(
                "`{name}` must be a whole number of tokens (got `{}`)",
                fields[i]
            )
        })
    };
    let at_ms = csv_time_ms(fields[columns.timestamp])?;
    Ok((
        at_ms,
        count(columns.input, CSV_NAMES[1])?,
        count(columns.output, CSV_NAMES[2])?,
    ))
}

/// Azure's `2023-11-16 18:15:46.6805900` (as milliseconds since 1970; only
/// differences matter), or a plain number of seconds.
fn csv_time_ms(field: &str) -> Result<f64, String> {
    if let Ok(seconds) = field.parse::<f64>() {
        return Ok(seconds * 1000.0);
    }
    chrono::NaiveDateTime::parse_from_str(field, "%Y-%m-%d %H:%M:%S%.f")
        .map(|t| t.and_utc().timestamp_micros() as f64 / 1000.0)
        .map_err(|_| {
            format!(
                "`TIMESTAMP` must be a date and time such as `2023-11-16 18:15:46.6805900`, or \
                 seconds (got `{field}`)"
            )
        })
}

fn digest(rows: &[TraceRequest]) -> String {
    let mut hasher = Sha256::new();
    for r in rows {
        hasher.update(r.offset_ms.to_le_bytes());
        hasher.update(r.input_tokens.to_le_bytes());
        hasher.update(r.output_tokens.to_le_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The folder a workloads file's relative trace paths start from.
pub(super) fn base_dir(workloads_file: &Path) -> PathBuf {
    workloads_file
        .parent()
        .map_or_else(PathBuf::new, Path::to_path_buf)
}

#[cfg(test)]
mod tests;
