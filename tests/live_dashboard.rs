//! examples/grafana/llm-bench.json against what it queries. Every PromQL expression
//! (panels and variables) parses; every `llm_bench_` name it uses is in a real
//! scrape of `--metrics-listen` while the binary runs against the built-in
//! simulator, every `vllm:` and DCGM name in the exposition fixtures the telemetry
//! tests use; every label it groups by exists on the series it groups; and the
//! run, scenario, model and GPU variables filter what they should.

mod common;
#[path = "common/live.rs"]
mod live;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use live::*;
use llm_bench::telemetry::record::PromSample;
use promql_parser::parser::{self, Expr};
use serde_json::Value;

const DASHBOARD: &str = include_str!("../examples/grafana/llm-bench.json");
const VLLM: &str = include_str!("fixtures/prometheus/vllm_after.prom");
const DCGM: &str = include_str!("fixtures/prometheus/dcgm_after.prom");

/// A selector: metric name and its label matchers (name → (op, value)).
#[derive(Debug)]
struct Selector {
    name: String,
    matchers: BTreeMap<String, String>,
}

/// What one expression reads and groups by.
#[derive(Debug, Default)]
struct Uses {
    selectors: Vec<Selector>,
    /// (metric names under an aggregation, labels it groups by)
    groupings: Vec<(Vec<String>, Vec<String>)>,
}

fn walk(e: &Expr, uses: &mut Uses) -> Vec<String> {
    match e {
        Expr::VectorSelector(vs) => vec![selector(vs, uses)],
        Expr::MatrixSelector(ms) => vec![selector(&ms.vs, uses)],
        Expr::Aggregate(a) => {
            let names = walk(&a.expr, uses);
            if let Some(p) = &a.param {
                walk(p, uses);
            }
            if let Some(m) = &a.modifier {
                uses.groupings
                    .push((names.clone(), m.labels().labels.clone()));
            }
            names
        }
        Expr::Unary(u) => walk(&u.expr, uses),
        Expr::Binary(b) => {
            let mut names = walk(&b.lhs, uses);
            names.extend(walk(&b.rhs, uses));
            names
        }
        Expr::Paren(p) => walk(&p.expr, uses),
        Expr::Subquery(s) => walk(&s.expr, uses),
        Expr::Call(c) => c.args.args.iter().flat_map(|a| walk(a, uses)).collect(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => vec![],
    }
}

fn selector(vs: &promql_parser::parser::VectorSelector, uses: &mut Uses) -> String {
    let name = vs.name.clone().expect("every selector names its metric");
    let matchers = vs
        .matchers
        .matchers
        .iter()
        .map(|m| (m.name.clone(), format!("{}{}", m.op, m.value)))
        .collect();
    uses.selectors.push(Selector {
        name: name.clone(),
        matchers,
    });
    name
}

/// Grafana's interval variables are not PromQL; any duration stands in for them.
fn promql(expr: &str) -> Expr {
    let expr = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h");
    parser::parse(&expr).unwrap_or_else(|e| panic!("not PromQL: {expr}\n{e}"))
}

/// Every query of the dashboard: panel targets, then `label_values(SELECTOR, label)`
/// of the variables (as `(selector, Some(label))`).
fn queries(d: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut panels: Vec<&Value> = d["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = panels.pop() {
        panels.extend(p["panels"].as_array().into_iter().flatten());
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((t["expr"].as_str().unwrap().to_string(), None));
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]["query"].as_str().unwrap();
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{q}: only label_values(SELECTOR, LABEL) is used"));
        let (sel, label) = inner.rsplit_once(',').unwrap();
        out.push((sel.trim().to_string(), Some(label.trim().to_string())));
    }
    out
}

/// Sample names and the label names each carries.
fn labels_by_name(samples: &[PromSample]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in samples {
        out.entry(s.name.clone())
            .or_default()
            .extend(s.labels.keys().cloned());
    }
    out
}

