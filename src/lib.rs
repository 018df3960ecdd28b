//! llm-bench: load-test OpenAI-compatible LLM serving endpoints and tell a pull
//! request, with statistics, whether a change made serving slower.
//!
//! Data flows one way: [`cli`] flags and [`config`] files → [`options::RunOptions`] →
//! [`workload`] plans → [`runner`] → [`record::RequestRow`]s → [`metrics::Summary`]
//! → [`report`] renderers → files.

pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod compare;
pub mod config;
pub mod fd_limit;
pub mod github;
pub mod hash;
pub mod manifest;
pub mod metrics;
pub mod options;
pub mod parallel;
pub mod progress;
pub mod record;
pub mod report;
pub mod results;
pub mod runner;
pub mod sim;
pub mod telemetry;
pub mod timer;
pub mod workload;
pub mod write_error;
