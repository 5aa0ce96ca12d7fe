//! The retry policy (pure): which failures are retried, how long to wait
//! (`Retry-After`, or exponential backoff with full jitter), and when to stop
//! (retry count, `Retry-After` cap, call deadline).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::observer::RetryReason;

/// A failed attempt that may deserve another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with the server's `Retry-After`.
    RateLimited(Option<Duration>),
    /// A 5xx status, with `Retry-After` if the server sent one.
    Server(u16, Option<Duration>),
    /// The per-request timeout expired.
    Timeout,
    /// No response (connection refused, reset, TLS, protocol).
    Transport,
}

impl Failure {
    /// The reason reported to the observer when this failure is retried.
    pub fn reason(self) -> RetryReason {
        match self {
            Failure::RateLimited(_) => RetryReason::RateLimited,
            Failure::Server(..) => RetryReason::ServerError,
            Failure::Timeout => RetryReason::Timeout,
            Failure::Transport => RetryReason::Transport,
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Sleep `wait`, then send again.
    Retry(Duration),
    /// Stop and report the failure.
    GiveUp,
}

/// Retry limits; see the `--api.*` flags.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff ceiling; doubled per retry.
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The backoff ceiling before retry number `retries_done + 1`:
    /// `min(cap, base × 2^retries_done)`.
    pub fn backoff_ceiling(&self, retries_done: u32) -> Duration {
        let factor = 2u32.saturating_pow(retries_done.min(20));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_cap)
    }

    /// Decides whether to retry, given the retries already made, the time left
    /// before the call deadline, and a uniform random `jitter` in [0, 1).
    pub fn decide(
        &self,
        failure: Failure,
        retries_done: u32,
        remaining: Duration,
        jitter: f64,
    ) -> Decision {
        if retries_done >= self.max_retries {
            return Decision::GiveUp;
        }
        let backoff = self
            .backoff_ceiling(retries_done)
            .mul_f64(jitter.clamp(0.0, 1.0));
        let wait = match failure {
            Failure::Server(501, _) => return Decision::GiveUp,
            Failure::RateLimited(Some(after)) | Failure::Server(_, Some(after)) => {
                if after > self.max_retry_after {
                    return Decision::GiveUp;
                }
                after
            }
            Failure::RateLimited(None) | Failure::Server(_, None) => backoff,
            Failure::Timeout | Failure::Transport => backoff,
        };
        if wait >= remaining {
            Decision::GiveUp
        } else {
            Decision::Retry(wait)
        }
    }
}

/// Parses a `Retry-After` header given in whole seconds (the Genesys form).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A small, lock-free source of uniform jitter (splitmix64, randomly seeded).
#[derive(Debug)]
pub struct Jitter(AtomicU64);

impl Default for Jitter {
    fn default() -> Self {
        Jitter(AtomicU64::new(RandomState::new().hash_one(0x5eed_u64)))
    }
}

impl Jitter {
    /// A uniform value in [0, 1).
    pub fn next_unit(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(60),
        }
    }

    const LOTS: Duration = Duration::from_secs(3600);

    /// Backoff ceilings double from the base and stop at the cap.
    #[test]
    fn exponential_ceiling() {
        let p = policy();
        let ceilings: Vec<u128> = (0..6).map(|n| p.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(4));
    }

    /// Full jitter: the wait is the ceiling scaled by the random draw.
    #[test]
    fn full_jitter_scales_ceiling() {
        let p = policy();
        assert_eq!(
            p.decide(Failure::Timeout, 2, LOTS, 0.0),
            Decision::Retry(Duration::ZERO)
        );
        assert_eq!(
            p.decide(Failure::Server(503, None), 2, LOTS, 0.5),
            Decision::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            p.decide(Failure::Transport, 1, LOTS, 0.25),
            Decision::Retry(Duration::from_millis(250))
        );
    }

    /// Retry-After is honoured exactly, refused above the cap, and never slept
    /// past the call deadline.
    #[test]
    fn retry_after_rules() {
        let p = policy();
        let ra = |s| Failure::RateLimited(Some(Duration::from_secs(s)));
        assert_eq!(
            p.decide(ra(42), 0, LOTS, 0.9),
            Decision::Retry(Duration::from_secs(42))
        );
        assert_eq!(p.decide(ra(61), 0, LOTS, 0.9), Decision::GiveUp);
        assert_eq!(
            p.decide(ra(5), 0, Duration::from_secs(5), 0.9),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide(
                Failure::Server(503, Some(Duration::from_secs(2))),
                0,
                LOTS,
                0.0
            ),
            Decision::Retry(Duration::from_secs(2))
        );
    }

    /// The retry count is bounded and 501 Not Implemented is never retried.
    #[test]
    fn bounded_and_non_retryable() {
        let p = policy();
        assert_eq!(p.decide(Failure::Timeout, 3, LOTS, 0.1), Decision::GiveUp);
        assert_eq!(
            p.decide(Failure::Server(501, None), 0, LOTS, 0.1),
            Decision::GiveUp
        );
        assert_eq!(
            Failure::Server(500, None).reason(),
            RetryReason::ServerError
        );
    }

    /// Only integer seconds parse as Retry-After.
    #[test]
    fn retry_after_header() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    /// Jitter draws stay in [0, 1) and are spread out.
    #[test]
    fn jitter_is_uniform_enough() {
        let j = Jitter::default();
        let draws: Vec<f64> = (0..1000).map(|_| j.next_unit()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        let low = draws.iter().filter(|d| **d < 0.5).count();
        assert!((350..650).contains(&low), "{low}");
    }
}
