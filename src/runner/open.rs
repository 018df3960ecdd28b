//! Open loop: requests leave at `trial_start + offset(i)` whatever the server does.
//!
//! Latency from the scheduled time (`response_*` fields) includes any delay the
//! client added, so a slow server cannot hide behind a polite client (no
//! coordinated omission). With a concurrency cap, an arrival that finds the cap
//! reached waits for a slot; its wait shows as send lag.
//!
//! The dispatcher sleeps on the precise timer (`crate::timer`), not tokio's 1 ms
//! wheel, which alone would add up to a millisecond of send lag to every request.
//! How late it woke, before any wait for a slot, is the client's own lag and feeds
//! the client-health verdict.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::health::{lag_histogram, record_lag};
use super::TrialContext;
use crate::timer;

pub(super) async fn run(
    ctx: Arc<TrialContext>,
    schedule: impl Iterator<Item = Duration>,
    max_concurrency: Option<u32>,
) -> Histogram<u64> {
    let mut lags = lag_histogram();
    let slots = max_concurrency.map(|n| Arc::new(Semaphore::new(n.max(1) as usize)));
    let mut in_flight = JoinSet::new();
    for (index, offset) in (0u64..).zip(schedule) {
        if ctx.exhausted(index) || ctx.plan.duration.is_some_and(|d| offset >= d) {
            break;
        }
        // `--generator I/N`: every N-th arrival of the one schedule.
        if !ctx.is_mine(index) {
            continue;
        }
        let at = ctx.start + offset;
        tokio::select! {
            _ = timer::sleep_until(at) => {}
            _ = ctx.soft.cancelled() => break,
        }
        record_lag(&mut lags, Instant::now().saturating_duration_since(at));
        let permit = match &slots {
            Some(slots) => tokio::select! {
                permit = slots.clone().acquire_owned() => permit.ok(),
                _ = ctx.soft.cancelled() => break,
            },
            None => None,
        };
        let ctx = ctx.clone();
        in_flight.spawn(async move {
            ctx.execute(index, at).await;
            drop(permit);
        });
        // Reap finished requests so a long run does not accumulate task handles.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    lags
}
