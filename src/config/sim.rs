//! Knobs of the simulated server, as a config describes them.
//!
//! One struct is filled from three places: CLI flags of `llm-bench serve-sim`
//! (clap), the `sim:` endpoint of a targets YAML file (serde) and test code
//! (`Default`). Keeping a single definition means a knob added here shows up
//! everywhere with the same name and default. It lives in `config`, not in
//! `sim`, so that reading a config never depends on the server: the simulator
//! takes these settings as a value and turns them into its timing and faults.

use std::fmt;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

/// How the token usage of a streamed response is reported when the client
/// asks for it with `stream_options.include_usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum UsageMode {
    /// A final chunk with `"choices": []` and `usage`, like OpenAI and vLLM.
    #[default]
    Separate,
    /// `usage` rides on the last content chunk, like some other servers.
    OnLastChunk,
    /// Usage is never sent, so clients must count tokens themselves.
    None,
}

/// Every knob of the simulated server. See the field docs for what each
/// simulates; `validate` must pass before the config is served.
#[derive(Clone, Serialize, Deserialize, Args)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Model name listed by /v1/models (any requested name is accepted).
    #[arg(long, default_value = "sim-model")]
    pub model: String,
    /// Base time to first token, in milliseconds.
    #[arg(long, default_value_t = 50.0)]
    pub ttft_ms: f64,
    /// Extra time to first token per prompt token (prefill cost), in milliseconds.
    /// Prompt tokens are the whitespace-separated words of the prompt.
    #[arg(long, default_value_t = 0.0)]
    pub ttft_per_prompt_token_ms: f64,
    /// Delay between streamed chunks, in milliseconds.
    #[arg(long, default_value_t = 5.0)]
    pub itl_ms: f64,
    /// Tokens generated when the request sets no max_tokens.
    #[arg(long, default_value_t = 128)]
    pub output_tokens: u32,
    /// The model "hits end-of-sequence" after this many tokens unless the
    /// request sets `ignore_eos: true`.
    #[arg(long)]
    pub eos_tokens: Option<u32>,
    /// Tokens carried by each streamed chunk.
    #[arg(long, default_value_t = 1)]
    pub tokens_per_chunk: u32,
    /// Requests decoded at full speed at once; with N > batch_size requests
    /// active, every delay is stretched by N / batch_size.
    #[arg(long, default_value_t = 256)]
    pub batch_size: u32,
    /// Multiplies every delay (2.0 simulates a server twice as slow).
    #[arg(long, default_value_t = 1.0)]
    pub speed_factor: f64,
    /// How usage is reported in streams that ask for it.
    #[arg(long, value_enum, default_value_t = UsageMode::Separate)]
    pub usage: UsageMode,
    /// Send `data: [DONE]` at the end of a stream (false: just close it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub send_done: bool,
    /// Require `Authorization: Bearer <KEY>` on /v1 endpoints.
    // Never serialized: a run's saved settings must not carry a secret, and the
    // manual Debug below redacts it for the same reason.
    #[arg(long, value_name = "KEY")]
    #[serde(skip_serializing)]
    pub api_key: Option<String>,
    /// Answer 422 to request fields outside the OpenAI basics (e.g. ignore_eos).
    #[arg(long)]
    pub strict_fields: bool,
    /// Share of requests answered 429 with Retry-After (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub error_429_rate: f64,
    /// Share of requests answered 500 (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub error_500_rate: f64,
    /// Share of streams cut after about half their tokens (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub disconnect_rate: f64,
    /// Share of streams that pause for stall_ms half-way (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub stall_rate: f64,
    /// Length of an injected stall, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub stall_ms: u64,
    /// Share of streams with one chunk that is not valid JSON (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Seed of the fault-injection draws (same seed, same faulty requests).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Keep a prefix cache as vLLM does: prompt tokens in blocks an earlier request
    /// computed skip their prefill cost, and /metrics reports
    /// `vllm:prefix_cache_queries_total` and `vllm:prefix_cache_hits_total`.
    #[arg(long)]
    pub prefix_cache: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            model: "sim-model".to_string(),
            ttft_ms: 50.0,
            ttft_per_prompt_token_ms: 0.0,
            itl_ms: 5.0,
            output_tokens: 128,
            eos_tokens: None,
            tokens_per_chunk: 1,
            batch_size: 256,
            speed_factor: 1.0,
            usage: UsageMode::Separate,
            send_done: true,
            api_key: None,
            strict_fields: false,
            error_429_rate: 0.0,
            error_500_rate: 0.0,
            disconnect_rate: 0.0,
            stall_rate: 0.0,
            stall_ms: 2000,
            malformed_rate: 0.0,
            seed: 0,
            prefix_cache: false,
        }
    }
}