/// Scrapes a run against the built-in simulator (some requests failing, so every
/// family has series) until one scrape holds every name in `needed`.
fn live_scrape(needed: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("configs");
    write_config(&config, 0.3, 2);
    let mut cmd = bin();
    cmd.args(["run", "--no-telemetry", "--config-dir"])
        .arg(&config)
        .arg("--out")
        .arg(out_dir(&tmp))
        .args(["--metrics-listen", "127.0.0.1:0"]);
    let mut run = Running::spawn(cmd);
    let addr = run.live_addr(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut missing = needed.clone();
    while Instant::now() < deadline {
        if let Some(answer) = get(addr, "/metrics", PROMETHEUS_ACCEPT) {
            let found = labels_by_name(&openmetrics_samples(&answer.body));
            missing = needed
                .iter()
                .filter(|n| !found.contains_key(*n))
                .cloned()
                .collect();
            if missing.is_empty() {
                let _ = run.child.kill();
                let _ = run.child.wait();
                return found;
            }
        } else if run.child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = run.child.kill();
    panic!(
        "never in one scrape of the run: {missing:?}\n{}",
        run.stderr()
    );
}

#[test]
fn every_query_reads_series_that_exist() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut uses = Uses::default();
    let queries = queries(&dashboard);
    assert!(queries.len() > 20, "{} queries", queries.len());
    let mut panel_selectors = 0;
    for (q, label) in &queries {
        let names = walk(&promql(q), &mut uses);
        match label {
            Some(label) => uses.groupings.push((names, vec![label.clone()])),
            None => panel_selectors = uses.selectors.len(),
        }
    }
    let names: BTreeSet<String> = uses.selectors.iter().map(|s| s.name.clone()).collect();
    let ours: BTreeSet<String> = names
        .iter()
        .filter(|n| n.starts_with("llm_bench_"))
        .cloned()
        .collect();
    let fixtures = {
        let mut samples = llm_bench::telemetry::prometheus::parse(VLLM).unwrap();
        samples.extend(llm_bench::telemetry::prometheus::parse(DCGM).unwrap());
        labels_by_name(&samples)
    };
    for n in names.iter().filter(|n| !n.starts_with("llm_bench_")) {
        assert!(
            n.starts_with("vllm:") || n.starts_with("DCGM_FI_"),
            "{n}: neither llm-bench's, vLLM's nor DCGM's"
        );
        assert!(
            fixtures.contains_key(n),
            "{n} is not in the vLLM or DCGM fixtures"
        );
    }
    // All three sources are on the dashboard.
    for prefix in [
        "llm_bench_",
        "vllm:",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_GPU_UTIL",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "nothing from {prefix}"
        );
    }
    let scraped = live_scrape(&ours);
    let known = |name: &str| scraped.get(name).or_else(|| fixtures.get(name));
    for (names, labels) in &uses.groupings {
        for name in names {
            let have = known(name).unwrap();
            for l in labels {
                assert!(
                    have.contains(l),
                    "{name} has no label `{l}` (it has {have:?})"
                );
            }
        }
    }
    // The variables filter every series the panels read.
    for s in &uses.selectors[..panel_selectors] {
        let wants: &[(&str, &str)] = if s.name.starts_with("llm_bench_") {
            &[("run_id", "=~$run")]
        } else if s.name.starts_with("vllm:") {
            &[("model_name", "=~$model")]
        } else {
            &[]
        };
        for (label, matcher) in wants {
            assert_eq!(
                s.matchers.get(*label).map(String::as_str),
                Some(*matcher),
                "{}: not filtered by {label}",
                s.name
            );
        }
    }
}

#[test]
fn panels_use_the_datasource_variable_and_do_not_overlap() {
    let d: Value = serde_json::from_str(DASHBOARD).unwrap();
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for v in ["datasource", "run", "scenario", "model", "gpu"] {
        assert!(vars.contains(&v), "no ${v} variable");
    }
    let mut cells = BTreeSet::new();
    for p in d["panels"].as_array().unwrap() {
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().unwrap(),
            g["y"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        assert!(x + w <= 24, "{}", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "{} overlaps another panel",
                    p["title"]
                );
            }
        }
        if p["type"] != "row" {
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        }
    }
}

/// Client and server quantiles on one panel interpolate over the same edges: every
/// bound of vLLM's TTFT and ITL histograms (as in the fixture) is one of ours.
#[test]
fn client_histograms_share_vllms_bucket_bounds() {
    use llm_bench::live::buckets::{ITL_S, TTFT_S};
    let samples = llm_bench::telemetry::prometheus::parse(VLLM).unwrap();
    for (name, ours) in [
        ("vllm:time_to_first_token_seconds_bucket", TTFT_S),
        ("vllm:inter_token_latency_seconds_bucket", ITL_S),
        ("vllm:time_per_output_token_seconds_bucket", ITL_S),
    ] {
        let bounds: BTreeSet<String> = samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.labels["le"].clone())
            .filter(|le| le != "+Inf")
            .collect();
        assert!(bounds.len() > 5, "{name}: {bounds:?}");
        for le in bounds {
            let le: f64 = le.parse().unwrap();
            assert!(ours.contains(&le), "{name}: {le} is not a bound of ours");
        }
    }
}
