//! The verdict on a finished run's health (error rate, schedule), and the words
//! that explain a failed one.

use super::{EXIT_OK, EXIT_RUN_FAILED};
use crate::metrics::Summary;
use crate::record::ErrorKind;
use crate::results;

/// Checks each scenario's error rate against its limit and explains failures.
pub(super) fn health_verdict(summary: &Summary, out_dir: &std::path::Path) -> u8 {
    let mut failed = false;
    for s in &summary.scenarios {
        let m = &s.metrics;
        if m.schedule.reached_target == Some(false) {
            eprintln!(
                "warning: scenario `{}` did not reach its target rate: sent {} of the scheduled {} req/s, {} late, {} dropped; its latencies describe a lighter load than asked for",
                s.name,
                m.schedule.achieved_rate.map_or("–".into(), |r| format!("{r:.1}")),
                m.schedule.scheduled_rate.map_or("–".into(), |r| format!("{r:.1}")),
                m.schedule.late,
                m.schedule.dropped,
            );
        }
        let sent = m.requests.succeeded + m.requests.failed;
        let error_rate = if sent > 0 {
            m.requests.failed as f64 / sent as f64
        } else {
            0.0
        };
        if m.requests.succeeded > 0 && error_rate <= s.spec.max_error_rate {
            continue;
        }
        failed = true;
        eprintln!(
            "error: scenario `{}`: {} of {} requests failed ({:.1}%, limit {:.1}%)",
            s.name,
            m.requests.failed,
            sent,
            error_rate * 100.0,
            s.spec.max_error_rate * 100.0
        );
        for (kind, count) in &m.errors {
            let example = m.error_examples.get(kind).map(String::as_str).unwrap_or("");
            eprintln!("  {count} × {kind}: {example}");
        }
        if let Some(hint) = connect_hint(m, &summary.run.base_url) {
            eprintln!("  {hint}");
        }
        if m.errors.contains_key(&ErrorKind::InvalidRequest) {
            eprintln!("  this is a configuration problem: the server refused the request body; see the message above");
        }
    }
    if failed {
        eprintln!(
            "every request is recorded in {}",
            out_dir.join(results::REQUESTS).display()
        );
        EXIT_RUN_FAILED
    } else {
        EXIT_OK
    }
}

/// Every request failed to connect: the server is not there, which says more than
/// the error rate does.
fn connect_hint(m: &crate::metrics::Metrics, base_url: &str) -> Option<String> {
    if m.requests.succeeded > 0 {
        return None;
    }
    let example = m
        .error_examples
        .get(&ErrorKind::Connect)?
        .to_ascii_lowercase();
    let where_ = if base_url == "builtin:sim" {
        "the built-in simulated server".to_string()
    } else {
        base_url.to_string()
    };
    Some(if example.contains("refused") {
        format!(
            "connection refused: is the server running at {where_}? (start it, or check --url or \
             the target's base_url)"
        )
    } else {
        format!("no connection to {where_}: check the host and port, and that it is reachable from here")
    })
}
