//! Canonical JSON: keys sorted, two-space indentation, arrays of plain values on
//! one line, floats to 10 significant digits, so equal values give equal bytes.
//! Baseline files are written in it and fingerprints and workload hashes are taken
//! of it, so it sits at the bottom, below [`crate::fingerprint`] and
//! [`crate::compare`].

use std::fmt;

use serde_json::Value;

/// Starts a string that stands for a sample column (no real value starts with it).
pub const COLUMN_MARKER: &str = "\u{1}column:";

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
pub type ColumnWriter<'a> = dyn Fn(&mut dyn fmt::Write, &str) -> Option<fmt::Result> + 'a;

/// Writes `value` at indentation `depth`; a string starting with [`COLUMN_MARKER`]
/// is handed to `column`, which writes the column it names.
pub fn write_value(
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
