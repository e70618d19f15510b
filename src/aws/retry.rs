//! How often and how patiently a call is tried again ([`RetryPolicy`]), and waiting for a
//! rate limiter's leave ([`wait_until_allowed`]).

use governor::clock::Reference;
use rand::Rng;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time, with full jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// AWS Organizations' policy: it is throttled at a few requests per second per account
    /// (`TooManyRequestsException`), the whole organisation shares that, and it is read once
    /// for the whole run, so a burst of throttling (other tools, other shards) is waited out
    /// rather than failing the run: 10 attempts, from 1 s, each wait capped at 30 s (at most
    /// about two and a half minutes in all).
    pub const ORGANIZATIONS: RetryPolicy = RetryPolicy {
        max_attempts: 10,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
    };

    /// Full-jitter exponential backoff before attempt `attempt + 1`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let ms = cap.as_millis() as u64;
        Duration::from_millis(if ms == 0 {
            0
        } else {
            rand::rng().random_range(0..=ms)
        })
    }
}

/// Sleeps (on tokio's timer) until `check` lets a request through; `now` is the limiter's
/// own clock, which its answer is measured against.
pub(super) async fn wait_until_allowed<P: Reference>(
    check: impl Fn() -> Result<(), governor::NotUntil<P>>,
    now: impl Fn() -> P,
) {
    while let Err(not_until) = check() {
        tokio::time::sleep(not_until.wait_time_from(now())).await;
    }
}
