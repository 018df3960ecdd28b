//! A load sweep's charts: latency and throughput against offered load.

use std::fmt::Write as _;

use super::markup::{esc, figure};
use crate::report::charts;
use crate::report::series::Sweep;

pub(super) fn sweep_section(out: &mut String, sweep: &Sweep) {
    let names: Vec<&str> = sweep.points.iter().map(|p| p.scenario.as_str()).collect();
    let _ = write!(
        out,
        "<h3>{} <span class=\"muted\">({})</span></h3>\n<div class=\"charts\">\n",
        esc(&sweep.label),
        esc(&names.join(", "))
    );
    figure(
        out,
        "TTFT against load",
        &charts::sweep_latency_chart(sweep, "TTFT", |p| p.ttft_ms),
    );
    figure(
        out,
        "E2E latency against load",
        &charts::sweep_latency_chart(sweep, "E2E", |p| p.e2e_ms),
    );
    let caption = if sweep
        .points
        .iter()
        .any(|p| p.goodput_requests_per_s.is_some())
    {
        "Throughput and goodput against load"
    } else {
        "Throughput against load (no SLO set: no goodput)"
    };
    figure(out, caption, &charts::sweep_goodput_chart(sweep));
    out.push_str("</div>\n");
}
