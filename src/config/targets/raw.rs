//! targets.yaml exactly as written: shapes and key names only, no value rules.
//!
//! Every field is optional and every struct denies unknown keys, so serde_yaml
//! reports typos and wrong types with their position; `convert` decides what is
//! missing or invalid. Credentials are read as `SecretText`, which never echoes a
//! value in an error.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::ApiFlavor;
use crate::config::duration::DurationText;
use crate::config::entries::Entries;
use crate::config::secret::SecretText;
use crate::config::SimConfig;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `targets` and optionally `default`"
)]
pub(super) struct RawFile {
    pub default: Option<String>,
    pub targets: Option<Entries<RawTarget>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of target settings (`base_url` or `builtin`, `api`, `api_key`, ...)"
)]
pub(super) struct RawTarget {
    pub base_url: Option<String>,
    pub builtin: Option<Builtin>,
    pub sim: Option<SimConfig>,
    pub api: Option<ApiFlavor>,
    pub api_key: Option<SecretText>,
    pub headers: Option<Entries<SecretText>>,
    pub ca_cert: Option<String>,
    pub timeouts: Option<RawTimeouts>,
    pub metrics: Option<RawMetrics>,
    pub model: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Builtin {
    Sim,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `connect`, `request` and/or `stall` durations"
)]
pub(super) struct RawTimeouts {
    pub connect: Option<DurationText>,
    pub request: Option<DurationText>,
    pub stall: Option<DurationText>,
}

/// `metrics:` as written: `default`, `off`, `true`/`false` or a URL.
pub(super) enum RawMetrics {
    Flag(bool),
    Text(String),
}

impl<'de> Deserialize<'de> for RawMetrics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawMetrics;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`default`, `off` or an http(s):// URL")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawMetrics, E> {
                Ok(RawMetrics::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawMetrics, E> {
                Ok(RawMetrics::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}
