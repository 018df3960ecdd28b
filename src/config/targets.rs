//! targets.yaml: the servers to benchmark and how to talk to them.
//!
//! A target is either a running server (`base_url`) or the built-in simulated server
//! (`builtin: sim`), plus its API flavour, credentials, timeouts and metrics source.
//! The file is read into `Raw*` structs that only check shapes and key names; every
//! rule about values lives in [`load`], which reports all problems it finds.

use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::duration::DurationText;
use super::entries::Entries;
use super::env::expand;
use super::error::ConfigError;
use super::references::resolve_default;
use super::secret::{Secret, SecretText};
use super::source::Source;
use super::target_values::{check_base_url, check_header_name, check_url, expand_message, written};
use crate::sim::SimConfig;

pub(crate) const FILE: &str = "targets.yaml";
const EXPECTED: &str = "`targets:` (a mapping of target names to settings) and optionally \
                        `default: NAME`, e.g. `targets: { sim: { builtin: sim } }`";

/// One server to benchmark.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub endpoint: Endpoint,
    pub api: ApiFlavor,
    /// Sent as `Authorization: Bearer KEY`; `None` when unset or empty.
    pub api_key: Option<Secret>,
    /// Extra request headers, in file order.
    pub headers: Vec<(String, Secret)>,
    pub timeouts: Timeouts,
    pub metrics: MetricsSource,
    /// The model to request on this target unless `--model` says otherwise.
    pub model: Option<String>,
}

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The API root of a running server, e.g. `http://127.0.0.1:8000/v1` (no trailing `/`).
    Url(String),
    /// The built-in simulated server, started in-process on 127.0.0.1 with these settings.
    Sim(SimConfig),
}

/// Which OpenAI endpoint is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiFlavor {
    /// `POST {base}/chat/completions` with `messages`.
    #[default]
    Chat,
    /// `POST {base}/completions` with `prompt`.
    Completions,
}

/// Client-side time limits for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP/TLS connection.
    pub connect: Duration,
    /// The whole request, first byte sent to last byte received.
    pub request: Duration,
    /// The longest silence allowed between two chunks of a streamed response.
    pub stall: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(600),
            stall: Duration::from_secs(60),
        }
    }
}

/// Where the server's Prometheus metrics are scraped from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MetricsSource {
    /// `/metrics` on the server's origin (vLLM, SGLang and TGI serve it there).
    #[default]
    Default,
    /// An explicit URL.
    Url(String),
    /// Do not scrape.
    Off,
}

/// targets.yaml, validated.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    pub targets: Vec<Target>,
    pub default: String,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `targets` and optionally `default`"
)]
struct RawFile {
    default: Option<String>,
    targets: Option<Entries<RawTarget>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of target settings (`base_url` or `builtin`, `api`, `api_key`, ...)"
)]
struct RawTarget {
    base_url: Option<String>,
    builtin: Option<Builtin>,
    sim: Option<SimConfig>,
    api: Option<ApiFlavor>,
    api_key: Option<SecretText>,
    headers: Option<Entries<SecretText>>,
    timeouts: Option<RawTimeouts>,
    metrics: Option<RawMetrics>,
    model: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Builtin {
    Sim,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `connect`, `request` and/or `stall` durations"
)]
struct RawTimeouts {
    connect: Option<DurationText>,
    request: Option<DurationText>,
    stall: Option<DurationText>,
}

