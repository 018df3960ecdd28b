//! Flags + config files → one validated description of a run.
//!
//! Two ways in: with `--url` nothing is read from disk and the flags describe a single
//! scenario (`adhoc`); otherwise targets, models and workloads come from the config
//! folder and the load flags override every selected scenario.

mod conversation;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};

use crate::cli::{ApiArg, ArrivalArg, PrefixCacheArg, RunArgs, TelemetryArgs};
use crate::client::{Api, BodyTemplate, CaCert};
use crate::config::{self, Config, Endpoint, Load, PrefixCache, PromptSource};
use crate::manifest::{LoadSpec, ScenarioSpec, SloSpec};
use crate::sim::SimConfig;
use crate::telemetry::{GpuSelection, TelemetryOptions};
use crate::workload::dataset::DatasetPrompts;
use crate::workload::prompts::Synthetic;
use crate::workload::tokenizer::{TokenCounter, TokenizerError};
use crate::workload::{ArrivalKind, LoadPlan, PromptGenerator, ScenarioPlan};

pub use crate::usage_error::UsageError;

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Destination {
    Url(String),
    /// Start the built-in simulated server first.
    Sim(SimConfig),
}

/// A validated run.
#[derive(Debug)]
pub struct RunOptions {
    pub target_name: String,
    pub destination: Destination,
    pub api: Api,
    pub api_key: Option<String>,
    /// Where the key is read from, for messages: "`MY_KEY` (--api-key-env)",
    /// "targets.yaml `api_key` of target `vllm`".
    pub key_source: String,
    pub headers: Vec<(String, String)>,
    /// Certificates to trust for `https://` (`--ca-cert`, targets.yaml `ca_cert`).
    pub ca_cert: Option<CaCert>,
    pub timeouts: config::Timeouts,
    /// `None`: ask the server's `/models` and take the first.
    pub model: Option<String>,
    pub scenarios: Vec<(ScenarioPlan, BodyTemplate)>,
    pub workload_hash: String,
    pub out_dir: Option<PathBuf>,
    pub results_dir: PathBuf,
    pub grace: Duration,
    pub telemetry: TelemetryOptions,
}

impl RunOptions {
    /// Every credential this run holds, for the redactor: the API key, credential
    /// headers (and the token after `Bearer `), and a password or key in the URL.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.api_key.iter().cloned().collect();
        for (name, value) in &self.headers {
            if crate::redact::is_secret_header(name) {
                out.extend(crate::redact::header_secrets(value));
            }
        }
        if let Destination::Url(url) = &self.destination {
            out.extend(crate::redact::url_secrets(url));
        }
        out
    }
}

