//! What a row's numbers should be read with: facts about a response that do not make
//! it fail but that a reader of its token counts or gaps must know.
//!
//! The server's `usage.completion_tokens` is what throughput and TPOT are computed
//! from, and a server can claim anything: 1,000,000 tokens in three chunks gave 1.5e9
//! tokens/s. What arrived bounds what can be believed: every content chunk carries at
//! least one token, and every token shows up as at least one byte of text or an
//! event of its own, unless the server hides it (special tokens, or reasoning that
//! OpenAI's o-series count but never send). The checks here compare the two and
//! flag, per row, what does not fit; the summary counts each flag. The server's
//! count is kept as it is: a flag is a reason to look, not a correction.

use serde::{Deserialize, Serialize};

/// A fact about one response, listed in its row's `flags` and counted in the
/// summary. Never a failure by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowFlag {
    /// The server reported generated tokens but no content text arrived (e.g. a
    /// model whose first token was end-of-sequence): a completed generation with
    /// nothing visible. `ttft_ms`, `tpot_ms` and `itl_ms` are absent.
    NoVisibleText,
    /// `usage.completion_tokens` is below the number of content chunks received,
    /// though each chunk carries at least one token.
    UsageBelowChunks,
    /// `usage.completion_tokens` is above what was received could hold: more than
    /// one token per byte of text plus one per event.
    UsageAboveReceived,
    /// More output tokens than the request's `max_tokens` (times `n`) allowed: the
    /// server ignored the limit.
    OverMaxTokens,
    /// More inter-token gaps than a row keeps exactly: `itl_ms` holds the first
    /// 16,384, `itl_rest` the others.
    ItlFolded,
}

impl RowFlag {
    pub fn as_str(self) -> &'static str {
        match self {
            RowFlag::NoVisibleText => "no_visible_text",
            RowFlag::UsageBelowChunks => "usage_below_chunks",
            RowFlag::UsageAboveReceived => "usage_above_received",
            RowFlag::OverMaxTokens => "over_max_tokens",
            RowFlag::ItlFolded => "itl_folded",
        }
    }

    pub const ALL: [RowFlag; 5] = [
        RowFlag::NoVisibleText,
        RowFlag::UsageBelowChunks,
        RowFlag::UsageAboveReceived,
        RowFlag::OverMaxTokens,
        RowFlag::ItlFolded,
    ];
}

/// What arrived of a response's text, to check the server's token count against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Bytes of content text (after JSON unescaping), over every chunk.
    pub content_bytes: u64,
    /// Bytes of reasoning text.
    pub reasoning_bytes: u64,
    /// Payloads that parsed as chunks (`data:` events, or one whole body).
    pub events: u64,
}

/// The checks on a response's token counts.
#[derive(Debug, Clone, Copy)]
pub struct TokenCounts {
    /// `usage.completion_tokens`, when the server sent it.
    pub usage: Option<u64>,
    /// Content chunks received.
    pub chunks: u64,
    pub received: Received,
    /// What the row reports: `usage`, or `chunks` without it.
    pub output_tokens: u64,
    /// The most the request allowed, over all its choices; `None` when unknown.
    pub max_tokens: Option<u64>,
}

impl TokenCounts {
    /// Flags for what does not fit, in [`RowFlag`] order.
    pub fn flags(&self) -> Vec<RowFlag> {
        let mut flags = Vec::new();
        if let Some(usage) = self.usage {
            if usage > 0 && self.chunks == 0 {
                flags.push(RowFlag::NoVisibleText);
            }
            if usage < self.chunks {
                flags.push(RowFlag::UsageBelowChunks);
            }
            let r = self.received;
            let room = r
                .content_bytes
                .saturating_add(r.reasoning_bytes)
                .saturating_add(r.events);
            if usage > room {
                flags.push(RowFlag::UsageAboveReceived);
            }
        }
        if self.max_tokens.is_some_and(|max| self.output_tokens > max) {
            flags.push(RowFlag::OverMaxTokens);
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(usage: Option<u64>, chunks: u64, bytes: u64, events: u64) -> TokenCounts {
        TokenCounts {
            usage,
            chunks,
            received: Received {
                content_bytes: bytes,
                reasoning_bytes: 0,
                events,
            },
            output_tokens: usage.unwrap_or(chunks),
            max_tokens: Some(16),
        }
    }

    #[test]
    fn ordinary_responses_have_no_flags() {
        // 16 tokens in 16 chunks of ~4 bytes, a role delta and a usage event.
        assert!(counts(Some(16), 16, 64, 18).flags().is_empty());
        // Speculative decoding: several tokens per chunk.
        assert!(counts(Some(16), 5, 60, 7).flags().is_empty());
        // No usage: one token per chunk, nothing to check but the limit.
        assert!(counts(None, 16, 64, 17).flags().is_empty());
        // End-of-sequence first: 1 token, no text, but its own event.
        let eos = counts(Some(1), 0, 0, 2);
        assert_eq!(eos.flags(), [RowFlag::NoVisibleText]);
    }

    #[test]
    fn claims_that_do_not_fit_what_arrived_are_flagged() {
        // The case: a million tokens claimed from three chunks.
        assert_eq!(
            counts(Some(1_000_000), 3, 15, 4).flags(),
            [RowFlag::UsageAboveReceived, RowFlag::OverMaxTokens]
        );
        assert_eq!(
            counts(Some(2), 10, 40, 11).flags(),
            [RowFlag::UsageBelowChunks]
        );
        // Reasoning text counts toward what could hold the tokens.
        let mut c = counts(Some(100), 2, 8, 3);
        c.max_tokens = Some(128);
        assert!(c.flags().contains(&RowFlag::UsageAboveReceived));
        c.received.reasoning_bytes = 400;
        assert!(c.flags().is_empty());
    }

    #[test]
    fn output_over_max_tokens_is_flagged_whatever_its_source() {
        assert_eq!(counts(None, 40, 160, 41).flags(), [RowFlag::OverMaxTokens]);
        let mut c = counts(Some(40), 40, 160, 41);
        c.max_tokens = None;
        assert!(c.flags().is_empty());
    }

    #[test]
    fn names_match_their_serialized_form() {
        for flag in RowFlag::ALL {
            assert_eq!(serde_json::to_value(flag).unwrap(), flag.as_str());
        }
    }
}
