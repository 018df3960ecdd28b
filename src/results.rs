//! The results folder: `run.json`, `requests.jsonl`, `summary.json` and the rendered
//! reports. Everything a later command (`report`, `compare`) reads is read here.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::Summary;
use crate::record::RequestRow;
use crate::report;
use crate::report::html::{self, BaselineView};
use crate::report::series::{RunSeries, SeriesBuilder};

pub const MANIFEST: &str = "run.json";
pub const REQUESTS: &str = "requests.jsonl";
pub const SUMMARY: &str = "summary.json";
pub const REPORT_HTML: &str = html::FILE_NAME;

/// Writes `value` as pretty JSON through a temporary file and a rename, so a reader
/// never sees half a file.
pub fn write_json_atomic(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes `summary.json` and every rendered report into `dir`; returns their paths.
///
/// The charts of `report.html` are rebuilt from `dir/requests.jsonl`, the same rows
/// `llm-bench report` reads later, so both render the same page.
pub fn write_outputs(dir: &Path, summary: &Summary) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = read_manifest(dir)?;
    let mut series = SeriesBuilder::new(&manifest);
    for_each_row(dir, |row| series.add(row))?;
    write_outputs_with(dir, summary, &series.finish(), None)
}

/// [`write_outputs`] with chart data already built, and optionally a baseline.
pub fn write_outputs_with(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    baseline: Option<&BaselineView<'_>>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = vec![dir.join(SUMMARY)];
    write_json_atomic(&written[0], summary)?;
    for renderer in report::file_renderers() {
        let path = dir.join(renderer.file_name());
        write_atomic(&path, renderer.render(summary).as_bytes())?;
        written.push(path);
    }
    let path = dir.join(REPORT_HTML);
    write_atomic(&path, html::render(summary, series, baseline).as_bytes())?;
    written.push(path);
    Ok(written)
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
    Ok((summary.finish(), series.finish()))
}

/// Calls `f` with every row of `dir/requests.jsonl`; unreadable rows are skipped
/// with a warning.
fn for_each_row(dir: &Path, mut f: impl FnMut(&RequestRow)) -> anyhow::Result<()> {
    let path = dir.join(REQUESTS);
    let file = fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RequestRow>(&line) {
            Ok(row) => f(&row),
            Err(e) => eprintln!(
                "warning: {}:{}: skipped an unreadable row: {e}",
                path.display(),
                n + 1
            ),
        }
    }
    Ok(())
}
