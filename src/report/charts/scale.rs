//! Axis ranges and tick labels shared by every chart.

use std::ops::Range;

/// A tick label: no trailing zeros, thousands as `k`.
pub fn tick(v: &f64) -> String {
    let v = *v;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if v.abs() >= 10_000.0 {
        format!("{}k", trim(format!("{:.1}", v / 1000.0)))
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = trim(format!("{v:.2}"));
        if s == "-0" {
            "0".into()
        } else {
            s
        }
    }
}

pub(super) fn percent_tick(v: &f64) -> String {
    format!("{}%", tick(&(v * 100.0)))
}

/// `lo..hi` padded by 4%; starts at zero when the data is closer to zero than to
/// its own spread, so small differences are not blown up out of proportion.
pub fn padded_range(values: impl IntoIterator<Item = f64>, from_zero: bool) -> Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if from_zero || lo < (hi - lo) {
        lo = lo.min(0.0);
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.04
    } else {
        hi.abs().max(1.0) * 0.05
    };
    let lo = if lo == 0.0 { 0.0 } else { lo - pad };
    lo..hi + pad
}

/// Room above the data for a legend in an upper corner.
pub(super) fn with_headroom(r: Range<f64>) -> Range<f64> {
    r.start..r.end + (r.end - r.start) * 0.3
}

/// "1.5 s" or "800 ms", for axis descriptions.
pub(super) fn interval(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", tick(&(s * 1000.0)))
    } else {
        format!("{} s", tick(&s))
    }
}
