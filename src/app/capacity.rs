//! A `capacity:` scenario in `llm-bench run`: its steps, what each attained, and
//! the result.
//!
//! Each step is an ordinary one-trial scenario named `<scenario>.r<rate>` (as a
//! `rate:` sweep names its points), or `<scenario>.c<concurrency>` when a closed
//! loop's concurrency is searched, so its rows, summary, charts and the
//! HTML report's load-sweep section (goodput against load) are those of any
//! scenario. The steps are only known as the search goes, so `run.json` lists
//! them once the run ends, in place of the scenario they came from, and
//! `capacity.json` holds the search: every step, the highest rate meeting the SLO
//! and its bracket.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compare::capacity::CapacityResult;
use crate::manifest::{LoadSpec, Manifest, ScenarioSpec};
use crate::metrics::summary::SummaryBuilder;
use crate::results;
use crate::usage_error::UsageError;
use crate::workload::capacity::{Capacity, Knob, SearchSettings, StepVerdict, Stopped};
use crate::workload::{LoadPlan, ScenarioPlan};

pub use crate::results::CAPACITY_FILE;

/// The plan of one step: `plan` at `value` (a rate, or a concurrency for a
/// closed loop), one trial, named after it (`<scenario>.r<rate>`,
/// `<scenario>.c<concurrency>`).
pub fn step_plan(plan: &ScenarioPlan, value: f64) -> ScenarioPlan {
    let mut step = plan.clone();
    step.spec.trials = 1;
    step.spec.max_trials = None;
    let rate = round_rate(value);
    let concurrency = value.round().clamp(1.0, f64::from(u32::MAX)) as u32;
    step.spec.name = match step.spec.load {
        LoadSpec::Closed { .. } => format!("{}.c{concurrency}", plan.spec.name),
        _ => format!("{}.r{rate}", plan.spec.name),
    };
    match &mut step.spec.load {
        LoadSpec::Open { rate: r, .. } => *r = rate,
        LoadSpec::Closed { concurrency: c } => *c = concurrency,
        _ => {}
    }
    match &mut step.load {
        LoadPlan::Open { rate: r, .. } => *r = rate,
        LoadPlan::Closed { concurrency: c } => *c = concurrency,
        _ => {}
    }
    step.capacity = None;
    step
}

/// The load a step ran at: its rate, or its concurrency.
pub fn step_value(step: &ScenarioSpec) -> f64 {
    match step.load {
        LoadSpec::Closed { concurrency } => f64::from(concurrency),
        _ => step.load.target_rate().unwrap_or(0.0),
    }
}

/// Rates to three significant digits: names stay short, and the search's
/// tolerance is far coarser.
pub fn round_rate(rate: f64) -> f64 {
    if !(rate.is_finite() && rate > 0.0) {
        return rate;
    }
    let scale = 10f64.powi(2 - rate.log10().floor() as i32);
    (rate * scale).round() / scale
}

/// Measured requests of `step` that met its SLO, and all measured requests, from
/// the rows on disk (flushed first by the caller): the summary's own goodput.
pub fn attained(
    dir: &Path,
    manifest: &Manifest,
    step: &ScenarioSpec,
) -> anyhow::Result<(u64, u64)> {
    let mut builder = SummaryBuilder::new(Manifest {
        scenarios: vec![step.clone()],
        ..manifest.clone()
    });
    results::for_each_row(dir, |row| {
        if row.scenario == step.name {
            builder.add(row);
        }
    })?;
    let summary = builder.finish();
    let Some(s) = summary.scenarios.first() else {
        return Ok((0, 0));
    };
    let measured = s.metrics.requests.succeeded + s.metrics.requests.failed;
    let good = s.metrics.goodput.as_ref().map_or(0, |g| g.requests);
    Ok((good, measured))
}

/// A warning for a step too small to tell even a perfect result from `attain`.
pub fn small_step_note(step: &str, measured: u64, attain: f64) -> Option<String> {
    let needed = crate::workload::capacity::min_requests(attain);
    (measured < needed).then(|| {
        format!(
            "warning: step `{step}` measured {measured} requests; at least {needed} are needed \
             to tell a step where every request met the SLO from {:.0}%, so the search \
             cannot narrow its bracket reliably (raise `requests` or `duration`)",
            attain * 100.0
        )
    })
}