// Written by hand instead of derived so that the API key can never reach a log.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("model", &self.model)
            .field("ttft_ms", &self.ttft_ms)
            .field("ttft_per_prompt_token_ms", &self.ttft_per_prompt_token_ms)
            .field("itl_ms", &self.itl_ms)
            .field("output_tokens", &self.output_tokens)
            .field("eos_tokens", &self.eos_tokens)
            .field("tokens_per_chunk", &self.tokens_per_chunk)
            .field("batch_size", &self.batch_size)
            .field("speed_factor", &self.speed_factor)
            .field("usage", &self.usage)
            .field("send_done", &self.send_done)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("strict_fields", &self.strict_fields)
            .field("error_429_rate", &self.error_429_rate)
            .field("error_500_rate", &self.error_500_rate)
            .field("disconnect_rate", &self.disconnect_rate)
            .field("stall_rate", &self.stall_rate)
            .field("stall_ms", &self.stall_ms)
            .field("malformed_rate", &self.malformed_rate)
            .field("seed", &self.seed)
            .field("prefix_cache", &self.prefix_cache)
            .finish()
    }
}

/// Longest delay any knob may ask for. Far above any useful value, and low
/// enough that deadline arithmetic can never overflow an `Instant`.
pub(crate) const MAX_DELAY_MS: f64 = 24.0 * 3600.0 * 1000.0;

impl SimConfig {
    /// Checks every knob; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.model.trim().is_empty() {
            return Err("model must not be empty".into());
        }
        for (name, value) in [
            ("ttft_ms", self.ttft_ms),
            ("ttft_per_prompt_token_ms", self.ttft_per_prompt_token_ms),
            ("itl_ms", self.itl_ms),
            ("speed_factor", self.speed_factor),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(format!("{name} must be a finite number >= 0, got {value}"));
            }
            if value > MAX_DELAY_MS {
                return Err(format!(
                    "{name} must be at most {MAX_DELAY_MS}, got {value}"
                ));
            }
        }
        if self.stall_ms as f64 > MAX_DELAY_MS {
            return Err(format!(
                "stall_ms must be at most {MAX_DELAY_MS}, got {}",
                self.stall_ms
            ));
        }
        for (name, value) in [
            ("error_429_rate", self.error_429_rate),
            ("error_500_rate", self.error_500_rate),
            ("disconnect_rate", self.disconnect_rate),
            ("stall_rate", self.stall_rate),
            ("malformed_rate", self.malformed_rate),
        ] {
            // `contains` is false for NaN, so NaN is rejected too.
            if !(0.0..=1.0).contains(&value) {
                return Err(format!("{name} must be between 0 and 1, got {value}"));
            }
        }
        // These three outcomes exclude each other (one draw picks at most one),
        // so their shares can only be honoured if they fit in one request.
        let exclusive = self.error_429_rate + self.error_500_rate + self.disconnect_rate;
        if exclusive > 1.0 + 1e-9 {
            return Err(format!(
                "error_429_rate + error_500_rate + disconnect_rate must be at most 1, got {exclusive}"
            ));
        }
        if self.output_tokens == 0 {
            return Err("output_tokens must be at least 1".into());
        }
        if self.eos_tokens == Some(0) {
            return Err("eos_tokens must be at least 1".into());
        }
        if self.tokens_per_chunk == 0 {
            return Err("tokens_per_chunk must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch_size must be at least 1".into());
        }
        Ok(())
    }
}
