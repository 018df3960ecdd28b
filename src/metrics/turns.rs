//! Metrics by turn index, for conversation scenarios (`conversation:`).
//!
//! Turn `k` of a conversation carries the whole history before it, so its prompt
//! grows with `k` and a server's TTFT with it, unless its prefix cache serves the
//! part it has already seen. One number for the whole scenario hides that; these
//! are TTFT and input tokens for each turn index.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::samples::Samples;
use super::Stats;
use crate::record::RequestRow;

/// Exact TTFT samples kept per turn before the histogram takes over: turns are
/// many, and their percentiles need less precision than the scenario's.
const PER_TURN_CAP: usize = 1 << 11;

/// One turn index, over the measured requests that were that turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnMetrics {
    /// 1-based.
    pub turn: u32,
    pub succeeded: u64,
    pub failed: u64,
    pub ttft_ms: Option<Stats>,
    /// Mean `usage.prompt_tokens` of the successful requests that reported it: the
    /// history's length as the server counted it.
    pub input_tokens_mean: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct Turn {
    succeeded: u64,
    failed: u64,
    ttft: Option<Samples>,
    input_tokens: u64,
    input_counted: u64,
}

/// Folded row by row, merged across trials.
#[derive(Debug, Clone, Default)]
pub struct TurnsAccumulator {
    turns: BTreeMap<u32, Turn>,
}

impl TurnsAccumulator {
    /// Adds a measured row (not warm-up, cancelled or dropped); rows without a
    /// turn are not conversations' and are left out.
    pub fn add(&mut self, row: &RequestRow) {
        let Some(turn) = row.turn else {
            return;
        };
        let t = self.turns.entry(turn).or_default();
        if !row.ok {
            t.failed += 1;
            return;
        }
        t.succeeded += 1;
        if let Some(ttft) = row.ttft_ms {
            t.ttft
                .get_or_insert_with(|| Samples::with_cap(PER_TURN_CAP))
                .push(ttft);
        }
        if let Some(n) = row.prompt_tokens {
            t.input_tokens = t.input_tokens.saturating_add(n);
            t.input_counted += 1;
        }
    }

    pub fn merge(&mut self, other: &TurnsAccumulator) {
        for (turn, theirs) in &other.turns {
            let mine = self.turns.entry(*turn).or_default();
            mine.succeeded += theirs.succeeded;
            mine.failed += theirs.failed;
            mine.input_tokens = mine.input_tokens.saturating_add(theirs.input_tokens);
            mine.input_counted += theirs.input_counted;
            match (&mut mine.ttft, &theirs.ttft) {
                (Some(m), Some(t)) => m.merge(t),
                (None, Some(t)) => mine.ttft = Some(t.clone()),
                _ => {}
            }
        }
    }

    /// In turn order; `None` when no row was a conversation's turn.
    pub fn finish(self) -> Option<Vec<TurnMetrics>> {
        if self.turns.is_empty() {
            return None;
        }
        let turns = self.turns.into_iter().map(|(turn, t)| TurnMetrics {
            turn,
            succeeded: t.succeeded,
            failed: t.failed,
            ttft_ms: t.ttft.and_then(|mut s| s.stats()),
            input_tokens_mean: (t.input_counted > 0)
                .then(|| t.input_tokens as f64 / t.input_counted as f64),
        });
        Some(turns.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(turn: Option<u32>, ok: bool, ttft: f64, prompt: u64) -> RequestRow {
        let mut r: RequestRow = serde_json::from_value(serde_json::json!({
            "scenario": "s", "trial": 0, "index": 0, "warmup": false, "ok": ok,
            "scheduled_ms": 0.0, "start_ms": 0.0, "end_ms": 1.0, "send_lag_ms": 0.0,
            "e2e_ms": 1.0, "response_e2e_ms": 1.0, "output_tokens": 1, "chunks": 1,
            "token_source": "usage", "in_flight": 1,
        }))
        .unwrap();
        r.turn = turn;
        r.ttft_ms = Some(ttft);
        r.prompt_tokens = Some(prompt);
        r
    }

    #[test]
    fn turns_are_summarised_separately_and_merge() {
        let mut a = TurnsAccumulator::default();
        a.add(&row(None, true, 99.0, 9));
        assert!(a.clone().finish().is_none(), "single requests are no turns");
        a.add(&row(Some(1), true, 10.0, 100));
        a.add(&row(Some(1), true, 20.0, 110));
        a.add(&row(Some(2), true, 40.0, 300));
        let mut b = TurnsAccumulator::default();
        b.add(&row(Some(2), true, 60.0, 320));
        b.add(&row(Some(2), false, 0.0, 0));
        a.merge(&b);
        let turns = a.finish().unwrap();
        assert_eq!(turns.len(), 2);
        assert_eq!(
            (turns[0].turn, turns[0].succeeded, turns[0].failed),
            (1, 2, 0)
        );
        let t1 = turns[0].ttft_ms.as_ref().unwrap();
        assert!((t1.mean - 15.0).abs() < 1e-9 && t1.count == 2);
        assert_eq!(turns[0].input_tokens_mean, Some(105.0));
        assert_eq!(
            (turns[1].turn, turns[1].succeeded, turns[1].failed),
            (2, 2, 1)
        );
        assert!((turns[1].ttft_ms.as_ref().unwrap().mean - 50.0).abs() < 1e-9);
        assert_eq!(turns[1].input_tokens_mean, Some(310.0));
    }
}
