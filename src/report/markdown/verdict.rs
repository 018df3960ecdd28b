//! The headline of `report.md`: one line that says whether the run went well, and
//! if not, what to look at.

use crate::metrics::Summary;

/// One line: did the run go well, and if not, what to look at.
pub fn verdict_line(summary: &Summary) -> String {
    let (mut ok, mut failed) = (0u64, 0u64);
    for s in &summary.scenarios {
        ok += s.metrics.requests.succeeded;
        failed += s.metrics.requests.failed;
    }
    let n = summary.scenarios.len();
    let scenarios = if n == 1 {
        "1 scenario".to_string()
    } else {
        format!("{n} scenarios")
    };
    // Failures are what makes the run exit non-zero; warnings qualify the numbers.
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    if let Some(headline) = crate::report::completeness::headline(summary) {
        problems.push(headline);
    }
    let over_limit: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| {
            // As the run's exit code judges it: no success, or too many failures.
            let r = &s.metrics.requests;
            let sent = r.succeeded + r.failed;
            r.succeeded == 0 || r.failed as f64 / sent as f64 > s.spec.max_error_rate
        })
        .map(|s| s.name.as_str())
        .collect();
    if !over_limit.is_empty() {
        problems.push(format!(
            "error rate over the limit in {}",
            code_list(&over_limit)
        ));
    }
    let behind: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| s.metrics.schedule.reached_target == Some(false))
        .map(|s| s.name.as_str())
        .collect();
    if !behind.is_empty() {
        warnings.push(format!("target rate not reached in {}", code_list(&behind)));
    }
    let client_limited: Vec<&str> = summary
        .scenarios
        .iter()
        .filter(|s| {
            s.metrics
                .client_health
                .as_ref()
                .is_some_and(|h| h.client_limited)
        })
        .map(|s| s.name.as_str())
        .collect();
    if !client_limited.is_empty() {
        warnings.push(format!(
            "client-limited (timings include the client's own delays) in {}",
            code_list(&client_limited)
        ));
    }
    let icon = if !problems.is_empty() {
        "❌"
    } else if failed > 0 || !warnings.is_empty() {
        "⚠️"
    } else {
        "✅"
    };
    let mut line = format!(
        "{icon} **llm-bench: {ok} of {} requests succeeded in {scenarios}**",
        ok + failed
    );
    for p in problems.iter().chain(&warnings) {
        line.push_str(" · ");
        line.push_str(p);
    }
    line
}

fn code_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
