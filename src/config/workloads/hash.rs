//! The workload fingerprint: SHA-256 of a canonical JSON rendering.
//!
//! Hashing the parsed values (not the file's bytes) means comments, blank lines,
//! quoting and key order do not change it, while any value that changes what is
//! sent does. Object keys are sorted here explicitly, so the result does not depend
//! on whether serde_json's `preserve_order` feature is enabled somewhere in the
//! build.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{Arrival, Load, PrefixCache, PromptSource, PromptSpec, Scenario};

/// Bump when the canonical form changes meaning, so old and new hashes never match
/// by accident.
const CANONICAL_VERSION: u32 = 1;

pub(super) fn workloads_hash(scenarios: &[Scenario], prompts: &[PromptSpec]) -> String {
    let value = json!({
        "version": CANONICAL_VERSION,
        "prompts": prompts.iter().map(prompt_json).collect::<Vec<_>>(),
        "scenarios": scenarios.iter().map(scenario_json).collect::<Vec<_>>(),
    });
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A prompt as hashed. `prefix_cache` appears only when it is `allow`, so the
/// default leaves every existing hash as it was.
fn prompt_json(prompt: &PromptSpec) -> Value {
    let mut value = match &prompt.source {
        PromptSource::Template { text } => json!({"name": prompt.name, "text": text}),
        PromptSource::Synthetic { tokens, spread } => {
            json!({"name": prompt.name, "synthetic_tokens": tokens, "spread": spread})
        }
        PromptSource::SyntheticLengths { lengths } => {
            json!({"name": prompt.name, "synthetic_tokens": lengths.describe()})
        }
    };
    if prompt.prefix_cache == PrefixCache::Allow {
        value["prefix_cache"] = json!("allow");
    }
    if let Some(shared) = &prompt.shared_prefix {
        value["shared_prefix"] = json!(shared.describe());
    }
    value
}

fn scenario_json(s: &Scenario) -> Value {
    let load = match &s.load {
        Load::Closed { concurrency } => json!({"concurrency": concurrency}),
        Load::Open {
            rate,
            arrival,
            max_concurrency,
        } => {
            let (kind, burstiness) = match arrival {
                Arrival::Constant => ("constant", None),
                Arrival::Poisson => ("poisson", None),
                Arrival::Gamma { burstiness } => ("gamma", Some(*burstiness)),
            };
            json!({
                "rate": rate,
                "arrival": kind,
                "burstiness": burstiness,
                "max_concurrency": max_concurrency,
            })
        }
        // The rows' digest, not the path: the same requests at the same times are
        // the same workload wherever the file lies, and an edited file is not.
        Load::Trace {
            trace,
            max_concurrency,
        } => json!({
            "trace_sha256": trace.sha256,
            "time_scale": trace.time_scale,
            "max_concurrency": max_concurrency,
        }),
    };
    // A trace's prompts are its rows (hashed with the load), whatever its file's name.
    // A dataset's prompts are its file's contents (hashed below), wherever it lies.
    let prompt = match s.load {
        Load::Trace { .. } => None,
        _ if s.dataset.is_some() => None,
        _ => Some(&s.prompt),
    };
    let mut value = json!({
        "name": s.name,
        "prompt": prompt,
        "load": load,
        "requests": s.stop.requests,
        "duration_ms": s.stop.duration.map(|d| d.as_secs_f64() * 1000.0),
        "warmup": s.warmup,
        "max_tokens": s.max_tokens,
        "ignore_eos": s.ignore_eos,
        "stream": s.stream,
        "seed": s.seed,
        "trials": s.trials,
        "slo": {"ttft_ms": s.slo.ttft_ms, "tpot_ms": s.slo.tpot_ms, "e2e_ms": s.slo.e2e_ms},
        "max_error_rate": s.max_error_rate,
    });
    // Only when set, so every existing hash stays as it was.
    if let Some(d) = &s.dataset {
        value["dataset"] = json!({
            "sha256": d.index.sha256,
            "format": d.format.name(),
            "sample": d.sample.name(),
            "seed": d.seed,
            "min_input_tokens": d.min_input_tokens,
            "max_input_tokens": d.max_input_tokens,
        });
    }
    if let Some(lengths) = &s.output_tokens {
        value["output_tokens"] = json!(lengths.describe());
    }
    if let Some(c) = &s.conversation {
        value["conversation"] = json!(c.describe());
    }
    if let Some(c) = &s.capacity {
        value["capacity"] = json!({
            "attain": c.attain,
            "tolerance": c.tolerance,
            "max_steps": c.max_steps,
        });
    }
    value
}

/// Compact JSON with object keys in byte order.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": null}});
        let mut out = String::new();
        write_canonical(&value, &mut out);
        assert_eq!(out, r#"{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}"#);
    }
}
