//! How a run stops early: the cause (a signal, a failed write) and the two-stage
//! stop every worker watches (no new sends at once, in-flight requests after a
//! grace time).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// What stopped a run early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM: what CI runners, `kill` and container managers send.
    Terminate,
    /// A result file could not be written (disk full, read-only): nothing more
    /// can be recorded, so nothing more is sent.
    WriteFailed,
}

impl StopCause {
    /// The signal's name as written in `run.json` (`interrupted_by`).
    pub fn name(self) -> &'static str {
        match self {
            StopCause::Interrupt => "SIGINT",
            StopCause::Terminate => "SIGTERM",
            StopCause::WriteFailed => "write_failed",
        }
    }
}

/// Stops a whole run: new sends stop at once, in-flight requests get `grace`.
#[derive(Debug, Clone)]
pub struct Interrupt {
    pub soft: CancellationToken,
    pub hard: CancellationToken,
    /// The first cause given to [`Interrupt::trigger`].
    cause: Arc<std::sync::OnceLock<StopCause>>,
}

impl Interrupt {
    pub fn new() -> Self {
        Interrupt {
            soft: CancellationToken::new(),
            hard: CancellationToken::new(),
            cause: Arc::default(),
        }
    }

    /// Stop sending now; abandon in-flight requests after `grace`.
    pub fn trigger(&self, cause: StopCause, grace: Duration) {
        let _ = self.cause.set(cause);
        self.soft.cancel();
        let hard = self.hard.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            hard.cancel();
        });
    }

    /// Stop sending and abandon in-flight requests now; callable from any thread.
    pub fn stop_now(&self, cause: StopCause) {
        let _ = self.cause.set(cause);
        self.soft.cancel();
        self.hard.cancel();
    }

    pub fn is_triggered(&self) -> bool {
        self.soft.is_cancelled()
    }

    /// Why the run was stopped, if it was.
    pub fn cause(&self) -> Option<StopCause> {
        self.cause.get().copied()
    }
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}
