//! Flags of `llm-bench history` and `llm-bench trend` (clap types only).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Append each scenario of a finished run (its per-trial statistics,
    /// fingerprint, commit, time, server version and state) to the history.
    Add(HistoryAddArgs),
    /// Print one table per target and gated metric: a row per run, a column per
    /// scenario.
    Show(HistoryShowArgs),
}

/// Where the history lives: a git branch (default) or a local folder.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// A local folder of `<target>.jsonl` files instead of a git branch.
    #[arg(long, value_name = "PATH", conflicts_with = "branch")]
    pub store: Option<PathBuf>,
    /// The git branch holding `<target>.jsonl` files, fetched from and pushed to
    /// --remote.
    #[arg(long, value_name = "NAME", default_value = crate::history::DEFAULT_BRANCH)]
    pub branch: String,
    /// The git repository of --branch (any folder inside it).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
    /// The remote of --branch (default: `origin` when the repository has it; `none`:
    /// use the local branch only).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryAddArgs {
    /// Results folder written by `llm-bench run` (its `*.baseline.json.new` files).
    #[arg(value_name = "RESULTS_DIR")]
    pub results_dir: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The commit the run measured (default: the one the run recorded).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Records kept per target and scenario (the newest; older ones are dropped).
    #[arg(long, value_name = "N", default_value_t = crate::history::DEFAULT_KEEP as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,
}

#[derive(Debug, Args)]
pub struct HistoryShowArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this target.
    #[arg(long, short = 't', value_name = "NAME")]
    pub target: Option<String>,
    /// Only this metric, e.g. `ttft_ms.p50` (repeatable; default: every gated one).
    #[arg(long = "metric", value_name = "KEY")]
    pub metrics: Vec<String>,
    /// Show the newest N runs.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub last: usize,
}

#[derive(Debug, Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this target.
    #[arg(long, short = 't', value_name = "NAME")]
    pub target: Option<String>,
    /// Smallest step reported, as a share of the level before it.
    #[arg(long, value_name = "SHARE", default_value_t = crate::trend::DEFAULT_MIN_MAGNITUDE)]
    pub min_magnitude: f64,
    /// Significance level of E-divisive's permutation test (the check of the
    /// newest 3 runs uses half of it).
    #[arg(long, value_name = "P", default_value_t = crate::trend::DEFAULT_ALPHA)]
    pub alpha: f64,
    /// Write the change points as JSON to FILE (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the trends page (self-contained HTML) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Committed baselines (DIR/<target>/<scenario>.json): their values and bands
    /// are drawn on the trends page.
    #[arg(long, value_name = "DIR", default_value = "baselines")]
    pub baseline_dir: PathBuf,
    /// Open, update or close the one GitHub issue (label `llm-bench-trend`) that
    /// tracks change points for the worse: a comment per new one, closed when each
    /// is restored or blessed. Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL.
    #[arg(long)]
    pub track_issue: bool,
}