impl RunOptions {
    pub fn from_args(
        args: &RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<RunOptions> {
        let grace = parse_flag_duration("--grace", &args.grace)?;
        if let Some(out) = &args.out {
            refuse_non_empty_out(out)?;
        }
        let mut options = if args.url.is_some() {
            Self::adhoc(args, env, grace)?
        } else {
            Self::from_config(args, env, grace)?
        };
        if let Some(path) = &args.ca_cert {
            options.ca_cert = Some(CaCert::load(path).map_err(|e| UsageError(e.to_string()))?);
        }
        if let Some(stall) = &args.stall_timeout {
            options.timeouts.stall = parse_flag_duration("--stall-timeout", stall)?;
        }
        if let Some(request) = &args.request_timeout {
            options.timeouts.request = parse_flag_duration("--request-timeout", request)?;
        }
        if let Some(max) = args.max_trials {
            for (plan, _) in &mut options.scenarios {
                if max < plan.spec.trials {
                    return Err(UsageError(format!(
                        "--max-trials {max} is below the {} trials scenario `{}` runs first; \
                         pass at least --max-trials {} (or fewer --trials)",
                        plan.spec.trials, plan.spec.name, plan.spec.trials
                    ))
                    .into());
                }
                plan.spec.max_trials = (max > plan.spec.trials).then_some(max);
            }
        }
        Ok(options)
    }

    fn adhoc(
        args: &RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
        grace: Duration,
    ) -> anyhow::Result<RunOptions> {
        let url = args.url.clone().unwrap_or_default();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(UsageError(format!(
                "--url must start with http:// or https:// (got `{url}`)"
            ))
            .into());
        }
        let api = match args.api {
            ApiArg::Chat => Api::Chat,
            ApiArg::Completions => Api::Completions,
        };
        let load = cli_load(args)?.unwrap_or(Load::Closed { concurrency: 1 });
        let duration = args
            .duration
            .as_deref()
            .map(|d| parse_flag_duration("--duration", d))
            .transpose()?;
        let requests = match (args.requests, duration) {
            (None, None) => Some(100),
            (r, _) => r,
        };
        let seed = args.seed.unwrap_or(42);
        let prefix_cache = prefix_cache(args, PrefixCache::Avoid);
        let prompt = salt_unless_allowed(
            PromptGenerator::synthetic(args.prompt_tokens.unwrap_or(256), 0.0, seed),
            prefix_cache,
            rand::random(),
        );
        let spec = ScenarioSpec {
            name: "adhoc".into(),
            prompt: format!("synthetic-{}", prompt.approx_tokens()),
            load: load_spec(&load),
            requests,
            duration_s: duration.map(|d| d.as_secs_f64()),
            warmup: args.warmup.unwrap_or(0),
            max_tokens: args.max_tokens.unwrap_or(128),
            ignore_eos: args.ignore_eos,
            stream: !args.no_stream,
            seed,
            prefix_cache,
            output_tokens: None,
            shared_prefix: None,
            tokenizer_sha256: None,
            approximate_lengths: Some(SYNTHETIC_LENGTHS.into()),
            trials: crate::compare::default_trials(
                args.trials,
                1,
                args.compare,
                args.baseline.bless,
            ),
            max_trials: None,
            slo: SloSpec::default(),
            max_error_rate: args.max_error_rate.unwrap_or(0.05),
            thresholds: Default::default(),
        };
        let body = BodyTemplate {
            api,
            model: args.model.clone().unwrap_or_default(),
            max_tokens: spec.max_tokens,
            ignore_eos: spec.ignore_eos,
            stream: spec.stream,
            extra: Default::default(),
        };
        let plan = plan(spec, &load, prompt, requests, duration)?;
        let (api_key, key_source) = adhoc_key(args.api_key_env.as_deref(), env)?;
        Ok(RunOptions {
            target_name: "adhoc".into(),
            destination: Destination::Url(url),
            api,
            api_key,
            key_source,
            headers: Vec::new(),
            ca_cert: None,
            timeouts: config::Timeouts::default(),
            model: args.model.clone(),
            workload_hash: crate::hash::sha256_hex(format!("{:?}", plan.spec).as_bytes()),
            scenarios: vec![(plan, body)],
            out_dir: args.out.clone(),
            results_dir: args.results_dir.clone(),
            grace,
            telemetry: telemetry_options(&args.telemetry, config::MetricsSource::Default, env)?,
        })
    }

