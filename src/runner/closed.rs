//! Closed loop: N long-lived workers, each sending its next request as soon as the
//! previous one completes. Requests are numbered from one shared counter so the
//! request count is exact however the workers interleave. A generator's counter
//! steps through its own indices of the shared numbering (see `split`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::TrialContext;

pub(super) async fn run(ctx: Arc<TrialContext>, concurrency: u32) {
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (ctx, next) = (ctx.clone(), next.clone());
        workers.spawn(async move {
            while !ctx.soft.is_cancelled() {
                let index = ctx.global_index(next.fetch_add(1, Ordering::Relaxed));
                if ctx.exhausted(index) {
                    break;
                }
                ctx.execute(index, Instant::now()).await;
            }
        });
    }
    while workers.join_next().await.is_some() {}
}