/// One search as written to [`CAPACITY_FILE`].
#[derive(Debug, Serialize)]
pub struct SearchReport {
    pub scenario: String,
    /// What the search moves: `rate` (requests per second) or `concurrency`; the
    /// rates below are in its unit.
    pub knob: &'static str,
    pub attain: f64,
    /// The highest rate meeting the SLO (requests per second); absent when no
    /// step did.
    pub capacity_rate: Option<f64>,
    /// Highest rate that passed; lowest that failed: the uncertainty.
    pub lower_rate: Option<f64>,
    pub upper_rate: Option<f64>,
    /// `converged`, `indistinguishable` or `max_steps`.
    pub stopped: &'static str,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    pub scenario: String,
    pub rate: f64,
    pub good: u64,
    pub measured: u64,
    /// `pass`, `fail` or `indistinguishable`.
    pub verdict: &'static str,
}

impl SearchReport {
    pub fn new(
        scenario: &str,
        settings: &SearchSettings,
        found: &Capacity,
        step_names: &[String],
    ) -> Self {
        SearchReport {
            scenario: scenario.to_string(),
            knob: settings.knob.name(),
            attain: settings.attain,
            capacity_rate: found.rate.map(|r| match settings.knob {
                Knob::Rate => round_rate(r),
                Knob::Concurrency => r,
            }),
            lower_rate: found.lower,
            upper_rate: found.upper,
            stopped: match found.stopped {
                Stopped::Converged => "converged",
                Stopped::Indistinguishable => "indistinguishable",
                Stopped::MaxSteps => "max_steps",
            },
            steps: found
                .steps
                .iter()
                .zip(step_names)
                .map(|(s, name)| StepReport {
                    scenario: name.clone(),
                    rate: s.rate,
                    good: s.good,
                    measured: s.total,
                    verdict: match s.verdict {
                        StepVerdict::Pass => "pass",
                        StepVerdict::Fail => "fail",
                        StepVerdict::Indistinguishable => "indistinguishable",
                    },
                })
                .collect(),
        }
    }

    /// One line for the terminal.
    pub fn describe(&self) -> String {
        let (unit, what) = match self.knob {
            "concurrency" => (Knob::Concurrency.unit(), "concurrency"),
            _ => (Knob::Rate.unit(), "rate"),
        };
        let bracket = match (self.lower_rate, self.upper_rate) {
            (Some(lo), Some(hi)) => format!("between {lo} and {hi} {unit}"),
            (Some(lo), None) => format!("at least {lo} {unit} (no step failed)"),
            (None, Some(hi)) => format!("below {hi} {unit} (no step passed)"),
            (None, None) => "no step ran".to_string(),
        };
        match self.capacity_rate {
            Some(rate) => format!(
                "capacity at SLO of `{}`: {rate} {unit} with {:.0}% of requests meeting the SLO \
                 ({bracket}; {} steps, {})",
                self.scenario,
                self.attain * 100.0,
                self.steps.len(),
                self.stopped
            ),
            None => format!(
                "capacity at SLO of `{}`: no {what} met the SLO, {bracket} ({} steps)",
                self.scenario,
                self.steps.len()
            ),
        }
    }
}

/// [`CAPACITY_FILE`]'s format (`schemas/capacity.schema.json`).
pub const CAPACITY_SCHEMA_VERSION: u32 = 1;

/// Writes every search of the run to [`CAPACITY_FILE`].
pub fn write(dir: &Path, searches: &[SearchReport]) -> anyhow::Result<()> {
    #[derive(Serialize)]
    struct File<'a> {
        schema_version: u32,
        searches: &'a [SearchReport],
    }
    let file = File {
        schema_version: CAPACITY_SCHEMA_VERSION,
        searches,
    };
    results::write_json_atomic(&dir.join(CAPACITY_FILE), &file)
}

/// The searches [`write`] left in `dir`; none without a [`CAPACITY_FILE`].
pub fn read_searches(dir: &Path) -> anyhow::Result<Vec<CapacityResult>> {
    let path = dir.join(CAPACITY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
    };
    #[derive(Deserialize)]
    struct File {
        searches: Vec<CapacityResult>,
    }
    let file: File = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}: {e}; it is written by `llm-bench run` (schemas/capacity.schema.json)",
            path.display()
        ))
    })?;
    Ok(file.searches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_keep_three_significant_digits() {
        assert_eq!(round_rate(79.0449), 79.0);
        assert_eq!(round_rate(0.123_456), 0.123);
        assert_eq!(round_rate(1234.5), 1230.0);
    }
}
