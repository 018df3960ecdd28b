//! How far a scenario's token lengths can be trusted, in words, for every
//! renderer: whether prompt lengths were exact (a model tokenizer) or
//! approximate, and, when each request drew its output length, how much of it
//! the server actually generated.

use crate::metrics::ScenarioSummary;

/// One line, without markup, e.g. `prompt lengths approximate (no tokenizer: one
/// word ≈ one token) · output lengths asked 120.3, received 98.0 (12 of 40
/// requests short)`.
pub fn length_note(s: &ScenarioSummary) -> String {
    let mut parts = vec![match &s.spec.tokenizer_sha256 {
        Some(sha) => format!(
            "synthetic prompt lengths exact (tokenizer {}…)",
            &sha[..sha.len().min(12)]
        ),
        None => {
            "synthetic prompt lengths approximate (no model `tokenizer:`: one word ≈ one token)"
                .to_string()
        }
    }];
    if let Some(o) = &s.metrics.output_length {
        parts.push(format!(
            "output lengths asked {:.1} on average ({}), received {:.1} ({} of {} requests short)",
            o.requested_mean,
            s.spec.output_tokens.as_deref().unwrap_or("drawn"),
            o.received_mean,
            o.short,
            o.requests
        ));
    }
    parts.join(" · ")
}
