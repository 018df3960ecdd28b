//! Flags + config files → one validated description of a run.
//!
//! Two ways in: with `--url` nothing is read from disk and the flags describe a single
//! scenario (`adhoc`); otherwise targets, models and workloads come from the config
//! folder and the load flags override every selected scenario (`from_config`, one
//! configured scenario at a time in `scenario`, a trace replay in `trace`).
//!
//! This file holds the result (`RunOptions`) and the flags both ways share; the
//! children each build one part: `load` (load flags → the load's spec and plan),
//! `prompts` (what is sent, salted or not), `telemetry_flags` (what to sample),
//! `conversation` (multi-turn scenarios).

mod adhoc;
mod conversation;
mod from_config;
mod load;
mod prompts;
mod scenario;
mod telemetry_flags;
mod trace;

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::client::{Api, BodyTemplate, CaCert};
use crate::config;
use crate::sim::SimConfig;
use crate::telemetry::TelemetryOptions;
use crate::workload::ScenarioPlan;

pub use crate::usage_error::UsageError;
pub use adhoc::DEFAULT_KEY_VAR;

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Destination {
    Url(String),
    /// Start the built-in simulated server first.
    Sim(SimConfig),
}

/// A validated run.
#[derive(Debug)]
pub struct RunOptions {
    pub target_name: String,
    pub destination: Destination,
    pub api: Api,
    pub api_key: Option<String>,
    /// Where the key is read from, for messages: "`MY_KEY` (--api-key-env)",
    /// "targets.yaml `api_key` of target `vllm`".
    pub key_source: String,
    pub headers: Vec<(String, String)>,
    /// Certificates to trust for `https://` (`--ca-cert`, targets.yaml `ca_cert`).
    pub ca_cert: Option<CaCert>,
    pub timeouts: config::Timeouts,
    /// `None`: ask the server's `/models` and take the first.
    pub model: Option<String>,
    pub scenarios: Vec<(ScenarioPlan, BodyTemplate)>,
    pub workload_hash: String,
    pub out_dir: Option<PathBuf>,
    pub results_dir: PathBuf,
    pub grace: Duration,
    pub telemetry: TelemetryOptions,
}

impl RunOptions {
    /// Every credential this run holds, for the redactor: the API key, credential
    /// headers (and the token after `Bearer `), and a password or key in the URL.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.api_key.iter().cloned().collect();
        for (name, value) in &self.headers {
            if crate::redact::is_secret_header(name) {
                out.extend(crate::redact::header_secrets(value));
            }
        }
        if let Destination::Url(url) = &self.destination {
            out.extend(crate::redact::url_secrets(url));
        }
        out
    }
}

impl RunOptions {
    pub fn from_args(
        args: &RunArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<RunOptions> {
        let grace = parse_flag_duration("--grace", &args.grace)?;
        if let Some(out) = &args.out {
            refuse_non_empty_out(out)?;
        }
        let mut options = if args.url.is_some() {
            Self::adhoc(args, env, grace)?
        } else {
            Self::from_config(args, env, grace)?
        };
        if let Some(path) = &args.ca_cert {
            options.ca_cert = Some(CaCert::load(path).map_err(|e| UsageError(e.to_string()))?);
        }
        if let Some(stall) = &args.stall_timeout {
            options.timeouts.stall = parse_flag_duration("--stall-timeout", stall)?;
        }
        if let Some(request) = &args.request_timeout {
            options.timeouts.request = parse_flag_duration("--request-timeout", request)?;
        }
        if let Some(max) = args.max_trials {
            for (plan, _) in &mut options.scenarios {
                if max < plan.spec.trials {
                    return Err(UsageError(format!(
                        "--max-trials {max} is below the {} trials scenario `{}` runs first; \
                         pass at least --max-trials {} (or fewer --trials)",
                        plan.spec.trials, plan.spec.name, plan.spec.trials
                    ))
                    .into());
                }
                plan.spec.max_trials = (max > plan.spec.trials).then_some(max);
            }
        }
        Ok(options)
    }
}

/// `--out` must be new or empty: what an earlier run left there (`comparison.*`,
/// `*.baseline.json.new`) would otherwise be published, compared or blessed as this
/// run's.
fn refuse_non_empty_out(out: &std::path::Path) -> Result<(), UsageError> {
    let shown = out.display();
    match std::fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(UsageError(format!(
            "--out {shown} is not empty: files of an earlier run there would be taken for this run's. \
             Pass a new folder, delete this one first, or leave out --out (each run then gets RESULTS_DIR/<run id>)"
        ))),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if out.exists() && !out.is_dir() => Err(UsageError(format!(
            "--out {shown} is a file, not a folder; pass a new folder"
        ))),
        // Unreadable: creating the folder later reports why.
        Err(_) => Ok(()),
    }
}

fn parse_flag_duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    config::parse_duration(text)
        .map_err(|e| UsageError(format!("{flag}: {e} (examples: 500ms, 30s, 2m)")).into())
}
