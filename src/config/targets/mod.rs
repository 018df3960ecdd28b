//! targets.yaml: the servers to benchmark and how to talk to them.
//!
//! A target is either a running server (`base_url`) or the built-in simulated server
//! (`builtin: sim`), plus its API flavour, credentials, timeouts and metrics source.
//! The file is read into `raw` structs that only check shapes and key names; every
//! rule about values lives in `convert`, which reports all problems it finds.

mod convert;
mod raw;
mod values;

pub use values::check_header_value;

use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use super::references::resolve_default;
use super::secret::Secret;
use super::source::Source;
use crate::client::CaCert;
use crate::config::SimConfig;
use raw::RawFile;

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
    /// CA certificates to trust for `https://` (`ca_cert: FILE`, relative to the
    /// config folder), read when the file is loaded.
    pub ca_cert: Option<CaCert>,
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

/// Reads and validates targets.yaml; problems go to `errors`. Returns `None` only
/// when the file could not be parsed at all.
pub(crate) fn load(
    source: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<Targets> {
    let raw: RawFile = match source.parse(EXPECTED, &[&["targets"]]) {
        Ok(raw) => raw,
        Err(e) => {
            errors.extend(e);
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
        .map(|(name, raw)| convert::target(source, env, name, raw, errors))
        .collect();
    Some(Targets { targets, default })
}
