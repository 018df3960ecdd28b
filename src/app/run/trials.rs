//! The trials of `llm-bench run`, scenario after scenario: a capacity search's
//! steps in a scenario's place, `--max-trials` past the planned trials, and each
//! trial's progress line and telemetry.

use std::path::Path;
use std::time::Instant;

use super::super::capacity;
use super::super::gate::{self, GateOptions};
use crate::client::{BodyTemplate, Client};
use crate::live::LiveRun;
use crate::manifest::{LoadSpec, Manifest, ScenarioSpec};
use crate::options::RunOptions;
use crate::progress::{self, TrialProgress};
use crate::results;
use crate::runner::sink::Sink;
use crate::runner::{self, Interrupt, StopCause};
use crate::telemetry::{TelemetryRecord, TelemetrySampler};
use crate::workload::capacity::CapacitySearch;
use crate::workload::{LoadPlan, ScenarioPlan};

/// What every trial of the run shares, prepared before the first.
pub(super) struct Shared<'a> {
    pub options: &'a RunOptions,
    pub client: &'a Client,
    pub model: &'a str,
    pub interrupt: &'a Interrupt,
    pub sink: &'a Sink,
    pub gate: &'a GateOptions,
    pub out_dir: &'a Path,
    pub manifest: &'a Manifest,
    pub sampler: &'a TelemetrySampler,
    pub live_run: Option<&'a LiveRun>,
}

/// What the trials leave for the end of the run.
#[derive(Default)]
pub(super) struct Ran {
    /// The specs run.json ends with: a capacity scenario's steps in its place.
    pub final_specs: Vec<ScenarioSpec>,
    pub searches: Vec<capacity::SearchReport>,
    pub telemetry_records: Vec<TelemetryRecord>,
    /// The first telemetry write that failed (the run stopped there).
    pub telemetry_failure: Option<anyhow::Error>,
}

/// Runs every scenario's trials; `start_not_before` (`--start-at`) holds back the
/// first trial's clock.
pub(super) async fn run_scenarios(
    shared: &Shared<'_>,
    start_not_before: Option<Instant>,
) -> anyhow::Result<Ran> {
    let mut trials = Trials {
        shared,
        progress_mode: progress::Mode::detect(),
        start_not_before,
        ran: Ran::default(),
    };
    for (scenario_plan, template) in &shared.options.scenarios {
        trials.scenario(scenario_plan, template).await?;
    }
    Ok(trials.ran)
}

struct Trials<'s, 'a> {
    shared: &'s Shared<'a>,
    progress_mode: progress::Mode,
    start_not_before: Option<Instant>,
    ran: Ran,
}

impl Trials<'_, '_> {
    /// One scenario: its trials, or a capacity search's steps, each step's trials.
    async fn scenario(
        &mut self,
        scenario_plan: &ScenarioPlan,
        template: &BodyTemplate,
    ) -> anyhow::Result<()> {
        let cx = self.shared;
        let mut body = template.clone();
        body.model = cx.model.to_string();
        let mut search = scenario_plan.capacity.map(CapacitySearch::new);
        let mut step_names = Vec::new();
        loop {
            let step;
            let plan = match &search {
                None => scenario_plan,
                Some(search) => match search.next_rate() {
                    Some(rate) if !cx.interrupt.is_triggered() => {
                        step = capacity::step_plan(scenario_plan, rate);
                        &step
                    }
                    _ => break,
                },
            };
            self.ran.final_specs.push(plan.spec.clone());
            self.plan_trials(plan, &body).await?;
            let Some(search) = &mut search else {
                break;
            };
            cx.sink.handle().flushed().await;
            let (good, measured) = capacity::attained(cx.out_dir, cx.manifest, &plan.spec)?;
            let verdict = search.record(capacity::step_value(&plan.spec), good, measured);
            let attain = scenario_plan.capacity.map_or(0.0, |c| c.attain);
            if let Some(note) = capacity::small_step_note(&plan.spec.name, measured, attain) {
                eprintln!("{note}");
            }
            eprintln!(
                "  {}: {good}/{measured} met the SLO: {verdict:?}",
                plan.spec.name
            );
            step_names.push(plan.spec.name.clone());
        }
        if let (Some(search), Some(settings)) = (&search, scenario_plan.capacity) {
            let report = capacity::SearchReport::new(
                &scenario_plan.spec.name,
                &settings,
                &search.result(),
                &step_names,
            );
            eprintln!("{}", report.describe());
            self.ran.searches.push(report);
        }
        Ok(())
    }

