//! The schedule of one poll kind: it waits until the kind may start, polls at
//! once and then every interval, never overlapping itself, retries a failed
//! poll with backoff well inside its interval, cancels a poll that passes its
//! deadline, records every outcome (log line, self-metrics, shared status) and
//! stops promptly when told to. What a poll does is behind [`PollCycle`], so
//! the loop is tested with a fake under paused time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::poll_error::PollError;
use super::selfmetrics::SelfMetrics;
use super::state::{PollKind, Shared};
use crate::genesys::Jitter;

/// The shortest per-poll deadline, whatever the interval.
pub const MIN_DEADLINE: Duration = Duration::from_secs(10);

/// Far enough ahead to mean "never" when a deadline would overflow the clock.
const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

/// How soon a failed poll is tried again: `first` after the first failure,
/// doubling with each further consecutive failure, never more than the
/// poll's interval, each delay shortened by a random fraction of at most
/// `jitter` of itself (so exporters that failed together do not retry in
/// step). A success resets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub first: Duration,
    /// Largest share of a delay the jitter removes, in [0, 1].
    pub jitter: f64,
}

impl Backoff {
    /// 1 s, doubling, up to 10 % shorter at random.
    pub const DEFAULT: Backoff = Backoff {
        first: Duration::from_secs(1),
        jitter: 0.1,
    };

    /// The delay before the next attempt after `failures` consecutive failed
    /// polls (at least 1), capped at `interval`; `unit` is a uniform draw in
    /// [0, 1) that picks the jitter.
    pub fn delay(&self, failures: u32, interval: Duration, unit: f64) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let ceiling = self.first.saturating_mul(1u32 << doublings).min(interval);
        let cut = self.jitter * unit;
        let cut = if cut.is_finite() {
            cut.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ceiling.mul_f64(1.0 - cut)
    }
}

/// What the loop drives: the polls themselves.
pub trait PollCycle: Send + Sync + 'static {
    /// Completes when a poll of `kind` may start (the aggregates and
    /// observations polls need a queue set first).
    fn ready(&self, kind: PollKind) -> impl Future<Output = ()> + Send;

    /// Runs one poll of `kind`; dropping the future cancels it.
    fn poll(&self, kind: PollKind) -> impl Future<Output = Result<(), PollError>> + Send;
}

/// When one poll kind runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The poll kind.
    pub kind: PollKind,
    /// Time from one poll's start to the next one's (later if a poll runs
    /// long). The value in force is read after each poll, and a change while
    /// the loop sleeps moves the next poll at once (the budget plan stretches
    /// and restores intervals this way).
    pub interval: watch::Receiver<Duration>,
    /// How long one poll may run before it is cancelled; `None` = the
    /// interval in force, but at least [`MIN_DEADLINE`].
    pub deadline: Option<Duration>,
    /// When a failed poll is tried again (instead of a whole interval later).
    pub backoff: Backoff,
}

impl Schedule {
    /// A schedule with a fixed interval, whose deadline is the interval, but
    /// at least [`MIN_DEADLINE`], with the [`Backoff::DEFAULT`] retries.
    pub fn new(kind: PollKind, interval: Duration) -> Schedule {
        Schedule::following(kind, watch::channel(interval).1)
    }

    /// [`Schedule::new`] with the interval that `interval` holds at each moment.
    pub fn following(kind: PollKind, interval: watch::Receiver<Duration>) -> Schedule {
        Schedule {
            kind,
            interval,
            deadline: None,
            backoff: Backoff::DEFAULT,
        }
    }

    /// The interval in force.
    pub fn interval(&self) -> Duration {
        *self.interval.borrow()
    }

    /// The deadline in force.
    pub fn deadline(&self) -> Duration {
        self.deadline
            .unwrap_or_else(|| self.interval().max(MIN_DEADLINE))
    }
}

/// Where finished polls are recorded.
#[derive(Debug, Clone)]
pub struct Outcomes {
    /// Poll durations, last successes and failures by kind.
    pub metrics: Arc<SelfMetrics>,
    /// Poll status for freshness, readiness and the landing page.
    pub shared: Arc<Shared>,
}

