//! A scenario that replays a trace: the trace sets the schedule and each request's
//! lengths, so the flags that would set them are refused.

use anyhow::bail;

use super::load::{load_spec, plan};
use super::parse_flag_duration;
use super::prompts::{prefix_cache, salt_unless_allowed};
use crate::cli::RunArgs;
use crate::client::{Api, BodyTemplate};
use crate::config::{self, Load, PrefixCache};
use crate::manifest::{ScenarioSpec, SloSpec};
use crate::usage_error::UsageError;
use crate::workload::tokenizer::TokenCounter;
use crate::workload::{PromptGenerator, ScenarioPlan};

/// The plan of a scenario that replays a trace: prompts of each row's input length
/// (seeded synthetic words), `max_tokens` of its output length. The flags that set
/// those, or the load, would contradict the trace, so they are refused.
pub(super) fn trace_scenario(
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
