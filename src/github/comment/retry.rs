//! When to try a GitHub request again, and how long to wait first.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often and how long to retry a transient failure.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// Wait before the second try; doubled for each later one (unless the server says).
    pub base_delay: Duration,
    /// Never wait longer than this; a server that asks for more is not retried.
    pub max_delay: Duration,
    /// The wait after a secondary rate limit that gives no `Retry-After` (GitHub's docs:
    /// "wait for at least one minute").
    pub secondary_rate_limit_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(90),
            secondary_rate_limit_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay)
    }
}
/// `Retry-After` in seconds (GitHub sends seconds; an HTTP date is not used by it).
pub(super) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Time until the epoch second in `x-ratelimit-reset`.
pub(super) fn until_reset(value: Option<&str>) -> Option<Duration> {
    let reset = value?.trim().parse::<u64>().ok()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let waits: Vec<u64> = (1..=5).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }
}
