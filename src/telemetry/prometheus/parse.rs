//! The text exposition format to flat samples, through `openmetrics-parser`.

use std::collections::BTreeMap;

use openmetrics_parser::{PrometheusType, PrometheusValue};

use crate::telemetry::record::PromSample;

/// Families left out of the raw samples: the runtime's own (Python GC, process,
/// per-handler HTTP latency), which can be most of a vLLM page and explain nothing
/// about serving. `*_created` timestamps are left out too.
const SKIPPED_PREFIXES: [&str; 5] = ["python_", "process_", "http_", "go_", "promhttp_"];

/// Parses a text exposition into flat samples (histograms as `_bucket`, `_sum` and
/// `_count` series, summaries as quantile, `_sum` and `_count` series).
pub fn parse(text: &str) -> Result<Vec<PromSample>, String> {
    // The grammar wants every line, the last included, to end with a newline.
    let owned;
    let text = if text.ends_with('\n') {
        text
    } else {
        owned = format!("{text}\n");
        &owned
    };
    let exposition = openmetrics_parser::prometheus::parse_prometheus(text)
        .map_err(|e| format!("not Prometheus text format: {e:?}"))?;
    let mut out = Vec::new();
    let mut names: Vec<&String> = exposition.families.keys().collect();
    names.sort();
    for name in names {
        if SKIPPED_PREFIXES.iter().any(|p| name.starts_with(p)) || name.ends_with("_created") {
            continue;
        }
        let family = &exposition.families[name];
        for sample in family.iter_samples() {
            let labels: BTreeMap<String, String> = match sample.get_labelset() {
                Ok(set) => set.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                Err(_) => BTreeMap::new(),
            };
            let mut push = |name: String, labels: BTreeMap<String, String>, value: f64| {
                if value.is_finite() {
                    out.push(PromSample {
                        name,
                        labels,
                        value,
                    });
                }
            };
            match (&family.family_type, &sample.value) {
                (PrometheusType::Histogram, PrometheusValue::Histogram(h)) => {
                    for b in &h.buckets {
                        let mut l = labels.clone();
                        l.insert("le".into(), le_label(b.upper_bound));
                        push(format!("{name}_bucket"), l, b.count.as_f64());
                    }
                    if let Some(sum) = &h.sum {
                        push(format!("{name}_sum"), labels.clone(), sum.as_f64());
                    }
                    if let Some(count) = h.count {
                        push(format!("{name}_count"), labels.clone(), count as f64);
                    }
                }
                (_, PrometheusValue::Summary(s)) => {
                    for q in &s.quantiles {
                        let mut l = labels.clone();
                        l.insert("quantile".into(), format_float(q.quantile));
                        push(name.clone(), l, q.value.as_f64());
                    }
                    if let Some(sum) = &s.sum {
                        push(format!("{name}_sum"), labels.clone(), sum.as_f64());
                    }
                    if let Some(count) = s.count {
                        push(format!("{name}_count"), labels.clone(), count as f64);
                    }
                }
                (_, PrometheusValue::Counter(c)) => push(name.clone(), labels, c.value.as_f64()),
                (_, PrometheusValue::Gauge(v) | PrometheusValue::Unknown(v)) => {
                    push(name.clone(), labels, v.as_f64())
                }
                (_, PrometheusValue::Histogram(_)) => {}
            }
        }
    }
    Ok(out)
}

fn le_label(bound: f64) -> String {
    if bound == f64::INFINITY {
        "+Inf".into()
    } else {
        format_float(bound)
    }
}

/// A float as Prometheus clients print it (`0.5`, `1.0`, `1e-05` stays parseable).
fn format_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}
