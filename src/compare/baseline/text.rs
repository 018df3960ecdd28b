//! The canonical text of a baseline: keys sorted, two-space indentation, arrays of
//! plain values on one line, floats to 10 significant digits, so equal values give
//! equal bytes and a bless reads as a diff.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Baseline, Samples, TrialRecord};
pub use crate::canonical_json::canonical_json;
use crate::canonical_json::{write_value, COLUMN_MARKER};

/// The file's text: canonical JSON and a final newline.
pub fn to_text(baseline: &Baseline) -> String {
    let mut text = String::new();
    write_text(&mut text, baseline).expect("writing to a String cannot fail");
    text
}

/// Writes the file's text ([`to_text`]) to `out` piece by piece.
///
/// The per-request sample columns are rendered straight from their vectors, one
/// number at a time: as a `serde_json::Value` tree they would cost ~200 bytes per
/// request (a million-request run's candidate took 250 MiB to write), and written
/// to a file they are never held as text either.
pub fn write_text(out: &mut dyn fmt::Write, baseline: &Baseline) -> fmt::Result {
    let shell = Baseline {
        trials: baseline
            .trials
            .iter()
            .map(|t| TrialRecord {
                run: t.run,
                trial: t.trial,
                duration_s: t.duration_s,
                succeeded: t.succeeded,
                failed: t.failed,
                errors: t.errors.clone(),
                output_tokens_mean: t.output_tokens_mean,
                stats: t.stats.clone(),
                server: t.server,
                // The columns are written from `baseline`, never copied.
                samples: Samples {
                    itl_us_hdr: t.samples.itl_us_hdr.clone(),
                    sampled_from: t.samples.sampled_from,
                    ..Samples::default()
                },
            })
            .collect(),
        ..clone_without_trials(baseline)
    };
    let mut value = serde_json::to_value(&shell).expect("a baseline is plain data");
    // Each empty column becomes a marker that `write_value` replaces by the column.
    if let Some(trials) = value.get_mut("trials").and_then(Value::as_array_mut) {
        for (i, trial) in trials.iter_mut().enumerate() {
            let samples = trial.get_mut("samples").and_then(Value::as_object_mut);
            for (column, v) in samples.into_iter().flatten() {
                if v.is_array() {
                    *v = Value::String(format!("{COLUMN_MARKER}{i}:{column}"));
                }
            }
        }
    }
    write_value(out, &value, 0, &|out, marker| {
        let (trial, column) = marker.split_once(':')?;
        let samples = &baseline.trials.get(trial.parse::<usize>().ok()?)?.samples;
        Some(match column {
            "error_kind" => write_column(out, &samples.error_kind),
            "ttft_ms" => write_column(out, &samples.ttft_ms),
            "tpot_ms" => write_column(out, &samples.tpot_ms),
            "e2e_ms" => write_column(out, &samples.e2e_ms),
            "output_tokens" => write_column(out, &samples.output_tokens),
            _ => return None,
        })
    })?;
    out.write_char('\n')
}

/// Everything of a baseline but its trials.
fn clone_without_trials(b: &Baseline) -> Baseline {
    Baseline {
        schema_version: b.schema_version.clone(),
        tool_version: b.tool_version.clone(),
        created_at: b.created_at.clone(),
        blessed_by: b.blessed_by.clone(),
        reason: b.reason.clone(),
        git_commit: b.git_commit.clone(),
        run_id: b.run_id.clone(),
        target: b.target.clone(),
        scenario: b.scenario.clone(),
        percentile_method: b.percentile_method.clone(),
        fingerprint: b.fingerprint.clone(),
        spec: b.spec.clone(),
        noise: b.noise.clone(),
        trials: Vec::new(),
        runs: b.runs.clone(),
    }
}

/// Writes `[a, b, …]` exactly as [`canonical_json`] writes an array of scalars.
fn write_column<T: Serialize>(out: &mut dyn fmt::Write, items: &[T]) -> fmt::Result {
    out.write_char('[')?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        let value = serde_json::to_value(item).unwrap_or(Value::Null);
        write_value(out, &value, 0, &|_, _| None)?;
    }
    out.write_char(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_inlines_plain_arrays() {
        let v: Value =
            serde_json::from_str(r#"{"b": [1, 2.5, null], "a": {"z": [], "y": [{"k": 1}]}}"#)
                .unwrap();
        let text = canonical_json(&v);
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"y\": [\n      {\n        \"k\": 1\n      }\n    ],\n    \"z\": []\n  },\n  \"b\": [1, 2.5, null]\n}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
        let noisy: Value = serde_json::from_str("[100.36019999999999, 0.1, 1e-7, 3]").unwrap();
        let once = canonical_json(&noisy);
        assert_eq!(once, "[100.3602, 0.1, 1e-7, 3]");
        assert_eq!(
            canonical_json(&serde_json::from_str(&once).unwrap()),
            once,
            "idempotent"
        );
    }
}
