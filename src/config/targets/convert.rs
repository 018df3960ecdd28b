//! One `targets:` entry, from raw to validated: endpoint, credentials, headers,
//! timeouts and metrics source, each problem reported where it was written.
//!
//! Invalid values are reported and replaced by a placeholder, so one mistake does
//! not hide the next; `load_dir` returns no `Config` while any error exists.

use std::time::Duration;

use super::raw::{Builtin, RawMetrics, RawTarget, RawTimeouts};
use super::values::{
    check_base_url, check_header_name, check_header_value, check_url, expand_message, written,
};
use super::{Endpoint, MetricsSource, Target, Timeouts};
use crate::client::CaCert;
use crate::config::duration::DurationText;
use crate::config::env::expand;
use crate::config::error::ConfigError;
use crate::config::secret::{Secret, SecretText};
use crate::config::source::Source;
use crate::config::SimConfig;

/// What every check of one target needs.
struct Ctx<'a> {
    source: &'a Source,
    env: &'a dyn Fn(&str) -> Option<String>,
    name: &'a str,
}

impl Ctx<'_> {
    fn path<'k>(&'k self, keys: &[&'k str]) -> Vec<&'k str> {
        ["targets", self.name]
            .into_iter()
            .chain(keys.iter().copied())
            .collect()
    }

    /// Expands `${VAR}`s in the value at `keys`; `alternative` completes "export it
    /// or ..." for an unset variable.
    fn expand(
        &self,
        keys: &[&str],
        text: &str,
        alternative: &dyn Fn(&str) -> String,
        errors: &mut Vec<ConfigError>,
    ) -> Option<String> {
        match expand(text, self.env) {
            Ok(value) => Some(value),
            Err(e) => {
                let message = expand_message(e, alternative);
                errors.push(self.source.at_value(&self.path(keys), message));
                None
            }
        }
    }
}

pub(super) fn target(
    source: &Source,
    env: &dyn Fn(&str) -> Option<String>,
    name: String,
    raw: RawTarget,
    errors: &mut Vec<ConfigError>,
) -> Target {
    let ctx = Ctx {
        source,
        env,
        name: &name,
    };
    if name.trim().is_empty() {
        errors.push(source.at_key(&["targets"], "a target has an empty name; give it one"));
    }
    let endpoint = endpoint(&ctx, raw.base_url, raw.builtin, raw.sim, errors);
    let api_key = api_key(&ctx, raw.api_key, errors);
    let headers = headers(
        &ctx,
        raw.headers.unwrap_or_default().0,
        api_key.is_some(),
        errors,
    );
    let ca_cert = raw.ca_cert.and_then(|text| ca_cert(&ctx, &text, errors));
    let timeouts = timeouts(&ctx, raw.timeouts, errors);
    let metrics = metrics(&ctx, raw.metrics, errors);
    let model = raw.model.filter(|m| {
        let ok = !m.trim().is_empty();
        if !ok {
            errors.push(source.at_value(
                &ctx.path(&["model"]),
                "empty model name; remove the key or name a model from models.yaml",
            ));
        }
        ok
    });
    Target {
        endpoint,
        api: raw.api.unwrap_or_default(),
        api_key,
        headers,
        ca_cert,
        timeouts,
        metrics,
        model,
        name,
    }
}

/// `ca_cert: FILE`, relative to the config folder, read now so a wrong path is
/// reported here rather than by every request.
fn ca_cert(ctx: &Ctx, text: &str, errors: &mut Vec<ConfigError>) -> Option<CaCert> {
    let alternative = |var: &str| format!("give a default: `${{{var}:-ca.pem}}`");
    let value = ctx.expand(&["ca_cert"], text, &alternative, errors)?;
    let path = ctx.source.dir().join(value.trim());
    match CaCert::load(&path) {
        Ok(ca) => Some(ca),
        Err(e) => {
            errors.push(ctx.source.at_value(&ctx.path(&["ca_cert"]), e.to_string()));
            None
        }
    }
}

fn endpoint(
    ctx: &Ctx,
    base_url: Option<String>,
    builtin: Option<Builtin>,
    sim: Option<SimConfig>,
    errors: &mut Vec<ConfigError>,
) -> Endpoint {
    let source = ctx.source;
    match (base_url, builtin) {
        (Some(url), None) => {
            if sim.is_some() {
                errors.push(source.at_key(
                    &ctx.path(&["sim"]),
                    "`sim` settings apply only to `builtin: sim`; remove them, or replace \
                     `base_url` with `builtin: sim`",
                ));
            }
            let alternative =
                |var: &str| format!("give a default: `${{{var}:-http://127.0.0.1:8000/v1}}`");
            let expanded = ctx.expand(&["base_url"], &url, &alternative, errors);
            let checked = expanded.and_then(|value| match check_base_url(&value) {
                Ok(url) => Some(url),
                Err(problem) => {
                    errors.push(source.at_value(&ctx.path(&["base_url"]), written(&url, &problem)));
                    None
                }
            });
            Endpoint::Url(checked.unwrap_or_default())
        }
        (None, Some(Builtin::Sim)) => {
            let sim = sim.unwrap_or_default();
            if let Err(problem) = sim.validate() {
                // The sim's messages start with the field name: point at it if written.
                let field = problem.split_whitespace().next().unwrap_or_default();
                let path = ctx.path(&["sim", field]);
                let message = format!("simulated server: {problem}");
                errors.push(if source.has(&path) {
                    source.at_value(&path, message)
                } else {
                    source.at_key(&ctx.path(&["sim"]), message)
                });
            }
            Endpoint::Sim(sim)
        }
        (Some(_), Some(_)) => {
            errors.push(source.at_key(
                &ctx.path(&["builtin"]),
                "set either `base_url` (a running server) or `builtin: sim` (the built-in \
                 simulated server), not both",
            ));
            Endpoint::Url(String::new())
        }
        (None, None) => {
            errors.push(source.at_key(
                &ctx.path(&[]),
                "no endpoint; add `base_url: http://HOST:PORT/v1` for a running server, or \
                 `builtin: sim` for the built-in simulated server",
            ));
            Endpoint::Url(String::new())
        }
    }
}

