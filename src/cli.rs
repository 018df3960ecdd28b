//! Command-line flags. Only clap types live here; `options` turns them into a
//! validated run description.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::sim::SimConfig;

mod history;
pub use history::{HistoryAddArgs, HistoryCommand, HistoryShowArgs, StoreArgs, TrendArgs};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApiArg {
    Chat,
    Completions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrefixCacheArg {
    Avoid,
    Allow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArrivalArg {
    Poisson,
    Constant,
    Gamma,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Folder with targets.yaml, models.yaml and workloads.yaml.
    #[arg(long, default_value = "configs", value_name = "DIR")]
    pub config_dir: PathBuf,
    /// Target from targets.yaml (default: the file's `default`).
    #[arg(long, short = 't', value_name = "NAME")]
    pub target: Option<String>,
    /// Model name as the server knows it (default: the target's or models.yaml's default;
    /// with --url, the first model the server lists).
    #[arg(long, short = 'm', value_name = "NAME")]
    pub model: Option<String>,
    /// Scenario(s) from workloads.yaml to run (repeatable; default: all).
    #[arg(long = "scenario", short = 's', value_name = "NAME")]
    pub scenarios: Vec<String>,

    /// Benchmark this base URL directly, without config files (e.g. http://127.0.0.1:8000/v1).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// API flavour for --url.
    #[arg(long, value_enum, default_value_t = ApiArg::Chat)]
    pub api: ApiArg,
    /// Environment variable that holds the API key for --url (default: OPENAI_API_KEY
    /// when set; a variable named here must be set).
    #[arg(long, value_name = "NAME")]
    pub api_key_env: Option<String>,
    /// Trust the CA certificate(s) in this PEM file for https:// (besides the usual
    /// web roots), e.g. a self-signed server's; overrides targets.yaml `ca_cert`.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Closed loop: this many requests in flight at all times (at most 65,535, and
    /// never more than the requests sent).
    #[arg(long, short = 'c', conflicts_with = "rate")]
    pub concurrency: Option<u32>,
    /// Open loop: send this many requests per second on a fixed schedule.
    #[arg(long, short = 'r')]
    pub rate: Option<f64>,
    /// Arrival process for --rate.
    #[arg(long, value_enum, requires = "rate")]
    pub arrival: Option<ArrivalArg>,
    /// Shape of gamma arrivals: 1 is Poisson, < 1 burstier, > 1 more regular.
    #[arg(long, requires = "rate")]
    pub burstiness: Option<f64>,
    /// Open loop: at most this many requests in flight; later arrivals wait.
    #[arg(long, requires = "rate")]
    pub max_concurrency: Option<u32>,
    /// Stop after this many measured requests (warm-up not included).
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Stop sending after this long, e.g. 30s, 2m.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Requests sent first and excluded from statistics.
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Synthetic prompt length in tokens (approximate; the server's usage is recorded).
    #[arg(long)]
    pub prompt_tokens: Option<u32>,
    /// max_tokens for every request.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Ask the server to ignore end-of-sequence so every response is max_tokens long
    /// (vLLM, SGLang; strict servers reject the field).
    #[arg(long)]
    pub ignore_eos: bool,
    /// Send non-streaming requests (TTFT then equals E2E).
    #[arg(long)]
    pub no_stream: bool,
    /// Seed for prompts and arrival times.
    #[arg(long)]
    pub seed: Option<u64>,
    /// `avoid` (default): each prompt starts with a salt of its own (about 5
    /// tokens, new every run), so no request is served from a prefix cache that
    /// another request or an earlier run filled; `allow`: send the seeded prompts as
    /// they are, to measure caching (overrides the prompt's `prefix_cache`).
    #[arg(long, value_enum, value_name = "MODE")]
    pub prefix_cache: Option<PrefixCacheArg>,
    /// Repeat each scenario this many times (trials are the unit of comparison).
    #[arg(long)]
    pub trials: Option<u32>,
    /// With --compare: while a gated verdict is inconclusive, run more trials, up to
    /// this many in all. Each look at the data is judged at α divided by the looks
    /// the run may take, so the false-alarm rate stays at α.
    #[arg(long, value_name = "N", requires = "compare")]
    pub max_trials: Option<u32>,
    /// Fail the run when more than this share of requests fail (0–1).
    #[arg(long)]
    pub max_error_rate: Option<f64>,
    /// After Ctrl-C, SIGTERM or the duration limit, wait this long for in-flight
    /// requests.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub grace: String,
    /// Give up on a response that sends nothing for this long (default: targets.yaml
    /// `timeouts.stall`, else 60s); recorded as a `timeout` error.
    #[arg(long, value_name = "DURATION")]
    pub stall_timeout: Option<String>,
    /// Give up on a whole request after this long (default: targets.yaml
    /// `timeouts.request`, else 600s).
    #[arg(long, value_name = "DURATION")]
    pub request_timeout: Option<String>,

    /// Run the I-th of N disjoint parts of the selected scenarios (e.g. 2/3), for a
    /// CI matrix; every machine computes the same split. Merge the folders with
    /// `llm-bench merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Send the I-th share of each scenario's load (e.g. 2/3): every N-th arrival of
    /// the open-loop schedule, or 1/N of a closed loop's concurrency, for load beyond
    /// one client machine. Merge the folders with `llm-bench merge`.
    #[arg(long, value_name = "I/N")]
    pub generator: Option<String>,
    /// Wait until this wall-clock time before the first trial (RFC 3339, e.g.
    /// 2026-12-03T22:30:00Z), so that generators on several machines start together.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,

    /// Results folder (default: RESULTS_DIR/<run id>).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where run folders are created.
    #[arg(long, default_value = "results", value_name = "DIR")]
    pub results_dir: PathBuf,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,
    #[command(flatten)]
    pub live: LiveArgs,

    /// After the run, compare each scenario with its baseline (as `llm-bench
    /// compare`); trials default to at least 4.
    #[arg(long)]
    pub compare: bool,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

/// GPU and server telemetry flags of `run`.
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// GPUs to read power and energy from through NVML: indices or UUIDs, e.g. `0,1`,
    /// or `all` (default: those in CUDA_VISIBLE_DEVICES, else all; only when the
    /// server is on this machine unless given).
    #[arg(long, value_name = "LIST")]
    pub gpus: Option<String>,
    /// How often GPUs are read, e.g. 250ms.
    #[arg(long, default_value = "250ms", value_name = "DURATION")]
    pub telemetry_interval: String,
    /// How often the server's (and DCGM's) Prometheus metrics are scraped.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub scrape_interval: String,
    /// The server's Prometheus endpoint, or `off` (default: targets.yaml `metrics`,
    /// else /metrics on the server's origin).
    #[arg(long, value_name = "URL")]
    pub metrics_url: Option<String>,
    /// Also read GPUs from a DCGM exporter, e.g. http://gpu-node:9400/metrics (for a
    /// server on another machine).
    #[arg(long, value_name = "URL")]
    pub dcgm_url: Option<String>,
    /// Read no GPU and scrape no metrics.
    #[arg(long, conflicts_with_all = ["gpus", "metrics_url", "dcgm_url"])]
    pub no_telemetry: bool,
}

/// Live metrics flags of `run`: Prometheus and Grafana watch the run as it goes.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Serve the client's live metrics (OpenMetrics) at http://ADDR/metrics while the
    /// run lasts, e.g. 127.0.0.1:9464; a bare port means loopback. A port in use
    /// stops the run before any request (exit 2).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Push the live metrics to this Prometheus Pushgateway after each trial and at
    /// the end of the run (with the summary's key figures), e.g.
    /// http://127.0.0.1:9091; a push that fails is a warning.
    #[arg(long, value_name = "URL")]
    pub pushgateway: Option<String>,
    /// After the run, keep --metrics-listen up until the next scrape, at most this
    /// long (e.g. your scrape interval, 15s), so Prometheus gets the final values.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub metrics_linger: String,
}

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

#[derive(Debug, Args)]
pub struct CommentArgs {
    /// Results folder written by `llm-bench run` (and `llm-bench compare`).
    #[arg(value_name = "RESULTS_DIR")]
    pub results_dir: PathBuf,
    /// Names this benchmark job's comment, so several jobs in one repository keep
    /// separate comments (letters, digits, `.`, `_`, `-`, `/`).
    #[arg(long, default_value = "default", value_name = "KEY")]
    pub key: String,
    /// Pull request (or issue) to comment on (default: the one in GITHUB_EVENT_PATH).
    #[arg(long, value_name = "N")]
    pub pr: Option<u64>,
    /// Fail (exit 4) when the comment cannot be posted, instead of warning.
    #[arg(long)]
    pub strict: bool,
    /// Markdown file to publish, relative to RESULTS_DIR (default: comparison.md when
    /// present, else report.md).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A warning shown at the top of the comment (repeatable), e.g. that the pull
    /// request changes baselines/.
    #[arg(long = "note", value_name = "TEXT")]
    pub notes: Vec<String>,
    /// Where the full results are; a shortened comment links there (default: this
    /// workflow run's page, from GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID).
    #[arg(long, value_name = "URL")]
    pub artifact_url: Option<String>,
    /// Write the job summary and step outputs and print the comment, but post nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Edit only a comment written by this login, e.g. `my-app[bot]` for a GitHub
    /// App's token (default: the token's own identity, `github-actions[bot]` for the
    /// job token). Marked comments by anyone else are never edited.
    #[arg(long, value_name = "LOGIN")]
    pub author: Option<String>,
    /// Show the path FROM as TO in what is published (repeatable), e.g. a scratch copy
    /// of the base branch's baselines as `baselines`.
    #[arg(long = "path-alias", value_name = "FROM=TO")]
    pub path_aliases: Vec<String>,
    /// The run exited with this code without finishing: publish "⛔ benchmark failed
    /// (exit N)" for this commit (RESULTS_DIR may be missing or empty).
    #[arg(long, value_name = "EXIT_CODE", allow_negative_numbers = true)]
    pub run_failed: Option<i32>,
    /// With --run-failed: the run's first error line.
    #[arg(long, value_name = "TEXT", requires = "run_failed")]
    pub error: Option<String>,
    /// The workflow file that blesses baselines (in CI a scenario without a baseline
    /// points there), e.g. bless.yml.
    #[arg(long, value_name = "FILE")]
    pub bless_workflow: Option<String>,
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
