//! The results folder at the bottom: its file names, atomic writes (through the
//! redactor), and reading `run.json`, `requests.jsonl` and `telemetry.jsonl`.
//!
//! It knows no summary, comparison or report: what is computed from the rows and
//! written back (summary, chart data, rendered reports) is wired by
//! [`crate::app::outputs`], so every module may write here without a cycle.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write as _};
use std::path::Path;

use anyhow::Context;

mod dedup;

use crate::manifest::Manifest;
use crate::record::RequestRow;
use crate::telemetry::TelemetryRecord;
use crate::write_error::WriteContext;

pub const MANIFEST: &str = "run.json";
pub const REQUESTS: &str = "requests.jsonl";
pub const SUMMARY: &str = "summary.json";
/// GPU samples and metrics scrapes, one [`TelemetryRecord`] per line.
pub const TELEMETRY: &str = "telemetry.jsonl";
pub const REPORT_HTML: &str = "report.html";
/// A run's capacity searches (`schemas/capacity.schema.json`), written by `llm-bench run`.
pub const CAPACITY_FILE: &str = "capacity.json";
/// What `report.html` draws that `summary.json` does not hold (CDFs, ITL histogram,
/// time series: `RunSeries`), saved when a run's reports are written so
/// `compare` redraws the page without reading `requests.jsonl`. A few hundred
/// points per chart, so its size does not grow with the run.
pub const CHART_DATA: &str = "chart_data.json";
/// Layout (and meaning) of [`CHART_DATA`]; a file of another version is not used.
pub const CHART_DATA_VERSION: u32 = 1;

/// Writes `value` as pretty JSON through a temporary file and a rename, so a reader
/// never sees half a file.
pub fn write_json_atomic(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |out| out.write_all(bytes))
}

/// Writes a file as `write` produces it, through a temporary file and a rename,
/// so a reader never sees half a file and a large one is never held in memory.
/// On an error the temporary file is removed and `path` is left as it was.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    // Every result file passes the redactor: a server's words quoted in a report
    // may carry the key it was sent.
    let redactor = crate::redact::global();
    let written = fs::File::create(&tmp).and_then(|file| {
        let mut out = redactor.writer(BufWriter::with_capacity(1 << 16, file));
        write(&mut out)?;
        out.finish()?.flush()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).writing(&tmp).map_err(Into::into);
    }
    fs::rename(&tmp, path).writing(path).map_err(Into::into)
}

pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run manifest", path.display()))
}
/// Starts `dir/telemetry.jsonl` empty (a reused results folder keeps no stale
/// samples); removes it when nothing will be sampled.
pub fn start_telemetry(dir: &Path, active: bool) -> anyhow::Result<()> {
    let path = dir.join(TELEMETRY);
    if active {
        Ok(fs::write(&path, b"").writing(&path)?)
    } else {
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("cannot remove the stale {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Appends one trial's records to `dir/telemetry.jsonl`, as soon as the trial ends,
/// so an interrupted run keeps the telemetry of the trials it finished.
pub fn append_telemetry(dir: &Path, records: &[TelemetryRecord]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let path = dir.join(TELEMETRY);
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.push(b'\n');
    }
    let out = crate::redact::global().redact_bytes(&out).into_owned();
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&out))
        .writing(&path)?;
    Ok(())
}

