//! Requested against received output lengths, for scenarios that draw each
//! request's `max_tokens` (`output_tokens:`): a server that stops early (at
//! end-of-sequence, without `ignore_eos`/`min_tokens`) generates less than the
//! workload asked for, and its throughput then describes a lighter load.

use serde::{Deserialize, Serialize};

use crate::record::RequestRow;

/// Over the successful measured requests that asked for a drawn length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputLength {
    /// Requests counted.
    pub requests: u64,
    /// Mean output length asked for (`max_tokens`).
    pub requested_mean: f64,
    /// Mean output length received (`output_tokens`).
    pub received_mean: f64,
    /// Requests that received fewer tokens than they asked for.
    pub short: u64,
}

/// Sums, folded row by row and merged across trials.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputLengthAccumulator {
    requests: u64,
    requested: u64,
    received: u64,
    short: u64,
}

impl OutputLengthAccumulator {
    /// Adds a successful measured row.
    pub fn add(&mut self, row: &RequestRow) {
        let Some(asked) = row.requested_output_tokens else {
            return;
        };
        self.requests += 1;
        self.requested = self.requested.saturating_add(asked);
        self.received = self.received.saturating_add(row.output_tokens);
        if row.output_tokens < asked {
            self.short += 1;
        }
    }

    pub fn merge(&mut self, other: &OutputLengthAccumulator) {
        self.requests += other.requests;
        self.requested = self.requested.saturating_add(other.requested);
        self.received = self.received.saturating_add(other.received);
        self.short += other.short;
    }

    /// `None` when no request asked for a drawn length.
    pub fn finish(&self) -> Option<OutputLength> {
        (self.requests > 0).then(|| OutputLength {
            requests: self.requests,
            requested_mean: self.requested as f64 / self.requests as f64,
            received_mean: self.received as f64 / self.requests as f64,
            short: self.short,
        })
    }
}
