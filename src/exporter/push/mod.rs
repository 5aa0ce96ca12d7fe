//! Push-based real-time gauges over the Notifications API.
//!
//! The pure core: [`topics`] (queue topics and their channels of ≤ 1,000),
//! [`message`] (socket frames), [`merge`] (the merged real-time state, seeded
//! by REST and updated by events, rendered through the polled path) and
//! [`plan`] (reasons, expiry and backoff decisions). The I/O edges:
//! [`socket`] (one WebSocket), [`channel`] (one channel's lifecycle) and
//! [`Hub`] (one channel per 1,000 exported queues, the switch between push
//! and polling, and the once-a-second re-render).
//!
//! While push works, the observations poll loop runs at
//! `--realtime.reconcile-interval` (the budget plan's push mode) and each of
//! its polls replaces the merged state; pushed data stays fresh while
//! messages arrive ([`Shared::confirm`]). When a channel cannot be set up,
//! the real-time gauges are polled again at `--poll.observations-interval`
//! until every channel works again.

pub mod channel;
pub mod merge;
pub mod message;
pub mod plan;
pub mod socket;
pub mod topics;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::budget::Realtime;
use super::config::{RealtimeSettings, RealtimeSource};
use super::poller::Poller;
use super::selfmetrics::SelfMetrics;
use super::state::{PollKind, Shared};
use crate::genesys::ObservationSnapshot;
use channel::{SlotContext, SlotStatus};
use merge::{Applied, Merged};
use message::QueueEvent;
use plan::Refusal;

/// The real-time part is re-rendered at most this often from pushed events.
pub const RENDER_EVERY: Duration = Duration::from_secs(1);

/// Renders of pushed state take at most one part in this many of the time
/// (5 % of a core): a render that took `t` is followed by the next no sooner
/// than `t × RENDER_COST_FACTOR` later, so an org large enough for a render to
/// take over 50 ms is rendered less often than once a second.
pub const RENDER_COST_FACTOR: u32 = 20;

/// A render waits until no event came for this long (events sent together
/// arrive within milliseconds of each other), so one render takes a whole
/// burst instead of a part at once and the rest a second later; never
/// longer than `RENDER_EVERY` after the first change.
pub const BURST_SETTLE: Duration = Duration::from_millis(50);

/// The merged pushed state, shared by the poller (which seeds it with every
/// observations poll) and the channels (which seed their queues at each
/// connect and apply events).
#[derive(Debug, Default)]
pub struct Pushed {
    state: Mutex<State>,
    /// Push is the source of the real-time part now.
    active: AtomicBool,
    /// Something changed since the last render.
    dirty: AtomicBool,
    /// Woken when `dirty` is set.
    changed: Notify,
    /// When the first and the latest change since the last render arrived.
    dirty_since: Mutex<Option<(tokio::time::Instant, tokio::time::Instant)>>,
}

#[derive(Debug, Default)]
struct State {
    merged: Merged,
    /// The queues whose state came from a REST answer (only they are served).
    seeded: BTreeSet<String>,
}

impl Pushed {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the whole state with an answer about `queried`.
    pub fn seed_all(&self, snap: &ObservationSnapshot, queried: &BTreeSet<String>) {
        let mut s = self.state();
        s.merged.seed(snap);
        s.seeded = queried.clone();
    }

    /// Replaces the state of `queues` with an answer about them.
    pub fn seed_queues(&self, snap: &ObservationSnapshot, queues: &BTreeSet<String>) {
        let mut s = self.state();
        s.merged.seed_queues(snap, queues);
        s.seeded.extend(queues.iter().cloned());
        drop(s);
        self.mark();
    }

