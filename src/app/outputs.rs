//! What a results folder's rows become on disk: `summary.json`, the rendered
//! reports, `chart_data.json` and `report.html` with a comparison's verdict.
//!
//! This is where the pipeline is wired: [`crate::results`] reads the rows, the
//! metrics module summarises them, [`crate::compare`] judges candidates built
//! from them and [`crate::report`] renders; none of those knows the others'
//! files.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::compare::baseline::Baseline;
use crate::compare::{self, verdict::Comparison, CandidateSamples, Judged};
use crate::metrics::summary::SummaryBuilder;
use crate::metrics::Summary;
use crate::report;
use crate::report::html::{self, BaselineView};
use crate::report::series::{self, RunSeries, ScenarioSeries, SeriesBuilder};
use crate::results::{
    for_each_row, for_each_telemetry, read_manifest, write_atomic, write_json_atomic, CHART_DATA,
    CHART_DATA_VERSION, REPORT_HTML, REQUESTS, SUMMARY, TELEMETRY,
};

/// The inputs the chart data is computed from, whose sizes it records.
const CHART_SOURCES: [&str; 2] = [REQUESTS, TELEMETRY];

/// Writes `summary.json` and every rendered report into `dir`; returns their paths.
///
/// The charts of `report.html` are rebuilt from `dir/requests.jsonl`, the same rows
/// `llm-bench report` reads later, so both render the same page.
pub fn write_outputs(dir: &Path, summary: &Summary) -> anyhow::Result<Vec<PathBuf>> {
    let series = series_dir(dir)?;
    write_outputs_with(dir, summary, &series, None)
}

/// [`write_outputs`] with chart data already built, and optionally a baseline
/// results folder (its label and chart data) to overlay. The chart data is saved
/// too ([`CHART_DATA`]), last, so it never sits beside a `summary.json` it was not
/// written with.
pub fn write_outputs_with(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    baseline_dir: Option<(&str, &RunSeries)>,
) -> anyhow::Result<Vec<PathBuf>> {
    remove_chart_data(dir)?;
    let mut written = vec![dir.join(SUMMARY)];
    write_json_atomic(&written[0], summary)?;
    for renderer in report::file_renderers() {
        let path = dir.join(renderer.file_name());
        write_atomic(&path, renderer.render(summary).as_bytes())?;
        written.push(path);
    }
    written.push(write_html(dir, summary, series, baseline_dir)?);
    written.extend(write_chart_data(dir, &summary.run.id, series)?);
    Ok(written)
}

/// `dir/chart_data.json` as written: the version, the run and the sizes of the
/// inputs, so a reader can tell the data still describes the folder.
#[derive(Debug, Serialize, Deserialize)]
struct ChartData<S> {
    version: u32,
    run_id: String,
    /// Byte length of each input ([`CHART_SOURCES`]) present when it was computed.
    sources: BTreeMap<String, u64>,
    scenarios: S,
}

/// The sizes of the chart data's inputs now.
fn chart_sources(dir: &Path) -> BTreeMap<String, u64> {
    CHART_SOURCES
        .iter()
        .filter_map(|name| Some((name.to_string(), fs::metadata(dir.join(name)).ok()?.len())))
        .collect()
}