/// `metrics:` as written: `default`, `off`, `true`/`false` or a URL.
enum RawMetrics {
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

/// Reads and validates targets.yaml; problems go to `errors`. Returns `None` only
/// when the file could not be parsed at all.
pub(crate) fn load(
    source: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<Targets> {
    let raw: RawFile = match source.parse(EXPECTED) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let entries = raw.targets.unwrap_or_default();
    if entries.0.is_empty() {
        errors.push(source.at_key(
            &["targets"],
            "no targets; add at least one, e.g. `targets: { sim: { builtin: sim } }`",
        ));
    }
    let names: Vec<&str> = entries.names().collect();
    let default = resolve_default(source, "target", raw.default, &names, errors);
    let targets = entries
        .0
        .into_iter()
        .map(|(name, raw)| target(source, env, name, raw, errors))
        .collect();
    Some(Targets { targets, default })
}

fn target(
    source: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    name: String,
    raw: RawTarget,
    errors: &mut Vec<ConfigError>,
) -> Target {
    let at = |key: &'static str| ["targets", name.as_str(), key];
    let expand_field =
        |key: &'static str,
         text: &str,
         alternative: &dyn Fn(&str) -> String,
         errors: &mut Vec<ConfigError>| match expand(text, env) {
            Ok(value) => Some(value),
            Err(e) => {
                errors.push(source.at_value(&at(key), expand_message(e, alternative)));
                None
            }
        };
    if name.trim().is_empty() {
        errors.push(source.at_key(&["targets"], "a target has an empty name; give it one"));
    }

    let endpoint = match (raw.base_url, raw.builtin) {
        (Some(url), None) => {
            if raw.sim.is_some() {
                errors.push(source.at_key(
                    &at("sim"),
                    "`sim` settings apply only to `builtin: sim`; remove them, or replace \
                     `base_url` with `builtin: sim`",
                ));
            }
            let expanded = expand_field(
                "base_url",
                &url,
                &|var| format!("give a default: `${{{var}:-http://127.0.0.1:8000/v1}}`"),
                errors,
            );
            let checked = expanded.and_then(|value| match check_base_url(&value) {
                Ok(url) => Some(url),
                Err(problem) => {
                    errors.push(source.at_value(&at("base_url"), written(&url, &problem)));
                    None
                }
            });
            Endpoint::Url(checked.unwrap_or_default())
        }
        (None, Some(Builtin::Sim)) => {
            let sim = raw.sim.unwrap_or_default();
            if let Err(problem) = sim.validate() {
                errors.push(source.at_key(&at("sim"), format!("simulated server: {problem}")));
            }
            Endpoint::Sim(sim)
        }
        (Some(_), Some(_)) => {
            errors.push(source.at_key(
                &at("builtin"),
                "set either `base_url` (a running server) or `builtin: sim` (the built-in \
                 simulated server), not both",
            ));
            Endpoint::Url(String::new())
        }
        (None, None) => {
            errors.push(source.at_key(
                &["targets", name.as_str()],
                "no endpoint; add `base_url: http://HOST:PORT/v1` for a running server, or \
                 `builtin: sim` for the built-in simulated server",
            ));
            Endpoint::Url(String::new())
        }
    };

    let api_key = raw
        .api_key
        .and_then(|text| {
            expand_field(
                "api_key",
                &text.0,
                &|var| format!("write `${{{var}:-}}` for an optional key"),
                errors,
            )
        })
        .filter(|key| !key.is_empty())
        .map(Secret::new);

    let mut headers = Vec::new();
    for (header, text) in raw.headers.unwrap_or_default().0 {
        let path = ["targets", name.as_str(), "headers", header.as_str()];
        if let Err(problem) = check_header_name(&header) {
            errors.push(source.at_key(&path, problem));
            continue;
        }
        if api_key.is_some() && header.eq_ignore_ascii_case("authorization") {
            errors.push(source.at_key(
                &path,
                "`api_key` already sets the `Authorization` header; keep one of the two",
            ));
        }
        match expand(&text.0, env) {
            Ok(value) if value.is_empty() => {}
            Ok(value) => headers.push((header, Secret::new(value))),
            Err(e) => errors.push(source.at_value(
                &path,
                expand_message(e, &|var| {
                    format!("write `${{{var}:-}}` to send the header only when it is set")
                }),
            )),
        }
    }

    let timeouts = timeouts(source, &name, raw.timeouts, errors);
    let metrics = metrics(source, env, &name, raw.metrics, errors);

    let model = raw.model.filter(|m| {
        let ok = !m.trim().is_empty();
        if !ok {
            errors.push(source.at_value(
                &at("model"),
                "empty model name; remove the key or name a model from models.yaml",
            ));
        }
        ok
    });

    Target {
        name: name.clone(),
        endpoint,
        api: raw.api.unwrap_or_default(),
        api_key,
        headers,
        timeouts,
        metrics,
        model,
    }
}

fn timeouts(
    source: &Source,
    name: &str,
    raw: Option<RawTimeouts>,
    errors: &mut Vec<ConfigError>,
) -> Timeouts {
    let defaults = Timeouts::default();
    let Some(raw) = raw else { return defaults };
    let mut one = |key: &str, text: Option<DurationText>, default: Duration| {
        let Some(text) = text else { return default };
        let path = ["targets", name, "timeouts", key];
        match text.parse() {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                errors.push(source.at_value(&path, "must be longer than 0 (e.g. 10s)"));
                default
            }
            Err(e) => {
                errors.push(source.at_value(&path, format!("{e}; write e.g. 500ms, 10s, 2m")));
                default
            }
        }
    };
    Timeouts {
        connect: one("connect", raw.connect, defaults.connect),
        request: one("request", raw.request, defaults.request),
        stall: one("stall", raw.stall, defaults.stall),
    }
}

fn metrics(
    source: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    raw: Option<RawMetrics>,
    errors: &mut Vec<ConfigError>,
) -> MetricsSource {
    let path = ["targets", name, "metrics"];
    match raw {
        None | Some(RawMetrics::Flag(true)) => MetricsSource::Default,
        Some(RawMetrics::Flag(false)) => MetricsSource::Off,
        Some(RawMetrics::Text(text)) => {
            let checked = match expand(&text, env) {
                Ok(value) if value == "default" => Ok(MetricsSource::Default),
                Ok(value) if value == "off" => Ok(MetricsSource::Off),
                Ok(value) => check_url(&value)
                    .map(MetricsSource::Url)
                    .map_err(|problem| {
                        format!(
                            "{}; write `default` (the server's /metrics), `off`, or a URL",
                            written(&text, &problem)
                        )
                    }),
                Err(e) => Err(expand_message(e, &|var| {
                    format!("give a default: `${{{var}:-off}}`")
                })),
            };
            checked.unwrap_or_else(|message| {
                errors.push(source.at_value(&path, message));
                MetricsSource::Default
            })
        }
    }
}
