//! What a measurement depends on, so that only like is compared with like.
//!
//! Fields are split by consequence. A *must-match* difference (another model, another
//! workload, another GPU or server build) makes the numbers answer a different
//! question: the scenario is "not comparable" and the job exits 3. A *should-match*
//! difference (driver, tool version) usually moves numbers a little: it is a warning.
//! Fields that are unknown (`None`) on either side are not compared; one known on only
//! one side is a warning, since something changed in how the run was described.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash::sha256_hex;
use crate::manifest::{RunMeta, ScenarioSpec};

/// The identity of one scenario's measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub must_match: MustMatch,
    pub should_match: ShouldMatch,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MustMatch {
    pub model: String,
    /// `chat` or `completions`.
    pub api: String,
    /// [`workload_hash`] of the scenario.
    pub workload_hash: String,
    /// Percentiles on both sides must be computed the same way (`linear`).
    pub percentile_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_count: Option<u32>,
    /// e.g. `vllm`, `sglang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShouldMatch {
    pub tool_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<String>,
}

/// The spec keys that only judge a result: left out of [`workload_hash`].
const JUDGE_ONLY: [&str; 5] = [
    "trials",
    "max_trials",
    "slo",
    "max_error_rate",
    "thresholds",
];

/// Each workload setting that differs between two specs, as
/// "workload `load.concurrency`: `4` in the baseline, `8` now", nested keys joined
/// with dots; the keys [`workload_hash`] leaves out are not compared.
pub fn spec_differences(baseline: &ScenarioSpec, current: &ScenarioSpec) -> Vec<String> {
    let flat = |spec: &ScenarioSpec| {
        let mut out = BTreeMap::new();
        let mut value = serde_json::to_value(spec).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            for key in JUDGE_ONLY {
                object.remove(key);
            }
        }
        flatten("", &value, &mut out);
        out
    };
    let (old, new) = (flat(baseline), flat(current));
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.map_or("unset".to_string(), |v| format!("`{v}`"));
            format!(
                "workload `{k}`: {} in the baseline, {} now",
                show(old.get(k)),
                show(new.get(k))
            )
        })
        .collect()
}

/// Leaves of a JSON value by dotted path; strings unquoted.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// SHA-256 of what a scenario sends and how: its spec without the settings that only
/// judge the result (`trials`, `slo`, `max_error_rate`, `thresholds`), as canonical
/// JSON (sorted keys), so more trials or a stricter SLO keep a baseline usable.
pub fn workload_hash(spec: &ScenarioSpec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        for key in JUDGE_ONLY {
            object.remove(key);
        }
    }
    sha256_hex(crate::canonical_json::canonical_json(&value).as_bytes())
}

impl Fingerprint {
    /// The fingerprint of `spec` as run by `run`, with the GPUs, driver and server
    /// the run recorded (`run.environment`), where it recorded them.
    pub fn of(run: &RunMeta, spec: &ScenarioSpec) -> Fingerprint {
        let env = run.environment.as_ref();
        let server = env.and_then(|e| e.server.as_ref());
        Fingerprint {
            must_match: MustMatch {
                model: run.model.clone(),
                api: run.api.clone(),
                workload_hash: workload_hash(spec),
                percentile_method: run.percentile_method.clone(),
                gpu_name: env.and_then(|e| e.gpu_name()),
                gpu_count: env.and_then(|e| e.gpu_count()),
                server_engine: server.and_then(|s| s.engine.clone()),
                server_version: server.and_then(|s| s.version.clone()),
            },
            should_match: ShouldMatch {
                tool_version: run.tool_version.clone(),
                driver_version: env.and_then(|e| e.driver_version.clone()),
                cuda_version: env.and_then(|e| e.cuda_version.clone()),
            },
        }
    }

