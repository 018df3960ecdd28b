//! Trace replay: a recorded trace's rows as an open-loop schedule, prompts and
//! output limits.
//!
//! Request *i* is sent at `trial_start + offset(i) × time_scale` (an absolute
//! schedule, like every open loop, so a late send never shifts the next), with a
//! synthetic prompt of the row's input length and `max_tokens` set to the row's
//! output length. Every trial replays the same rows; prompts differ by trial as
//! they do elsewhere.

use std::sync::Arc;
use std::time::Duration;

use super::lengths::Lengths;
use super::prompts::Synthetic;
use super::PromptGenerator;
use crate::config::TraceRequest;

/// A trace ready to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceReplay {
    pub requests: Arc<[TraceRequest]>,
    /// Offsets are multiplied by this (0.5: twice as fast).
    pub time_scale: f64,
}

impl TraceReplay {
    /// Send offsets from the trial's start, one per row, in file order.
    pub fn schedule(&self) -> impl Iterator<Item = Duration> + Send + 'static {
        let requests = Arc::clone(&self.requests);
        let scale = self.time_scale;
        (0..requests.len()).map(move |i| {
            let ms = requests[i].offset_ms * scale;
            Duration::from_secs_f64((ms / 1000.0).max(0.0))
        })
    }

    pub fn len(&self) -> u64 {
        self.requests.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The row request `index` replays, if the trace has that many.
    pub fn row(&self, index: u64) -> Option<&TraceRequest> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.requests.get(i))
    }
}

/// `prompts` (the scenario's generator, salted or not) with its synthetic length
/// set to `tokens`: the prompt of one trace row.
pub fn with_length(prompts: &PromptGenerator, tokens: u32) -> PromptGenerator {
    match prompts {
        PromptGenerator::Synthetic(s) => PromptGenerator::Synthetic(Synthetic {
            lengths: Lengths::Fixed(tokens.max(1)),
            ..s.clone()
        }),
        PromptGenerator::Salted { prompts, run_salt } => PromptGenerator::Salted {
            prompts: Box::new(with_length(prompts, tokens)),
            run_salt: *run_salt,
        },
        PromptGenerator::Template(_) | PromptGenerator::Dataset(_) => prompts.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(scale: f64) -> TraceReplay {
        let row = |offset_ms, input_tokens, output_tokens| TraceRequest {
            offset_ms,
            input_tokens,
            output_tokens,
        };
        TraceReplay {
            requests: vec![row(0.0, 3, 1), row(120.0, 5, 2), row(1000.5, 8, 4)].into(),
            time_scale: scale,
        }
    }

    #[test]
    fn offsets_follow_the_trace_times_the_scale() {
        let ms: Vec<f64> = replay(0.5)
            .schedule()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        assert_eq!(ms.len(), 3);
        for (got, want) in ms.iter().zip([0.0, 60.0, 500.25]) {
            assert!((got - want).abs() < 1e-6, "{ms:?}");
        }
        assert_eq!(replay(1.0).row(2).map(|r| r.output_tokens), Some(4));
        assert!(replay(1.0).row(3).is_none());
    }

    #[test]
    fn each_row_gets_a_prompt_of_its_input_length() {
        let base = PromptGenerator::synthetic(1, 0.3, 9).salted(77);
        let prompt = with_length(&base, 40).prompt(0, 5);
        // The salt, then 40 words.
        assert_eq!(prompt.split(' ').count(), 41, "{prompt}");
        assert_eq!(with_length(&base, 40).prompt(0, 5), prompt);
    }
}