impl Outcomes {
    fn record(&self, kind: PollKind, elapsed: Duration, result: Result<(), PollError>) {
        self.metrics
            .poll_finished(kind, elapsed, result.as_ref().map(|_| ()));
        self.shared.record(kind, elapsed, result);
    }
}

/// Runs `schedule` until `stop` turns true (or its sender is dropped).
///
/// After a success the next poll starts one interval after that poll
/// started; after a failure the next one starts [`Schedule::backoff`] after
/// the failed one ended. Retries go through the same [`PollCycle`] (and so
/// the same API client and its rate limit) as regular polls.
pub async fn run_loop<C: PollCycle>(
    cycle: Arc<C>,
    mut schedule: Schedule,
    outcomes: Outcomes,
    mut stop: watch::Receiver<bool>,
) {
    let kind = schedule.kind;
    tokio::select! {
        () = cycle.ready(kind) => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    let jitter = Jitter::default();
    let backoff = schedule.backoff;
    let mut last_ok = None;
    let mut failures = 0u32;
    // False once the interval's sender is gone (the interval is then fixed).
    let mut watching = true;
    loop {
        let started = Instant::now();
        let deadline = schedule.deadline();
        let result = tokio::select! {
            r = tokio::time::timeout(deadline, cycle.poll(kind)) => {
                r.unwrap_or(Err(PollError::Deadline(deadline)))
            }
            _ = stop.wait_for(|s| *s) => return,
        };
        let ended = Instant::now();
        let elapsed = ended - started;
        let ok = result.is_ok();
        if ok {
            failures = 0;
        } else {
            failures = failures.saturating_add(1);
        }
        let unit = jitter.next_unit();
        let next_at = |interval: Duration| {
            if ok {
                later(started, interval)
            } else {
                later(ended, backoff.delay(failures, interval, unit))
            }
        };
        let mut next = next_at(schedule.interval());
        log(
            kind,
            elapsed,
            &result,
            last_ok,
            next.saturating_duration_since(ended),
        );
        last_ok = Some(ok);
        outcomes.record(kind, elapsed, result);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(next) => break,
                _ = stop.wait_for(|s| *s) => return,
                changed = schedule.interval.changed(), if watching => match changed {
                    Ok(()) => next = next_at(*schedule.interval.borrow_and_update()),
                    Err(_) => watching = false,
                },
            }
        }
    }
}

/// `at + by`, or a far-off instant where that would overflow the clock.
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
}

