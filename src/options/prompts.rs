//! What a scenario sends: `--prefix-cache` against the prompt's setting, the
//! per-run salt that keeps prompts out of the server's prefix cache, and a
//! dataset's prompts.

use anyhow::bail;

use crate::cli::{PrefixCacheArg, RunArgs};
use crate::config::{self, PrefixCache};
use crate::usage_error::UsageError;
use crate::workload::dataset::DatasetPrompts;
use crate::workload::tokenizer::TokenCounter;
use crate::workload::PromptGenerator;

/// `--prefix-cache`, else the prompt's own setting.
pub(super) fn prefix_cache(args: &RunArgs, configured: PrefixCache) -> PrefixCache {
    match args.prefix_cache {
        Some(PrefixCacheArg::Allow) => PrefixCache::Allow,
        Some(PrefixCacheArg::Avoid) => PrefixCache::Avoid,
        None => configured,
    }
}

/// What the report calls synthetic prompts whose lengths were approximated.
pub(super) const SYNTHETIC_LENGTHS: &str = "synthetic prompt lengths";

/// The prompts of a scenario with `dataset:`: its records, measured with the
/// model's tokenizer when it has one, filtered and ordered (see
/// `workload::dataset`).
pub(super) fn dataset_prompts(
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
pub(super) fn salt_unless_allowed(
    prompts: PromptGenerator,
    prefix_cache: PrefixCache,
    run_salt: u64,
) -> PromptGenerator {
    match prefix_cache {
        PrefixCache::Avoid => prompts.salted(run_salt),
        PrefixCache::Allow => prompts,
    }
}