    /// Notes that the state changed since the last render.
    fn mark(&self) {
        let now = tokio::time::Instant::now();
        let mut since = self
            .dirty_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        since.get_or_insert((now, now)).1 = now;
        drop(since);
        self.dirty.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Completes once something changed, `earliest` has come, and the
    /// changes have paused for `BURST_SETTLE` (or the first of them is
    /// `RENDER_EVERY` old).
    async fn render_due(&self, earliest: tokio::time::Instant) {
        if !self.dirty.load(Ordering::SeqCst) {
            self.changed.notified().await;
        }
        loop {
            let now = tokio::time::Instant::now();
            let (first, latest) = self
                .dirty_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .unwrap_or((now, now));
            let settled = (latest + BURST_SETTLE).min(first + RENDER_EVERY);
            let due = settled.max(earliest);
            if now >= due {
                return;
            }
            // A change while asleep moves `due`; the loop ends by
            // `first + RENDER_EVERY` at the latest.
            tokio::time::sleep_until(due).await;
        }
    }

    /// Applies an event about a queue that has been seeded.
    pub fn apply(&self, event: QueueEvent) -> Applied {
        let mut s = self.state();
        if !s.seeded.contains(&event.queue_id) {
            return Applied::Same;
        }
        let applied = s.merged.apply(event);
        drop(s);
        if applied == Applied::Changed {
            self.mark();
        }
        applied
    }

    /// Forgets queues not in `keep`.
    pub fn retain(&self, keep: &BTreeSet<String>) {
        let mut s = self.state();
        s.merged.retain(|q| keep.contains(q));
        s.seeded.retain(|q| keep.contains(q));
    }

    /// True while push feeds the real-time part.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// The state to render when something changed since the last call.
    fn take_changes(&self, now_ms: i64) -> Option<(ObservationSnapshot, BTreeSet<String>)> {
        self.dirty_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return None;
        }
        let s = self.state();
        Some((s.merged.snapshot(now_ms), s.seeded.clone()))
    }
}

/// One channel slot as the hub sees it.
#[derive(Debug)]
struct Slot {
    queues: watch::Sender<BTreeSet<String>>,
    status: SlotStatus,
    task: JoinHandle<()>,
}

/// Runs the channels and switches the real-time source.
#[derive(Debug)]
pub struct Hub {
    poller: Arc<Poller>,
    shared: Arc<Shared>,
    metrics: Arc<SelfMetrics>,
    settings: RealtimeSettings,
    /// `--poll.observations-interval`.
    poll_interval: Duration,
}

impl Hub {
    /// Spawns the push runtime when `--realtime.source push` and observations
    /// are polled at all; `None` otherwise (the source metric says which).
    pub fn spawn(
        poller: Arc<Poller>,
        shared: Arc<Shared>,
        metrics: Arc<SelfMetrics>,
        stop: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>> {
        let config = poller.config();
        let settings = config.realtime;
        let poll_interval = config.poll_intervals()[PollKind::Observations as usize];
        metrics.set_realtime_source(poll_interval.map(|_| RealtimeSource::Poll));
        let poll_interval = poll_interval?;
        if settings.source != RealtimeSource::Push {
            return None;
        }
        let hub = Hub {
            poller,
            shared,
            metrics,
            settings,
            poll_interval,
        };
        Some(tokio::spawn(hub.run(stop)))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut sets = self.poller.queue_sets();
        // A queue set installed before this task ran counts as a change.
        sets.mark_changed();
        let (status_tx, mut status_rx) = mpsc::unbounded_channel();
        let ctx = Arc::new(SlotContext {
            poller: Arc::clone(&self.poller),
            shared: Arc::clone(&self.shared),
            metrics: Arc::clone(&self.metrics),
            heartbeat_timeout: self.settings.heartbeat_timeout,
            status: status_tx,
        });
        let mut slots: Vec<Slot> = Vec::new();
        let mut said_down = false;
        let pushed = Arc::clone(self.poller.pushed());
        let mut next_render = tokio::time::Instant::now() + RENDER_EVERY;
        loop {
            tokio::select! {
                () = stopped(&mut stop) => break,
                changed = sets.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let set = sets.borrow_and_update().clone();
                    if let Some(set) = set {
                        self.follow(&ctx, &mut slots, &set.ids());
                    }
                }
                Some((index, status)) = status_rx.recv() => {
                    if let Some(slot) = slots.get_mut(index) {
                        slot.status = status;
                    }
                }
                () = pushed.render_due(next_render) => {
                    let started = tokio::time::Instant::now();
                    let cost = self.render().await;
                    next_render = started + render_gap(cost);
                    continue;
                }
            }
            self.judge(&slots, &mut said_down);
        }
        for slot in slots {
            slot.task.abort();
        }
    }

