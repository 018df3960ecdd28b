//! Command-line flags. Only clap types live here; `options` turns them into a
//! validated run description. This file holds the commands and the small
//! commands' flags; `run`, `compare`/`bless`, `comment` and `history`/`trend`
//! have a file each in `cli/`.
//!
//! The doc comments here are `--help` text, which clap prints as written, so they
//! name placeholders the way help text does (`<target>/<scenario>`), not as
//! rustdoc would have them.
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::sim::SimConfig;

mod baseline;
mod comment;
mod history;
mod run;
pub use baseline::{BaselineArgs, BlessArgs, CompareArgs};
pub use comment::CommentArgs;
pub use history::{HistoryAddArgs, HistoryCommand, HistoryShowArgs, StoreArgs, TrendArgs};
pub use run::{ApiArg, ArrivalArg, LiveArgs, PrefixCacheArg, RunArgs, TelemetryArgs};

#[derive(Debug, Parser)]
#[command(
    name = "llm-bench",
    version,
    about = "Load-test OpenAI-compatible LLM serving endpoints and catch regressions in CI",
    long_about = "Load-test OpenAI-compatible LLM serving endpoints (vLLM, SGLang, LiteLLM, \
llama.cpp server, TGI) with streaming requests, record every request, summarise TTFT, TPOT, \
ITL, E2E latency and throughput per scenario, and compare against committed baselines.\n\n\
Quick start: `llm-bench run` benchmarks the built-in simulated server with the workloads in \
./configs; `llm-bench run --url http://127.0.0.1:8000/v1 --model NAME --concurrency 8` \
benchmarks a real server without any config file.",
    after_help = "Exit codes: 0 success · 1 regression · 2 usage or config error · \
3 not comparable / no baseline under --strict · 4 run failed (error rate over the limit) · \
5 results could not be written (disk full, read-only) · 130 interrupted by Ctrl-C · \
143 terminated by SIGTERM (partial results written for both)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run benchmark scenarios and write a results folder.
    Run(Box<RunArgs>),
    /// Start the built-in simulated OpenAI-compatible server (for trying things by hand).
    ServeSim(ServeSimArgs),
    /// Check every config file and print each problem.
    Validate(ValidateArgs),
    /// Rebuild summary.json, summary.csv, report.md and report.html of a results
    /// folder from its requests.jsonl (e.g. after a metric definition changed).
    Report(ReportArgs),
    /// Compare a results folder with the committed baselines: writes comparison.json
    /// and comparison.md into it, prints the table; exit 1 on a regression, 3 when a
    /// scenario is not comparable (or has no baseline under --strict).
    Compare(CompareArgs),
    /// Promote a finished run to baselines without re-running it (from the
    /// `*.baseline.json.new` candidates every run leaves in its results folder).
    Bless(BlessArgs),
    /// Publish a results folder's comparison.md (else report.md) to GitHub: one sticky
    /// pull-request comment per --key, the job summary, step outputs and annotations.
    /// Reads GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_EVENT_PATH and GITHUB_API_URL; a
    /// comment that cannot be posted is a warning (exit 0) unless --strict (exit 4).
    Comment(CommentArgs),
    /// Nightly history: `add` a run's per-trial statistics to a git branch (default
    /// `llm-bench-history`) or a folder; `show` them as tables.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Change points in the history of each gated metric (E-divisive means with a
    /// permutation test): commit range, step with its interval, step or drift;
    /// optionally a JSON file and the trends page (HTML).
    Trend(TrendArgs),
    /// Merge results folders of `run --shard` (disjoint scenarios) and `run
    /// --generator` (shares of the same scenarios) into OUT, which then holds what
    /// one run writes (summary.json, reports, baseline candidates) for `compare`,
    /// `bless --from` and `comment`.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The merged results folder (new or empty).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// Results folders to merge.
    #[arg(value_name = "DIR", required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Refuse to merge generators whose timelines may be misaligned by more than
    /// this (the clocks' estimated error; generators on one host line up exactly).
    #[arg(long, default_value = "10ms", value_name = "DURATION")]
    pub max_clock_uncertainty: String,
}

#[derive(Debug, Args)]
pub struct ServeSimArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Write one JSON line per request to FILE: its `X-Request-Id` and when it
    /// arrived and its first and last chunks left, in CLOCK_MONOTONIC nanoseconds
    /// (comparable with llm-bench's `clock_start_ns` on the same host). The ground
    /// truth for checking a client's timing.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate made at start (for measuring
    /// and testing the client's TLS path; clients must trust it: --tls-cert-out).
    #[arg(long)]
    pub tls: bool,
    /// With --tls: write the certificate (PEM) to FILE before listening, for
    /// `llm-bench run --ca-cert FILE` or targets.yaml `ca_cert: FILE`.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub tls_cert_out: Option<PathBuf>,
    #[command(flatten)]
    pub sim: SimConfig,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Folder with targets.yaml, models.yaml and workloads.yaml.
    #[arg(long, default_value = "configs", value_name = "DIR")]
    pub config_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results folder written by `llm-bench run` (holds run.json and requests.jsonl).
    #[arg(value_name = "RESULTS_DIR")]
    pub results_dir: PathBuf,
    /// Committed baselines, DIR/<target>/<scenario>.json as for run, compare and bless:
    /// the baselines of this run's target and scenarios are overlaid on the latency
    /// charts. (An earlier run's results folder here is still taken, with a warning,
    /// as --overlay.)
    #[arg(long, value_name = "DIR")]
    pub baseline_dir: Option<PathBuf>,
    /// Results folder of an earlier run to overlay on the latency charts.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "baseline_dir")]
    pub overlay: Option<PathBuf>,
}
