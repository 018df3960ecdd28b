//! SIGINT (Ctrl-C) and SIGTERM stop a run the same way: no new requests, those in
//! flight get the grace time, and everything recorded is written. CI runners send
//! SIGTERM when a job is cancelled; without a handler the process died at once with
//! no summary and `interrupted: false` in run.json. A second signal of either kind
//! abandons what is still in flight.

use std::time::Duration;

use super::{Interrupt, StopCause};

/// The signal streams, registered when created so that a signal arriving before
/// [`Signals::watch`] first runs is not lost (or fatal).
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Takes over SIGINT and SIGTERM for the rest of the process. Must be called
    /// inside the runtime.
    pub fn register() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// The next signal.
    async fn next(&mut self) -> Option<StopCause> {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.interrupt.recv() => s.map(|()| StopCause::Interrupt),
                s = self.terminate.recv() => s.map(|()| StopCause::Terminate),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .ok()
                .map(|()| StopCause::Interrupt)
        }
    }

    /// First signal: stop sending and give in-flight requests `grace`; second: stop
    /// now. Either way the run's results are written.
    pub async fn watch(mut self, interrupt: Interrupt, grace: Duration) {
        let Some(cause) = self.next().await else {
            return;
        };
        eprintln!(
            "\n{}: no new requests; waiting up to {grace:?} for those in flight (Ctrl-C again to stop now)",
            cause.name()
        );
        interrupt.trigger(cause, grace);
        if self.next().await.is_some() {
            interrupt.hard.cancel();
        }
    }
}
