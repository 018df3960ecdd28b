//! `summary.csv`: one row per scenario and trial, for spreadsheets and scripts.
//! The pooled row of a scenario has trial `all`.

use super::Renderer;
use crate::metrics::{Metrics, Stats, Summary};
use crate::telemetry::energy::{EnergyMethod, GpuMetrics};

pub struct Csv;

const STATS: [&str; 7] = ["mean", "p50", "p90", "p95", "p99", "max", "stddev"];
const DISTRIBUTIONS: [&str; 4] = ["ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"];

impl Renderer for Csv {
    fn file_name(&self) -> &'static str {
        "summary.csv"
    }

    fn render(&self, summary: &Summary) -> String {
        let mut header: Vec<String> = [
            "scenario",
            "trial",
            "requests",
            "succeeded",
            "failed",
            "success_rate",
            "duration_s",
            "requests_per_s",
            "output_tokens_per_s",
            "prompt_tokens_per_s",
            "goodput_requests_per_s",
            "send_lag_p99_ms",
            "energy_j",
            "energy_method",
            "joules_per_output_token",
            "output_tokens_per_joule",
            "power_mean_w",
            "power_peak_w",
            "gpu_util_mean_pct",
            "goodput_requests_per_s_per_w",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for d in DISTRIBUTIONS {
            for s in STATS {
                header.push(format!("{}_{s}", d));
            }
        }
        let mut out = header.join(",");
        out.push('\n');
        for scenario in &summary.scenarios {
            out.push_str(&row(&scenario.name, "all", &scenario.metrics));
            if scenario.trials.len() > 1 {
                for (i, t) in scenario.trials.iter().enumerate() {
                    out.push_str(&row(&scenario.name, &(i + 1).to_string(), t));
                }
            }
        }
        out
    }
}

fn row(scenario: &str, trial: &str, m: &Metrics) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), num);
    let mut cells = vec![
        quote(scenario),
        trial.to_string(),
        (m.requests.succeeded + m.requests.failed).to_string(),
        m.requests.succeeded.to_string(),
        m.requests.failed.to_string(),
        opt(m.success_rate),
        num(m.duration_s),
        num(m.requests_per_s),
        num(m.output_tokens_per_s),
        num(m.prompt_tokens_per_s),
        opt(m.goodput.as_ref().map(|g| g.requests_per_s)),
        opt(m.schedule.send_lag_ms.map(|s| s.p99)),
    ];
    // GPU columns stay empty where no GPU was measured.
    let gpu = m.telemetry.as_ref().and_then(|t| t.energy());
    let g = |f: fn(&GpuMetrics) -> Option<f64>| gpu.and_then(f).map_or(String::new(), precise);
    cells.extend([
        g(|g| g.energy_j),
        gpu.and_then(|g| g.energy_method)
            .map_or(String::new(), |e| match e {
                EnergyMethod::Counter => "counter".into(),
                EnergyMethod::PowerIntegration => "power_integration".into(),
            }),
        g(|g| g.joules_per_output_token),
        g(|g| g.output_tokens_per_joule),
        g(|g| g.power_mean_w),
        g(|g| g.power_peak_w),
        g(|g| g.gpu_util_mean_pct),
        g(|g| g.goodput_requests_per_s_per_w),
    ]);
    for d in [&m.ttft_ms, &m.tpot_ms, &m.itl_ms, &m.e2e_ms] {
        for s in STATS {
            cells.push(opt(d.as_ref().and_then(|d: &Stats| d.get(s))));
        }
    }
    let mut line = cells.join(",");
    line.push('\n');
    line
}

fn num(v: f64) -> String {
    format!("{:.4}", v)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// Six significant digits: joules per token are often below 0.001.
fn precise(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return num(v);
    }
    let decimals = (5 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// RFC 4180 quoting where needed.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