    fn from_config(
        args: &RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
        grace: Duration,
    ) -> anyhow::Result<RunOptions> {
        if let Some(name) = &args.api_key_env {
            bail!(UsageError(format!(
                "--api-key-env {name} applies to --url only; a target of targets.yaml reads its \
                 key from `api_key:` (e.g. `api_key: ${{{name}}}`)"
            )));
        }
        let config: Config = config::load_dir(&args.config_dir, env).map_err(|errors| {
            UsageError(format!(
                "{errors}\n(check the files with `llm-bench validate --config-dir {}`)",
                args.config_dir.display()
            ))
        })?;
        let target_name = args
            .target
            .clone()
            .unwrap_or_else(|| config.default_target.clone());
        let target = config.target(&target_name).ok_or_else(|| {
            UsageError(format!(
                "no target `{target_name}` in {}/targets.yaml; known targets: {}",
                args.config_dir.display(),
                config
                    .targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let model_name = args
            .model
            .clone()
            .or_else(|| target.model.clone())
            .unwrap_or_else(|| config.default_model.clone());
        let model = config.model(&model_name);
        let api = match target.api {
            config::ApiFlavor::Chat => Api::Chat,
            config::ApiFlavor::Completions => Api::Completions,
        };
        let selected: Vec<&config::Scenario> = if args.scenarios.is_empty() {
            config.workloads.scenarios.iter().collect()
        } else {
            let picked: Vec<Vec<&config::Scenario>> = args
                .scenarios
                .iter()
                .map(|name| {
                    let picked = config.workloads.select(name);
                    if !picked.is_empty() {
                        return Ok(picked);
                    }
                    Err(UsageError(format!(
                        "no scenario `{name}` in {}/workloads.yaml; known scenarios: {}",
                        args.config_dir.display(),
                        config
                            .workloads
                            .scenarios
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                })
                .collect::<Result<_, _>>()?;
            // `-s sweep -s sweep.c4` runs that point once.
            let mut selected: Vec<&config::Scenario> = Vec::new();
            for s in picked.into_iter().flatten() {
                if !selected.iter().any(|t| t.name == s.name) {
                    selected.push(s);
                }
            }
            selected
        };
        let load_override = cli_load(args)?;
        let duration_override = args
            .duration
            .as_deref()
            .map(|d| parse_flag_duration("--duration", d))
            .transpose()?;
        // One random number per run, never the seed: a rerun with the same seed
        // sends other salts, so it cannot be served from the cache the last run
        // filled.
        let run_salt: u64 = rand::random();
        let tokenizer = model
            .and_then(|m| m.tokenizer.as_deref())
            .map(|path| {
                let bytes = std::fs::read(path).map_err(|e| TokenizerError {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                TokenCounter::from_bytes(path, &bytes)
            })
            .transpose()
            .map_err(|e| UsageError(format!("models.yaml: model `{model_name}`: {e}")))?;
        let mut scenarios = Vec::new();
        for s in selected {
            if let Load::Trace { .. } = s.load {
                let tokenizer = tokenizer.clone();
                let plan = trace_scenario(args, s, model, api, &model_name, run_salt, tokenizer)?;
                scenarios.push(plan);
                continue;
            }
            let load = load_override.clone().unwrap_or_else(|| s.load.clone());
            let (requests, duration) = match (args.requests, duration_override) {
                (None, None) => (s.stop.requests, s.stop.duration),
                overridden => overridden,
            };
            let seed = args.seed.unwrap_or(s.seed);
            // A scenario's own lengths (or `--max-tokens`) win over a dataset record's.
            let record_output =
                args.max_tokens.is_none() && s.max_tokens.is_none() && s.output_tokens.is_none();
            let (prompt, prefix_cache, shared_prefix) = match &s.dataset {
                Some(dataset) => {
                    let prompts =
                        dataset_prompts(args, s, dataset, tokenizer.as_ref(), record_output)?;
                    let prefix_cache = prefix_cache(args, PrefixCache::Avoid);
                    (
                        salt_unless_allowed(prompts, prefix_cache, run_salt),
                        prefix_cache,
                        None,
                    )
                }
                None => {
                    let prompt_spec = config
                        .workloads
                        .prompts
                        .iter()
                        .find(|p| p.name == s.prompt)
                        .ok_or_else(|| {
                            anyhow!("scenario `{}` names unknown prompt `{}`", s.name, s.prompt)
                        })?;
                    let prompt = match (&prompt_spec.source, args.prompt_tokens) {
                        (_, Some(tokens)) => PromptGenerator::synthetic(tokens, 0.0, seed),
                        (PromptSource::Template { text }, None) => {
                            PromptGenerator::Template(text.clone())
                        }
                        (PromptSource::Synthetic { tokens, spread }, None) => {
                            PromptGenerator::synthetic(*tokens, *spread, seed)
                        }
                        (PromptSource::SyntheticLengths { lengths }, None) => {
                            PromptGenerator::Synthetic(Synthetic {
                                lengths: lengths.clone(),
                                seed,
                                tokenizer: None,
                                prefix: None,
                            })
                        }
                    }
                    .with_tokenizer(tokenizer.clone())
                    .with_shared_prefix(prompt_spec.shared_prefix);
                    let prefix_cache = prefix_cache(args, prompt_spec.prefix_cache);
                    let prompt = salt_unless_allowed(prompt, prefix_cache, run_salt);
                    (prompt, prefix_cache, prompt_spec.shared_prefix)
                }
            };
            let max_tokens = args
                .max_tokens
                .or(s.max_tokens)
                .unwrap_or_else(|| model.map_or(128, |m| m.max_tokens));
            // `--max-tokens` gives every request the same limit.
            let output_tokens = s
                .output_tokens
                .clone()
                .filter(|_| args.max_tokens.is_none());
            let exact = prompt.exact_lengths() == Some(true);
            let approximate_lengths = match &s.dataset {
                _ if exact => None,
                _ if args.prompt_tokens.is_some() => Some(SYNTHETIC_LENGTHS.to_string()),
                Some(d) => crate::workload::dataset::approximated(d, record_output),
                None => prompt
                    .exact_lengths()
                    .map(|_| SYNTHETIC_LENGTHS.to_string()),
            };
            let spec = ScenarioSpec {
                name: s.name.clone(),
                // `--prompt-tokens` replaces the named prompt: say so, so that the
                // workload hash (and a baseline's comparability) follows it.
                prompt: match args.prompt_tokens {
                    Some(tokens) => format!("synthetic-{tokens}"),
                    None => s.prompt.clone(),
                },
                load: load_spec(&load),
                requests,
                duration_s: duration.map(|d| d.as_secs_f64()),
                warmup: args.warmup.unwrap_or(s.warmup),
                max_tokens,
                ignore_eos: args.ignore_eos || s.ignore_eos,
                stream: s.stream && !args.no_stream,
                seed,
                prefix_cache,
                output_tokens: output_tokens
                    .as_ref()
                    .map(config::Lengths::describe)
                    .or_else(|| {
                        let records = s.dataset.as_ref().filter(|_| record_output);
                        records.map(|_| "each dataset record's".to_string())
                    }),
                shared_prefix: shared_prefix.map(|p| p.describe()),
                tokenizer_sha256: tokenizer
                    .as_ref()
                    .filter(|_| exact)
                    .map(|t| t.sha256().to_string()),
                approximate_lengths,
                trials: crate::compare::default_trials(
                    args.trials,
                    s.trials,
                    args.compare,
                    args.baseline.bless,
                ),
                max_trials: None,
                slo: SloSpec {
                    ttft_ms: s.slo.ttft_ms,
                    tpot_ms: s.slo.tpot_ms,
                    e2e_ms: s.slo.e2e_ms,
                },
                max_error_rate: args.max_error_rate.unwrap_or(s.max_error_rate),
                thresholds: s.thresholds.clone(),
            };
            let body = BodyTemplate {
                api,
                model: model_name.clone(),
                max_tokens,
                ignore_eos: spec.ignore_eos,
                stream: spec.stream,
                extra: model.map(|m| m.extra_body.clone()).unwrap_or_default(),
            };
            let mut plan = plan(spec, &load, prompt, requests, duration)?;
            // Each request's length is its record's; the records without one ask
            // for the model's (or the scenario's) `max_tokens`.
            let records_fallback = s.dataset.as_ref().filter(|_| record_output);
            plan.output_tokens =
                output_tokens.or(records_fallback.map(|_| config::Lengths::Fixed(max_tokens)));
            plan.tokenizer = tokenizer.clone();
            plan.capacity = capacity_search(s, &load)?;
            plan.conversation = conversation::plan_of(s, api, &plan, &tokenizer)?;
            scenarios.push((plan, body));
        }
        let destination = match &target.endpoint {
            Endpoint::Url(url) => Destination::Url(url.clone()),
            Endpoint::Sim(sim) => Destination::Sim(sim.clone()),
        };
        Ok(RunOptions {
            target_name,
            destination,
            api,
            api_key: target.api_key.as_ref().map(|k| k.expose().to_string()),
            key_source: format!(
                "{}/targets.yaml `api_key` of target `{}`",
                args.config_dir.display(),
                target.name
            ),
            headers: target
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string()))
                .collect(),
            ca_cert: target.ca_cert.clone(),
            timeouts: target.timeouts.clone(),
            model: Some(model_name),
            scenarios,
            workload_hash: config.workloads.hash.clone(),
            out_dir: args.out.clone(),
            results_dir: args.results_dir.clone(),
            grace,
            telemetry: telemetry_options(&args.telemetry, target.metrics.clone(), env)?,
        })
    }
}

/// `--out` must be new or empty: what an earlier run left there (`comparison.*`,
/// `*.baseline.json.new`) would otherwise be published, compared or blessed as this
/// run's.
fn refuse_non_empty_out(out: &std::path::Path) -> Result<(), UsageError> {
    let shown = out.display();
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(UsageError(format!(
            "--out {shown} is not empty: files of an earlier run there would be taken for this run's. \
             Pass a new folder, delete this one first, or leave out --out (each run then gets RESULTS_DIR/<run id>)"
        ))),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() && !out.is_dir() => Err(UsageError(format!(
            "--out {shown} is a file, not a folder; pass a new folder"
        ))),
        // Unreadable: creating the folder later reports why.
        Err(_) => Ok(()),
    }
}

/// The key for `--url`: from the variable `--api-key-env` names (which must then be
/// set), else from OPENAI_API_KEY when set. Returns it and where it comes from.
fn adhoc_key(
    named: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Option<String>, String)> {
    let (name, source) = match named {
        Some(name) => (name, format!("`{name}` (--api-key-env)")),
        None => (DEFAULT_KEY_VAR, format!("`{DEFAULT_KEY_VAR}`")),
    };
    let key = env(name).filter(|k| !k.is_empty());
    if key.is_none() && named.is_some() {
        bail!(UsageError(format!(
            "--api-key-env {name}: the environment variable `{name}` is not set (or is empty); \
             export it, or leave out --api-key-env to send no key"
        )));
    }
    if let Some(key) = &key {
        if let Err(problem) = crate::config::check_header_value(key) {
            bail!(UsageError(format!(
                "the API key in {source} {problem} (it is sent in the `Authorization` header)"
            )));
        }
    }
    Ok((key, source))
}

/// The variable `--url` reads its key from when `--api-key-env` is not given.
pub const DEFAULT_KEY_VAR: &str = "OPENAI_API_KEY";

/// Telemetry flags (and the target's `metrics:` setting) → what to sample. The
/// GPUs default to CUDA_VISIBLE_DEVICES, as the server's own processes see them.
fn telemetry_options(
    args: &TelemetryArgs,
    target_metrics: config::MetricsSource,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<TelemetryOptions> {
    let TelemetryArgs {
        gpus,
        telemetry_interval,
        scrape_interval,
        metrics_url,
        dcgm_url,
        no_telemetry,
    } = args;
    let usage = |e: String| anyhow!(UsageError(e));
    let gpu_selection = match (gpus, env("CUDA_VISIBLE_DEVICES")) {
        (Some(flag), _) => Some(GpuSelection::parse_flag(flag).map_err(usage)?),
        (None, Some(visible)) => {
            GpuSelection::from_cuda_visible_devices(&visible).map_err(usage)?
        }
        (None, None) => Some(GpuSelection::All),
    };
    let interval = |flag: &str, text: &str| -> anyhow::Result<Duration> {
        let d = parse_flag_duration(flag, text)?;
        if d < Duration::from_millis(10) {
            bail!(UsageError(format!(
                "{flag} must be at least 10ms (got {text}); sampling faster measures the sampler"
            )));
        }
        Ok(d)
    };
    let check = |flag: &str, url: &str| -> anyhow::Result<String> {
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(url.trim_end_matches('/').to_string())
        } else {
            Err(usage(format!(
                "{flag} must start with http:// or https:// (got `{url}`)"
            )))
        }
    };
    let metrics = match metrics_url.as_deref() {
        None => target_metrics,
        Some("off") => config::MetricsSource::Off,
        Some(url) => config::MetricsSource::Url(check("--metrics-url", url)?),
    };
    Ok(TelemetryOptions {
        enabled: !no_telemetry,
        gpus: gpu_selection,
        gpus_explicit: gpus.is_some(),
        gpu_interval: interval("--telemetry-interval", telemetry_interval)?,
        scrape_interval: interval("--scrape-interval", scrape_interval)?,
        metrics,
        dcgm_url: dcgm_url
            .as_deref()
            .map(|u| check("--dcgm-url", u))
            .transpose()?,
        nvml_library: env("LLM_BENCH_NVML_LIB")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
    })
}

/// Load flags, if any were given.
fn cli_load(args: &RunArgs) -> anyhow::Result<Option<Load>> {
    if let Some(concurrency) = args.concurrency {
        if concurrency == 0 {
            bail!(UsageError("--concurrency must be at least 1".into()));
        }
        return Ok(Some(Load::Closed { concurrency }));
    }
    let Some(rate) = args.rate else {
        return Ok(None);
    };
    if !(rate.is_finite() && rate > 0.0) {
        bail!(UsageError(format!(
            "--rate must be a positive number of requests per second (got {rate})"
        )));
    }
    let arrival = match (args.arrival, args.burstiness) {
        (Some(ArrivalArg::Gamma), Some(b)) | (None, Some(b)) if b > 0.0 && b.is_finite() => {
            config::Arrival::Gamma { burstiness: b }
        }
        (_, Some(b)) if !(b > 0.0 && b.is_finite()) => {
            bail!(UsageError(format!("--burstiness must be > 0 (got {b})")))
        }
        (Some(ArrivalArg::Gamma), None) => bail!(UsageError(
            "--arrival gamma needs --burstiness K (1 is Poisson, < 1 burstier)".into()
        )),
        (Some(ArrivalArg::Constant), _) => config::Arrival::Constant,
        _ => config::Arrival::Poisson,
    };
    if args.max_concurrency == Some(0) {
        bail!(UsageError("--max-concurrency must be at least 1".into()));
    }
    Ok(Some(Load::Open {
        rate,
        arrival,
        max_concurrency: args.max_concurrency,
    }))
}

fn load_spec(load: &Load) -> LoadSpec {
    match load {
        Load::Closed { concurrency } => LoadSpec::Closed {
            concurrency: *concurrency,
        },
        Load::Open {
            rate,
            arrival,
            max_concurrency,
        } => LoadSpec::Open {
            rate: *rate,
            arrival: arrival_kind(arrival).name().to_string(),
            burstiness: match arrival {
                config::Arrival::Gamma { burstiness } => Some(*burstiness),
                _ => None,
            },
            max_concurrency: *max_concurrency,
        },
        Load::Trace {
            trace,
            max_concurrency,
        } => LoadSpec::Trace {
            file: trace.file.clone(),
            format: trace.format.name().to_string(),
            rows: trace.requests.len() as u64,
            time_scale: trace.time_scale,
            sha256: trace.sha256.clone(),
            mean_rate: trace.mean_rate(),
            max_concurrency: *max_concurrency,
        },
    }
}

fn arrival_kind(arrival: &config::Arrival) -> ArrivalKind {
    match arrival {
        config::Arrival::Constant => ArrivalKind::Constant,
        config::Arrival::Poisson => ArrivalKind::Poisson,
        config::Arrival::Gamma { burstiness } => ArrivalKind::Gamma {
            burstiness: *burstiness,
        },
    }
}

/// The plan of one scenario. Its in-flight bound is capped by the requests it sends
/// (the spec keeps the value asked for), and must then fit
/// [`config::MAX_CONCURRENCY`].
fn plan(
    spec: ScenarioSpec,
    load: &Load,
    prompts: PromptGenerator,
    requests: Option<u64>,
    duration: Option<Duration>,
) -> anyhow::Result<ScenarioPlan> {
    let total_requests = requests.map(|n| n + spec.warmup);
    let usable = |asked: u32| -> anyhow::Result<u32> {
        let n = config::usable_concurrency(asked, total_requests);
        if n > config::MAX_CONCURRENCY {
            bail!(UsageError(format!(
                "scenario `{}`: {}",
                spec.name,
                config::too_many_in_flight(asked)
            )));
        }
        Ok(n)
    };
    let load = match load {
        Load::Closed { concurrency } => LoadPlan::Closed {
            concurrency: usable(*concurrency)?,
        },
        Load::Open {
            rate,
            arrival,
            max_concurrency,
        } => LoadPlan::Open {
            rate: *rate,
            arrival: arrival_kind(arrival),
            max_concurrency: max_concurrency.map(usable).transpose()?,
        },
        Load::Trace {
            trace,
            max_concurrency,
        } => LoadPlan::Trace {
            replay: crate::workload::TraceReplay {
                requests: trace.requests.clone(),
                time_scale: trace.time_scale,
            },
            max_concurrency: max_concurrency.map(usable).transpose()?,
        },
    };
    // A trace ends at its last row, whatever `requests` asks for.
    let total_requests = match &load {
        LoadPlan::Trace { replay, .. } => {
            Some(total_requests.map_or(replay.len(), |n| n.min(replay.len())))
        }
        _ => total_requests,
    };
    Ok(ScenarioPlan {
        spec,
        load,
        prompts,
        total_requests,
        duration,
        output_tokens: None,
        tokenizer: None,
        capacity: None,
        conversation: None,
    })
}

/// The plan of a scenario that replays a trace: prompts of each row's input length
/// (seeded synthetic words), `max_tokens` of its output length. The flags that set
/// those, or the load, would contradict the trace, so they are refused.
fn trace_scenario(
    args: &RunArgs,
    s: &config::Scenario,
    model: Option<&config::Model>,
    api: Api,
    model_name: &str,
    run_salt: u64,
    tokenizer: Option<TokenCounter>,
) -> anyhow::Result<(ScenarioPlan, BodyTemplate)> {
    let contradicting = [
        ("--concurrency", args.concurrency.is_some()),
        ("--rate", args.rate.is_some()),
        ("--prompt-tokens", args.prompt_tokens.is_some()),
        ("--max-tokens", args.max_tokens.is_some()),
    ];
    if let Some((flag, _)) = contradicting.iter().find(|(_, set)| *set) {
        bail!(UsageError(format!(
            "scenario `{}` replays a trace, which sets the schedule, prompt lengths and \
             max_tokens; drop {flag}, or pick other scenarios with --scenario",
            s.name
        )));
    }
    let seed = args.seed.unwrap_or(s.seed);
    let prefix_cache = prefix_cache(args, PrefixCache::Avoid);
    // Each row's prompt is cut to its length (exactly, with the tokenizer) by
    // `workload::trace::with_length`.
    let prompt = salt_unless_allowed(
        PromptGenerator::synthetic(1, 0.0, seed).with_tokenizer(tokenizer.clone()),
        prefix_cache,
        run_salt,
    );
    let duration = args
        .duration
        .as_deref()
        .map(|d| parse_flag_duration("--duration", d))
        .transpose()?
        .or(s.stop.duration);
    let requests = args.requests.or(s.stop.requests);
    // Rows' own lengths go in each request; the template's is the first row's, so
    // that anything reading the spec sees a length the trace has.
    let first_row = match &s.load {
        Load::Trace { trace, .. } => trace.requests.first().map(|r| r.output_tokens),
        _ => None,
    };
    let max_tokens = first_row.unwrap_or_else(|| model.map_or(128, |m| m.max_tokens));
    let spec = ScenarioSpec {
        name: s.name.clone(),
        prompt: s.prompt.clone(),
        load: load_spec(&s.load),
        requests,
        duration_s: duration.map(|d| d.as_secs_f64()),
        warmup: args.warmup.unwrap_or(s.warmup),
        max_tokens,
        ignore_eos: args.ignore_eos || s.ignore_eos,
        stream: s.stream && !args.no_stream,
        seed,
        prefix_cache,
        trials: crate::compare::default_trials(
            args.trials,
            s.trials,
            args.compare,
            args.baseline.bless,
        ),
        max_trials: None,
        slo: SloSpec {
            ttft_ms: s.slo.ttft_ms,
            tpot_ms: s.slo.tpot_ms,
            e2e_ms: s.slo.e2e_ms,
        },
        max_error_rate: args.max_error_rate.unwrap_or(s.max_error_rate),
        thresholds: s.thresholds.clone(),
        // A trace sets each request's lengths itself.
        output_tokens: None,
        shared_prefix: None,
        tokenizer_sha256: tokenizer.as_ref().map(|t| t.sha256().to_string()),
        approximate_lengths: tokenizer
            .is_none()
            .then(|| "trace prompt lengths".to_string()),
    };
    let body = BodyTemplate {
        api,
        model: model_name.to_string(),
        max_tokens,
        ignore_eos: spec.ignore_eos,
        stream: spec.stream,
        extra: model.map(|m| m.extra_body.clone()).unwrap_or_default(),
    };
    let mut plan = plan(spec, &s.load, prompt, requests, duration)?;
    plan.tokenizer = tokenizer;
    Ok((plan, body))
}

/// The search a `capacity:` scenario runs, starting at its rate or concurrency
/// (or `--rate`'s, `--concurrency`'s).
fn capacity_search(
    s: &config::Scenario,
    load: &Load,
) -> anyhow::Result<Option<crate::workload::capacity::SearchSettings>> {
    use crate::workload::capacity::Knob;
    let Some(spec) = s.capacity else {
        return Ok(None);
    };
    let (knob, start) = match load {
        Load::Open { rate, .. } => (Knob::Rate, *rate),
        Load::Closed { concurrency } => (Knob::Concurrency, f64::from(*concurrency)),
        Load::Trace { .. } => bail!(UsageError(format!(
            "scenario `{}` searches the highest load meeting its SLO; a trace's schedule \
             cannot be searched (use `rate:` or `concurrency:`)",
            s.name
        ))),
    };
    Ok(Some(crate::workload::capacity::SearchSettings {
        knob,
        start,
        attain: spec.attain,
        tolerance: spec.tolerance,
        max_steps: spec.max_steps,
    }))
}

/// `--prefix-cache`, else the prompt's own setting.
fn prefix_cache(args: &RunArgs, configured: PrefixCache) -> PrefixCache {
    match args.prefix_cache {
        Some(PrefixCacheArg::Allow) => PrefixCache::Allow,
        Some(PrefixCacheArg::Avoid) => PrefixCache::Avoid,
        None => configured,
    }
}

/// What the report calls synthetic prompts whose lengths were approximated.
const SYNTHETIC_LENGTHS: &str = "synthetic prompt lengths";

/// The prompts of a scenario with `dataset:`: its records, measured with the
/// model's tokenizer when it has one, filtered and ordered (see
/// `workload::dataset`).
fn dataset_prompts(
    args: &RunArgs,
    s: &config::Scenario,
    dataset: &config::Dataset,
    tokenizer: Option<&TokenCounter>,
    record_output: bool,
) -> anyhow::Result<PromptGenerator> {
    if args.prompt_tokens.is_some() {
        bail!(UsageError(format!(
            "scenario `{}` reads its prompts from `{}`; drop --prompt-tokens, or pick other \
             scenarios with --scenario",
            s.name, dataset.file
        )));
    }
    let seed = args.seed.or(dataset.seed).unwrap_or(s.seed);
    let prompts = DatasetPrompts::open(dataset, tokenizer, seed, record_output)
        .map_err(|e| UsageError(format!("scenario `{}`: {e}", s.name)))?;
    Ok(PromptGenerator::Dataset(std::sync::Arc::new(prompts)))
}

/// The prompts as sent: salted per request unless the prompt allows sharing a
/// cacheable prefix (see `workload::prompts`).
fn salt_unless_allowed(
    prompts: PromptGenerator,
    prefix_cache: PrefixCache,
    run_salt: u64,
) -> PromptGenerator {
    match prefix_cache {
        PrefixCache::Avoid => prompts.salted(run_salt),
        PrefixCache::Allow => prompts,
    }
}

fn parse_flag_duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    config::parse_duration(text)
        .map_err(|e| UsageError(format!("{flag}: {e} (examples: 500ms, 30s, 2m)")).into())
}
