//! State shared by the poller (writer) and the HTTP server (reader): the latest
//! rendered part of each poll kind, and each kind's poll status, from which
//! freshness, `genesys_up` and readiness are judged at scrape time.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::poll_error::PollError;
use super::render::Rendered;

/// The three independent polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollKind {
    /// The queue list (`GET /api/v2/routing/queues`).
    Queues,
    /// Conversation aggregates (window gauges).
    Aggregates,
    /// Queue observations (real-time gauges).
    Observations,
}

impl PollKind {
    /// All kinds, in display order.
    pub const ALL: [PollKind; 3] = [
        PollKind::Queues,
        PollKind::Aggregates,
        PollKind::Observations,
    ];

    /// The `poll` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            PollKind::Queues => "queues",
            PollKind::Aggregates => "aggregates",
            PollKind::Observations => "observations",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What is known about one poll kind.
#[derive(Debug, Clone, Default)]
pub struct KindStatus {
    /// Poll interval; `None` when this kind is turned off.
    pub interval: Option<Duration>,
    /// Monotonic and wall-clock time of the last successful poll.
    pub last_success: Option<(Instant, SystemTime)>,
    /// Wall-clock time the last poll finished, successful or not.
    pub last_attempt: Option<SystemTime>,
    /// Duration of the last poll.
    pub last_duration: Option<Duration>,
    /// Why the last poll failed, if it did.
    pub last_error: Option<PollError>,
    /// While pushed data feeds this kind: how long data stays fresh after
    /// the last confirmation ([`Shared::confirm`]) instead of the interval.
    pub confirm_window: Option<Duration>,
    /// The last confirmation that pushed data is live (a message arrived),
    /// or a successful poll.
    pub last_confirmed: Option<Instant>,
}

/// Health judged at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Every enabled poll kind has succeeded and is fresh.
    pub up: bool,
    /// Per kind (in [`PollKind::ALL`] order): its data may be served.
    pub fresh: [bool; 3],
}

/// Shared between poller and server.
#[derive(Debug)]
pub struct Shared {
    parts: RwLock<[Option<Arc<Rendered>>; 3]>,
    status: Mutex<[KindStatus; 3]>,
    max_staleness: Duration,
}

impl Shared {
    /// New state; `intervals` are per kind in [`PollKind::ALL`] order (`None` = off).
    pub fn new(intervals: [Option<Duration>; 3], max_staleness: Duration) -> Shared {
        let status = intervals.map(|interval| KindStatus {
            interval,
            ..KindStatus::default()
        });
        Shared {
            parts: RwLock::new([None, None, None]),
            status: Mutex::new(status),
            max_staleness,
        }
    }

