//! How far a scenario's token lengths can be trusted, in words, for every
//! renderer: whether prompt lengths were exact (a model tokenizer) or
//! approximate, and, when each request drew its output length, how much of it
//! the server actually generated.

use crate::metrics::ScenarioSummary;

/// One line, without markup (`None` when there is nothing to say), e.g. `prompt lengths approximate (no tokenizer: one
/// word ≈ one token) · output lengths asked 120.3, received 98.0 (12 of 40
/// requests short)`.
pub fn length_note(s: &ScenarioSummary) -> Option<String> {
    // Prompts sent as written (`text:`) were not measured: nothing to say.
    let prompts = match (&s.spec.tokenizer_sha256, &s.spec.approximate_lengths) {
        (Some(sha), _) => Some(format!(
            "synthetic prompt lengths exact (tokenizer {}…)",
            &sha[..sha.len().min(12)]
        )),
        (None, Some(what)) => Some(format!(
            "{what} approximate (no model `tokenizer:`: one word ≈ one token)"
        )),
        (None, None) => None,
    };
    let mut parts: Vec<String> = prompts.into_iter().collect();
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
    (!parts.is_empty()).then(|| parts.join(" · "))
}
