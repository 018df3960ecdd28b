//! The commands: wires options, the runner, the results folder and the reports.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, Context};

use crate::cli::{
    BaselineArgs, BlessArgs, Cli, Command, CommentArgs, CompareArgs, ReportArgs, RunArgs,
    ServeSimArgs, ValidateArgs,
};
use crate::client::{Client, ClientOptions};
use crate::compare::verdict::Outcome;
use crate::compare::{self, BlessContext, BlessOptions, GateOptions};
use crate::manifest::{Manifest, RunMeta, SCHEMA_VERSION};
use crate::metrics::Summary;
use crate::options::{Destination, RunOptions, UsageError};
use crate::progress::{self, TrialProgress};
use crate::record::ErrorKind;
use crate::runner::signals::Signals;
use crate::runner::sink::Sink;
use crate::runner::{self, Interrupt, StopCause};
use crate::sim::SimServer;
use crate::telemetry::{self, TelemetrySampler};
use crate::workload::LoadPlan;
use crate::write_error::WriteContext;
use crate::{report, results};

pub const EXIT_OK: u8 = 0;
pub const EXIT_REGRESSION: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_COMPARABLE: u8 = 3;
pub const EXIT_RUN_FAILED: u8 = 4;
/// A result file could not be written (disk full, read-only folder).
pub const EXIT_WRITE_FAILED: u8 = 5;
/// Ctrl-C (SIGINT): partial results written.
pub const EXIT_INTERRUPTED: u8 = 130;
/// SIGTERM (a cancelled CI job, `kill`): partial results written.
pub const EXIT_TERMINATED: u8 = 143;

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run(args) => runtime()?.block_on(run_command(&args)),
        Command::ServeSim(args) => runtime()?.block_on(serve_sim(args)),
        Command::Validate(args) => validate(&args),
        Command::Report(args) => report_command(&args),
        Command::Compare(args) => compare_command(&args),
        Command::Bless(args) => bless_command(&args),
        Command::Comment(args) => comment_command(&args),
    }
}

/// Exit code for an error that ended a command.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        EXIT_USAGE
    } else if crate::write_error::is_write_error(err) {
        EXIT_WRITE_FAILED
    } else {
        EXIT_RUN_FAILED
    }
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The async runtime. A process confined to one CPU (`taskset -c 1`, a one-CPU
/// container) gets tokio's current-thread scheduler: a multi-thread runtime would
/// still start one worker beside the main thread, and every wake-up between them
/// is a context switch on that one CPU.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn validate(args: &ValidateArgs) -> anyhow::Result<u8> {
    match crate::config::load_dir(&args.config_dir, &env_lookup) {
        Ok(config) => {
            println!(
                "{}: OK ({} targets, {} models, {} scenarios)",
                args.config_dir.display(),
                config.targets.len(),
                config.models.len(),
                config.workloads.scenarios.len()
            );
            Ok(EXIT_OK)
        }
        Err(errors) => {
            println!("{errors}");
            println!("{} problem(s) found", errors.0.len());
            Ok(EXIT_USAGE)
        }
    }
}

/// `llm-bench report`: rebuilds every output of a results folder from its rows, so
/// an old run can be re-analysed after a metric definition changes. A baseline
/// results folder only lends its curves: its saved chart data does, when current.
fn report_command(args: &ReportArgs) -> anyhow::Result<u8> {
    let dir = &args.results_dir;
    let not_a_run = |folder: &std::path::Path, what: String| -> anyhow::Error {
        UsageError(format!(
            "{} is not a results folder: it needs {} and {what} (pass a folder that `llm-bench run` wrote, e.g. results/<run id>)",
            folder.display(),
            results::MANIFEST,
        ))
        .into()
    };
    let has = |folder: &std::path::Path, name: &str| folder.join(name).is_file();
    if !has(dir, results::MANIFEST) || !has(dir, results::REQUESTS) {
        return Err(not_a_run(dir, results::REQUESTS.to_string()));
    }
    if let Some(b) = &args.baseline_dir {
        if !has(b, results::MANIFEST) || !(has(b, results::REQUESTS) || has(b, results::CHART_DATA))
        {
            return Err(not_a_run(
                b,
                format!("{} or {}", results::REQUESTS, results::CHART_DATA),
            ));
        }
    }
    let (summary, series) = results::analyse_dir(dir)?;
    let baseline = match &args.baseline_dir {
        Some(b) => Some((b.display().to_string(), results::series_of(b)?)),
        None => None,
    };
    let baseline = baseline
        .as_ref()
        .map(|(label, series)| (label.as_str(), series));
    let written = results::write_outputs_with(dir, &summary, &series, baseline)?;
    println!("{}", report::console::table(&summary));
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    Ok(EXIT_OK)
}

async fn serve_sim(args: ServeSimArgs) -> anyhow::Result<u8> {
    args.sim.validate().map_err(UsageError)?;
    let bind = SocketAddr::new(args.host, args.port);
    crate::sim::serve_until_ctrl_c(args.sim, bind, args.request_log.as_deref())
        .await
        .with_context(|| match &args.request_log {
            Some(log) => format!(
                "cannot serve on {bind} with the request log {}",
                log.display()
            ),
            None => format!("cannot serve on {bind}"),
        })?;
    Ok(EXIT_OK)
}