fn log(
    kind: PollKind,
    elapsed: Duration,
    result: &Result<(), PollError>,
    last_ok: Option<bool>,
    next_in: Duration,
) {
    let poll = kind.as_str();
    let seconds = elapsed.as_secs_f64();
    match (result, last_ok) {
        (Ok(()), Some(true)) => tracing::debug!(poll, seconds, "poll succeeded"),
        (Ok(()), _) => tracing::info!(poll, seconds, "poll succeeded (first success or recovery)"),
        (Err(e), _) => tracing::warn!(
            poll,
            kind = e.kind(),
            error = %e,
            retry_in_seconds = next_in.as_secs_f64(),
            "poll failed"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A poll that takes `busy` of (paused) time and notes when it ran.
    #[derive(Debug)]
    struct Fake {
        gate_open: bool,
        busy: Duration,
        /// Polls starting within these half-open spans `[from, to)`
        /// (seconds since `epoch`) fail.
        down: Vec<(u64, u64)>,
        epoch: Instant,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        /// (start, end) of each finished poll, seconds since `epoch`.
        finished: Mutex<Vec<(u64, u64)>>,
        started: Mutex<Vec<u64>>,
    }

    /// Counts a poll in flight until it finishes or is dropped.
    struct InFlight<'a>(&'a Fake);

    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Fake {
        fn new(busy: Duration) -> Arc<Fake> {
            Fake::down_during(busy, &[])
        }

        fn down_during(busy: Duration, down: &[(u64, u64)]) -> Arc<Fake> {
            Arc::new(Fake {
                gate_open: true,
                busy,
                down: down.to_vec(),
                epoch: Instant::now(),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
                finished: Mutex::new(Vec::new()),
                started: Mutex::new(Vec::new()),
            })
        }

        fn secs(&self) -> u64 {
            self.epoch.elapsed().as_secs()
        }

        fn starts(&self) -> Vec<u64> {
            self.started.lock().expect("lock").clone()
        }
    }

    impl PollCycle for Fake {
        async fn ready(&self, _kind: PollKind) {
            if !self.gate_open {
                std::future::pending::<()>().await;
            }
        }

        async fn poll(&self, _kind: PollKind) -> Result<(), PollError> {
            let start = self.secs();
            self.started.lock().expect("lock").push(start);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            let _guard = InFlight(self);
            tokio::time::sleep(self.busy).await;
            self.finished
                .lock()
                .expect("lock")
                .push((start, self.secs()));
            if self
                .down
                .iter()
                .any(|&(from, to)| (from..to).contains(&start))
            {
                return Err(PollError::Lost {
                    task: "fake poll",
                    cause: String::from("API down"),
                });
            }
            Ok(())
        }
    }

    struct Running {
        outcomes: Outcomes,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(fake: &Arc<Fake>, schedule: Schedule) -> Running {
        let outcomes = Outcomes {
            metrics: Arc::new(SelfMetrics::new()),
            shared: Arc::new(Shared::new([Some(schedule.interval()); 3], Duration::ZERO)),
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_loop(
            Arc::clone(fake),
            schedule,
            outcomes.clone(),
            stop_rx,
        ));
        Running {
            outcomes,
            stop,
            task,
        }
    }

    impl Running {
        /// Sends stop and returns how much (paused) time passed until the loop ended.
        async fn stop(self) -> Duration {
            let asked = Instant::now();
            let _ = self.stop.send(true);
            self.task.await.expect("loop task");
            asked.elapsed()
        }

        fn metrics(&self) -> String {
            String::from_utf8(self.outcomes.metrics.render()).expect("utf8")
        }
    }

    /// No jitter, so retry times are exact.
    const STEADY: Backoff = Backoff {
        first: Duration::from_secs(1),
        jitter: 0.0,
    };

    fn schedule(interval: u64, deadline: u64) -> Schedule {
        Schedule {
            kind: PollKind::Aggregates,
            interval: watch::channel(Duration::from_secs(interval)).1,
            deadline: Some(Duration::from_secs(deadline)),
            backoff: STEADY,
        }
    }

    /// The first poll starts at once, and later ones every interval from the
    /// previous start.
    #[tokio::test(start_paused = true)]
    async fn first_poll_at_once_then_every_interval() {
        let fake = Fake::new(Duration::from_secs(5));
        let running = start(&fake, schedule(20, 20));
        tokio::time::sleep(Duration::from_secs(50)).await;
        assert_eq!(fake.starts(), [0, 20, 40]);
        assert!(running
            .metrics()
            .contains("genesys_exporter_poll_duration_seconds{poll=\"aggregates\"} 5\n"));
        assert!(running.outcomes.shared.status()[1].last_success.is_some());
        running.stop().await;
    }

    /// A poll that runs longer than the interval delays the next one: polls of
    /// one kind never overlap.
    #[tokio::test(start_paused = true)]
    async fn polls_never_overlap() {
        let fake = Fake::new(Duration::from_secs(30));
        let running = start(&fake, schedule(20, 60));
        tokio::time::sleep(Duration::from_secs(100)).await;
        let finished = fake.finished.lock().expect("lock").clone();
        assert_eq!(finished, [(0, 30), (30, 60), (60, 90)]);
        assert_eq!(fake.starts(), [0, 30, 60, 90]);
        assert_eq!(fake.most_in_flight.load(Ordering::SeqCst), 1);
        running.stop().await;
    }

    /// A poll past its deadline is cancelled (its future dropped), counted as
    /// a failure of kind `deadline` and shown as such in the poll status.
    #[tokio::test(start_paused = true)]
    async fn poll_past_deadline_is_cancelled_and_counted() {
        let fake = Fake::new(Duration::from_secs(3600));
        let running = start(&fake, schedule(30, 12));
        tokio::time::sleep(Duration::from_millis(12_500)).await;
        assert_eq!(fake.starts(), [0]);
        assert_eq!(fake.in_flight.load(Ordering::SeqCst), 0, "future dropped");
        assert!(fake.finished.lock().expect("lock").is_empty());
        let text = running.metrics();
        assert!(
            text.contains(
                "genesys_exporter_poll_failures_total{kind=\"deadline\",poll=\"aggregates\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("genesys_exporter_poll_duration_seconds{poll=\"aggregates\"} 12\n"));
        let status = running.outcomes.shared.status();
        let error = status[1].last_error.as_ref().expect("failed");
        assert_eq!(error.kind(), "deadline");
        assert!(status[1].last_success.is_none());
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(
            fake.starts(),
            [0, 13, 27],
            "retried 1 s, then 2 s after each cancelled poll"
        );
        running.stop().await;
    }

    /// While polls keep failing, each retry comes 1 s, 2 s, 4 s … after the
    /// failure, doubling up to the interval and staying there.
    #[tokio::test(start_paused = true)]
    async fn failures_back_off_doubling_up_to_the_interval() {
        let fake = Fake::down_during(Duration::ZERO, &[(0, u64::MAX)]);
        let running = start(&fake, schedule(20, 20));
        tokio::time::sleep(Duration::from_secs(75)).await;
        assert_eq!(fake.starts(), [0, 1, 3, 7, 15, 31, 51, 71]);
        let text = running.metrics();
        assert!(
            text.contains(
                "genesys_exporter_poll_failures_total{kind=\"internal\",poll=\"aggregates\"} 8\n"
            ),
            "{text}"
        );
        running.stop().await;
    }

    /// When the API comes back the poll succeeds within one backoff step,
    /// and the next regular poll comes one interval after that success.
    #[tokio::test(start_paused = true)]
    async fn recovery_within_one_backoff_step() {
        // Each poll takes 2 s and the API is back at 10 s: fail 0-2, retry
        // 1 s later at 3-5, fail, 2 s later at 7-9, fail, 4 s later at 13: ok.
        let fake = Fake::down_during(Duration::from_secs(2), &[(0, 10)]);
        let running = start(&fake, schedule(600, 600));
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(fake.starts(), [0, 3, 7, 13]);
        assert!(running.outcomes.shared.status()[1].last_success.is_some());
        running.stop().await;

        // Instant polls: failures at 0, 1, 3 and 7 s; the 8 s step ends at 15 s.
        let quick = Fake::down_during(Duration::ZERO, &[(0, 10)]);
        let running = start(&quick, schedule(600, 600));
        tokio::time::sleep(Duration::from_secs(700)).await;
        assert_eq!(
            quick.starts(),
            [0, 1, 3, 7, 15, 615],
            "ok at 15 s, then 600 s later"
        );
        running.stop().await;
    }

    /// A success resets the backoff: the first retry of a later outage comes
    /// 1 s after its first failure again.
    #[tokio::test(start_paused = true)]
    async fn success_resets_the_backoff() {
        let fake = Fake::down_during(Duration::ZERO, &[(0, 6), (40, 45)]);
        let running = start(&fake, schedule(20, 20));
        tokio::time::sleep(Duration::from_secs(80)).await;
        assert_eq!(fake.starts(), [0, 1, 3, 7, 27, 47, 67]);
        running.stop().await;

        let fake = Fake::down_during(Duration::ZERO, &[(0, 2), (40, 45)]);
        let running = start(&fake, schedule(20, 20));
        tokio::time::sleep(Duration::from_secs(70)).await;
        // Fails at 0 and 1, ok at 3 and 23; fails at 43 and 44 (1 s, not 4 s,
        // after the new outage began), ok at 46, then every 20 s.
        assert_eq!(fake.starts(), [0, 1, 3, 23, 43, 44, 46, 66]);
        running.stop().await;
    }

    /// Delays double from `first`, stop at the interval, never overflow, and
    /// the jitter only shortens them, by at most its share.
    #[test]
    fn backoff_delays() {
        let b = Backoff {
            first: Duration::from_secs(1),
            jitter: 0.1,
        };
        let interval = Duration::from_secs(600);
        let delays: Vec<u64> = (1..=12)
            .map(|n| b.delay(n, interval, 0.0).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(b.delay(u32::MAX, interval, 0.0), interval);
        assert_eq!(b.delay(0, interval, 0.0), Duration::from_secs(1));
        let jittered = b.delay(3, interval, 0.999_999);
        assert!(jittered < Duration::from_secs(4), "{jittered:?}");
        assert!(jittered >= Duration::from_millis(3_600), "{jittered:?}");
        let odd = Backoff {
            first: Duration::from_secs(1),
            jitter: f64::NAN,
        };
        assert_eq!(
            odd.delay(1, interval, 0.5),
            Duration::from_secs(1),
            "NaN jitter is none"
        );
        let tiny = Duration::from_millis(300);
        assert_eq!(b.delay(5, tiny, 0.0), tiny, "capped below `first` too");
    }

    /// A new interval moves the next poll at once, whether it is shorter or
    /// longer, and the deadline follows an interval it is not fixed to.
    #[tokio::test(start_paused = true)]
    async fn interval_change_moves_the_next_poll() {
        let fake = Fake::new(Duration::ZERO);
        let (interval, rx) = watch::channel(Duration::from_secs(20));
        let mut plan = Schedule::following(PollKind::Observations, rx);
        plan.backoff = STEADY;
        assert_eq!(plan.deadline(), Duration::from_secs(20));
        let running = start(&fake, plan);
        tokio::time::sleep(Duration::from_secs(5)).await;
        interval.send_replace(Duration::from_secs(8));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(fake.starts(), [0, 8, 16, 24], "shortened mid-sleep");
        interval.send_replace(Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert_eq!(fake.starts(), [0, 8, 16, 24, 54], "lengthened mid-sleep");
        drop(interval);
        tokio::time::sleep(Duration::from_secs(40)).await;
        assert_eq!(
            fake.starts(),
            [0, 8, 16, 24, 54, 84],
            "the last interval stays when its sender is gone"
        );
        running.stop().await;
        let fixed = Schedule::new(PollKind::Queues, Duration::from_secs(2));
        assert_eq!(fixed.deadline(), MIN_DEADLINE);
    }

    /// Absurdly long intervals neither panic nor poll again.
    #[tokio::test(start_paused = true)]
    async fn huge_interval_does_not_overflow() {
        let fake = Fake::down_during(Duration::ZERO, &[(0, 1)]);
        let huge = Schedule {
            kind: PollKind::Aggregates,
            interval: watch::channel(Duration::MAX).1,
            deadline: Some(Duration::MAX),
            backoff: STEADY,
        };
        let running = start(&fake, huge);
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(fake.starts(), [0, 1]);
        running.stop().await;
    }

    /// Stop ends the loop without any time passing, whether a poll is in
    /// flight (it is dropped), the loop sleeps between polls, or it waits for
    /// its gate.
    #[tokio::test(start_paused = true)]
    async fn stop_is_prompt() {
        let busy = Fake::new(Duration::from_secs(3600));
        let running = start(&busy, schedule(30, 7200));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(busy.in_flight.load(Ordering::SeqCst), 1);
        assert_eq!(running.stop().await, Duration::ZERO);
        assert_eq!(busy.in_flight.load(Ordering::SeqCst), 0, "poll dropped");

        let quick = Fake::new(Duration::from_secs(1));
        let running = start(&quick, schedule(30, 30));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(running.stop().await, Duration::ZERO);
        assert_eq!(quick.starts(), [0]);

        let gated = Arc::new(Fake {
            gate_open: false,
            ..Arc::into_inner(Fake::new(Duration::ZERO)).expect("sole owner")
        });
        let running = start(&gated, schedule(30, 30));
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(gated.starts().is_empty(), "no poll before the gate opens");
        assert_eq!(running.stop().await, Duration::ZERO);
    }
}
