//! `llm-bench run`: options → fd limit → (simulated server) → model → results
//! folder → trials → summary, reports and the gate.
//!
//! This file is the order of those steps; what comes before the first trial is in
//! [`prepare`], the trials themselves (and a capacity search's steps) in
//! [`trials`], what is written after the last one in [`finish`].

mod finish;
mod prepare;
mod trials;

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;

use super::discover::discover_model;
use super::gate::GateOptions;
use super::{env_lookup, gate_options};
use crate::cli::{LiveArgs, RunArgs};
use crate::live::{Live, LiveOptions, Recorder, RunLabels};
use crate::options::{Destination, RunOptions, UsageError};
use crate::results;
use crate::runner::signals::Signals;
use crate::runner::sink::Sink;
use crate::runner::Interrupt;
use crate::sim::SimServer;
use crate::telemetry::{self, TelemetrySampler};

pub(super) async fn run_command(args: &RunArgs) -> anyhow::Result<u8> {
    let mut options = RunOptions::from_args(args, &env_lookup)?;
    let narrowed = super::parts::narrow(args, &mut options)?;
    crate::redact::register(options.secrets());
    prepare::fit_fd_limit(&options)?;
    let live = start_live(&args.live)?;
    let sim = match &options.destination {
        Destination::Sim(config) => {
            config
                .validate()
                .map_err(|e| UsageError(format!("simulated server: {e}")))?;
            let server =
                SimServer::start(config.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                    .await
                    .context("cannot start the built-in simulated server")?;
            eprintln!("built-in simulated server on {}", server.base_url());
            Some(server)
        }
        Destination::Url(_) => None,
    };
    let base_url = match (&options.destination, &sim) {
        (_, Some(server)) => server.base_url(),
        (Destination::Url(url), None) => url.clone(),
        (Destination::Sim(_), None) => unreachable!("the simulated server was started above"),
    };
    let gate = gate_options(args.compare, &args.baseline);
    let outcome = benchmark(
        &options,
        &base_url,
        sim.is_some(),
        &gate,
        live.as_ref(),
        narrowed,
    )
    .await;
    if let Some(server) = sim {
        server.shutdown().await;
    }
    if let Some(live) = live {
        live.close().await;
    }
    outcome
}

/// `--metrics-listen`, `--pushgateway`: bound and started before anything is sent.
fn start_live(args: &LiveArgs) -> anyhow::Result<Option<Live>> {
    let LiveArgs {
        metrics_listen,
        pushgateway,
        metrics_linger,
    } = args;
    let options = LiveOptions::parse(
        metrics_listen.as_deref(),
        pushgateway.as_deref(),
        metrics_linger,
    )
    .map_err(UsageError)?;
    Live::start(&options, Default::default()).map_err(|e| match e.is_usage() {
        true => UsageError(e.to_string()).into(),
        false => anyhow::anyhow!(e),
    })
}

async fn benchmark(
    options: &RunOptions,
    base_url: &str,
    is_sim: bool,
    gate: &GateOptions,
    live: Option<&Live>,
    narrowed: super::parts::Narrowed,
) -> anyhow::Result<u8> {
    let super::parts::Narrowed {
        distribution,
        start_at,
    } = narrowed;
    // From here on a signal stops the run and its results are still written; one
    // during the preparations below stops it before the first trial.
    let interrupt = Interrupt::new();
    let signals = Signals::register().context("cannot listen for Ctrl-C and SIGTERM")?;
    let signal_watch = tokio::spawn(signals.watch(interrupt.clone(), options.grace));
    let client = prepare::client(options, base_url)?;
    let model = match &options.model {
        Some(m) => m.clone(),
        None => discover_model(base_url, options).await?,
    };
    // Before the clock starts: NVML, a first scrape and the server's identity.
    let (sampler, environment) = TelemetrySampler::prepare(
        &options.telemetry,
        telemetry::Target {
            base_url,
            is_sim,
            api_key: options.api_key.as_deref(),
            ca_cert: options.ca_cert.as_ref(),
        },
    )
    .await;
    let (out_dir, manifest) =
        prepare::results_folder(options, base_url, is_sim, &model, environment, distribution)?;
    let live_run = live.map(|l| {
        l.run(RunLabels {
            run_id: manifest.run.id.clone(),
            target: manifest.run.target.clone(),
            model: manifest.run.model.clone(),
        })
    });
    let sink = Sink::start_with(
        &out_dir.join(results::REQUESTS),
        manifest.clone(),
        interrupt.clone(),
        live_run.clone().map(Recorder::new),
    )?;
    results::start_telemetry(&out_dir, sampler.is_active())?;

    // The first trial's clock starts at `--start-at`, after its connections are open.
    let start_not_before = start_at.map(super::parts::start_instant);
    let ran = trials::run_scenarios(
        &trials::Shared {
            options,
            client: &client,
            model: &model,
            interrupt: &interrupt,
            sink: &sink,
            gate,
            out_dir: &out_dir,
            manifest: &manifest,
            sampler: &sampler,
            live_run: live_run.as_ref(),
        },
        start_not_before,
    )
    .await?;
    signal_watch.abort();
    let stopped_by = interrupt.cause();
    let closed = sink.close()?;
    finish::finish(
        stopped_by,
        closed,
        ran,
        &out_dir,
        manifest,
        live_run.as_ref(),
        gate,
    )
}
