//! The shared request budget: at most N requests in any rolling 60 s (the way
//! Genesys counts per token) and at most C requests in flight at once. N
//! starts at `--api.requests-per-minute` and shrinks to fit when Genesys's
//! `inin-ratelimit-allowed` is lower ([`fitted_budget`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Rolling-window counter: at most `limit` sends within any `window`.
#[derive(Debug)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl SlidingWindow {
    /// A window allowing `limit` sends per `window` (`limit` ≥ 1).
    pub fn new(limit: usize, window: Duration) -> Self {
        SlidingWindow {
            limit: limit.max(1),
            window,
            sent: VecDeque::with_capacity(limit.clamp(1, 4096)),
        }
    }

    /// Changes the limit (≥ 1); sends already recorded stay counted.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
    }

    /// Records a send at `now` when the budget allows it; otherwise returns how
    /// long to wait until the oldest send leaves the window.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        while let Some(&oldest) = self.sent.front() {
            if now.saturating_duration_since(oldest) >= self.window {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        if self.sent.len() < self.limit {
            self.sent.push_back(now);
            return Ok(());
        }
        let oldest = *self.sent.front().expect("full window is not empty");
        Err((oldest + self.window).saturating_duration_since(now))
    }
}

/// Share of Genesys's reported limit the client allows itself, in percent:
/// headroom for requests counted at Genesys but sent before the client's
/// window saw them (clock skew, other users of the same token).
pub const HEADROOM_PERCENT: u64 = 90;

/// The budget per rolling minute for a configured budget and the limit
/// Genesys reports: the configured one, unless Genesys allows fewer requests,
/// then [`HEADROOM_PERCENT`] of what it allows (at least 1).
pub fn fitted_budget(configured: u32, allowed: Option<u64>) -> u32 {
    match allowed {
        Some(allowed) if allowed < u64::from(configured) => {
            let fitted = (allowed * HEADROOM_PERCENT / 100).max(1);
            u32::try_from(fitted).unwrap_or(configured).min(configured)
        }
        _ => configured,
    }
}

/// Why a request could not be admitted before its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetExhausted {
    /// Every concurrency slot stayed busy until the deadline.
    Slots,
    /// The rate window has no room before the deadline.
    Rate,
}

/// A permission to send one request; hold it until the response is read.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    /// How long the rate limit held this request back.
    pub rate_wait: Duration,
}

/// Rate limit plus concurrency cap, shared by every clone of a client.
#[derive(Debug, Clone)]
pub struct Limiter {
    window: Arc<Mutex<SlidingWindow>>,
    in_flight: Arc<Semaphore>,
}

