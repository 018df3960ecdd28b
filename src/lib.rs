//! llm-bench: load-test OpenAI-compatible LLM serving endpoints and tell a pull
//! request, with statistics, whether a change made serving slower.
//!
//! Data flows one way: [`cli`] flags and [`config`] files → [`options::RunOptions`] →
//! [`workload`] plans → [`runner`] → [`record::RequestRow`]s → [`metrics::Summary`]
//! → [`report`] renderers → files.

/// Every line this crate prints goes through the process's redactor ([`redact`]):
/// these shadow the standard macros in every module declared below, so no message,
/// whatever it quotes (a server's error body, a config value), shows a secret.
macro_rules! println {
    () => { ::std::println!() };
    ($($arg:tt)*) => {
        ::std::println!("{}", $crate::redact::text(&::std::format!($($arg)*)))
    };
}

/// See [`println!`].
macro_rules! eprintln {
    () => { ::std::eprintln!() };
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::redact::text(&::std::format!($($arg)*)))
    };
}

/// See [`println!`].
macro_rules! print {
    ($($arg:tt)*) => {
        ::std::print!("{}", $crate::redact::text(&::std::format!($($arg)*)))
    };
}

/// Where the project lives; messages point here, never at a `docs/` path that the
/// user's own repository does not have.
pub const PROJECT_URL: &str = env!("CARGO_PKG_REPOSITORY");

/// The address of one of the project's documentation pages, e.g.
/// `docs_url("github-actions.md")`.
pub fn docs_url(page: &str) -> String {
    format!("{PROJECT_URL}/blob/main/docs/{page}")
}

pub mod app;
pub mod canonical_json;
pub mod cli;
pub mod client;
pub mod clock;
pub mod compare;
pub mod config;
pub mod fd_limit;
pub mod fingerprint;
pub mod github;
pub mod hash;
pub mod history;
pub mod live;
pub mod manifest;
pub mod merge;
pub mod metrics;
pub mod options;
pub mod parallel;
pub mod progress;
pub mod record;
pub mod redact;
pub mod report;
pub mod results;
pub mod runner;
pub mod sim;
pub mod split;
pub mod status_hint;
pub mod telemetry;
pub mod timer;
pub mod trend;
pub mod units;
pub mod usage_error;
pub mod workload;
pub mod write_error;
