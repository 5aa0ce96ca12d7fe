//! The schedule of one poll kind: it waits until the kind may start, polls at
//! once and then every interval, never overlapping itself, cancels a poll that
//! passes its deadline, records every outcome (log line, self-metrics, shared
//! status) and stops promptly when told to. What a poll does is behind
//! [`PollCycle`], so the loop is tested with a fake under paused time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::poll_error::PollError;
use super::selfmetrics::SelfMetrics;
use super::state::{PollKind, Shared};

/// The shortest per-poll deadline, whatever the interval.
pub const MIN_DEADLINE: Duration = Duration::from_secs(10);

/// What the loop drives: the polls themselves.
pub trait PollCycle: Send + Sync + 'static {
    /// Completes when a poll of `kind` may start (the aggregates and
    /// observations polls need a queue set first).
    fn ready(&self, kind: PollKind) -> impl Future<Output = ()> + Send;

    /// Runs one poll of `kind`; dropping the future cancels it.
    fn poll(&self, kind: PollKind) -> impl Future<Output = Result<(), PollError>> + Send;
}

/// When one poll kind runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The poll kind.
    pub kind: PollKind,
    /// Time from one poll's start to the next one's (later if a poll runs long).
    pub interval: Duration,
    /// How long one poll may run before it is cancelled.
    pub deadline: Duration,
}

impl Schedule {
    /// A schedule whose deadline is the interval, but at least [`MIN_DEADLINE`].
    pub fn new(kind: PollKind, interval: Duration) -> Schedule {
        Schedule {
            kind,
            interval,
            deadline: interval.max(MIN_DEADLINE),
        }
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
pub async fn run_loop<C: PollCycle>(
    cycle: Arc<C>,
    schedule: Schedule,
    outcomes: Outcomes,
    mut stop: watch::Receiver<bool>,
) {
    let kind = schedule.kind;
    tokio::select! {
        () = cycle.ready(kind) => {}
        _ = stop.wait_for(|s| *s) => return,
    }
    let mut last_ok = None;
    loop {
        let started = Instant::now();
        let result = tokio::select! {
            r = tokio::time::timeout(schedule.deadline, cycle.poll(kind)) => {
                r.unwrap_or(Err(PollError::Deadline(schedule.deadline)))
            }
            _ = stop.wait_for(|s| *s) => return,
        };
        let elapsed = started.elapsed();
        log(kind, elapsed, &result, last_ok);
        last_ok = Some(result.is_ok());
        outcomes.record(kind, elapsed, result);
        tokio::select! {
            () = tokio::time::sleep_until(started + schedule.interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

fn log(kind: PollKind, elapsed: Duration, result: &Result<(), PollError>, last_ok: Option<bool>) {
    let poll = kind.as_str();
    let seconds = elapsed.as_secs_f64();
    match (result, last_ok) {
        (Ok(()), Some(true)) => tracing::debug!(poll, seconds, "poll succeeded"),
        (Ok(()), _) => tracing::info!(poll, seconds, "poll succeeded (first success or recovery)"),
        (Err(e), _) => tracing::warn!(poll, kind = e.kind(), error = %e, "poll failed"),
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
            Arc::new(Fake {
                gate_open: true,
                busy,
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
            shared: Arc::new(Shared::new([Some(schedule.interval); 3], Duration::ZERO)),
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

    fn schedule(interval: u64, deadline: u64) -> Schedule {
        Schedule {
            kind: PollKind::Aggregates,
            interval: Duration::from_secs(interval),
            deadline: Duration::from_secs(deadline),
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
        tokio::time::sleep(Duration::from_secs(20)).await;
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
        assert_eq!(fake.starts(), [0, 30], "the next poll still runs on time");
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