impl Limiter {
    /// A limiter for `per_minute` requests per rolling minute and `concurrency` in flight.
    pub fn new(per_minute: u32, concurrency: usize) -> Self {
        Limiter {
            window: Arc::new(Mutex::new(SlidingWindow::new(
                per_minute as usize,
                Duration::from_secs(60),
            ))),
            in_flight: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Sets the requests allowed per rolling minute (≥ 1).
    pub fn set_per_minute(&self, per_minute: u32) {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_limit(per_minute as usize);
    }

    /// Waits for a concurrency slot and a place in the rate window, giving up
    /// (without waiting in vain) when either cannot be had before `deadline`.
    pub async fn acquire(&self, deadline: Instant) -> Result<Slot, BudgetExhausted> {
        let permit = tokio::time::timeout_at(deadline, self.in_flight.clone().acquire_owned())
            .await
            .map_err(|_| BudgetExhausted::Slots)?
            .map_err(|_| BudgetExhausted::Slots)?;
        let mut rate_wait = Duration::ZERO;
        // Each wait ends when the oldest send leaves the window, so a handful of
        // rounds suffice even when other tasks race for the freed place.
        for _ in 0..10_000 {
            let now = Instant::now();
            let verdict = self
                .window
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .try_acquire(now);
            match verdict {
                Ok(()) => {
                    return Ok(Slot {
                        _permit: permit,
                        rate_wait,
                    })
                }
                Err(wait) if now.checked_add(wait).is_none_or(|t| t > deadline) => {
                    return Err(BudgetExhausted::Rate)
                }
                Err(wait) => {
                    let wait = wait.max(Duration::from_millis(1));
                    tokio::time::sleep(wait).await;
                    rate_wait += wait;
                }
            }
        }
        Err(BudgetExhausted::Rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window admits `limit` sends, then asks to wait until the oldest expires.
    #[test]
    fn sliding_window_counts_a_rolling_minute() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(3, Duration::from_secs(60));
        assert!(w.try_acquire(t0).is_ok());
        assert!(w.try_acquire(t0 + Duration::from_secs(10)).is_ok());
        assert!(w.try_acquire(t0 + Duration::from_secs(20)).is_ok());
        assert_eq!(
            w.try_acquire(t0 + Duration::from_secs(30)),
            Err(Duration::from_secs(30))
        );
        assert!(w.try_acquire(t0 + Duration::from_secs(60)).is_ok());
        assert_eq!(
            w.try_acquire(t0 + Duration::from_secs(61)),
            Err(Duration::from_secs(9))
        );
    }

    /// Over the budget, requests wait for the window, never more than the budget
    /// in any 60 s, and a deadline too close fails at once.
    #[tokio::test(start_paused = true)]
    async fn limiter_spaces_requests_and_respects_deadline() {
        let limiter = Limiter::new(2, 4);
        let start = Instant::now();
        let far = start + Duration::from_secs(600);
        let a = limiter.acquire(far).await.expect("first");
        let b = limiter.acquire(far).await.expect("second");
        assert_eq!(a.rate_wait + b.rate_wait, Duration::ZERO);
        let near = Instant::now() + Duration::from_secs(5);
        assert_eq!(
            limiter.acquire(near).await.map(|_| ()),
            Err(BudgetExhausted::Rate)
        );
        let c = limiter.acquire(far).await.expect("third waits");
        assert!(c.rate_wait >= Duration::from_secs(59), "{:?}", c.rate_wait);
        assert!(Instant::now() - start >= Duration::from_secs(60));
    }

    /// The budget shrinks to 90 % of a lower reported limit and never grows
    /// past the configured one.
    #[test]
    fn budget_fits_the_reported_limit() {
        assert_eq!(fitted_budget(120, Some(60)), 54);
        assert_eq!(fitted_budget(120, Some(180)), 120);
        assert_eq!(fitted_budget(120, Some(120)), 120);
        assert_eq!(fitted_budget(300, Some(180)), 162);
        assert_eq!(fitted_budget(120, Some(1)), 1);
        assert_eq!(fitted_budget(120, None), 120);
    }

    /// A lowered limit holds back the send that the old limit would have let
    /// through, counting the sends already made.
    #[tokio::test(start_paused = true)]
    async fn lowered_limit_applies_at_once() {
        let limiter = Limiter::new(3, 4);
        let near = Instant::now() + Duration::from_secs(5);
        let _a = limiter.acquire(near).await.expect("first");
        let _b = limiter.acquire(near).await.expect("second");
        limiter.set_per_minute(2);
        assert_eq!(
            limiter.acquire(near).await.map(|_| ()),
            Err(BudgetExhausted::Rate)
        );
        limiter.set_per_minute(3);
        assert!(limiter.acquire(near).await.is_ok());
    }

    /// No more than `concurrency` slots are held at once.
    #[tokio::test(start_paused = true)]
    async fn concurrency_cap() {
        let limiter = Limiter::new(1000, 1);
        let deadline = Instant::now() + Duration::from_secs(1);
        let held = limiter.acquire(deadline).await.expect("one");
        assert_eq!(
            limiter.acquire(deadline).await.map(|_| ()),
            Err(BudgetExhausted::Slots)
        );
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(limiter.acquire(deadline).await.is_ok());
    }
}
