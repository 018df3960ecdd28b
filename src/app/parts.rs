//! `run --shard I/N` and `run --generator I/N`: narrows a validated run to this
//! machine's part and says so in `run.json` (see [`crate::split`]).

use crate::cli::RunArgs;
use crate::manifest::Distribution;
use crate::options::{RunOptions, UsageError};
use crate::split;

/// This machine's part of a split run.
pub(super) struct Narrowed {
    /// What `run.json` records.
    pub distribution: Distribution,
    /// `--start-at`: when the first trial starts.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Applies `--shard` and `--generator` to `options`; returns what `run.json`
/// records of them, with the wall-clock anchor read now, and `--start-at`.
pub(super) fn narrow(args: &RunArgs, options: &mut RunOptions) -> Result<Narrowed, UsageError> {
    let start_at = args.start_at.as_deref().map(parse_start_at).transpose()?;
    let shard = args
        .shard
        .as_deref()
        .map(|text| split::parse_part("--shard", text))
        .transpose()?;
    let generator = args
        .generator
        .as_deref()
        .map(|text| split::parse_part("--generator", text))
        .transpose()?;
    if let Some(part) = shard {
        let scenarios = std::mem::take(&mut options.scenarios);
        options.scenarios = split::shard(scenarios, part)?;
        let names: Vec<&str> = options
            .scenarios
            .iter()
            .map(|(plan, _)| plan.spec.name.as_str())
            .collect();
        eprintln!("shard {part}: {}", names.join(", "));
    }
    if let Some(part) = generator {
        split::generator_plans(&mut options.scenarios, part)?;
        for (plan, _) in &options.scenarios {
            let sends = plan
                .total_requests
                .map(|n| format!("{} of {n} requests", split::requests_of(n, part)))
                .unwrap_or_else(|| format!("1 request in {}", part.count));
            let limit = match &plan.load {
                crate::workload::LoadPlan::Closed { concurrency } => {
                    format!(", {concurrency} in flight")
                }
                crate::workload::LoadPlan::Open {
                    max_concurrency: Some(cap),
                    ..
                }
                | crate::workload::LoadPlan::Trace {
                    max_concurrency: Some(cap),
                    ..
                } => format!(", at most {cap} in flight"),
                crate::workload::LoadPlan::Open { .. }
                | crate::workload::LoadPlan::Trace { .. } => String::new(),
            };
            eprintln!(
                "generator {part}: scenario `{}`: {sends}{limit}",
                plan.spec.name
            );
        }
    }
    Ok(Narrowed {
        distribution: Distribution {
            shard,
            generator,
            clock: crate::clock::ClockAnchor::read(),
            merged: None,
        },
        start_at,
    })
}

/// `--start-at TIME`: RFC 3339, at most a day ahead (further is a typo).
fn parse_start_at(text: &str) -> Result<chrono::DateTime<chrono::Utc>, UsageError> {
    let at = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| {
            UsageError(format!(
                "--start-at {text}: {e}; write an RFC 3339 time such as 2026-12-03T22:30:00Z"
            ))
        })?
        .with_timezone(&chrono::Utc);
    if at - chrono::Utc::now() > chrono::TimeDelta::days(1) {
        return Err(UsageError(format!(
            "--start-at {text} is more than a day ahead; pass the time the generators should start together"
        )));
    }
    Ok(at)
}

/// `at` on the wall clock as an instant of the monotonic clock (the timer's), and
/// how long from now; a time past is a warning and starts now.
pub(super) fn start_instant(at: chrono::DateTime<chrono::Utc>) -> std::time::Instant {
    let now = std::time::Instant::now();
    match (at - chrono::Utc::now()).to_std() {
        Ok(wait) => {
            eprintln!(
                "the first trial starts at {} (--start-at), in {:.1} s",
                at.to_rfc3339(),
                wait.as_secs_f64()
            );
            now + wait
        }
        Err(_) => {
            eprintln!(
                "warning: --start-at {} has passed; starting now",
                at.to_rfc3339()
            );
            now
        }
    }
}

/// The run id's suffix that keeps the parts' folders apart: `-shard2of3`,
/// `-gen1of2`.
pub(super) fn run_id_suffix(distribution: &Distribution) -> String {
    let mut out = String::new();
    if let Some(p) = distribution.shard {
        out.push_str(&format!("-shard{}of{}", p.index, p.count));
    }
    if let Some(p) = distribution.generator {
        out.push_str(&format!("-gen{}of{}", p.index, p.count));
    }
    out
}
