//! Timestamps that another process on the same host can line up with ours.
//!
//! Every duration llm-bench reports comes from [`Instant`]s, which only mean
//! something inside one process. To check those durations against what a server
//! on the same machine says it did (the simulated server's `--request-log`, or
//! a profiler), both sides need one clock: Linux's `CLOCK_MONOTONIC`, which all
//! processes share and which NTP never steps. On Linux `Instant` *is* a
//! `CLOCK_MONOTONIC` reading, so converting one is a subtraction from an anchor
//! read once, back to back with an `Instant`.

use std::sync::OnceLock;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// `CLOCK_REALTIME` read beside `CLOCK_MONOTONIC`, so that a monotonic reading of
/// this host (a trial's `clock_start_ns`) can be placed on wall-clock time, and
/// runs on several machines (`llm-bench run --generator`) lined up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAnchor {
    /// `CLOCK_MONOTONIC`, ns: the midpoint of two readings taken around the
    /// wall-clock one.
    pub monotonic_ns: u64,
    /// `CLOCK_REALTIME`, ns since the Unix epoch.
    pub realtime_ns: u64,
    /// Half the gap between the two monotonic readings, ns: how far apart the two
    /// clocks were read at most.
    pub read_uncertainty_ns: u64,
    /// The kernel's boot id: two runs with the same one share `CLOCK_MONOTONIC`
    /// and line up exactly, without the wall clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// Whether the kernel's clock discipline (NTP, chrony) considers the wall
    /// clock synchronised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntp_synchronized: Option<bool>,
    /// The kernel's estimated error of the wall clock, µs (`adjtimex` `esterror`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntp_est_error_us: Option<u64>,
    /// The kernel's maximum error of the wall clock, µs (`adjtimex` `maxerror`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ntp_max_error_us: Option<u64>,
}

impl ClockAnchor {
    /// Reads both clocks now; `None` where the platform has no monotonic clock.
    pub fn read() -> Option<ClockAnchor> {
        let before = read_monotonic_ns()?;
        let realtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let after = read_monotonic_ns()?;
        let discipline = read_discipline();
        Some(ClockAnchor {
            monotonic_ns: before + (after - before) / 2,
            realtime_ns: u64::try_from(realtime.as_nanos()).ok()?,
            read_uncertainty_ns: (after - before).div_ceil(2),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|id| id.trim().to_string())
                .filter(|id| !id.is_empty()),
            ntp_synchronized: discipline.map(|d| d.synchronized),
            ntp_est_error_us: discipline.map(|d| d.est_error_us),
            ntp_max_error_us: discipline.map(|d| d.max_error_us),
        })
    }

    /// Wall-clock time, ns since the epoch, of the monotonic reading `monotonic_ns`
    /// of this host.
    pub fn realtime_of(&self, monotonic_ns: u64) -> i128 {
        i128::from(self.realtime_ns) + i128::from(monotonic_ns) - i128::from(self.monotonic_ns)
    }
}

/// What the kernel's clock discipline says of the wall clock.
#[derive(Debug, Clone, Copy)]
struct Discipline {
    synchronized: bool,
    est_error_us: u64,
    max_error_us: u64,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn read_discipline() -> Option<Discipline> {
    // SAFETY: an all-zero timex is valid; `modes = 0` only reads.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    // SAFETY: `tx` is a valid, writable timex for the duration of the call.
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        return None;
    }
    Some(Discipline {
        synchronized: state != libc::TIME_ERROR && tx.status & libc::STA_UNSYNC == 0,
        est_error_us: u64::try_from(tx.esterror).unwrap_or(0),
        max_error_us: u64::try_from(tx.maxerror).unwrap_or(0),
    })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn read_discipline() -> Option<Discipline> {
    None
}

/// `CLOCK_MONOTONIC` at `at`, in nanoseconds; `None` where the platform has no
/// such clock (or `at` is before the clock's zero, which cannot happen on Linux).
pub fn monotonic_ns(at: Instant) -> Option<u64> {
    let (anchor, anchor_ns) = anchor()?;
    let ns = if at >= anchor {
        i128::from(anchor_ns) + (at - anchor).as_nanos() as i128
    } else {
        i128::from(anchor_ns) - (anchor - at).as_nanos() as i128
    };
    u64::try_from(ns).ok()
}

/// An `Instant` and the `CLOCK_MONOTONIC` reading taken right after it.
fn anchor() -> Option<(Instant, u64)> {
    static ANCHOR: OnceLock<Option<(Instant, u64)>> = OnceLock::new();
    *ANCHOR.get_or_init(|| {
        let instant = Instant::now();
        read_monotonic_ns().map(|ns| (instant, ns))
    })
}

#[cfg(target_os = "linux")]
fn read_monotonic_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u64::try_from(ts.tv_nsec).ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

#[cfg(not(target_os = "linux"))]
fn read_monotonic_ns() -> Option<u64> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn agrees_with_a_direct_reading_and_keeps_differences() {
        let now = Instant::now();
        let converted = monotonic_ns(now).unwrap();
        let direct = read_monotonic_ns().unwrap();
        // The direct reading is taken after `now`: within a (generous) 50 ms.
        assert!(direct >= converted, "{direct} < {converted}");
        assert!(direct - converted < 50_000_000, "{direct} vs {converted}");

        let later = now + Duration::from_micros(1_234);
        assert_eq!(monotonic_ns(later).unwrap() - converted, 1_234_000);
        let earlier = now - Duration::from_micros(7);
        assert_eq!(converted - monotonic_ns(earlier).unwrap(), 7_000);
    }

    #[test]
    fn an_anchor_places_monotonic_readings_on_the_wall_clock() {
        let anchor = ClockAnchor::read().unwrap();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128;
        let now = anchor.realtime_of(read_monotonic_ns().unwrap());
        // Read after the anchor: within a (generous) 50 ms of a direct reading,
        // unless the wall clock was stepped in between.
        assert!((wall - now).abs() < 50_000_000, "{wall} vs {now}");
        assert!(anchor.read_uncertainty_ns < 50_000_000);
        assert_eq!(
            anchor.realtime_of(anchor.monotonic_ns + 5),
            anchor.realtime_ns as i128 + 5
        );
        assert!(anchor.boot_id.is_some());
    }
}
