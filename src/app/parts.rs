//! `run --shard I/N` and `run --generator I/N`: narrows a validated run to this
//! machine's part and says so in `run.json` (see [`crate::split`]).

use crate::cli::RunArgs;
use crate::manifest::Distribution;
use crate::options::{RunOptions, UsageError};
use crate::split;

/// Applies `--shard` and `--generator` to `options`; returns what `run.json`
/// records of them, with the wall-clock anchor read now.
pub(super) fn narrow(args: &RunArgs, options: &mut RunOptions) -> Result<Distribution, UsageError> {
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
                } => format!(", at most {cap} in flight"),
                crate::workload::LoadPlan::Open { .. } => String::new(),
            };
            eprintln!(
                "generator {part}: scenario `{}`: {sends}{limit}",
                plan.spec.name
            );
        }
    }
    Ok(Distribution {
        shard,
        generator,
        clock: crate::clock::ClockAnchor::read(),
        merged: None,
    })
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
