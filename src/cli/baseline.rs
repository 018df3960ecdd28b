//! Flags of `llm-bench compare` and `llm-bench bless`, and the baseline flags
//! `run` shares with `compare` (clap types only).

use std::path::PathBuf;

use clap::Args;

/// Baseline flags shared by `run` and `compare`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Where baselines live: DIR/<target>/<scenario>.json.
    #[arg(long = "baseline-dir", default_value = "baselines", value_name = "DIR")]
    pub baseline_dir: PathBuf,
    /// A scenario without a baseline fails (exit 3) instead of being reported as new.
    #[arg(long)]
    pub strict: bool,
    /// Record this run as the new baselines (with `run`, trials default to at least 5).
    /// Refused when CI=true (unless --allow-ci-bless), with fewer than 3 trials, or
    /// when requests failed beyond the scenario's max_error_rate.
    #[arg(long, env = "LLM_BENCH_BLESS")]
    pub bless: bool,
    /// Why the numbers may change; recorded in the baseline (required to bless).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Allow --bless when CI=true.
    #[arg(long)]
    pub allow_ci_bless: bool,
    /// With --bless: add this run, with its trials, to the baseline's runs (a
    /// rolling window of --keep-runs) instead of replacing them; from 3 runs on,
    /// comparisons measure how much runs drift. Refused when the run measures
    /// something else (fingerprint or server state).
    #[arg(long, requires = "bless")]
    pub append: bool,
    /// Runs an appended baseline keeps (the newest).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_runs: u32,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Results folder written by `llm-bench run`.
    #[arg(value_name = "RESULTS_DIR")]
    pub results_dir: PathBuf,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

#[derive(Debug, Args)]
pub struct BlessArgs {
    /// Results folder of the run to promote.
    #[arg(long, value_name = "RESULTS_DIR")]
    pub from: PathBuf,
    /// Where baselines live: DIR/<target>/<scenario>.json.
    #[arg(long, default_value = "baselines", value_name = "DIR")]
    pub baseline_dir: PathBuf,
    /// Only these scenarios (repeatable; default: all of the run).
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Why the numbers may change; recorded in the baseline.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Allow blessing when CI=true.
    #[arg(long)]
    pub allow_ci_bless: bool,
    /// Add the run to the baseline's runs (a rolling window of --keep-runs) instead
    /// of replacing them.
    #[arg(long)]
    pub append: bool,
    /// Runs an appended baseline keeps (the newest).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_runs: u32,
}
