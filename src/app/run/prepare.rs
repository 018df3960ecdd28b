//! Before the first trial of `llm-bench run`: room for the run's connections, the
//! HTTP client sized for them, and the results folder with the start of
//! `run.json`.

use std::path::PathBuf;

use crate::client::{Client, ClientOptions};
use crate::manifest::{Distribution, Manifest, RunMeta, SCHEMA_VERSION};
use crate::options::{Destination, RunOptions, UsageError};
use crate::redact::strip_credentials;
use crate::results;
use crate::telemetry::Environment;
use crate::workload::LoadPlan;
use crate::write_error::WriteContext;

/// Before anything is sent: room for every connection the run may open (the
/// built-in simulated server's end of each too, as it runs in this process).
pub(super) fn fit_fd_limit(options: &RunOptions) -> anyhow::Result<()> {
    let per_request = match options.destination {
        Destination::Sim(_) => 2,
        Destination::Url(_) => 1,
    };
    let connections = peak_concurrency(options) as u64 * per_request;
    match crate::fd_limit::fit(connections) {
        Ok(crate::fd_limit::Fitted::Raised { from, to }) => {
            eprintln!("raised this process's open-file limit from {from} to {to} for {connections} connections");
            Ok(())
        }
        Ok(crate::fd_limit::Fitted::Already { .. }) => Ok(()),
        Err(e) => Err(UsageError(e.to_string()).into()),
    }
}

/// The client every trial sends with, its pool as large as the run's peak
/// concurrency.
pub(super) fn client(options: &RunOptions, base_url: &str) -> anyhow::Result<Client> {
    Ok(Client::new(ClientOptions {
        base_url: base_url.to_string(),
        api: options.api,
        api_key: options.api_key.clone(),
        headers: options.headers.clone(),
        connect_timeout: options.timeouts.connect,
        request_timeout: options.timeouts.request,
        stall_timeout: options.timeouts.stall,
        max_connections: peak_concurrency(options),
        ca_cert: options.ca_cert.clone(),
    })
    .map_err(|e| UsageError(format!("{e:#}")))?
    // A model with a tokenizer counts responses that come without usage.
    .keeping_text(
        options
            .scenarios
            .iter()
            .any(|(plan, _)| plan.tokenizer.is_some()),
    ))
}

/// Creates the run's folder (named by the start time and target unless `--out`
/// says) and writes the first `run.json`, without an end.
pub(super) fn results_folder(
    options: &RunOptions,
    base_url: &str,
    is_sim: bool,
    model: &str,
    environment: Environment,
    distribution: Distribution,
) -> anyhow::Result<(PathBuf, Manifest)> {
    let started = chrono::Utc::now();
    let run_id = format!(
        "{}-{}{}",
        started.format("%Y%m%d-%H%M%S"),
        sanitize(&options.target_name),
        super::super::parts::run_id_suffix(&distribution)
    );
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| options.results_dir.join(&run_id));
    std::fs::create_dir_all(&out_dir).writing(&out_dir)?;
    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        run: RunMeta {
            id: run_id,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git_commit(),
            target: options.target_name.clone(),
            base_url: if is_sim {
                "builtin:sim".into()
            } else {
                strip_credentials(base_url)
            },
            api: options.api.name().to_string(),
            model: model.to_string(),
            workload_hash: options.workload_hash.clone(),
            started_at: started.to_rfc3339(),
            ended_at: None,
            interrupted: false,
            interrupted_by: None,
            percentile_method: "linear".into(),
            environment: Some(environment),
            distribution,
        },
        scenarios: options
            .scenarios
            .iter()
            .map(|(plan, _)| plan.spec.clone())
            .collect(),
    };
    results::write_json_atomic(&out_dir.join(results::MANIFEST), &manifest)?;
    Ok((out_dir, manifest))
}

/// Requests in flight at most in any scenario (an open loop without a cap: about
/// 1,024), never more than the scenario sends.
fn peak_concurrency(options: &RunOptions) -> usize {
    options
        .scenarios
        .iter()
        .map(|(plan, _)| {
            let load = match plan.load {
                LoadPlan::Closed { concurrency } => concurrency as usize,
                LoadPlan::Open {
                    max_concurrency, ..
                }
                | LoadPlan::Trace {
                    max_concurrency, ..
                } => max_concurrency.map_or(1024, |c| c as usize),
            };
            let sent = plan
                .total_requests
                .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
            load.min(sent).max(1)
        })
        .max()
        .unwrap_or(1)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