/// Calls `f` with every record of `dir/telemetry.jsonl` (absent in runs without
/// telemetry and in runs from older versions); unreadable lines are skipped with a
/// warning.
pub fn for_each_telemetry(dir: &Path, mut f: impl FnMut(&TelemetryRecord)) -> anyhow::Result<()> {
    let path = dir.join(TELEMETRY);
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<TelemetryRecord>(&line) {
            Ok(record) => f(&record),
            Err(e) => eprintln!(
                "warning: {}:{}: skipped an unreadable line: {e}",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(())
}

/// Rows parsed ahead of the caller, per message between the two threads.
const ROW_BATCH: usize = 256;

/// Calls `f` with every row of `dir/requests.jsonl`, in file order; unreadable rows
/// and repeats of an earlier row (same scenario, trial and index) are skipped with a
/// warning.
///
/// Parsing is about half the cost of a pass over a large file, so a second thread
/// reads and parses while this one runs `f`; rows and warnings reach this thread
/// in file order, so what `f` sees and what is printed do not change. Used batches
/// go back to the parser to be dropped there: freeing memory another thread
/// allocated is slow.
pub fn for_each_row(dir: &Path, mut f: impl FnMut(&RequestRow)) -> anyhow::Result<()> {
    type Batch = Vec<Result<RequestRow, String>>;
    let path = dir.join(REQUESTS);
    let file = fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let path = path.as_path();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(8);
        let (used_tx, used_rx) = std::sync::mpsc::channel::<Batch>();
        let parser = scope.spawn(move || -> anyhow::Result<()> {
            let mut batch = Vec::with_capacity(ROW_BATCH);
            for (n, line) in BufReader::new(file).lines().enumerate() {
                let line = match line {
                    Ok(line) => line,
                    Err(e) => {
                        // The rows before the error still reach `f`, as they did.
                        let _ = tx.send(batch);
                        return Err(e).with_context(|| format!("cannot read {}", path.display()));
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                batch.push(serde_json::from_str::<RequestRow>(&line).map_err(|e| {
                    format!(
                        "warning: {}:{}: skipped an unreadable row: {e}",
                        path.display(),
                        n + 1
                    )
                }));
                if batch.len() == ROW_BATCH {
                    let next = match used_rx.try_recv() {
                        Ok(mut used) => {
                            used.clear();
                            used
                        }
                        Err(_) => Vec::with_capacity(ROW_BATCH),
                    };
                    if tx.send(std::mem::replace(&mut batch, next)).is_err() {
                        return Ok(());
                    }
                }
            }
            let _ = tx.send(batch);
            Ok(())
        });
        let mut seen = dedup::SeenRows::default();
        for batch in rx {
            for row in &batch {
                match row {
                    Ok(row) if seen.first(row) => f(row),
                    Ok(_) => {}
                    Err(warning) => eprintln!("{warning}"),
                }
            }
            let _ = used_tx.send(batch);
        }
        if let Some(warning) = seen.warning(path) {
            eprintln!("{warning}");
        }
        parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows reach `f` in file order across many batches; blank and unreadable lines
    /// (a torn last line) are skipped; a missing file is an error.
    #[test]
    fn rows_arrive_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let row = |i: usize| {
            format!(
                r#"{{"scenario":"s","trial":{},"index":{i},"warmup":false,"ok":true,"scheduled_ms":0.0,"start_ms":0.0,"end_ms":1.5,"send_lag_ms":0.0,"e2e_ms":1.5,"response_e2e_ms":1.5,"itl_ms":[0.5,{i}.25],"output_tokens":3,"chunks":3,"token_source":"usage","in_flight":1}}"#,
                i % 3
            )
        };
        let n = ROW_BATCH * 3 + 17;
        let mut text = String::new();
        for i in 0..n {
            text.push_str(&row(i));
            text.push('\n');
            if i == 5 {
                text.push_str("\n{not a row}\n");
            }
        }
        text.push_str(&row(n)[..40]);
        std::fs::write(dir.path().join(REQUESTS), text).unwrap();
        let mut seen = Vec::new();
        for_each_row(dir.path(), |r| {
            seen.push((r.index, r.trial, r.itl_ms[1]));
        })
        .unwrap();
        let expected: Vec<(u64, u32, f64)> = (0..n)
            .map(|i| (i as u64, (i % 3) as u32, i as f64 + 0.25))
            .collect();
        assert_eq!(seen, expected);
        assert!(for_each_row(&dir.path().join("missing"), |_| {}).is_err());
    }
}
