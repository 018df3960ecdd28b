//! The simulated model's clock: how long prefill and each decode step take,
//! including the capacity model that slows everything down under load.
//!
//! Callers place every chunk on an absolute schedule (the previous deadline
//! plus one step, never "now" plus one step), so time lost to a late wake-up
//! is not carried into later chunks and the schedule cannot drift. Deadlines
//! are kept by [`crate::timer`], which is late by tens of microseconds where
//! tokio's 1 ms wheel would be late by up to a millisecond.

use std::time::Duration;

use crate::config::{SimConfig, MAX_SIM_DELAY_MS as MAX_DELAY_MS};

/// Delay settings of one server, pre-scaled by `speed_factor`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    ttft_ms: f64,
    ttft_per_prompt_token_ms: f64,
    itl_ms: f64,
    batch_size: f64,
}

impl Pace {
    pub fn new(config: &SimConfig) -> Pace {
        Pace {
            ttft_ms: config.ttft_ms * config.speed_factor,
            ttft_per_prompt_token_ms: config.ttft_per_prompt_token_ms * config.speed_factor,
            itl_ms: config.itl_ms * config.speed_factor,
            // validate() keeps batch_size >= 1; max() guards an unvalidated config.
            batch_size: f64::from(config.batch_size.max(1)),
        }
    }

    /// Time from arrival to the first token with `active` requests running.
    pub fn ttft(&self, prompt_tokens: u64, active: u64) -> Duration {
        let ms = self.ttft_ms + self.ttft_per_prompt_token_ms * prompt_tokens as f64;
        millis(ms * self.load_factor(active))
    }

    /// Time between two chunks with `active` requests running.
    pub fn step(&self, active: u64) -> Duration {
        millis(self.itl_ms * self.load_factor(active))
    }

    /// The capacity model: up to `batch_size` requests decode at full speed;
    /// beyond that they share the batch, so each one slows by N / batch_size.
    /// That gives load sweeps the knee a real server shows.
    fn load_factor(&self, active: u64) -> f64 {
        (active as f64 / self.batch_size).max(1.0)
    }
}

/// Milliseconds to a `Duration`, clamped to [0, MAX_DELAY_MS] so that odd
/// inputs (huge prompts times a prefill cost, a huge load factor) can neither
/// panic in `Duration::from_secs_f64` nor overflow deadline arithmetic.
pub(crate) fn millis(ms: f64) -> Duration {
    let ms = if ms.is_nan() {
        0.0
    } else {
        ms.clamp(0.0, MAX_DELAY_MS)
    };
    Duration::from_secs_f64(ms / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_scale_with_speed_and_load() {
        let config = SimConfig {
            ttft_ms: 10.0,
            ttft_per_prompt_token_ms: 0.5,
            itl_ms: 4.0,
            batch_size: 8,
            speed_factor: 2.0,
            ..SimConfig::default()
        };
        let pace = Pace::new(&config);
        assert_eq!(pace.ttft(20, 1), Duration::from_millis(40));
        assert_eq!(pace.step(8), Duration::from_millis(8));
        assert_eq!(pace.step(16), Duration::from_millis(16));
    }

    #[test]
    fn odd_inputs_are_clamped() {
        assert_eq!(millis(-5.0), Duration::ZERO);
        assert_eq!(millis(f64::NAN), Duration::ZERO);
        assert_eq!(millis(f64::INFINITY), millis(MAX_DELAY_MS));
    }
}
