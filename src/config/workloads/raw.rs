//! workloads.yaml exactly as written: shapes and key names only, no value rules.
//!
//! Every field is optional and every struct denies unknown keys, so serde_yaml
//! reports typos and wrong types with their line and column, and the loader decides
//! what is missing or out of range (reporting all of it, not only the first).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, value::Error as ValueError, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::config::duration::DurationText;
use crate::config::entries::Entries;
use crate::config::thresholds::RawThresholds;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `scenarios`, `prompts` and optionally `defaults` and `thresholds`"
)]
pub(super) struct RawFile {
    pub defaults: Option<RawDefaults>,
    /// Project-wide regression thresholds; scenarios may override them.
    pub thresholds: Option<RawThresholds>,
    pub prompts: Option<Entries<RawPrompt>>,
    pub scenarios: Option<Entries<RawScenario>>,
}

/// Settings every scenario inherits unless it sets its own.
#[derive(Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of default scenario settings (`seed`, `trials`, `warmup`, ...)"
)]
pub(super) struct RawDefaults {
    pub prompt: Option<String>,
    pub warmup: Option<u64>,
    pub max_tokens: Option<u32>,
    pub ignore_eos: Option<bool>,
    pub stream: Option<bool>,
    pub seed: Option<u64>,
    pub trials: Option<u32>,
    pub slo: Option<RawSlo>,
    pub max_error_rate: Option<f64>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `text` or `synthetic_tokens` (and optionally `spread`, `prefix_cache` and `shared_prefix`)"
)]
pub(super) struct RawPrompt {
    pub text: Option<String>,
    /// A token count, or a length distribution (see `lengths.rs`).
    pub synthetic_tokens: Option<super::lengths::RawLengths>,
    pub spread: Option<f64>,
    pub prefix_cache: Option<super::PrefixCache>,
    /// Groups of requests sharing a leading text (see `prefix.rs`).
    pub shared_prefix: Option<super::prefix::RawSharedPrefix>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of scenario settings (`prompt`, `concurrency` or `rate`, `requests`, ...)"
)]
pub(super) struct RawScenario {
    pub prompt: Option<String>,
    /// One value, or a list that expands into a load sweep (see `sweep.rs`).
    pub concurrency: Option<OneOrList<u32>>,
    pub rate: Option<OneOrList<f64>>,
    pub arrival: Option<RawArrival>,
    pub burstiness: Option<f64>,
    pub max_concurrency: Option<u32>,
    /// A recorded trace to replay instead of `concurrency` / `rate` (see `trace.rs`).
    pub trace: Option<RawTrace>,
    /// Search the highest rate meeting the SLO (see `capacity.rs`).
    pub capacity: Option<RawCapacity>,
    /// Prompts read from a file instead of `prompt` (see `dataset/`).
    pub dataset: Option<super::dataset::RawDataset>,
    /// Multi-turn conversations (see `conversation.rs`).
    pub conversation: Option<super::conversation::RawConversation>,
    pub requests: Option<u64>,
    pub duration: Option<DurationText>,
    pub warmup: Option<u64>,
    pub max_tokens: Option<u32>,
    /// Each request's `max_tokens`, drawn from a length distribution.
    pub output_tokens: Option<super::lengths::RawLengths>,
    pub ignore_eos: Option<bool>,
    pub stream: Option<bool>,
    pub seed: Option<u64>,
    pub trials: Option<u32>,
    pub slo: Option<RawSlo>,
    pub max_error_rate: Option<f64>,
    /// Overrides of the project's `thresholds:`, key by key.
    pub thresholds: Option<RawThresholds>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `file` (a JSONL or CSV trace) and optionally `time_scale`"
)]
pub(super) struct RawTrace {
    pub file: Option<String>,
    pub time_scale: Option<f64>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with optionally `attain`, `tolerance` and `max_steps`"
)]
pub(super) struct RawCapacity {
    pub attain: Option<f64>,
    pub tolerance: Option<f64>,
    pub max_steps: Option<u32>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawArrival {
    Constant,
    Poisson,
    Gamma,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `ttft_ms`, `tpot_ms` and/or `e2e_ms`"
)]
pub(super) struct RawSlo {
    pub ttft_ms: Option<f64>,
    pub tpot_ms: Option<f64>,
    pub e2e_ms: Option<f64>,
}

/// The settings shared by `defaults:` and each scenario, as written.
pub(super) struct RawSettings {
    pub warmup: Option<u64>,
    pub max_tokens: Option<u32>,
    pub ignore_eos: Option<bool>,
    pub stream: Option<bool>,
    pub seed: Option<u64>,
    pub trials: Option<u32>,
    pub slo: Option<RawSlo>,
    pub max_error_rate: Option<f64>,
}

impl RawDefaults {
    pub fn settings(&self) -> RawSettings {
        RawSettings {
            warmup: self.warmup,
            max_tokens: self.max_tokens,
            ignore_eos: self.ignore_eos,
            stream: self.stream,
            seed: self.seed,
            trials: self.trials,
            slo: self.slo,
            max_error_rate: self.max_error_rate,
        }
    }
}

impl RawScenario {
    pub fn settings(&self) -> RawSettings {
        RawSettings {
            warmup: self.warmup,
            max_tokens: self.max_tokens,
            ignore_eos: self.ignore_eos,
            stream: self.stream,
            seed: self.seed,
            trials: self.trials,
            slo: self.slo,
            max_error_rate: self.max_error_rate,
        }
    }
}

/// `concurrency: 4` or `concurrency: [1, 4, 16]`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum OneOrList<T> {
    One(T),
    List(Vec<T>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrListVisitor<T>(PhantomData<T>);
        impl<T> OneOrListVisitor<T> {
            /// A scalar goes through `T`'s own deserializer, so range checks and
            /// messages stay those of a plain `u32` / `f64` field.
            fn scalar<'de, E: de::Error>(
                value: impl IntoDeserializer<'de, ValueError>,
            ) -> Result<OneOrList<T>, E>
            where
                T: Deserialize<'de>,
            {
                T::deserialize(value.into_deserializer())
                    .map(OneOrList::One)
                    .map_err(|e| E::custom(e))
            }
        }
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrListVisitor<T> {
            type Value = OneOrList<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                // The bare type name keeps yaml_error's plain-words translation
                // ("a whole number >= 0 (no quotes)") for a mistyped scalar.
                f.write_str(std::any::type_name::<T>())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::scalar(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Self::scalar(v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Self::scalar(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element()? {
                    values.push(value);
                }
                Ok(OneOrList::List(values))
            }
        }
        deserializer.deserialize_any(OneOrListVisitor(PhantomData))
    }
}
