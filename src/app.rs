//! The commands: wires options, the runner, the results folder and the reports.
//! `run` lives in `run`; the messages that explain a failed run in `health`.

mod capacity;
mod discover;
pub mod gate;
mod health;
mod history;
mod merge;
pub mod outputs;
mod parts;
mod run;

use std::net::SocketAddr;

use anyhow::Context;

use crate::cli::{
    BaselineArgs, BlessArgs, Cli, Command, CommentArgs, CompareArgs, ReportArgs, ServeSimArgs,
    ValidateArgs,
};
use crate::compare::verdict::Outcome;
use crate::compare::{self, BlessContext, BlessOptions};
use crate::options::UsageError;
use crate::{report, results};
pub use gate::GateOptions;

pub use crate::redact::strip_credentials;

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
    // Before anything is printed or written: credentials in the environment.
    let env = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    crate::redact::register(crate::redact::env_secrets(env));
    match cli.command {
        Command::Run(args) => runtime()?.block_on(run::run_command(&args)),
        Command::ServeSim(args) => runtime()?.block_on(serve_sim(args)),
        Command::Validate(args) => validate(&args),
        Command::Report(args) => report_command(&args),
        Command::Compare(args) => compare_command(&args),
        Command::Bless(args) => bless_command(&args),
        Command::Comment(args) => comment_command(&args),
        Command::History(command) => history::history_command(&command),
        Command::Trend(args) => history::trend_command(&args),
        Command::Merge(args) => merge::merge_command(&args),
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
    // `--baseline-dir` means the committed baselines, as everywhere else; a results
    // folder given there (its meaning before 0.2) is taken as `--overlay`.
    let run_overlay = match (&args.overlay, &args.baseline_dir) {
        (Some(run), _) => Some(run),
        (None, Some(b)) if has(b, results::MANIFEST) => {
            eprintln!(
                "warning: --baseline-dir takes the committed baselines (DIR/<target>/<scenario>.json), as for run, compare and bless; {} is a results folder, so it is overlaid as with --overlay {0}",
                b.display()
            );
            Some(b)
        }
        _ => None,
    };
    if let Some(b) = run_overlay {
        if !has(b, results::MANIFEST) || !(has(b, results::REQUESTS) || has(b, results::CHART_DATA))
        {
            return Err(not_a_run(
                b,
                format!("{} or {}", results::REQUESTS, results::CHART_DATA),
            ));
        }
    }
    let (summary, series) = outputs::analyse_dir(dir)?;
    let baseline = match (run_overlay, &args.baseline_dir) {
        (Some(b), _) => Some((b.display().to_string(), outputs::series_of(b)?)),
        (None, Some(b)) => Some((b.display().to_string(), committed_baselines(dir, b)?)),
        (None, None) => None,
    };
    let baseline = baseline
        .as_ref()
        .map(|(label, series)| (label.as_str(), series));
    let written = outputs::write_outputs_with(dir, &summary, &series, baseline)?;
    println!("{}", report::console::table(&summary));
    for path in written {
        eprintln!("wrote {}", path.display());
    }
    Ok(EXIT_OK)
}

/// The latency curves of the committed baselines (`DIR/<target>/<scenario>.json`) of
/// the run in `dir`; scenarios without a baseline are left out.
fn committed_baselines(
    dir: &std::path::Path,
    baseline_dir: &std::path::Path,
) -> anyhow::Result<report::series::RunSeries> {
    let manifest = results::read_manifest(dir)?;
    let mut found = Vec::new();
    for scenario in &manifest.scenarios {
        let path = compare::baseline_path(baseline_dir, &manifest.run.target, &scenario.name)?;
        if let Some(b) = compare::baseline::read(&path).map_err(|e| UsageError(e.to_string()))? {
            found.push(b);
        }
    }
    if found.is_empty() {
        eprintln!(
            "warning: {} has no baseline for target `{}`; nothing to overlay",
            baseline_dir.display(),
            manifest.run.target
        );
    }
    Ok(report::series::from_baselines(&found))
}

async fn serve_sim(args: ServeSimArgs) -> anyhow::Result<u8> {
    args.sim.validate().map_err(UsageError)?;
    let bind = SocketAddr::new(args.host, args.port);
    let tls = if args.tls {
        let tls = crate::sim::SimTls::self_signed(args.host)?;
        if let Some(path) = &args.tls_cert_out {
            std::fs::write(path, tls.cert_pem()).map_err(|e| {
                UsageError(format!(
                    "cannot write the certificate to --tls-cert-out {}: {e}",
                    path.display()
                ))
            })?;
            eprintln!("certificate (PEM) written to {}", path.display());
        }
        Some(tls)
    } else {
        None
    };
    crate::sim::serve_until_ctrl_c(args.sim, bind, args.request_log.as_deref(), tls)
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

/// `run --compare/--bless` and `compare` flags → what to do, field by field so a new
/// flag cannot be forgotten.
fn gate_options(compare: bool, args: &BaselineArgs) -> GateOptions {
    let BaselineArgs {
        baseline_dir,
        strict,
        bless,
        reason,
        allow_ci_bless,
        append,
        keep_runs,
    } = args;
    GateOptions {
        baseline_dir: baseline_dir.clone(),
        compare,
        strict: *strict,
        bless: bless.then(|| BlessOptions {
            reason: reason.clone(),
            allow_ci: *allow_ci_bless,
            append: *append,
            keep_runs: *keep_runs as usize,
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
    let (manifest, candidates) = gate::read_candidates(dir)?;
    let judged = gate::gate(
        dir,
        &gate,
        &bless_context(),
        &candidates,
        &manifest,
        &outputs::baseline_curves,
    )?;
    // Show the verdict in report.html too, as `run --compare` does: from summary.json
    // and the run's saved chart data, or, for a folder without them (an older
    // version's), from one pass over requests.jsonl.
    if let Some(judged) = &judged {
        if let Some((summary, series)) = outputs::report_data(dir)? {
            outputs::write_html_judged(dir, &summary, &series, judged)?;
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
        append,
        keep_runs,
    } = args;
    let gate = GateOptions {
        baseline_dir: baseline_dir.clone(),
        compare: false,
        strict: false,
        bless: Some(BlessOptions {
            reason: reason.clone(),
            allow_ci: *allow_ci_bless,
            append: *append,
            keep_runs: *keep_runs as usize,
            scenarios: scenarios.clone(),
        }),
    };
    let (manifest, candidates) = gate::read_candidates(from)?;
    gate::gate(
        from,
        &gate,
        &bless_context(),
        &candidates,
        &manifest,
        &outputs::baseline_curves,
    )?;
    Ok(EXIT_OK)
}
