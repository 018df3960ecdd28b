//! `llm-bench run`: options → fd limit → (simulated server) → model → results
//! folder → trials → summary, reports and the gate.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;

use super::capacity;
use super::discover::discover_model;
use super::gate::{self, GateOptions};
use super::health::health_verdict;
use super::outputs;
use super::{
    bless_context, env_lookup, gate_options, outcome_code, EXIT_INTERRUPTED, EXIT_OK,
    EXIT_TERMINATED,
};
use crate::cli::{LiveArgs, RunArgs};
use crate::client::{Client, ClientOptions};
use crate::live::{Live, LiveOptions, Recorder, RunLabels};
use crate::manifest::{Manifest, RunMeta, SCHEMA_VERSION};
use crate::options::{Destination, RunOptions, UsageError};
use crate::progress::{self, TrialProgress};
use crate::redact::strip_credentials;
use crate::runner::signals::Signals;
use crate::runner::sink::Sink;
use crate::runner::{self, Interrupt, StopCause};
use crate::sim::SimServer;
use crate::telemetry::{self, TelemetrySampler};
use crate::workload::capacity::CapacitySearch;
use crate::workload::LoadPlan;
use crate::write_error::WriteContext;
use crate::{report, results};

pub(super) async fn run_command(args: &RunArgs) -> anyhow::Result<u8> {
    let mut options = RunOptions::from_args(args, &env_lookup)?;
    let narrowed = super::parts::narrow(args, &mut options)?;
    crate::redact::register(options.secrets());
    fit_fd_limit(&options)?;
    let live = start_live(&args.live)?;
    let sim = match &options.destination {
        Destination::Sim(config) => {
            config
                .validate()
                .map_err(|e| UsageError(format!("simulated server: {e}")))?;
            let server =
                SimServer::start(config.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .context("cannot start the built-in simulated server")?;
            eprintln!("built-in simulated server on {}", server.base_url());
            Some(server)
        }
        Destination::Url(_) => None,
    };
    let base_url = match (&options.destination, &sim) {
        (_, Some(server)) => server.base_url(),
        (Destination::Url(url), None) => url.clone(),
        (Destination::Sim(_), None) => unreachable!("the simulated server was started above"),
    };
    let gate = gate_options(args.compare, &args.baseline);
    let outcome = benchmark(
        &options,
        &base_url,
        sim.is_some(),
        &gate,
        live.as_ref(),
        narrowed,
    )
    .await;
    if let Some(server) = sim {
        server.shutdown().await;
    }
    if let Some(live) = live {
        live.close().await;
    }
    outcome
}

/// `--metrics-listen`, `--pushgateway`: bound and started before anything is sent.
fn start_live(args: &LiveArgs) -> anyhow::Result<Option<Live>> {
    let LiveArgs {
        metrics_listen,
        pushgateway,
        metrics_linger,
    } = args;
    let options = LiveOptions::parse(
        metrics_listen.as_deref(),
        pushgateway.as_deref(),
        metrics_linger,
    )
    .map_err(UsageError)?;
    Live::start(&options, Default::default()).map_err(|e| match e.is_usage() {
        true => UsageError(e.to_string()).into(),
        false => anyhow::anyhow!(e),
    })
}

async fn benchmark(
    options: &RunOptions,
    base_url: &str,
    is_sim: bool,
    gate: &GateOptions,
    live: Option<&Live>,
    narrowed: super::parts::Narrowed,
) -> anyhow::Result<u8> {
    let super::parts::Narrowed {
        distribution,
        start_at,
    } = narrowed;
    // From here on a signal stops the run and its results are still written; one
    // during the preparations below stops it before the first trial.
    let interrupt = Interrupt::new();
    let signals = Signals::register().context("cannot listen for Ctrl-C and SIGTERM")?;
    let signal_watch = tokio::spawn(signals.watch(interrupt.clone(), options.grace));
    let client = Client::new(ClientOptions {
        base_url: base_url.to_string(),
        api: options.api,
        api_key: options.api_key.clone(),
        headers: options.headers.clone(),
        connect_timeout: options.timeouts.connect,
        request_timeout: options.timeouts.request,
        stall_timeout: options.timeouts.stall,
        max_connections: peak_concurrency(options),
        ca_cert: options.ca_cert.clone(),
    })
    .map_err(|e| UsageError(format!("{e:#}")))?
    // A model with a tokenizer counts responses that come without usage.
    .keeping_text(
        options
            .scenarios
            .iter()
            .any(|(plan, _)| plan.tokenizer.is_some()),
    );
    let model = match &options.model {
        Some(m) => m.clone(),
        None => discover_model(base_url, options).await?,
    };
    // Before the clock starts: NVML, a first scrape and the server's identity.
    let (sampler, environment) = TelemetrySampler::prepare(
        &options.telemetry,
        telemetry::Target {
            base_url,
            is_sim,
            api_key: options.api_key.as_deref(),
            ca_cert: options.ca_cert.as_ref(),
        },
    )
    .await;
    let started = chrono::Utc::now();
    let run_id = format!(
        "{}-{}{}",
        started.format("%Y%m%d-%H%M%S"),
        sanitize(&options.target_name),
        super::parts::run_id_suffix(&distribution)
    );
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| options.results_dir.join(&run_id));
    std::fs::create_dir_all(&out_dir).writing(&out_dir)?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run: RunMeta {
            id: run_id,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git_commit(),
            target: options.target_name.clone(),
            base_url: if is_sim {
                "builtin:sim".into()
            } else {
                strip_credentials(base_url)
            },
            api: options.api.name().to_string(),
            model: model.clone(),
            workload_hash: options.workload_hash.clone(),
            started_at: started.to_rfc3339(),
            ended_at: None,
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: Some(environment),
            distribution,
        },
        scenarios: options
            .scenarios
            .iter()
            .map(|(plan, _)| plan.spec.clone())
            .collect(),
    };
    results::write_json_atomic(&out_dir.join(results::MANIFEST), &manifest)?;
    let live_run = live.map(|l| {
        l.run(RunLabels {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            model: manifest.run.model.clone(),
        })
    });
    let sink = Sink::start_with(
        &out_dir.join(results::REQUESTS),
        manifest.clone(),
        interrupt.clone(),
        live_run.clone().map(Recorder::new),
    )?;
    results::start_telemetry(&out_dir, sampler.is_active())?;
    let mut telemetry_records = Vec::new();
    let mut telemetry_failure = None;

    // The first trial's clock starts at `--start-at`, after its connections are open.
    let mut start_not_before = start_at.map(super::parts::start_instant);
    let progress_mode = progress::Mode::detect();
    // The specs run.json ends with: a capacity scenario's steps in its place.
    let mut final_specs: Vec<crate::manifest::ScenarioSpec> = Vec::new();
    let mut searches = Vec::new();
    for (scenario_plan, template) in &options.scenarios {
        let mut body = template.clone();
        body.model = model.clone();
        let mut search = scenario_plan.capacity.map(CapacitySearch::new);
        let mut step_names = Vec::new();
        loop {
            let step;
            let plan = match &search {
                None => scenario_plan,
                Some(search) => match search.next_rate() {
                    Some(rate) if !interrupt.is_triggered() => {
                        step = capacity::step_plan(scenario_plan, rate);
                        &step
                    }
                    _ => break,
                },
            };
            final_specs.push(plan.spec.clone());
            // A generator's in-flight limit is its share; `parts` said so.
            let note = match manifest.run.distribution.generator {
                None => capped_note(plan),
                Some(_) => None,
            };
            if let Some(note) = note {
                eprintln!("{note}");
            }
            let max_trials = plan.spec.max_trials.unwrap_or(plan.spec.trials);
            for trial in 0..max_trials {
                if interrupt.is_triggered() {
                    break;
                }
                // `--max-trials`: past the planned trials, only while a gated verdict
                // is inconclusive (see compare::sequential).
                let extra = if trial >= plan.spec.trials {
                    sink.handle().flushed().await;
                    match gate::wants_another_trial(&out_dir, &plan.spec.name, gate)? {
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
                let handle = sink.handle();
                let limit = progress::Limit {
                    requests: plan.total_requests.map(|n| {
                        manifest
                            .run
                            .distribution
                            .generator
                            .map_or(n, |part| crate::split::requests_of(n, part))
                    }),
                    duration: plan.duration,
                };
                let progress = TrialProgress::start(
                    progress_mode,
                    plan.spec.name.clone(),
                    handle.progress.clone(),
                    limit,
                );
                let sampling = match sampler.is_active() {
                    true => Some(sampler.start().await),
                    false => None,
                };
                // The runner measures request times from its own start, taken a few
                // microseconds after this one.
                let trial_start = std::time::Instant::now();
                let env = runner::RunEnv {
                    client: &client,
                    sink: &handle,
                    interrupt: &interrupt,
                    grace: options.grace,
                    run_id: &manifest.run.id,
                    live: live_run.as_ref(),
                    generator: manifest.run.distribution.generator,
                    start_not_before: start_not_before.take(),
                };
                runner::run_trial(plan, trial, &body, &env).await;
                if let Some(sampling) = sampling {
                    let records = sampling.stop(trial_start, &plan.spec.name, trial).await;
                    if let Err(e) = results::append_telemetry(&out_dir, &records) {
                        interrupt.stop_now(StopCause::WriteFailed);
                        telemetry_failure = Some(e);
                    }
                    telemetry_records.extend(records);
                }
                progress.finish().await;
            }
            let Some(search) = &mut search else {
                break;
            };
            sink.handle().flushed().await;
            let (good, measured) = capacity::attained(&out_dir, &manifest, &plan.spec)?;
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
            searches.push(report);
        }
    }
    signal_watch.abort();
    let stopped_by = interrupt.cause();
    let closed = sink.close()?;
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
            failure, &out_dir, manifest, builder,
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
        summary = outputs::summarise_dir(&out_dir)?;
        capacity::write(&out_dir, &searches)?;
    }
    if let Some(live) = &live_run {
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
    let (series, candidates) = outputs::analyse_after_run(&out_dir, &summary)?;
    outputs::write_outputs_with(&out_dir, &summary, &series, None)?;
    println!("{}", report::console::table(&summary));
    eprintln!("results: {}", out_dir.display());
    gate::write_candidates(&out_dir, &candidates)?;
    let manifest = results::read_manifest(&out_dir)?;
    if let Some(cause) = stopped_by {
        eprintln!("{}: partial results written", cause.name());
        return Ok(match cause {
            StopCause::Terminate => EXIT_TERMINATED,
            _ => EXIT_INTERRUPTED,
        });
    }
    let health = health_verdict(&summary, &out_dir);
    if !gate.compare && gate.bless.is_none() {
        return Ok(health);
    }
    let judged = gate::gate(
        &out_dir,
        gate,
        &bless_context(),
        &candidates,
        &manifest,
        &outputs::baseline_curves,
    )?;
    if let Some(judged) = &judged {
        // report.html was written before the comparison existed; now show its verdict.
        outputs::write_html_judged(&out_dir, &summary, &series, judged)?;
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
    out_dir: &std::path::Path,
    manifest: Manifest,
    mut builder: crate::metrics::summary::SummaryBuilder,
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

/// Says when a scenario keeps fewer requests in flight than asked because it sends
/// fewer than that.
fn capped_note(plan: &crate::workload::ScenarioPlan) -> Option<String> {
    use crate::manifest::LoadSpec;
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

fn stop_description(plan: &crate::workload::ScenarioPlan) -> String {
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

/// Before anything is sent: room for every connection the run may open (the
/// built-in simulated server's end of each too, as it runs in this process).
fn fit_fd_limit(options: &RunOptions) -> anyhow::Result<()> {
    let per_request = match options.destination {
        Destination::Sim(_) => 2,
        Destination::Url(_) => 1,
    };
    let connections = peak_concurrency(options) as u64 * per_request;
    match crate::fd_limit::fit(connections) {
        Ok(crate::fd_limit::Fitted::Raised { from, to }) => {
            eprintln!("raised this process's open-file limit from {from} to {to} for {connections} connections");
            Ok(())
        }
        Ok(crate::fd_limit::Fitted::Already { .. }) => Ok(()),
        Err(e) => Err(UsageError(e.to_string()).into()),
    }
}

/// Requests in flight at most in any scenario (an open loop without a cap: about
/// 1,024), never more than the scenario sends.
fn peak_concurrency(options: &RunOptions) -> usize {
    options
        .scenarios
        .iter()
        .map(|(plan, _)| {
            let load = match plan.load {
                LoadPlan::Closed { concurrency } => concurrency as usize,
                LoadPlan::Open {
                    max_concurrency, ..
                }
                | LoadPlan::Trace {
                    max_concurrency, ..
                } => max_concurrency.map_or(1024, |c| c as usize),
            };
            let sent = plan
                .total_requests
                .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
            load.min(sent).max(1)
        })
        .max()
        .unwrap_or(1)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
