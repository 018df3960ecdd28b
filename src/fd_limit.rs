//! The client's own file-descriptor limit, settled before the first request.
//!
//! Every request in flight holds a connection, and a connection is a file
//! descriptor. With the common soft limit of 1,024 and `--concurrency 4096`, most
//! requests failed as `connect` ("Too many open files") and the run blamed the
//! server. So at start the soft `RLIMIT_NOFILE` is raised to the hard limit when
//! the run needs more, and a run that still cannot fit is refused before anything
//! is sent, with the fix.

/// Descriptors the process needs besides its connections: stdio, the runtime's
/// epoll and wakers, the results files, telemetry scrapes, DNS.
pub const MARGIN: u64 = 64;

/// Descriptors a run needs for `connections` connections open at once.
pub fn needed(connections: u64) -> u64 {
    connections + MARGIN
}

/// The limit could not be made to fit the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this run keeps up to {connections} connections open and needs about {needed} file \
     descriptors, but this process may open at most {hard} (the hard limit, `ulimit -Hn`); \
     raise it, e.g. `ulimit -n {needed}` in the shell that runs llm-bench (as root, or through \
     /etc/security/limits.conf, systemd's LimitNOFILE= or docker's --ulimit nofile={needed}), \
     or lower the concurrency"
)]
pub struct TooFew {
    pub connections: u64,
    pub needed: u64,
    pub hard: u64,
}

/// What [`fit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fitted {
    /// The soft limit was already enough.
    Already { soft: u64 },
    /// The soft limit was raised from `from` to `to`.
    Raised { from: u64, to: u64 },
}

/// Makes the soft limit fit `connections` open connections, raising it to the hard
/// limit when needed.
#[cfg(unix)]
pub fn fit(connections: u64) -> Result<Fitted, TooFew> {
    let needed = needed(connections);
    let (soft, hard) = get();
    if soft >= needed {
        return Ok(Fitted::Already { soft });
    }
    let too_few = TooFew {
        connections,
        needed,
        hard,
    };
    if hard < needed {
        return Err(too_few);
    }
    match set(hard, hard) {
        Ok(()) => Ok(Fitted::Raised {
            from: soft,
            to: hard,
        }),
        // Some systems refuse a soft limit above a kernel cap lower than the hard
        // limit (macOS: OPEN_MAX); ask for just what is needed then.
        Err(_) => match set(needed, hard) {
            Ok(()) => Ok(Fitted::Raised {
                from: soft,
                to: needed,
            }),
            Err(_) => Err(too_few),
        },
    }
}

#[cfg(not(unix))]
pub fn fit(_connections: u64) -> Result<Fitted, TooFew> {
    Ok(Fitted::Already { soft: u64::MAX })
}

/// The current (soft, hard) limits; "unlimited" reads as `u64::MAX`.
#[cfg(unix)]
#[expect(
    clippy::useless_conversion,
    reason = "rlim_t is u64 on Linux and macOS, not on every unix"
)]
pub fn get() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !ok {
        return (u64::MAX, u64::MAX);
    }
    let wide = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            u64::from(v)
        }
    };
    (wide(limit.rlim_cur), wide(limit.rlim_max))
}

#[cfg(unix)]
fn set(soft: u64, hard: u64) -> std::io::Result<()> {
    let narrow = |v: u64| {
        if v == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            libc::rlim_t::try_from(v).unwrap_or(libc::RLIM_INFINITY)
        }
    };
    let limit = libc::rlimit {
        rlim_cur: narrow(soft),
        rlim_max: narrow(hard),
    };
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message names the numbers and the fix.
    #[test]
    fn refusal_says_how_to_fix_it() {
        let e = TooFew {
            connections: 4096,
            needed: needed(4096),
            hard: 1024,
        };
        let text = e.to_string();
        assert!(text.contains("up to 4096 connections"), "{text}");
        assert!(text.contains("at most 1024"), "{text}");
        assert!(text.contains("`ulimit -n 4160`"), "{text}");
    }

    /// Within the current soft limit nothing changes.
    #[cfg(unix)]
    #[test]
    fn a_small_run_fits_as_it_is() {
        let (soft, _) = get();
        assert_eq!(fit(1), Ok(Fitted::Already { soft }));
    }
}
