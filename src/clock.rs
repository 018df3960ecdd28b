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
}
