//! `trends.html`: each gated metric of each scenario over the nightly history,
//! change points marked, the blessed baseline's value and band drawn behind.
//!
//! Self-contained like `report.html`: inline SVG and CSS, no external anything.
//! Hovering a run shows its commit, date and value through SVG `<title>` (native
//! tooltips, no script needed); the one script is the error trap the Chromium
//! check reads. Change points for the worse are red, for the better green, each
//! with its step and commit range on hover.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::compare::baseline::Baseline;
use crate::compare::metric::MetricId;
use crate::history::table::fmt_value;
use crate::trend::render::{commit_range, step_text};
use crate::trend::{Series, Shape};

pub const FILE_NAME: &str = "trends.html";

/// A blessed baseline's value of a metric and the band runs of the same server
/// fall in: value · exp(±2σ), σ the baseline's between-trial SD of the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Band {
    /// From a baseline's trials (geometric mean over all its runs) and its noise.
    pub fn of(b: &Baseline, metric: MetricId) -> Option<Band> {
        let logs: Vec<f64> = b
            .trials
            .iter()
            .filter_map(|t| t.stats.get(&metric).copied())
            .filter(|v| *v > 0.0 && v.is_finite())
            .map(f64::ln)
            .collect();
        if logs.is_empty() {
            return None;
        }
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = b.noise.get(&metric).copied().unwrap_or(0.0);
        Some(Band {
            value: mean.exp(),
            low: (mean - 2.0 * sd).exp(),
            high: (mean + 2.0 * sd).exp(),
        })
    }
}

type Bands = BTreeMap<(String, String, MetricId), Band>;

/// The page.
pub fn page(series: &[Series], bands: &Bands) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta name=\"color-scheme\" content=\"light dark\">\n<title>llm-bench trends</title>\n\
<style>{STYLE}</style>\n<script>{ERROR_TRAP}</script>\n</head>\n<body>\n<h1>llm-bench trends</h1>\n"
    );
    let runs = series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    let points: usize = series.iter().map(|s| s.change_points.len()).sum();
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} series, up to {runs} runs each, {points} change point(s). \
Hover a run for its commit and date, a change point for its step. \
<span class=\"key worse\">▮</span> worse · <span class=\"key better\">▮</span> better · \
<span class=\"key band\">▮</span> blessed baseline ±2σ</p>",
        series.len()
    );
    let mut current: Option<(&str, &str)> = None;
    for s in series {
        let key = (s.target.as_str(), s.scenario.as_str());
        if current != Some(key) {
            if current.is_some() {
                out.push_str("</div></section>\n");
            }
            let _ = writeln!(
                out,
                "<section><h2>{} · {}</h2><div class=\"grid\">",
                esc(&s.target),
                esc(&s.scenario)
            );
            current = Some(key);
        }
        let band = bands.get(&(s.target.clone(), s.scenario.clone(), s.metric));
        figure(&mut out, s, band);
    }
    if current.is_some() {
        out.push_str("</div></section>\n");
    } else {
        out.push_str("<p>The history is empty.</p>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

fn figure(out: &mut String, s: &Series, band: Option<&Band>) {
    let unit = s.metric.unit();
    let title = if unit.is_empty() {
        s.metric.label()
    } else {
        format!("{} ({unit})", s.metric.label())
    };
    let mut lo = s
        .points
        .iter()
        .map(|p| p.value)
        .fold(f64::INFINITY, f64::min);
    let mut hi = s
        .points
        .iter()
        .map(|p| p.value)
        .fold(f64::NEG_INFINITY, f64::max);
    if let Some(b) = band {
        lo = lo.min(b.low);
        hi = hi.max(b.high);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.01).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let n = s.points.len();
    let x = |i: f64| LEFT + (W - LEFT - RIGHT) * if n > 1 { i / (n - 1) as f64 } else { 0.5 };
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
    let _ = write!(
        out,
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{} over {n} runs\">",
        esc(&title),
        esc(&title)
    );
    // Axes and labels.
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\"/>\
<line class=\"axis\" x1=\"{LEFT}\" y1=\"{0}\" x2=\"{}\" y2=\"{0}\"/>",
        H - BOTTOM,
        W - RIGHT
    );
    for v in [lo + pad, (lo + hi) / 2.0, hi - pad] {
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y(v) + 4.0,
            esc(&fmt_value(s.metric, v))
        );
    }
    if let (Some(first), Some(last)) = (s.points.first(), s.points.last()) {
        let date = |d: &str| esc(d.get(..10).unwrap_or(d));
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{LEFT}\" y=\"{}\">{}</text><text class=\"tick\" x=\"{}\" y=\"{0}\" text-anchor=\"end\">{}</text>",
            H - 10.0,
            date(&first.created_at),
            W - RIGHT,
            date(&last.created_at)
        );
    }
    if let Some(b) = band {
        let _ = write!(
            out,
            "<rect class=\"band\" x=\"{LEFT}\" y=\"{:.1}\" width=\"{}\" height=\"{:.1}\"><title>blessed baseline {} (band {} – {})</title></rect>\
<line class=\"baseline\" x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{4:.1}\"/>",
            y(b.high),
            W - LEFT - RIGHT,
            (y(b.low) - y(b.high)).max(1.0),
            esc(&fmt_value(s.metric, b.value)),
            esc(&fmt_value(s.metric, b.low)),
            esc(&fmt_value(s.metric, b.high)),
            y(b.value),
            W - RIGHT
        );
    }
    for c in &s.change_points {
        let cx = x(c.index as f64 - 0.5);
        let class = if c.worse { "worse" } else { "better" };
        let shape = match c.shape {
            Shape::Step => "step",
            Shape::Drift => "drift",
        };
        let _ = write!(
            out,
            "<g class=\"cp {class}\"><line x1=\"{cx:.1}\" y1=\"{TOP}\" x2=\"{cx:.1}\" y2=\"{}\"/>\
<rect x=\"{:.1}\" y=\"{TOP}\" width=\"8\" height=\"{}\" fill-opacity=\"0\"/>\
<title>{shape} {} ({class}): {} → {}; commits {}; first run after {} ({})</title></g>",
            H - BOTTOM,
            cx - 4.0,
            H - TOP - BOTTOM,
            esc(&step_text(c)),
            esc(&fmt_value(s.metric, c.before)),
            esc(&fmt_value(s.metric, c.after)),
            esc(&commit_range(c)),
            esc(&c.first_run_after),
            esc(c.first_date_after.get(..10).unwrap_or(&c.first_date_after)),
        );
    }
    let line: Vec<String> = s
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i as f64), y(p.value)))
        .collect();
    let _ = write!(
        out,
        "<polyline class=\"series\" points=\"{}\"/>",
        line.join(" ")
    );
    for (i, p) in s.points.iter().enumerate() {
        let _ = write!(
            out,
            "<circle class=\"run\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} · {} · {}</title></circle>",
            x(i as f64),
            y(p.value),
            esc(p.git_commit.as_deref().map_or("?", |c| &c[..c.len().min(12)])),
            esc(&p.created_at.replace('T', " ")),
            esc(&fmt_value(s.metric, p.value)),
        );
    }
    out.push_str("</svg></figure>\n");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// As in `report.html`: a script or load error lands on `<html data-error>`, and