    /// One plan's trials: the planned ones, then, with `--max-trials`, more only
    /// while a gated verdict is inconclusive (see compare::sequential).
    async fn plan_trials(
        &mut self,
        plan: &ScenarioPlan,
        body: &BodyTemplate,
    ) -> anyhow::Result<()> {
        let cx = self.shared;
        // A generator's in-flight limit is its share; `parts` said so.
        let note = match cx.manifest.run.distribution.generator {
            None => capped_note(plan),
            Some(_) => None,
        };
        if let Some(note) = note {
            eprintln!("{note}");
        }
        let max_trials = plan.spec.max_trials.unwrap_or(plan.spec.trials);
        for trial in 0..max_trials {
            if cx.interrupt.is_triggered() {
                break;
            }
            let extra = if trial >= plan.spec.trials {
                cx.sink.handle().flushed().await;
                match gate::wants_another_trial(cx.out_dir, &plan.spec.name, cx.gate)? {
                    Some(why) => format!(" (--max-trials {max_trials}: {why})"),
                    None => break,
                }
            } else {
                String::new()
            };
            eprintln!(
                "▶ {} ({}{}) trial {}/{}{extra}",
                plan.spec.name,
                plan.spec.load.describe(),
                stop_description(plan),
                trial + 1,
                plan.spec.trials
            );
            self.trial(plan, trial, body).await;
        }
        Ok(())
    }

    /// One trial, with its progress line and telemetry sampling around it.
    async fn trial(&mut self, plan: &ScenarioPlan, trial: u32, body: &BodyTemplate) {
        let cx = self.shared;
        let handle = cx.sink.handle();
        let limit = progress::Limit {
            requests: plan.total_requests.map(|n| {
                cx.manifest
                    .run
                    .distribution
                    .generator
                    .map_or(n, |part| crate::split::requests_of(n, part))
            }),
            duration: plan.duration,
        };
        let progress = TrialProgress::start(
            self.progress_mode,
            plan.spec.name.clone(),
            handle.progress.clone(),
            limit,
        );
        let sampling = match cx.sampler.is_active() {
            true => Some(cx.sampler.start().await),
            false => None,
        };
        // The runner measures request times from its own start, taken a few
        // microseconds after this one.
        let trial_start = std::time::Instant::now();
        let env = runner::RunEnv {
            client: cx.client,
            sink: &handle,
            interrupt: cx.interrupt,
            grace: cx.options.grace,
            run_id: &cx.manifest.run.id,
            live: cx.live_run,
            generator: cx.manifest.run.distribution.generator,
            start_not_before: self.start_not_before.take(),
        };
        runner::run_trial(plan, trial, body, &env).await;
        if let Some(sampling) = sampling {
            let records = sampling.stop(trial_start, &plan.spec.name, trial).await;
            if let Err(e) = results::append_telemetry(cx.out_dir, &records) {
                cx.interrupt.stop_now(StopCause::WriteFailed);
                self.ran.telemetry_failure = Some(e);
            }
            self.ran.telemetry_records.extend(records);
        }
        progress.finish().await;
    }
}

/// Says when a scenario keeps fewer requests in flight than asked because it sends
/// fewer than that.
fn capped_note(plan: &ScenarioPlan) -> Option<String> {
    let (asked, used) = match (&plan.spec.load, &plan.load) {
        (LoadSpec::Closed { concurrency }, LoadPlan::Closed { concurrency: used }) => {
            (*concurrency, *used)
        }
        (
            LoadSpec::Open {
                max_concurrency: Some(cap),
                ..
            },
            LoadPlan::Open {
                max_concurrency: Some(used),
                ..
            },
        ) => (*cap, *used),
        _ => return None,
    };
    (used < asked).then(|| {
        format!(
            "note: scenario `{}` sends {used} requests, so at most {used} are in flight (asked for {asked})",
            plan.spec.name
        )
    })
}

fn stop_description(plan: &ScenarioPlan) -> String {
    let mut parts = Vec::new();
    if let Some(n) = plan.spec.requests {
        parts.push(format!("{n} requests"));
    }
    if let Some(d) = plan.spec.duration_s {
        parts.push(format!("{d}s"));
    }
    if plan.spec.warmup > 0 {
        parts.push(format!("{} warm-up", plan.spec.warmup));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(", {}", parts.join(", "))
    }
}