    /// Sets the interval freshness is judged by for `kind` (the one in force
    /// after a budget plan; `None` = turned off).
    pub fn set_interval(&self, kind: PollKind, interval: Option<Duration>) {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)[kind.index()].interval =
            interval;
    }

    /// Judges `kind` fresh by confirmations within `window` (pushed data),
    /// or by its interval again (`None`).
    pub fn set_confirm_window(&self, kind: PollKind, window: Option<Duration>) {
        self.status.lock().unwrap_or_else(PoisonError::into_inner)[kind.index()].confirm_window =
            window;
    }

    /// Confirms at `now` that the data of `kind` is live (a pushed message arrived).
    pub fn confirm(&self, kind: PollKind, now: Instant) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let s = &mut status[kind.index()];
        s.last_confirmed = Some(s.last_confirmed.map_or(now, |t| t.max(now)));
    }

    /// Publishes a freshly rendered part of a kind.
    pub fn publish(&self, kind: PollKind, part: Rendered) {
        self.parts.write().unwrap_or_else(PoisonError::into_inner)[kind.index()] =
            Some(Arc::new(part));
    }

    /// Records a finished poll.
    pub fn record(&self, kind: PollKind, duration: Duration, result: Result<(), PollError>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let s = &mut status[kind.index()];
        let now = SystemTime::now();
        s.last_attempt = Some(now);
        s.last_duration = Some(duration);
        match result {
            Ok(()) => {
                let at = Instant::now();
                s.last_success = Some((at, now));
                s.last_confirmed = Some(s.last_confirmed.map_or(at, |t| t.max(at)));
                s.last_error = None;
            }
            Err(e) => s.last_error = Some(e),
        }
    }

    /// A copy of every kind's status.
    pub fn status(&self) -> [KindStatus; 3] {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Health at `now`: a kind is fresh while its last success is at most its
    /// interval plus `--max-staleness` old (with pushed data: while its last
    /// confirmation is at most the confirmation window plus `--max-staleness`
    /// old, after a first success); up when every enabled kind is fresh.
    pub fn health(&self, now: Instant) -> Health {
        let status = self.status();
        let mut fresh = [false; 3];
        let mut up = true;
        for (i, s) in status.iter().enumerate() {
            let Some(interval) = s.interval else { continue };
            let within = |at: Instant, d: Duration| {
                now.saturating_duration_since(at) <= d + self.max_staleness
            };
            fresh[i] = match s.confirm_window {
                Some(w) => {
                    s.last_success.is_some() && s.last_confirmed.is_some_and(|at| within(at, w))
                }
                None => s.last_success.is_some_and(|(at, _)| within(at, interval)),
            };
            up &= fresh[i];
        }
        Health { up, fresh }
    }

    /// The parts that may be served at `now` (fresh kinds only), in kind order.
    pub fn fresh_parts(&self, health: &Health) -> Vec<Arc<Rendered>> {
        let parts = self.parts.read().unwrap_or_else(PoisonError::into_inner);
        parts
            .iter()
            .zip(health.fresh)
            .filter_map(|(p, fresh)| if fresh { p.clone() } else { None })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn late() -> PollError {
        PollError::Deadline(Duration::from_secs(10))
    }

    fn part() -> Rendered {
        Rendered::from_text(b"a 1\n", 1)
    }

    /// Nothing is served and nothing is up before the first polls succeed.
    #[test]
    fn not_up_before_first_poll() {
        let s = Shared::new([Some(Duration::from_secs(60)); 3], Duration::from_secs(5));
        s.publish(PollKind::Queues, part());
        let h = s.health(Instant::now());
        assert!(!h.up);
        assert!(s.fresh_parts(&h).is_empty());
        s.record(PollKind::Queues, Duration::ZERO, Err(late()));
        let error = s.status()[0].last_error.as_ref().map(PollError::kind);
        assert_eq!(error, Some("deadline"));
    }

    /// Up once every enabled kind succeeded; a disabled kind is ignored; data
    /// older than interval + max staleness is withdrawn and up drops to false.
    #[test]
    fn freshness_and_withdrawal() {
        let s = Shared::new(
            [
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(10)),
                None,
            ],
            Duration::from_secs(5),
        );
        for kind in [PollKind::Queues, PollKind::Aggregates] {
            s.publish(kind, part());
            s.record(kind, Duration::ZERO, Ok(()));
        }
        let now = Instant::now();
        let h = s.health(now);
        assert_eq!(
            h,
            Health {
                up: true,
                fresh: [true, true, false]
            }
        );
        assert_eq!(s.fresh_parts(&h).len(), 2);
        let later = s.health(now + Duration::from_secs(16));
        assert!(!later.up);
        assert!(s.fresh_parts(&later).is_empty());
        // A failure alone does not withdraw data that is still fresh.
        s.record(PollKind::Aggregates, Duration::ZERO, Err(late()));
        assert!(s.health(Instant::now()).up);
        // A stretched interval keeps the same data fresh for longer.
        s.set_interval(PollKind::Queues, Some(Duration::from_secs(60)));
        s.set_interval(PollKind::Aggregates, Some(Duration::from_secs(60)));
        assert!(s.health(now + Duration::from_secs(16)).up);
        assert!(!s.health(now + Duration::from_secs(66)).up);
    }

    /// Pushed data: fresh while confirmations arrive within the window, even
    /// long after the last poll; stale once they stop; polled again without it.
    #[test]
    fn confirmations_keep_pushed_data_fresh() {
        let s = Shared::new(
            [None, None, Some(Duration::from_secs(300))],
            Duration::from_secs(5),
        );
        s.set_confirm_window(PollKind::Observations, Some(Duration::from_secs(10)));
        let start = Instant::now();
        s.confirm(PollKind::Observations, start);
        assert!(
            !s.health(start).up,
            "a confirmation alone is not a first success"
        );
        s.record(PollKind::Observations, Duration::ZERO, Ok(()));
        let polled = Instant::now();
        assert!(s.health(polled + Duration::from_secs(14)).up);
        assert!(
            !s.health(polled + Duration::from_secs(16)).up,
            "silent socket"
        );
        s.confirm(PollKind::Observations, polled + Duration::from_secs(100));
        assert!(s.health(polled + Duration::from_secs(110)).up);
        s.set_confirm_window(PollKind::Observations, None);
        assert!(
            s.health(polled + Duration::from_secs(110)).up,
            "within the interval"
        );
        assert!(!s.health(polled + Duration::from_secs(306)).up);
    }
}