async fn run_command(args: &RunArgs) -> anyhow::Result<u8> {
    let options = RunOptions::from_args(args, &env_lookup)?;
    fit_fd_limit(&options)?;
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
    let outcome = benchmark(&options, &base_url, sim.is_some(), &gate).await;
    if let Some(server) = sim {
        server.shutdown().await;
    }
    outcome
}

async fn benchmark(
    options: &RunOptions,
    base_url: &str,
    is_sim: bool,
    gate: &GateOptions,
) -> anyhow::Result<u8> {
    let client = Client::new(ClientOptions {
        base_url: base_url.to_string(),
        api: options.api,
        api_key: options.api_key.clone(),
        headers: options.headers.clone(),
        connect_timeout: options.timeouts.connect,
        request_timeout: options.timeouts.request,
        stall_timeout: options.timeouts.stall,
        max_connections: peak_concurrency(options),
    })
    .map_err(|e| UsageError(format!("{e:#}")))?;
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
        },
    )
    .await;
    let started = chrono::Utc::now();
    let run_id = format!(
        "{}-{}",
        started.format("%Y%m%d-%H%M%S"),
        sanitize(&options.target_name)
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
        },
        scenarios: options
            .scenarios
            .iter()
            .map(|(plan, _)| plan.spec.clone())
            .collect(),
    };
    results::write_json_atomic(&out_dir.join(results::MANIFEST), &manifest)?;
    let interrupt = Interrupt::new();
    let sink = Sink::start(
        &out_dir.join(results::REQUESTS),
        manifest.clone(),
        interrupt.clone(),
    )?;
    results::start_telemetry(&out_dir, sampler.is_active())?;
    let mut telemetry_records = Vec::new();
    let mut telemetry_failure = None;
    let signals = Signals::register().context("cannot listen for Ctrl-C and SIGTERM")?;
    let signal_watch = tokio::spawn(signals.watch(interrupt.clone(), options.grace));

    let progress_mode = progress::Mode::detect();
    for (plan, template) in &options.scenarios {
        let mut body = template.clone();
        body.model = model.clone();
        if let Some(note) = capped_note(plan) {
            eprintln!("{note}");
        }
        for trial in 0..plan.spec.trials {
            if interrupt.is_triggered() {
                break;
            }
            eprintln!(
                "▶ {} ({}{}) trial {}/{}",
                plan.spec.name,
                plan.spec.load.describe(),
                stop_description(plan),
                trial + 1,
                plan.spec.trials
            );
            let handle = sink.handle();
            let limit = progress::Limit {
                requests: plan.total_requests,
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
    let summary = builder.finish();
    results::write_json_atomic(
        &out_dir.join(results::MANIFEST),
        &Manifest {
            run: summary.run.clone(),
            ..manifest
        },
    )?;
    // One pass over the rows for the charts and the candidate baselines.
    let (series, candidates) = results::analyse_after_run(&out_dir, &summary)?;
    results::write_outputs_with(&out_dir, &summary, &series, None)?;
    println!("{}", report::console::table(&summary));
    eprintln!("results: {}", out_dir.display());
    compare::write_candidates(&out_dir, &candidates)?;
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
    let judged = compare::gate(&out_dir, gate, &bless_context(), &candidates, &manifest)?;
    if let Some(judged) = &judged {
        // report.html was written before the comparison existed; now show its verdict.
        results::write_html_judged(&out_dir, &summary, &series, judged)?;
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

/// `run --compare/--bless` and `compare` flags → what to do, field by field so a new
/// flag cannot be forgotten.
fn gate_options(compare: bool, args: &BaselineArgs) -> GateOptions {
    let BaselineArgs {
        baseline_dir,
        strict,
        bless,
        reason,
        allow_ci_bless,
    } = args;
    GateOptions {
        baseline_dir: baseline_dir.clone(),
        compare,
        strict: *strict,
        bless: bless.then(|| BlessOptions {
            reason: reason.clone(),
            allow_ci: *allow_ci_bless,
            scenarios: Vec::new(),
        }),
    }
}

fn bless_context() -> BlessContext {
    BlessContext {
        ci: compare::is_ci(&env_lookup),
        blessed_by: compare::blessed_by(&env_lookup),
        now: chrono::Utc::now().to_rfc3339(),
    }
}

fn outcome_code(outcome: Option<Outcome>) -> u8 {
    match outcome {
        None | Some(Outcome::Pass) => EXIT_OK,
        Some(Outcome::Regression) => EXIT_REGRESSION,
        Some(Outcome::NotComparable) => EXIT_NOT_COMPARABLE,
    }
}

/// `llm-bench compare RESULTS_DIR`: judge a finished run against the baselines.
fn compare_command(args: &CompareArgs) -> anyhow::Result<u8> {
    let gate = gate_options(true, &args.baseline);
    let dir = &args.results_dir;
    let (manifest, candidates) = compare::read_candidates(dir)?;
    let judged = compare::gate(dir, &gate, &bless_context(), &candidates, &manifest)?;
    // Show the verdict in report.html too, as `run --compare` does: from summary.json
    // and the run's saved chart data, or, for a folder without them (an older
    // version's), from one pass over requests.jsonl.
    if let Some(judged) = &judged {
        if let Some((summary, series)) = results::report_data(dir)? {
            results::write_html_judged(dir, &summary, &series, judged)?;
        }
    }
    Ok(outcome_code(judged.map(|j| j.comparison.outcome)))
}

/// `llm-bench comment RESULTS_DIR`: publish the comparison to the pull request, the
/// job summary and the step outputs.
fn comment_command(args: &CommentArgs) -> anyhow::Result<u8> {
    let options = crate::github::CommentOptions::try_from(args)?;
    let env = crate::github::GithubEnv::from_lookup(&env_lookup);
    runtime()?.block_on(crate::github::run_comment(
        &options,
        &env,
        crate::github::comment::RetryPolicy::default(),
    ))
}

/// `llm-bench bless --from RESULTS_DIR`: promote a finished run.
fn bless_command(args: &BlessArgs) -> anyhow::Result<u8> {
    let BlessArgs {
        from,
        baseline_dir,
        scenarios,
        reason,
        allow_ci_bless,
    } = args;
    let gate = GateOptions {
        baseline_dir: baseline_dir.clone(),
        compare: false,
        strict: false,
        bless: Some(BlessOptions {
            reason: reason.clone(),
            allow_ci: *allow_ci_bless,
            scenarios: scenarios.clone(),
        }),
    };
    let (manifest, candidates) = compare::read_candidates(from)?;
    compare::gate(from, &gate, &bless_context(), &candidates, &manifest)?;
    Ok(EXIT_OK)
}

/// Checks each scenario's error rate against its limit and explains failures.
fn health_verdict(summary: &Summary, out_dir: &std::path::Path) -> u8 {
    let mut failed = false;
    for s in &summary.scenarios {
        let m = &s.metrics;
        if m.schedule.reached_target == Some(false) {
            eprintln!(
                "warning: scenario `{}` did not reach its target rate: sent {} of the scheduled {} req/s, {} late, {} dropped; its latencies describe a lighter load than asked for",
                s.name,
                m.schedule.achieved_rate.map_or("–".into(), |r| format!("{r:.1}")),
                m.schedule.scheduled_rate.map_or("–".into(), |r| format!("{r:.1}")),
                m.schedule.late,
                m.schedule.dropped,
            );
        }
        let sent = m.requests.succeeded + m.requests.failed;
        let error_rate = if sent > 0 {
            m.requests.failed as f64 / sent as f64
        } else {
            0.0
        };
        if m.requests.succeeded > 0 && error_rate <= s.spec.max_error_rate {
            continue;
        }
        failed = true;
        eprintln!(
            "error: scenario `{}`: {} of {} requests failed ({:.1}%, limit {:.1}%)",
            s.name,
            m.requests.failed,
            sent,
            error_rate * 100.0,
            s.spec.max_error_rate * 100.0
        );
        for (kind, count) in &m.errors {
            let example = m.error_examples.get(kind).map(String::as_str).unwrap_or("");
            eprintln!("  {count} × {kind}: {example}");
        }
        if m.errors.contains_key(&ErrorKind::InvalidRequest) {
            eprintln!("  this is a configuration problem: the server refused the request body; see the message above");
        }
    }
    if failed {
        eprintln!(
            "every request is recorded in {}",
            out_dir.join(results::REQUESTS).display()
        );
        EXIT_RUN_FAILED
    } else {
        EXIT_OK
    }
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

fn peak_concurrency(options: &RunOptions) -> usize {
    options
        .scenarios
        .iter()
        .map(|(plan, _)| match plan.load {
            LoadPlan::Closed { concurrency } => concurrency as usize,
            LoadPlan::Open {
                max_concurrency, ..
            } => max_concurrency.map_or(1024, |c| c as usize),
        })
        .max()
        .unwrap_or(1)
}

/// Asks `/models` for the first model the server serves.
async fn discover_model(base_url: &str, options: &RunOptions) -> anyhow::Result<String> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?
        .get(&url);
    if let Some(key) = &options.api_key {
        request = request.bearer_auth(key);
    }
    let failed = |why: String| {
        anyhow!(UsageError(format!(
            "no --model given and {why}; pass --model NAME"
        )))
    };
    let response = request.send().await.map_err(|e| {
        failed(format!(
            "{} could not be reached: {}",
            strip_credentials(&url),
            e.without_url()
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "{} answered HTTP {}",
            strip_credentials(&url),
            status.as_u16()
        )));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| failed("its /models answer is not JSON".into()))?;
    let model = body["data"][0]["id"]
        .as_str()
        .ok_or_else(|| failed("its /models list is empty".into()))?;
    eprintln!("using model `{model}` (the first listed by /models)");
    Ok(model.to_string())
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

/// Removes `user:password@` from a URL before it is written anywhere.
pub fn strip_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => url.to_string(),
    }
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