fn remove_chart_data(dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(CHART_DATA);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove the stale {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Saves `series` as `dir/chart_data.json` (compact JSON, atomically) and returns
/// its path. Written only when it reads back to exactly `series` (a non-finite
/// number would not survive JSON), so a page drawn from it is the page drawn from
/// the rows; otherwise nothing is saved and readers use the rows.
pub fn write_chart_data(
    dir: &Path,
    run_id: &str,
    series: &RunSeries,
) -> anyhow::Result<Option<PathBuf>> {
    let path = dir.join(CHART_DATA);
    let data = ChartData {
        version: CHART_DATA_VERSION,
        run_id: run_id.to_string(),
        sources: chart_sources(dir),
        scenarios: &series.scenarios,
    };
    let mut bytes = serde_json::to_vec(&data)?;
    let back = serde_json::from_slice::<ChartData<Vec<ScenarioSeries>>>(&bytes);
    if !back.is_ok_and(|b| b.scenarios == series.scenarios) {
        remove_chart_data(dir)?;
        eprintln!(
            "warning: the chart data does not survive JSON; {} not written (report.html is redrawn from {REQUESTS} instead)",
            path.display()
        );
        return Ok(None);
    }
    bytes.push(b'\n');
    write_atomic(&path, &bytes)?;
    Ok(Some(path))
}

/// `dir/chart_data.json` when it describes the folder as it is: the same run and
/// inputs of the same sizes (an input may have been deleted since, e.g.
/// `requests.jsonl` to save space). `None` when it is absent (results of an older
/// version), unreadable or stale, which is said on stderr; callers then use the
/// rows.
pub fn read_chart_data(dir: &Path, run_id: &str) -> Option<RunSeries> {
    let path = dir.join(CHART_DATA);
    let bytes = fs::read(&path).ok()?;
    let why = match serde_json::from_slice::<ChartData<Vec<ScenarioSeries>>>(&bytes) {
        Err(e) => format!("unreadable ({e})"),
        Ok(d) if d.version != CHART_DATA_VERSION => format!(
            "of version {} (this llm-bench reads {CHART_DATA_VERSION})",
            d.version
        ),
        Ok(d) if d.run_id != run_id => format!("of run {}, not {run_id}", d.run_id),
        Ok(d) => {
            let now = chart_sources(dir);
            let changed: Vec<&str> = now
                .iter()
                .filter(|(name, len)| d.sources.get(*name) != Some(len))
                .map(|(name, _)| name.as_str())
                .collect();
            if changed.is_empty() {
                return Some(RunSeries {
                    scenarios: d.scenarios,
                });
            }
            format!("older than {}", changed.join(" and "))
        }
    };
    eprintln!(
        "note: {} is {why}; the charts are rebuilt from {REQUESTS}",
        path.display()
    );
    None
}

/// What `report.html` needs: `summary.json` and the saved chart data when both are
/// there and current, else both rebuilt from the rows ([`analyse_dir`]); `None`
/// when the folder has neither (nothing to draw).
pub fn report_data(dir: &Path) -> anyhow::Result<Option<(Summary, RunSeries)>> {
    let saved = fs::read(dir.join(SUMMARY))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok())
        .and_then(|summary| Some((read_chart_data(dir, &summary.run.id)?, summary)));
    if let Some((series, summary)) = saved {
        return Ok(Some((summary, series)));
    }
    if dir.join(REQUESTS).is_file() {
        return analyse_dir(dir).map(Some);
    }
    Ok(None)
}

/// The chart data of a results folder: saved, or rebuilt from its rows.
pub fn series_of(dir: &Path) -> anyhow::Result<RunSeries> {
    let manifest = read_manifest(dir)?;
    match read_chart_data(dir, &manifest.run.id) {
        Some(series) => Ok(series),
        None => series_dir(dir),
    }
}

/// The chart data and the candidate baselines of a run that just ended, from one
/// pass over its rows. `summary` is the run's own (from the rows as they were
/// recorded); the candidates' statistics come from it, so the rows are not
/// summarised twice.
pub fn analyse_after_run(
    dir: &Path,
    summary: &Summary,
) -> anyhow::Result<(RunSeries, Vec<Baseline>)> {
    let mut series = SeriesBuilder::new(&read_manifest(dir)?);
    let mut samples = CandidateSamples::default();
    for_each_row(dir, |row| {
        series.add(row);
        samples.add(row);
    })?;
    for_each_telemetry(dir, |record| series.add_telemetry(record))?;
    let candidates = if samples.matches(summary) {
        samples.finish(summary)
    } else {
        // A trial with client health but no row: pair trials the way a summary
        // of the rows alone does.
        drop(samples);
        super::gate::candidates_from_dir(dir)?.1
    };
    Ok((series.finish(), candidates))
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
    render_html(dir, summary, series, view.as_ref())
}

/// Writes `report.html` with a comparison just made (the `comparison.json` it
/// wrote) and the curves of the baselines it read ([`baseline_curves`]), without
/// reading either again.
pub fn write_html_judged(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    judged: &Judged<ScenarioSeries>,
) -> anyhow::Result<PathBuf> {
    let overlay = RunSeries {
        scenarios: judged.overlay.clone(),
    };
    let view = BaselineView {
        label: judged.comparison.baseline_dir.clone(),
        series: Some(&overlay),
        verdict: Some(html::Verdict::of(&judged.comparison)),
    };
    render_html(dir, summary, series, Some(&view))
}

/// What `report.html` overlays of a baseline: its latency CDFs; the
/// [`compare::Overlay`] that [`super::gate::gate`] is given.
pub fn baseline_curves(baseline: &Baseline) -> Vec<ScenarioSeries> {
    series::from_baselines(std::slice::from_ref(baseline)).scenarios
}

fn render_html(
    dir: &Path,
    summary: &Summary,
    series: &RunSeries,
    view: Option<&BaselineView<'_>>,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(REPORT_HTML);
    write_atomic(&path, html::render(summary, series, view).as_bytes())?;
    Ok(path)
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

#[cfg(test)]
mod tests;
