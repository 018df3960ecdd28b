//! A run from the config folder: the target, the model (and its tokenizer) and the
//! selected scenarios, each built by `scenario` (or `trace`, for a replay) with the
//! load flags applied.

use std::time::Duration;

use anyhow::bail;

use super::load::cli_load;
use super::scenario::{self, Shared};
use super::telemetry_flags::telemetry_options;
use super::trace::trace_scenario;
use super::{parse_flag_duration, Destination, RunOptions};
use crate::cli::RunArgs;
use crate::client::Api;
use crate::config::{self, Config, Endpoint, Load};
use crate::usage_error::UsageError;
use crate::workload::tokenizer::{TokenCounter, TokenizerError};

impl RunOptions {
    pub(super) fn from_config(
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
        let shared = Shared {
            args,
            prompt_specs: &config.workloads.prompts,
            model,
            model_name: &model_name,
            api,
            run_salt,
            tokenizer: &tokenizer,
            load_override: &load_override,
            duration_override,
        };
        let mut scenarios = Vec::new();
        for s in selected {
            if let Load::Trace { .. } = s.load {
                let tokenizer = tokenizer.clone();
                let plan = trace_scenario(args, s, model, api, &model_name, run_salt, tokenizer)?;
                scenarios.push(plan);
                continue;
            }
            scenarios.push(scenario::configured(&shared, s)?);
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
