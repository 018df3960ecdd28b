//! Numbers as every renderer writes them (latencies, energies, rates, shares), so
//! the console, `report.md`, `report.html`, `comparison.md` and the PR comment
//! agree digit for digit. Below both [`crate::report`] and [`crate::compare`]:
//! it knows no summary and no comparison, only `f64`s.

/// A latency in milliseconds with a precision that suits its size.
pub fn fmt_ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An energy or other small quantity to three significant digits (`0.0123`, `1.50`,
/// `350`).
pub fn fmt_energy(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// A rate (requests or tokens per second).
pub fn fmt_rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A share in 0..=1 as a percentage with one decimal, or an en dash.
pub fn fmt_percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{:.1}%", v * 100.0))
}
