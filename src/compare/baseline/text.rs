//! The canonical text of a baseline: keys sorted, two-space indentation, arrays of
//! plain values on one line, floats to 10 significant digits, so equal values give
//! equal bytes and a bless reads as a diff.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Baseline, Samples, TrialRecord};

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

/// Starts a string that stands for a sample column (no real value starts with it).
const COLUMN_MARKER: &str = "\u{1}column:";

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

/// JSON with object keys sorted at every level, two-space indentation, arrays of
/// scalars kept on one line and floats rounded to 10 significant digits: stable
/// bytes for equal values, whatever serde_json's map order, and diffs that show
/// changed numbers rather than reflowed arrays.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, &|_, _| None).expect("writing to a String cannot fail");
    out
}

/// Writes a sample column named by a marker; `None` when the marker names none.
type ColumnWriter<'a> = dyn Fn(&mut dyn fmt::Write, &str) -> Option<fmt::Result> + 'a;

/// Writes `value` at indentation `depth`; a string starting with [`COLUMN_MARKER`]
/// is handed to `column`, which writes the column it names.
fn write_value(
    out: &mut dyn fmt::Write,
    value: &Value,
    depth: usize,
    column: &ColumnWriter<'_>,
) -> fmt::Result {
    let indent = |out: &mut dyn fmt::Write, depth: usize| -> fmt::Result {
        for _ in 0..depth {
            out.write_str("  ")?;
        }
        Ok(())
    };
    match value {
        Value::Object(map) if map.is_empty() => out.write_str("{}"),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.write_str("{\n")?;
            for (i, key) in keys.iter().enumerate() {
                indent(out, depth + 1)?;
                write!(out, "{}: ", Value::String((*key).clone()))?;
                write_value(out, &map[key.as_str()], depth + 1, column)?;
                out.write_str(if i + 1 < keys.len() { ",\n" } else { "\n" })?;
            }
            indent(out, depth)?;
            out.write_char('}')
        }
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => {
            out.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_value(out, item, depth, column)?;
            }
            out.write_char(']')
        }
        Value::Array(items) => {
            out.write_str("[\n")?;
            for (i, item) in items.iter().enumerate() {
                indent(out, depth + 1)?;
                write_value(out, item, depth + 1, column)?;
                out.write_str(if i + 1 < items.len() { ",\n" } else { "\n" })?;
            }
            indent(out, depth)?;
            out.write_char(']')
        }
        Value::Number(n) if n.is_f64() => write!(
            out,
            "{}",
            Value::from(round_significant(n.as_f64().unwrap_or(0.0)))
        ),
        Value::String(text) => match text
            .strip_prefix(COLUMN_MARKER)
            .and_then(|m| column(out, m))
        {
            Some(written) => written,
            None => write!(out, "{value}"),
        },
        scalar => write!(out, "{scalar}"),
    }
}

/// Rounds to 10 significant digits: `100.36019999999999` is written `100.3602`,
/// which reads better in a diff and parses back to exactly the same number (ten
/// digits are within every float parser's exact fast path), so rewriting a file
/// read from disk gives the same bytes.
fn round_significant(v: f64) -> f64 {
    if v.is_finite() {
        format!("{v:.9e}").parse().unwrap_or(v)
    } else {
        v
    }
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
