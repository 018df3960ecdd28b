//! Load sweeps: the scenarios of a run that differ only in how much load they
//! offer, for the charts of latency and throughput against load.

/// Scenarios that differ only in how much load they offer: a load sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// What the scenarios share, e.g. `prompt chat-short, max_tokens 128, closed loop`.
    pub label: String,
    /// `concurrency` or `offered load (req/s)`.
    pub load_desc: &'static str,
    /// In increasing offered load.
    pub points: Vec<SweepPoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    pub scenario: String,
    /// Concurrency (closed loop) or target rate in requests per second (open loop).
    pub offered: f64,
    pub ttft_ms: Option<crate::metrics::Stats>,
    pub e2e_ms: Option<crate::metrics::Stats>,
    pub requests_per_s: f64,
    pub goodput_requests_per_s: Option<f64>,
}

/// Groups the scenarios of a run into sweeps: two or more scenarios with the same
/// prompt, output length, streaming and loop kind but different load levels. A run
/// without such a group has no sweep section.
pub fn sweeps(summary: &crate::metrics::Summary) -> Vec<Sweep> {
    use crate::manifest::LoadSpec;
    let mut groups: Vec<(String, &'static str, Vec<SweepPoint>)> = Vec::new();
    for s in &summary.scenarios {
        let spec = &s.spec;
        let (offered, mode, load_desc) = match spec.load {
            LoadSpec::Closed { concurrency } => {
                (f64::from(concurrency), "closed loop", "concurrency")
            }
            LoadSpec::Open { rate, .. } => (rate, "open loop", "offered load (req/s)"),
            // A replay's load is the trace's own: no level to sweep.
            LoadSpec::Trace { .. } => continue,
        };
        let label = format!(
            "prompt {}, max_tokens {}{}, {mode}",
            spec.prompt,
            spec.max_tokens,
            if spec.stream { "" } else { ", not streamed" }
        );
        let m = &s.metrics;
        let point = SweepPoint {
            scenario: s.name.clone(),
            offered,
            ttft_ms: m.ttft_ms,
            e2e_ms: m.e2e_ms,
            requests_per_s: m.requests_per_s,
            goodput_requests_per_s: m.goodput.as_ref().map(|g| g.requests_per_s),
        };
        match groups.iter_mut().find(|g| g.0 == label) {
            Some(group) => group.2.push(point),
            None => groups.push((label, load_desc, vec![point])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(label, load_desc, mut points)| {
            points.sort_by(|a, b| a.offered.total_cmp(&b.offered));
            let mut levels: Vec<f64> = points.iter().map(|p| p.offered).collect();
            levels.dedup();
            (levels.len() >= 2).then_some(Sweep {
                label,
                load_desc,
                points,
            })
        })
        .collect()
}
