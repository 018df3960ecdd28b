//! After the last trial of `llm-bench run`: `run.json`'s end, the summary and
//! reports, the candidate baselines, and the exit code (a stop's, the run's
//! health, or the gate's verdict).

use std::path::Path;

use super::super::gate::{self, GateOptions};
use super::super::health::health_verdict;
use super::super::outputs;
use super::super::{bless_context, outcome_code, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED};
use super::trials::Ran;
use crate::live::LiveRun;
use crate::manifest::Manifest;
use crate::metrics::summary::SummaryBuilder;
use crate::runner::sink::Closed;
use crate::runner::StopCause;
use crate::{report, results};

/// Ends the run whose sink closed as `closed`, stopped by `stopped_by` if at all,
/// and returns its exit code.
pub(super) fn finish(
    stopped_by: Option<StopCause>,
    closed: Closed,
    ran: Ran,
    out_dir: &Path,
    manifest: Manifest,
    live_run: Option<&LiveRun>,
    gate: &GateOptions,
) -> anyhow::Result<u8> {
    let Ran {
        final_specs,
        searches,
        telemetry_records,
        telemetry_failure,
    } = ran;
    let mut builder = closed.summary;
    let meta = builder.run_meta_mut();
    meta.ended_at = Some(chrono::Utc::now().to_rfc3339());
    meta.interrupted = stopped_by.is_some();
    meta.interrupted_by = stopped_by.map(|c| c.name().to_string());
    if let Some(failure) = closed
        .failure
        .map(anyhow::Error::from)
        .or(telemetry_failure)
    {
        return Err(stopped_on_write_failure(
            failure, out_dir, manifest, builder,
        ));
    }
    for record in &telemetry_records {
        builder.add_telemetry(record);
    }
    let mut summary = builder.finish();
    let manifest = Manifest {
        scenarios: final_specs,
        ..manifest
    };
    if !searches.is_empty() {
        // The steps were not in the manifest the sink summarised with: summarise
        // again from the files, with run.json listing them.
        results::write_json_atomic(
            &out_dir.join(results::MANIFEST),
            &Manifest {
                run: summary.run.clone(),
                ..manifest.clone()
            },
        )?;
        summary = outputs::summarise_dir(out_dir)?;
        super::super::capacity::write(out_dir, &searches)?;
    }
    if let Some(live) = live_run {
        live.summarise(&summary);
    }
    results::write_json_atomic(
        &out_dir.join(results::MANIFEST),
        &Manifest {
            run: summary.run.clone(),
            ..manifest
        },
    )?;
    // One pass over the rows for the charts and the candidate baselines.
    let (series, candidates) = outputs::analyse_after_run(out_dir, &summary)?;
    outputs::write_outputs_with(out_dir, &summary, &series, None)?;
    println!("{}", report::console::table(&summary));
    eprintln!("results: {}", out_dir.display());
    gate::write_candidates(out_dir, &candidates)?;
    let manifest = results::read_manifest(out_dir)?;
    if let Some(cause) = stopped_by {
        eprintln!("{}: partial results written", cause.name());
        return Ok(match cause {
            StopCause::Terminate => EXIT_TERMINATED,
            _ => EXIT_INTERRUPTED,
        });
    }
    let health = health_verdict(&summary, out_dir);
    if !gate.compare && gate.bless.is_none() {
        return Ok(health);
    }
    let judged = gate::gate(
        out_dir,
        gate,
        &bless_context(),
        &candidates,
        &manifest,
        &outputs::baseline_curves,
    )?;
    if let Some(judged) = &judged {
        // report.html was written before the comparison existed; now show its verdict.
        outputs::write_html_judged(out_dir, &summary, &series, judged)?;
    }
    Ok(if health == EXIT_OK {
        outcome_code(judged.map(|j| j.comparison.outcome))
    } else {
        health
    })
}

/// After the first failed write nothing more is written but `run.json`'s end
/// (best effort): the rows on disk are whole, and `llm-bench report` rebuilds the
/// reports from them once there is room.
fn stopped_on_write_failure(
    failure: anyhow::Error,
    out_dir: &Path,
    manifest: Manifest,
    mut builder: SummaryBuilder,
) -> anyhow::Error {
    let run = builder.run_meta_mut().clone();
    let _ = results::write_json_atomic(
        &out_dir.join(results::MANIFEST),
        &Manifest { run, ..manifest },
    );
    eprintln!(
        "the run stopped at the first failed write; the whole rows before it are in {}, and \
         `llm-bench report {}` rebuilds the reports from them once the folder is writable",
        out_dir.join(results::REQUESTS).display(),
        out_dir.display()
    );
    failure
}
