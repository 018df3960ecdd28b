//! models.yaml: per-model request settings, keyed by the name the server uses.
//!
//! The same workload is sent to different models; what differs per model (the
//! output length and engine-specific body fields such as vLLM's `ignore_eos`) lives
//! here so workloads.yaml stays model-independent.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::entries::Entries;
use super::error::ConfigError;
use super::references::resolve_default;
use super::source::Source;

pub(crate) const FILE: &str = "models.yaml";
const EXPECTED: &str = "`models:` (a mapping of model names to settings) and optionally \
                        `default: NAME`, e.g. `models: { my-model: { max_tokens: 128 } }`";

/// The default `max_tokens` when neither the model nor the scenario sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 128;

/// Request body fields llm-bench sets itself; `extra_body` may not override them.
const RESERVED_BODY_KEYS: &[(&str, &str)] = &[
    ("model", "the model is the key this entry is under"),
    ("messages", "the prompt comes from the scenario"),
    ("prompt", "the prompt comes from the scenario"),
    ("stream", "use the scenario's `stream`"),
    (
        "stream_options",
        "llm-bench sets it to count streamed tokens",
    ),
    (
        "max_tokens",
        "use this model's `max_tokens` or the scenario's",
    ),
];

/// One model's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The model name exactly as the server lists it in `/v1/models`.
    pub name: String,
    pub max_tokens: u32,
    /// Fields merged into every request body, e.g. `{ignore_eos: true, min_tokens: 128}`.
    pub extra_body: Map<String, Value>,
    /// A Hugging Face `tokenizer.json` (`tokenizer:`, relative to the config
    /// folder): exact prompt lengths, and output counts when a server sends no
    /// usage. Checked to exist here; parsed when a run starts.
    pub tokenizer: Option<PathBuf>,
}

/// models.yaml, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Models {
    pub models: Vec<Model>,
    pub default: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `models` and optionally `default`"
)]
struct RawFile {
    default: Option<String>,
    models: Option<Entries<Option<RawModel>>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of model settings (`max_tokens`, `extra_body`, `tokenizer`)"
)]
struct RawModel {
    max_tokens: Option<u32>,
    extra_body: Option<Map<String, Value>>,
    tokenizer: Option<String>,
}

/// Reads and validates models.yaml; problems go to `errors`. Returns `None` only
/// when the file could not be parsed at all.
pub(crate) fn load(source: &Source, errors: &mut Vec<ConfigError>) -> Option<Models> {
    let raw: RawFile = match source.parse(EXPECTED, &[&["models"]]) {
        Ok(raw) => raw,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    let entries = raw.models.unwrap_or_default();
    if entries.0.is_empty() {
        errors.push(source.at_key(
            &["models"],
            "no models; add at least one, e.g. `models: { my-model: { max_tokens: 128 } }`",
        ));
    }
    let names: Vec<&str> = entries.names().collect();
    let default = resolve_default(source, "model", raw.default, &names, errors);
    let models = entries
        .0
        .into_iter()
        .map(|(name, raw)| model(source, name, raw, errors))
        .collect();
    Some(Models { models, default })
}

fn model(
    source: &Source,
    name: String,
    raw: Option<RawModel>,
    errors: &mut Vec<ConfigError>,
) -> Model {
    let raw = raw.unwrap_or(RawModel {
        max_tokens: None,
        extra_body: None,
        tokenizer: None,
    });
    if name.trim().is_empty() {
        errors.push(source.at_key(
            &["models"],
            "a model has an empty name; use the server's name for it",
        ));
    }
    let max_tokens = match raw.max_tokens {
        Some(0) => {
            errors.push(source.at_value(
                &["models", name.as_str(), "max_tokens"],
                "must be at least 1 (the number of tokens to generate per request)",
            ));
            DEFAULT_MAX_TOKENS
        }
        Some(n) => n,
        None => DEFAULT_MAX_TOKENS,
    };
    let extra_body = raw.extra_body.unwrap_or_default();
    for (key, why) in RESERVED_BODY_KEYS {
        if extra_body.contains_key(*key) {
            errors.push(source.at_key(
                &["models", name.as_str(), "extra_body", key],
                format!("`{key}` is set by llm-bench and cannot be overridden here; {why}"),
            ));
        }
    }
    let tokenizer = raw.tokenizer.map(|written| {
        let path = source.dir().join(&written);
        if !path.is_file() {
            errors.push(source.at_value(
                &["models", name.as_str(), "tokenizer"],
                format!(
                    "no file at {} (relative paths are from the config folder); point it at \
                     the model's Hugging Face tokenizer.json, or remove `tokenizer` to keep \
                     approximate prompt lengths",
                    path.display()
                ),
            ));
        }
        path
    });
    Model {
        name,
        max_tokens,
        extra_body,
        tokenizer,
    }
}
