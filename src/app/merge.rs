//! `llm-bench merge OUT DIR...`: [`crate::merge`] writes the merged rows, then
//! everything a run writes after its last trial is written from them here, the
//! same way (`summary.json`, reports, chart data, baseline candidates).

use super::gate;
use crate::cli::MergeArgs;
use crate::options::UsageError;
use crate::{config, report};

use super::{outputs, EXIT_OK};

pub(super) fn merge_command(args: &MergeArgs) -> anyhow::Result<u8> {
    let MergeArgs {
        out,
        dirs,
        max_clock_uncertainty,
    } = args;
    let bound = config::parse_duration(max_clock_uncertainty).map_err(|e| {
        UsageError(format!(
            "--max-clock-uncertainty: {e} (examples: 5ms, 50ms)"
        ))
    })?;
    refuse_non_empty(out)?;
    let info = crate::merge::merge(out, dirs, bound)?;
    let (summary, series) = outputs::analyse_dir(out)?;
    outputs::write_outputs_with(out, &summary, &series, None)?;
    let (_, candidates) = gate::candidates_from_dir(out)?;
    gate::write_candidates(out, &candidates)?;
    println!("{}", report::console::table(&summary));
    match info.alignment.as_str() {
        "none" => eprintln!("merged {} shard folder(s): disjoint scenarios", dirs.len()),
        method => eprintln!(
            "merged {} folder(s); generators lined up on {method} clocks (uncertainty {:.3} ms), \
             trial starts up to {:.1} ms apart",
            dirs.len(),
            info.clock_uncertainty_ms,
            info.max_start_skew_ms
        ),
    }
    eprintln!("results: {}", out.display());
    Ok(EXIT_OK)
}

/// OUT must be new or empty, as `run --out`: files left there would be taken for
/// the merge's.
fn refuse_non_empty(out: &std::path::Path) -> Result<(), UsageError> {
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(UsageError(format!(
            "{} is not empty: files of an earlier run there would be taken for the merge's; pass a new folder",
            out.display()
        ))),
        _ if out.is_file() => Err(UsageError(format!(
            "{} is a file, not a folder; pass a new folder",
            out.display()
        ))),
        _ => Ok(()),
    }
}