/// An empty key (e.g. `${KEY:-}` with `KEY` unset) means "send no key".
fn api_key(ctx: &Ctx, raw: Option<SecretText>, errors: &mut Vec<ConfigError>) -> Option<Secret> {
    let alternative = |var: &str| format!("write `${{{var}:-}}` for an optional key");
    let text = raw?;
    let key = ctx
        .expand(&["api_key"], &text.0, &alternative, errors)
        .filter(|key| !key.is_empty())?;
    if let Err(problem) = check_header_value(&key) {
        let message = format!(
            "{} (it is sent in the `Authorization` header)",
            secret_problem(&text.0, &problem)
        );
        errors.push(ctx.source.at_value(&ctx.path(&["api_key"]), message));
        return None;
    }
    Some(Secret::new(key))
}

/// A header whose value expands to nothing is not sent.
fn headers(
    ctx: &Ctx,
    raw: Vec<(String, SecretText)>,
    has_api_key: bool,
    errors: &mut Vec<ConfigError>,
) -> Vec<(String, Secret)> {
    let alternative =
        |var: &str| format!("write `${{{var}:-}}` to send the header only when it is set");
    let mut headers = Vec::new();
    for (header, text) in raw {
        let keys = ["headers", header.as_str()];
        if let Err(problem) = check_header_name(&header) {
            errors.push(ctx.source.at_key(&ctx.path(&keys), problem));
            continue;
        }
        if has_api_key && header.eq_ignore_ascii_case("authorization") {
            errors.push(ctx.source.at_key(
                &ctx.path(&keys),
                "`api_key` already sets the `Authorization` header; keep one of the two",
            ));
        }
        match ctx.expand(&keys, &text.0, &alternative, errors) {
            Some(value) if !value.is_empty() => {
                if let Err(problem) = check_header_value(&value) {
                    let message = secret_problem(&text.0, &problem);
                    errors.push(ctx.source.at_value(&ctx.path(&keys), message));
                    continue;
                }
                headers.push((header, Secret::new(value)));
            }
            _ => {}
        }
    }
    headers
}

/// A problem with a value that may be a credential: says where the value came
/// from (the variables as written), never the value.
fn secret_problem(written: &str, problem: &str) -> String {
    if crate::config::env::has_variables(written) {
        format!("the value {problem} (after expanding the variables in `{written}`)")
    } else {
        format!("the value {problem}")
    }
}

fn timeouts(ctx: &Ctx, raw: Option<RawTimeouts>, errors: &mut Vec<ConfigError>) -> Timeouts {
    let defaults = Timeouts::default();
    let Some(raw) = raw else { return defaults };
    let mut one = |key: &str, text: Option<DurationText>, default: Duration| {
        let Some(text) = text else { return default };
        let path = ctx.path(&["timeouts", key]);
        match text.parse() {
            Ok(d) if !d.is_zero() => d,
            Ok(_) => {
                errors.push(
                    ctx.source
                        .at_value(&path, "must be longer than 0 (e.g. 10s)"),
                );
                default
            }
            Err(e) => {
                let message = format!("{e}; write e.g. 500ms, 10s, 2m");
                errors.push(ctx.source.at_value(&path, message));
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

fn metrics(ctx: &Ctx, raw: Option<RawMetrics>, errors: &mut Vec<ConfigError>) -> MetricsSource {
    let text = match raw {
        None | Some(RawMetrics::Flag(true)) => return MetricsSource::Default,
        Some(RawMetrics::Flag(false)) => return MetricsSource::Off,
        Some(RawMetrics::Text(text)) => text,
    };
    let alternative = |var: &str| format!("give a default: `${{{var}:-off}}`");
    let Some(value) = ctx.expand(&["metrics"], &text, &alternative, errors) else {
        return MetricsSource::Default;
    };
    match value.as_str() {
        "default" => MetricsSource::Default,
        "off" => MetricsSource::Off,
        _ => match check_url(&value) {
            Ok(url) => MetricsSource::Url(url),
            Err(problem) => {
                let message = format!(
                    "{}; write `default` (the server's /metrics), `off`, or a URL",
                    written(&text, &problem)
                );
                errors.push(ctx.source.at_value(&ctx.path(&["metrics"]), message));
                MetricsSource::Default
            }
        },
    }
}
