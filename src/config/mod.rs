//! The config folder: `targets.yaml` (where to send), `models.yaml` (per-model request
//! settings) and `workloads.yaml` (what to send and how hard), read into one
//! validated [`Config`].
//!
//! Config mistakes should cost one edit, not one run each: [`load_dir`] reports every
//! problem it finds, each as `file:line:column: key.path: what is wrong; how to fix
//! it`. Files are parsed into raw structs that check only shapes and key names
//! (serde_yaml gives those errors their positions; each entry of `targets`,
//! `models`, `prompts` and `scenarios` is checked on its own so one typo does not hide
//! the next), then converted by hand into the types below, which is where value rules
//! and cross-file references are checked. A file's value rules run once its shape
//! errors are fixed.
//! `${VAR}` references in targets.yaml are expanded on the parsed fields, and
//! credentials are kept in [`Secret`], so no error or debug print shows one.

mod duration;
mod entries;
mod env;
mod error;
mod limits;
mod locate;
mod models;
mod references;
mod secret;
mod sim;
mod source;
mod suggest;
mod targets;
pub mod thresholds;
mod workloads;
mod yaml_error;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use duration::{parse_duration, DurationError};
pub use error::{ConfigError, ConfigErrors};
pub use models::{Model, DEFAULT_MAX_TOKENS};
pub use secret::Secret;
pub(crate) use sim::MAX_DELAY_MS as MAX_SIM_DELAY_MS;
pub use sim::{SimConfig, UsageMode};
pub use targets::{check_header_value, ApiFlavor, Endpoint, MetricsSource, Target, Timeouts};
pub use workloads::conversation::MAX_TURNS;
pub use workloads::dataset;
pub use workloads::lengths::MAX_LENGTH_TOKENS;
pub use workloads::{
    too_many_in_flight, usable_concurrency, Arrival, CapacitySpec, Conversation, Dataset,
    DatasetFormat, Lengths, Load, PrefixCache, PromptSource, PromptSpec, Sampling, Scenario,
    SharedPrefix, Slo, Stop, Trace, TraceFormat, TraceRequest, Workloads, MAX_CONCURRENCY,
};

use references::unknown_name;
use source::Source;

/// Everything in a config folder, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The folder the files were read from.
    pub dir: PathBuf,
    /// In file order.
    pub targets: Vec<Target>,
    /// The target used when `--target` is not given; names an entry of `targets`.
    pub default_target: String,
    /// In file order.
    pub models: Vec<Model>,
    /// The model used when neither `--model` nor the target names one.
    pub default_model: String,
    pub workloads: Workloads,
}

impl Config {
    pub fn target(&self, name: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.name == name)
    }

    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn scenario(&self, name: &str) -> Option<&Scenario> {
        self.workloads.scenario(name)
    }

    pub fn prompt(&self, name: &str) -> Option<&PromptSpec> {
        self.workloads.prompt(name)
    }
}

/// Reads and validates `dir/targets.yaml`, `dir/models.yaml` and `dir/workloads.yaml`.
///
/// `env` looks up environment variables for `${VAR}` in targets.yaml (callers pass
/// `&|k| std::env::var(k).ok()`; tests pass a fixed map). On failure every problem
/// found is returned, ordered by file and position.
pub fn load_dir(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    if !dir.is_dir() {
        let what = if dir.exists() {
            "is not a folder"
        } else {
            "folder not found"
        };
        return Err(ConfigError::new(
            dir,
            None,
            "",
            format!(
                "{what}; the config folder holds targets.yaml, models.yaml and workloads.yaml \
                 (the repository ships one in `configs/`); pass `--config-dir DIR` and check \
                 it with `llm-bench validate --config-dir DIR`"
            ),
        )
        .into());
    }
    let mut errors = Vec::new();
    let mut read = |name: &str| match Source::read(dir, name) {
        Ok(source) => Some(source),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let targets_source = read(targets::FILE);
    let models_source = read(models::FILE);
    let workloads_source = read(workloads::FILE);

    let targets = targets_source
        .as_ref()
        .and_then(|s| targets::load(s, env, &mut errors));
    let models = models_source
        .as_ref()
        .and_then(|s| models::load(s, &mut errors));
    let workloads = workloads_source
        .as_ref()
        .and_then(|s| workloads::load(s, &mut errors));

    if let (Some(source), Some(targets), Some(models)) = (&targets_source, &targets, &models) {
        let names: Vec<&str> = models.models.iter().map(|m| m.name.as_str()).collect();
        check_target_models(source, &targets.targets, &names, &mut errors);
    }

    match (targets, models, workloads) {
        (Some(targets), Some(models), Some(workloads)) if errors.is_empty() => Ok(Config {
            dir: dir.to_path_buf(),
            targets: targets.targets,
            default_target: targets.default,
            models: models.models,
            default_model: models.default,
            workloads,
        }),
        _ => Err(ConfigErrors(sorted(errors, dir))),
    }
}

/// A target's `model:` must be listed in models.yaml, or its settings would be
/// silently skipped.
fn check_target_models(
    source: &Source,
    targets: &[Target],
    models: &[&str],
    errors: &mut Vec<ConfigError>,
) {
    for target in targets {
        if let Some(model) = target.model.as_deref() {
            if !models.contains(&model) {
                let message = format!(
                    "{}; add it to models.yaml (e.g. `{model}: {{}}` under `models:`)",
                    unknown_name("model", model, models, "models.yaml")
                );
                errors.push(source.at_value(&["targets", target.name.as_str(), "model"], message));
            }
        }
    }
}

/// Orders errors by file (targets, models, workloads) and then by position.
fn sorted(mut errors: Vec<ConfigError>, dir: &Path) -> Vec<ConfigError> {
    let rank = |file: &Path| {
        [targets::FILE, models::FILE, workloads::FILE]
            .iter()
            .position(|name| dir.join(name) == file)
            .unwrap_or(0)
    };
    errors.sort_by_key(|e| (rank(&e.file), e.line.unwrap_or(0), e.column.unwrap_or(0)));
    errors
}
