//! One scenario of workloads.yaml (not a trace replay) with the flags applied: its
//! prompts, lengths, load, capacity search and conversations → its plan and the
//! body every request starts from.

use std::time::Duration;

use anyhow::{anyhow, bail};

use super::conversation;
use super::load::{load_spec, plan};
use super::prompts::{dataset_prompts, prefix_cache, salt_unless_allowed, SYNTHETIC_LENGTHS};
use crate::cli::RunArgs;
use crate::client::{Api, BodyTemplate};
use crate::config::{self, Load, PrefixCache, PromptSource};
use crate::manifest::{ScenarioSpec, SloSpec};
use crate::usage_error::UsageError;
use crate::workload::prompts::Synthetic;
use crate::workload::tokenizer::TokenCounter;
use crate::workload::{PromptGenerator, ScenarioPlan};

/// What every scenario of a run shares: the flags, the prompts of workloads.yaml,
/// the model, and what was read once from the flags.
pub(super) struct Shared<'a> {
    pub args: &'a RunArgs,
    pub prompt_specs: &'a [config::PromptSpec],
    pub model: Option<&'a config::Model>,
    pub model_name: &'a str,
    pub api: Api,
    /// One random number per run (see `from_config`).
    pub run_salt: u64,
    pub tokenizer: &'a Option<TokenCounter>,
    /// `--concurrency` / `--rate`, which replace every scenario's load.
    pub load_override: &'a Option<Load>,
    pub duration_override: Option<Duration>,
}

/// The plan of configured scenario `s` and its request body.
pub(super) fn configured(
    shared: &Shared,
    s: &config::Scenario,
) -> anyhow::Result<(ScenarioPlan, BodyTemplate)> {
    let Shared {
        args,
        prompt_specs,
        model,
        model_name,
        api,
        run_salt,
        tokenizer,
        load_override,
        duration_override,
    } = *shared;
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
            let prompts = dataset_prompts(args, s, dataset, tokenizer.as_ref(), record_output)?;
            let prefix_cache = prefix_cache(args, PrefixCache::Avoid);
            (
                salt_unless_allowed(prompts, prefix_cache, run_salt),
                prefix_cache,
                None,
            )
        }
        None => {
            let prompt_spec = prompt_specs
                .iter()
                .find(|p| p.name == s.prompt)
                .ok_or_else(|| {
                    anyhow!("scenario `{}` names unknown prompt `{}`", s.name, s.prompt)
                })?;
            let prompt = match (&prompt_spec.source, args.prompt_tokens) {
                (_, Some(tokens)) => PromptGenerator::synthetic(tokens, 0.0, seed),
                (PromptSource::Template { text }, None) => PromptGenerator::Template(text.clone()),
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
        model: model_name.to_string(),
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
    plan.conversation = conversation::plan_of(s, api, &plan, tokenizer)?;
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
