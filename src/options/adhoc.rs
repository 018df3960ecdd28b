//! `--url`: no config folder, the flags alone describe one scenario (`adhoc`) and
//! where its API key comes from.

use std::time::Duration;

use anyhow::bail;

use super::load::{cli_load, load_spec, plan};
use super::prompts::{prefix_cache, salt_unless_allowed, SYNTHETIC_LENGTHS};
use super::telemetry_flags::telemetry_options;
use super::{parse_flag_duration, Destination, RunOptions};
use crate::cli::{ApiArg, RunArgs};
use crate::client::{Api, BodyTemplate};
use crate::config::{self, Load, PrefixCache};
use crate::manifest::{ScenarioSpec, SloSpec};
use crate::usage_error::UsageError;
use crate::workload::PromptGenerator;

impl RunOptions {
    pub(super) fn adhoc(
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
