//! One metric's row, as both renderers show it: the baseline and current values
//! in their units, the change with its interval, the threshold in force and the
//! verdict's words.

use super::super::metric::{Applies, Kind, MetricId};
use super::super::verdict::{MetricComparison, Verdict};
use crate::units::{fmt_energy, fmt_ms, fmt_rate};

/// Metric, baseline, current, Δ (CI), threshold, verdict.
pub(super) fn cells(m: &MetricComparison) -> [String; 6] {
    let value = |v: Option<f64>| v.map_or("–".to_string(), |v| fmt_value(m.metric, v));
    let change = match m.change() {
        None => "–".to_string(),
        Some((d, lo, hi)) if m.metric.kind() == Kind::SuccessRate => {
            format!(
                "{} pt ({} … {})",
                signed(d * 100.0, 1),
                signed(lo * 100.0, 1),
                signed(hi * 100.0, 1)
            )
        }
        Some((d, lo, hi)) => format!(
            "{}% ({} … {})",
            signed(d * 100.0, 1),
            signed(lo * 100.0, 1),
            signed(hi * 100.0, 1)
        ),
    };
    // An informational metric never fails the job, so it is never called a regression.
    let mut verdict = match (m.gated, m.verdict) {
        (false, Verdict::Regression) => "🔸 worse (informational)".to_string(),
        (false, Verdict::Improvement) => "🔹 better (informational)".to_string(),
        (_, v) => format!("{} {}", v.icon(), v.label()),
    };
    if m.low_confidence {
        verdict.push_str(" (low confidence)");
    }
    if m.partial {
        verdict.push_str(" (trials left out)");
    }
    if m.forced {
        verdict.push_str(" (SLO floor)");
    }
    [
        m.metric.label(),
        value(m.baseline),
        value(m.current),
        change,
        threshold(m),
        verdict,
    ]
}

fn fmt_value(metric: MetricId, v: f64) -> String {
    match metric.kind() {
        Kind::Latency(..) => format!("{} ms", fmt_ms(v)),
        Kind::Throughput => format!("{} {}", fmt_rate(v), metric.unit()),
        Kind::SuccessRate => format!("{:.2}%", v * 100.0),
        Kind::Energy => format!("{} {}", fmt_energy(v), metric.unit()),
    }
}

/// The threshold in force: the effective one where known ("±5% (2.5 ms)",
/// "±0.5 ms (25%, absolute floor)"), else the configured tolerance.
fn threshold(m: &MetricComparison) -> String {
    if let Some(e) = m.threshold {
        let units = |v: f64| match m.metric.kind() {
            Kind::Latency(..) => format!("{} ms", fmt_ms(v)),
            Kind::Throughput => format!("{} {}", fmt_rate(v), m.metric.unit()),
            Kind::Energy => format!("{} {}", fmt_energy(v), m.metric.unit()),
            Kind::SuccessRate => format!("{} pt", trim(v * 100.0)),
        };
        return match (m.metric.kind(), e.applies) {
            (Kind::SuccessRate, _) => format!("±{:.1} pt", e.value * 100.0),
            (_, Applies::Relative) => {
                format!("±{}% ({})", trim(e.relative * 100.0), units(e.value))
            }
            (_, Applies::Absolute) => format!(
                "±{} ({}%, absolute floor)",
                units(e.value),
                trim(e.relative * 100.0)
            ),
        };
    }
    let t = m.tolerance;
    match m.metric.kind() {
        Kind::SuccessRate => format!("±{:.1} pt", t.absolute * 100.0),
        Kind::Latency(..) if t.absolute > 0.0 => {
            format!("±{}% (≥ {} ms)", trim(t.relative * 100.0), trim(t.absolute))
        }
        Kind::Energy if t.absolute > 0.0 => format!(
            "±{}% (≥ {} {})",
            trim(t.relative * 100.0),
            fmt_energy(t.absolute),
            m.metric.unit()
        ),
        Kind::Throughput if t.absolute > 0.0 => {
            format!(
                "±{}% (≥ {} {})",
                trim(t.relative * 100.0),
                trim(t.absolute),
                m.metric.unit()
            )
        }
        _ => format!("±{}%", trim(t.relative * 100.0)),
    }
}

pub(super) fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub(super) fn signed(v: f64, decimals: usize) -> String {
    let s = format!("{:+.*}", decimals, v);
    if s[1..].chars().all(|c| c == '0' || c == '.') {
        // Rounds to zero: no sign (and never "−0.0").
        return s[1..].to_string();
    }
    // A true minus sign reads better in tables.
    s.replacen('-', "−", 1)
}