/// `data-charts-drawn` counts the charts that have a size and content.
const ERROR_TRAP: &str = "window.addEventListener('error',function(e){document.documentElement.setAttribute('data-error',String(e.message||e.type));},true);\
window.addEventListener('load',function(){var n=0;document.querySelectorAll('figure svg').forEach(function(s){var r=s.getBoundingClientRect();\
if(r.width>0&&r.height>0&&s.childElementCount>0)n++;});document.documentElement.setAttribute('data-charts-drawn',String(n));});";

const STYLE: &str = r##"
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2a3b;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--worse:#cf222e;--better:#1a7f37;--band:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--worse:#f85149;--better:#3fb950;--band:#58a6ff}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg);margin:24px auto;max-width:1200px;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}.muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;display:block}
.axis{stroke:var(--line)}.tick{fill:var(--muted);font-size:11px}
.series{fill:none;stroke:var(--fg);stroke-width:1.4}.run{fill:var(--fg)}.run:hover{r:5}
.band{fill:var(--band);fill-opacity:.12}.baseline{stroke:var(--band);stroke-dasharray:5 4}
.cp line{stroke-width:2;stroke-dasharray:3 3}.cp.worse line{stroke:var(--worse)}.cp.better line{stroke:var(--better)}
.key.worse{color:var(--worse)}.key.better{color:var(--better)}.key.band{color:var(--band);opacity:.5}
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trend::{analyse, Settings};

    #[test]
    fn the_page_marks_change_points_and_draws_the_baseline_band() {
        let mut entries = Vec::new();
        let mut e = crate::history::Entry::from_candidate(
            &crate::compare::baseline::tests::tiny_baseline(),
            None,
        );
        for i in 0..30 {
            e.run_id = format!("n{i}");
            e.git_commit = Some(format!("{i:04}<b>"));
            e.created_at = format!("2026-03-{:02}T03:00:00Z", i + 1);
            for (k, t) in e.trials.iter_mut().enumerate() {
                let level = if i < 15 { 80.0 } else { 90.0 };
                t.stats.insert(
                    MetricId::TtftP50,
                    level * (1.0 + 0.004 * (k + i % 3) as f64),
                );
            }
            entries.push(e.clone());
        }
        let series = analyse(&entries, &Settings::default());
        let ttft: Vec<_> = series
            .iter()
            .filter(|s| s.metric == MetricId::TtftP50)
            .collect();
        assert_eq!(ttft[0].change_points.len(), 1);
        let key = ("t".to_string(), "s".to_string(), MetricId::TtftP50);
        let bands = BTreeMap::from([(
            key,
            Band {
                value: 80.0,
                low: 78.0,
                high: 82.0,
            },
        )]);
        let html = page(&series, &bands);
        assert_eq!(
            html.matches("<g class=\"cp worse\">").count(),
            1,
            "one worse change point"
        );
        assert!(html.contains("<rect class=\"band\""), "baseline band drawn");
        assert!(
            html.contains("0014&lt;b&gt;..0015&lt;b&gt;"),
            "commit range, escaped"
        );
        assert!(
            html.contains("<title>0003&lt;b&gt; · 2026-03-04 03:00:00Z · "),
            "hover: commit and date"
        );
        assert!(
            !html.contains("<b>") && !html.contains("src="),
            "escaped, self-contained"
        );
        assert_eq!(html.matches("<figure>").count(), series.len());
    }

    #[test]
    fn a_band_is_the_baselines_geometric_mean_give_or_take_two_sigma() {
        let b = crate::compare::baseline::tests::tiny_baseline();
        let band = Band::of(&b, MetricId::E2eP50).unwrap();
        let sd = b.noise[&MetricId::E2eP50];
        assert!((band.high / band.value - (2.0 * sd).exp()).abs() < 1e-12);
        assert!(band.low < band.value && band.value < band.high || sd == 0.0);
    }
}