    /// Assigns the queues `ids` to channel slots (starting new ones, ending
    /// emptied ones) and forgets removed queues at once.
    fn follow(&self, ctx: &Arc<SlotContext>, slots: &mut Vec<Slot>, ids: &[String]) {
        let previous: Vec<BTreeSet<String>> =
            slots.iter().map(|s| s.queues.borrow().clone()).collect();
        let assigned = topics::assign(&previous, ids, topics::MAX_TOPICS);
        let keep: BTreeSet<String> = ids.iter().cloned().collect();
        self.poller.pushed().retain(&keep);
        while slots.len() > assigned.len() {
            if let Some(slot) = slots.pop() {
                slot.task.abort();
            }
        }
        for (index, queues) in assigned.into_iter().enumerate() {
            match slots.get(index) {
                Some(slot) => {
                    slot.queues.send_if_modified(|held| {
                        let new = *held != queues;
                        *held = queues;
                        new
                    });
                }
                None => {
                    let (tx, rx) = watch::channel(queues);
                    let task = tokio::spawn(channel::run_slot(Arc::clone(ctx), index, rx));
                    slots.push(Slot {
                        queues: tx,
                        status: SlotStatus::Starting,
                        task,
                    });
                }
            }
        }
        // Nothing changes for the gauges until a channel reports.
        if slots.is_empty() {
            self.metrics.set_notification_channels(0);
        }
    }

    /// Switches the source when the channels' statuses call for it.
    fn judge(&self, slots: &[Slot], said_down: &mut bool) {
        let live = slots
            .iter()
            .filter(|s| s.status == SlotStatus::Live)
            .count();
        self.metrics.set_notification_channels(live);
        let refusal = slots.iter().find_map(|s| match &s.status {
            SlotStatus::Down(r) => Some(r.clone()),
            _ => None,
        });
        let push = !slots.is_empty() && live == slots.len();
        let pushed = self.poller.pushed();
        if push && !pushed.is_active() {
            self.switch_to_push(live);
            *said_down = false;
        } else if let Some(refusal) = refusal {
            if pushed.is_active() || !*said_down {
                self.switch_to_poll(&refusal);
                *said_down = true;
            }
        }
    }

    fn switch_to_push(&self, channels: usize) {
        let pushed = self.poller.pushed();
        let timeout = self.settings.heartbeat_timeout;
        self.shared
            .set_confirm_window(PollKind::Observations, Some(timeout));
        self.shared
            .confirm(PollKind::Observations, std::time::Instant::now());
        pushed.active.store(true, Ordering::SeqCst);
        pushed.mark();
        self.poller.set_realtime(Realtime::Push {
            reconcile: self.settings.reconcile,
        });
        self.metrics.set_realtime_source(Some(RealtimeSource::Push));
        tracing::info!(
            channels,
            reconcile_seconds = self.settings.reconcile.as_secs(),
            "real-time gauges are pushed over the Notifications API"
        );
    }

    fn switch_to_poll(&self, why: &Refusal) {
        let pushed = self.poller.pushed();
        pushed.active.store(false, Ordering::SeqCst);
        self.shared.set_confirm_window(PollKind::Observations, None);
        self.poller.set_realtime(Realtime::Poll {
            interval: self.poll_interval,
        });
        self.metrics.set_realtime_source(Some(RealtimeSource::Poll));
        tracing::warn!(
            reason = %why,
            interval_seconds = self.poll_interval.as_secs(),
            "push unavailable ({why}); polling observations instead and trying push again with backoff"
        );
    }

    /// Publishes the merged state when push is active and it changed;
    /// returns how long folding and rendering it took.
    async fn render(&self) -> Duration {
        let pushed = self.poller.pushed();
        if !pushed.is_active() {
            return Duration::ZERO;
        }
        let started = std::time::Instant::now();
        let Some((snap, seeded)) = pushed.take_changes(now_ms()) else {
            return Duration::ZERO;
        };
        let folded = started.elapsed();
        match self.poller.publish_observations(snap, seeded).await {
            Ok(rendered) => folded + rendered,
            Err(e) => {
                tracing::warn!(error = %e, "rendering pushed real-time gauges failed");
                folded
            }
        }
    }
}

