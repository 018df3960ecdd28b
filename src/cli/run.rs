//! Flags of `llm-bench run` (clap types only): the target, the load, when to stop,
//! splitting a run over machines, where results go, telemetry and live metrics.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::baseline::BaselineArgs;

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
