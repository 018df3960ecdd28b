//! A one-shot alarm that wakes the runtime thread itself, precisely.
//!
//! On Linux it is a `timerfd` registered with tokio's reactor: the runtime's own
//! `epoll_wait` returns when it fires, with the kernel's high-resolution timer
//! behind it and no other thread involved. Elsewhere, or where a `timerfd` cannot
//! be created, it falls back to the process-wide precise timer
//! ([`crate::timer`]), whose thread wakes the task from outside the runtime.

use std::future::Future;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::timer;

/// Fires once at or after the deadline last [`Alarm::set`].
pub(crate) struct Alarm {
    inner: Inner,
    /// The deadline armed, `None` once it fired (or before the first `set`).
    armed: Option<Instant>,
}

enum Inner {
    #[cfg(target_os = "linux")]
    TimerFd(tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>),
    Thread(timer::Sleep),
}

impl Alarm {
    /// Must be called inside a tokio runtime with I/O enabled (the `timerfd`
    /// registers with its reactor), as the server's listener already requires.
    pub fn new() -> Alarm {
        #[cfg(target_os = "linux")]
        if let Some(fd) = timer_fd() {
            return Alarm {
                inner: Inner::TimerFd(fd),
                armed: None,
            };
        }
        Alarm {
            inner: Inner::Thread(timer::sleep_until(Instant::now())),
            armed: None,
        }
    }

    /// The deadline it will fire at, if armed.
    pub fn armed(&self) -> Option<Instant> {
        self.armed
    }

    /// Arms (or re-arms) the alarm for `deadline`.
    pub fn set(&mut self, deadline: Instant) {
        self.armed = Some(deadline);
        match &mut self.inner {
            #[cfg(target_os = "linux")]
            Inner::TimerFd(fd) => {
                use std::os::fd::AsRawFd;
                // Relative to now: `Instant` is CLOCK_MONOTONIC but does not
                // expose its value. Zero would disarm, so at least 1 ns.
                let wait = deadline.saturating_duration_since(Instant::now());
                let nanos = wait.subsec_nanos().max(u32::from(wait.as_secs() == 0));
                let spec = libc::itimerspec {
                    it_interval: libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    },
                    it_value: libc::timespec {
                        tv_sec: libc::time_t::try_from(wait.as_secs()).unwrap_or(libc::time_t::MAX),
                        tv_nsec: nanos as libc::c_long,
                    },
                };
                // SAFETY: the fd is a timerfd we own; `spec` is a valid itimerspec
                // and the old value is not asked for.
                let rc = unsafe {
                    libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut())
                };
                if rc != 0 {
                    // Cannot happen with a valid fd and spec; fall back rather
                    // than never firing.
                    self.inner = Inner::Thread(timer::sleep_until(deadline));
                }
            }
            Inner::Thread(sleep) => sleep.reset(deadline),
        }
    }

    /// Ready once the armed deadline has passed; pending (forever, until `set`)
    /// when not armed.
    pub fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.armed.is_none() {
            return Poll::Pending;
        }
        let fired = match &mut self.inner {
            #[cfg(target_os = "linux")]
            Inner::TimerFd(fd) => poll_timer_fd(fd, cx),
            Inner::Thread(sleep) => std::pin::Pin::new(sleep).poll(cx),
        };
        if fired.is_ready() {
            self.armed = None;
        }
        fired
    }
}

#[cfg(target_os = "linux")]
fn timer_fd() -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    use std::os::fd::FromRawFd;
    // SAFETY: timerfd_create has no preconditions; a non-negative result is a new
    // fd that nothing else owns.
    let raw = unsafe {
        libc::timerfd_create(
            libc::CLOCK_MONOTONIC,
            libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
        )
    };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a valid fd owned by nothing else (see above).
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
    // SAFETY: the AsyncFd owns `fd`, so it stays open, and keeps returning the
    // same raw fd, for as long as the AsyncFd lives.
    unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE).ok()
    }
}

/// Readable means it fired; reading the expiration count resets it.
#[cfg(target_os = "linux")]
fn poll_timer_fd(
    fd: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    use std::os::fd::AsRawFd;
    loop {
        let mut guard = std::task::ready!(fd.poll_read_ready(cx)).ok();
        let Some(guard) = guard.as_mut() else {
            // The reactor is gone (runtime shutting down): nothing will fire.
            return Poll::Pending;
        };
        let mut expirations = [0u8; 8];
        // SAFETY: reading 8 bytes into an 8-byte buffer from a timerfd we own.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                expirations.as_mut_ptr().cast(),
                expirations.len(),
            )
        };
        if n == 8 {
            return Poll::Ready(());
        }
        // EAGAIN: not fired yet (a stale readiness); wait for the next one.
        guard.clear_ready();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn fires_at_or_after_the_deadline_and_can_be_rearmed() {
        let mut alarm = Alarm::new();
        for wait_us in [300u64, 50, 2_000, 0] {
            let deadline = Instant::now() + Duration::from_micros(wait_us);
            alarm.set(deadline);
            std::future::poll_fn(|cx| alarm.poll_fired(cx)).await;
            assert!(Instant::now() >= deadline);
            assert_eq!(alarm.armed(), None);
        }
        // Re-arming before it fires moves it.
        alarm.set(Instant::now() + Duration::from_secs(600));
        let near = Instant::now() + Duration::from_millis(1);
        alarm.set(near);
        tokio::time::timeout(
            Duration::from_secs(5),
            std::future::poll_fn(|cx| alarm.poll_fired(cx)),
        )
        .await
        .expect("the re-armed deadline fires");
        assert!(Instant::now() >= near);
    }
}
