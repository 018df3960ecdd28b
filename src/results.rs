//! The results folder: `run.json`, `requests.jsonl`, `summary.json` and the rendered
//! reports. Everything a later command (`report`, `compare`) reads is read here.

use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::compare::{self, verdict::Comparison};
use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::Summary;
use crate::record::RequestRow;
use crate::report;
use crate::report::html::{self, BaselineView};
use crate::report::series::{self, RunSeries, SeriesBuilder};
use crate::telemetry::TelemetryRecord;

pub const MANIFEST: &str = "run.json";
pub const REQUESTS: &str = "requests.jsonl";
pub const SUMMARY: &str = "summary.json";
/// GPU samples and metrics scrapes, one [`TelemetryRecord`] per line.
pub const TELEMETRY: &str = "telemetry.jsonl";
pub const REPORT_HTML: &str = html::FILE_NAME;

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
    let written = fs::File::create(&tmp).and_then(|file| {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        write(&mut out)?;
        out.flush()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `summary.json` and every rendered report into `dir`; returns their paths.
///
/// The charts of `report.html` are rebuilt from `dir/requests.jsonl`, the same rows
/// `llm-bench report` reads later, so both render the same page.
pub fn write_outputs(dir: &Path, summary: &Summary) -> anyhow::Result<Vec<PathBuf>> {
    let series = series_dir(dir)?;
    write_outputs_with(dir, summary, &series, None)
}

/// [`write_outputs`] with chart data already built, and optionally a baseline
/// results folder (its label and chart data) to overlay.
pub fn write_outputs_with(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    baseline_dir: Option<(&str, &RunSeries)>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = vec![dir.join(SUMMARY)];
    write_json_atomic(&written[0], summary)?;
    for renderer in report::file_renderers() {
        let path = dir.join(renderer.file_name());
        write_atomic(&path, renderer.render(summary).as_bytes())?;
        written.push(path);
    }
    written.push(write_html(dir, summary, series, baseline_dir)?);
    Ok(written)
}

/// Writes `report.html`. When `dir` holds a `comparison.json` (from `run --compare`
/// or `compare`), the page shows its verdict and overlays the latency CDFs of the
/// baselines it names; a baseline results folder, when given, is overlaid instead.
pub fn write_html(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    baseline_dir: Option<(&str, &RunSeries)>,
) -> anyhow::Result<PathBuf> {
    let comparison = read_comparison(dir);
    let verdict = comparison.as_ref().map(|(c, _)| html::Verdict::of(c));
    let view = match (baseline_dir, &comparison) {
        (Some((label, series)), _) => Some(BaselineView {
            label: label.to_string(),
            series: Some(series),
            verdict,
        }),
        (None, Some((c, series))) => Some(BaselineView {
            label: c.baseline_dir.clone(),
            series: Some(series),
            verdict,
        }),
        (None, None) => None,
    };
    let path = dir.join(REPORT_HTML);
    write_atomic(
        &path,
        html::render(summary, series, view.as_ref()).as_bytes(),
    )?;
    Ok(path)
}

/// Rewrites `report.html` after a comparison was written, so it shows the verdict.
pub fn refresh_html(dir: &Path, summary: &Summary) -> anyhow::Result<PathBuf> {
    let series = series_dir(dir)?;
    write_html(dir, summary, &series, None)
}

/// `dir/comparison.json` and the chart data of the baselines it names; `None`
/// without one. A baseline file that has moved since is left out of the overlay.
fn read_comparison(dir: &Path) -> Option<(Comparison, RunSeries)> {
    let path = dir.join(compare::COMPARISON_JSON);
    let text = fs::read_to_string(&path).ok()?;
    let comparison: Comparison = match serde_json::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "warning: {}: not a comparison ({e}); report.html shows no verdict",
                path.display()
            );
            return None;
        }
    };
    let baselines: Vec<_> = comparison
        .scenarios
        .iter()
        .filter_map(|s| {
            compare::baseline::read(Path::new(&s.baseline_path))
                .ok()
                .flatten()
        })
        .collect();
    let series = series::from_baselines(&baselines);
    Some((comparison, series))
}

/// Chart data of a results folder.
pub fn series_dir(dir: &Path) -> anyhow::Result<RunSeries> {
    let mut series = SeriesBuilder::new(&read_manifest(dir)?);
    for_each_row(dir, |row| series.add(row))?;
    for_each_telemetry(dir, |record| series.add_telemetry(record))?;
    Ok(series.finish())
}

pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run manifest", path.display()))
}

/// Rebuilds the summary of a finished (or interrupted) run from its files alone.
/// A torn last line, as a crash may leave, is skipped with a warning.
pub fn summarise_dir(dir: &Path) -> anyhow::Result<Summary> {
    let mut builder = SummaryBuilder::new(read_manifest(dir)?);
    for_each_row(dir, |row| builder.add(row))?;
    add_client_health(dir, &mut builder);
    for_each_telemetry(dir, |record| builder.add_telemetry(record))?;
    Ok(builder.finish())
}

/// The summary and the chart data of a run, in one pass over `requests.jsonl`.
pub fn analyse_dir(dir: &Path) -> anyhow::Result<(Summary, RunSeries)> {
    let manifest = read_manifest(dir)?;
    let mut series = SeriesBuilder::new(&manifest);
    let mut summary = SummaryBuilder::new(manifest);
    for_each_row(dir, |row| {
        summary.add(row);
        series.add(row);
    })?;
    add_client_health(dir, &mut summary);
    for_each_telemetry(dir, |record| {
        summary.add_telemetry(record);
        series.add_telemetry(record);
    })?;
    Ok((summary.finish(), series.finish()))
}

/// Feeds `dir/client_health.jsonl` (absent in runs from older versions) into the
/// summary; unreadable lines are skipped with a warning.
fn add_client_health(dir: &Path, builder: &mut SummaryBuilder) {
    let path = dir.join(crate::runner::sink::HEALTH_FILE);
    let Ok(text) = fs::read_to_string(&path) else {
        return;
    };
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<crate::runner::sink::TrialHealth>(line) {
            Ok(h) => builder.add_health(&h.scenario, h.trial, h.health),
            Err(e) => eprintln!(
                "warning: {}:{}: skipped an unreadable line: {e}",
                path.display(),
                n + 1
            ),
        }
    }
}

/// Starts `dir/telemetry.jsonl` empty (a reused results folder keeps no stale
/// samples); removes it when nothing will be sampled.
pub fn start_telemetry(dir: &Path, active: bool) -> anyhow::Result<()> {
    let path = dir.join(TELEMETRY);
    if active {
        fs::write(&path, b"").with_context(|| format!("cannot create {}", path.display()))
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
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(&out))
        .with_context(|| format!("cannot write {}", path.display()))
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
/// are skipped with a warning.
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
        for batch in rx {
            for row in &batch {
                match row {
                    Ok(row) => f(row),
                    Err(warning) => eprintln!("{warning}"),
                }
            }
            let _ = used_tx.send(batch);
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