/// How long after a render that took `cost` the next may start.
fn render_gap(cost: Duration) -> Duration {
    RENDER_EVERY.max(cost.saturating_mul(RENDER_COST_FACTOR))
}

/// Completes when `stop` turns true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::MediaObs;

    fn snap(queue: &str, waiting: u64) -> ObservationSnapshot {
        ObservationSnapshot {
            media: vec![MediaObs {
                queue_id: queue.into(),
                media_type: "voice".into(),
                waiting,
                interacting: 0,
                alerting: 0,
                longest_waiting_ms: None,
            }],
            queues: Vec::new(),
        }
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn waiting(n: f64) -> QueueEvent {
        QueueEvent {
            queue_id: "q1".into(),
            media_type: Some("voice".into()),
            metrics: vec![(
                "oWaiting".into(),
                None,
                message::Stats {
                    count: Some(n),
                    value: None,
                },
            )],
        }
    }

    /// A first change after a quiet second is due once its burst settled;
    /// the next one a second after the previous render; nothing is due
    /// without a change.
    #[tokio::test(start_paused = true)]
    async fn render_pacing() {
        use tokio::time::{timeout, Instant};
        let p = Pushed::default();
        let quiet = Instant::now();
        assert!(
            timeout(Duration::from_secs(5), p.render_due(quiet))
                .await
                .is_err(),
            "no change, nothing due"
        );
        p.mark();
        let t = Instant::now();
        p.render_due(quiet).await;
        assert_eq!(
            Instant::now(),
            t + BURST_SETTLE,
            "due once the burst settled"
        );
        p.take_changes(0);
        p.mark();
        let rendered = Instant::now();
        p.render_due(rendered + render_gap(Duration::from_millis(10)))
            .await;
        assert_eq!(Instant::now(), rendered + RENDER_EVERY);
        // A render that took 100 ms waits 2 s for the next.
        p.take_changes(0);
        p.mark();
        let rendered = Instant::now();
        p.render_due(rendered + render_gap(Duration::from_millis(100)))
            .await;
        assert_eq!(Instant::now(), rendered + Duration::from_secs(2));
        // Changes 30 ms apart keep the render waiting for a pause…
        p.take_changes(0);
        let quiet = Instant::now();
        let t = Instant::now();
        p.mark();
        let marks = async {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                p.mark();
            }
        };
        tokio::join!(p.render_due(quiet), marks);
        assert_eq!(Instant::now(), t + Duration::from_millis(90) + BURST_SETTLE);
        // …but a steady stream still renders a second after its first change.
        p.take_changes(0);
        let quiet = Instant::now();
        let t = Instant::now();
        p.mark();
        let stream = async {
            for _ in 0..60 {
                tokio::time::sleep(Duration::from_millis(30)).await;
                p.mark();
            }
        };
        tokio::select! {
            () = p.render_due(quiet) => {}
            () = stream => panic!("the stream outlasted the render"),
        }
        assert_eq!(Instant::now(), t + RENDER_EVERY);
    }

    /// Events count only for seeded queues; a change marks the state for
    /// one render; removed queues are forgotten.
    #[test]
    fn pushed_state() {
        let p = Pushed::default();
        assert_eq!(p.apply(waiting(3.0)), Applied::Same, "not seeded yet");
        assert!(p.take_changes(0).is_none());
        p.seed_queues(&snap("q1", 1), &set(&["q1"]));
        assert!(p.take_changes(0).is_some(), "a seed renders");
        assert_eq!(p.apply(waiting(3.0)), Applied::Changed);
        let (s, seeded) = p.take_changes(0).expect("changed");
        assert_eq!(s.media[0].waiting, 3);
        assert_eq!(seeded, set(&["q1"]));
        assert!(p.take_changes(0).is_none(), "once per change");
        p.retain(&set(&["q2"]));
        assert_eq!(p.apply(waiting(4.0)), Applied::Same, "forgotten");
        p.seed_all(&snap("q2", 2), &set(&["q2"]));
        p.mark();
        let (s, seeded) = p.take_changes(0).expect("changed");
        assert_eq!((s.media.len(), seeded), (1, set(&["q2"])));
    }
}
