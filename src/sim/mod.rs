//! A simulated OpenAI-compatible LLM server: real HTTP and SSE on a socket,
//! with synthetic tokens on a precise schedule.
//!
//! It exists so that llm-bench can be tried, tested and demonstrated without a
//! GPU: the default benchmark and every integration test run against it. The
//! timing model (TTFT with a per-prompt-token prefill cost, a fixed
//! inter-token latency, a batch capacity beyond which everything slows) makes
//! the numbers llm-bench reports checkable against known inputs, and the fault
//! injection (429/500, cut and stalled streams, malformed chunks, strict field
//! checking, missing `[DONE]` or usage) exercises the client's error paths.
//!
//! Layout: `config` holds the knobs ([`SimConfig`]), `server` starts and
//! stops it ([`SimServer`]), `handlers` has the routes and the request flow,
//! `request` reads bodies, `request_log` writes `--request-log`, `stream`
//! produces SSE bodies and `whole` non-streamed answers, `pacer` (on an
//! `alarm`) wakes them when they are due, `frames` renders the bytes on the
//! wire, `timing` is the delay model, `faults` draws injected faults, `prefix_cache`
//! is vLLM's automatic prefix cache, `tls` serves HTTPS with a certificate made at
//! start, `state` holds the counters and `metrics`
//! renders them for Prometheus.

mod alarm;
mod error;
mod faults;
mod frames;
mod handlers;
mod metrics;
mod pacer;
mod prefix_cache;
mod request;
mod request_log;
mod server;
mod state;
mod stream;
mod timing;
mod tls;
mod whole;

#[cfg(test)]
mod tests;

pub use crate::config::{SimConfig, UsageMode};
pub use server::{serve_until_ctrl_c, SimServer};
pub use state::SimStats;
pub use tls::{SimTls, TlsSetupError};