    /// Differences from `baseline`: (must-match, should-match), each a readable line
    /// such as "model: `llama-8b` in the baseline, `llama-70b` now".
    pub fn differences(&self, baseline: &Fingerprint) -> (Vec<String>, Vec<String>) {
        let (mut must, mut should) = (Vec::new(), Vec::new());
        let (b, c) = (&baseline.must_match, &self.must_match);
        let fields = [
            ("model", Some(b.model.clone()), Some(c.model.clone())),
            ("api", Some(b.api.clone()), Some(c.api.clone())),
            (
                "workload",
                Some(b.workload_hash.clone()),
                Some(c.workload_hash.clone()),
            ),
            (
                "percentile method",
                Some(b.percentile_method.clone()),
                Some(c.percentile_method.clone()),
            ),
            ("GPU", b.gpu_name.clone(), c.gpu_name.clone()),
            (
                "GPU count",
                b.gpu_count.map(|n| n.to_string()),
                c.gpu_count.map(|n| n.to_string()),
            ),
            (
                "server engine",
                b.server_engine.clone(),
                c.server_engine.clone(),
            ),
            (
                "server version",
                b.server_version.clone(),
                c.server_version.clone(),
            ),
        ];
        for (name, old, new) in fields {
            match (old, new) {
                (Some(old), Some(new)) if old != new => {
                    let hint = if name == "workload" {
                        " (the scenario's load, prompt, token or seed settings changed)"
                    } else {
                        ""
                    };
                    must.push(format!(
                        "{name}: `{}` in the baseline, `{}` now{hint}",
                        short(&old),
                        short(&new)
                    ));
                }
                (Some(old), None) => {
                    should.push(format!("{name}: `{old}` in the baseline, unknown now"))
                }
                (None, Some(new)) => {
                    should.push(format!("{name}: unknown in the baseline, `{new}` now"))
                }
                _ => {}
            }
        }
        let (b, c) = (&baseline.should_match, &self.should_match);
        let fields = [
            (
                "llm-bench version",
                Some(b.tool_version.clone()),
                Some(c.tool_version.clone()),
            ),
            ("driver", b.driver_version.clone(), c.driver_version.clone()),
            ("CUDA", b.cuda_version.clone(), c.cuda_version.clone()),
        ];
        for (name, old, new) in fields {
            if let (Some(old), Some(new)) = (&old, &new) {
                if old != new {
                    should.push(format!("{name}: `{old}` in the baseline, `{new}` now"));
                }
            } else if old.is_some() != new.is_some() {
                should.push(format!(
                    "{name}: `{}` in the baseline, `{}` now",
                    old.as_deref().unwrap_or("unknown"),
                    new.as_deref().unwrap_or("unknown")
                ));
            }
        }
        (must, should)
    }
}

/// Hashes are shown by their first 12 characters.
fn short(value: &str) -> &str {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        &value[..12]
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint {
            must_match: MustMatch {
                model: "m".into(),
                api: "chat".into(),
                workload_hash: "h".into(),
                percentile_method: "linear".into(),
                gpu_name: None,
                gpu_count: None,
                server_engine: None,
                server_version: None,
            },
            should_match: ShouldMatch {
                tool_version: "0.1.0".into(),
                driver_version: None,
                cuda_version: None,
            },
        }
    }

    #[test]
    fn must_and_should_differences() {
        let base = fp();
        assert_eq!(base.differences(&base), (vec![], vec![]));
        let mut other = fp();
        other.must_match.model = "m2".into();
        other.should_match.tool_version = "0.2.0".into();
        other.must_match.gpu_name = Some("H100".into());
        let (must, should) = other.differences(&base);
        assert_eq!(must, vec!["model: `m` in the baseline, `m2` now"]);
        assert_eq!(should.len(), 2, "{should:?}");
    }

    /// A changed `--prompt-tokens` (the ad hoc prompt's name) or concurrency is
    /// named with both values; settings that only judge the result are not.
    #[test]
    fn spec_differences_name_each_setting_with_both_values() {
        let old = crate::compare::baseline::tests::tiny_manifest().scenarios[0].clone();
        let mut new = old.clone();
        assert!(spec_differences(&old, &new).is_empty());
        new.prompt = "synthetic-64".into();
        new.load = crate::manifest::LoadSpec::Closed { concurrency: 8 };
        new.trials = 9;
        new.max_error_rate = 0.5;
        new.duration_s = Some(30.0);
        assert_eq!(
            spec_differences(&old, &new),
            [
                "workload `duration_s`: unset in the baseline, `30.0` now",
                "workload `load.concurrency`: `4` in the baseline, `8` now",
                "workload `prompt`: `short` in the baseline, `synthetic-64` now",
            ]
        );
        assert_ne!(workload_hash(&old), workload_hash(&new));
    }
}
