//! Push-based real-time gauges over the Notifications API.
//!
//! The pure core: [`topics`] (queue topics and their channels of ≤ 1,000),
//! [`message`] (socket frames), [`merge`] (the merged real-time state, seeded
//! by REST and updated by events, folded by the polled path's rules),
//! [`render_cache`] (each queue's lines kept, so a render only renders the
//! queues that changed) and [`plan`] (reasons, expiry and backoff
//! decisions). The I/O edges:
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
pub mod render_cache;
pub mod socket;
pub mod topics;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use super::budget::Realtime;
use super::config::QueueFilter;
use super::config::{RealtimeSettings, RealtimeSource};
use super::poller::Poller;
use super::realtime::realtime_snapshot_of;
use super::render::Rendered;
use super::selfmetrics::SelfMetrics;
use super::snapshot::QueueSet;
use super::state::{PollKind, Shared};
use crate::genesys::ObservationSnapshot;
use channel::{SlotContext, SlotStatus};
use merge::{Applied, Merged};
use message::QueueEvent;
use plan::Refusal;
use render_cache::RenderCache;

/// The real-time part is re-rendered at most this often from pushed events.
pub const RENDER_EVERY: Duration = Duration::from_secs(1);

/// Renders of pushed state take at most one part in this many of the time
/// (1 % of a core): a render that took `t` is followed by the next no sooner
/// than `t × RENDER_COST_FACTOR` later, so an org large enough for a render to
/// take over 10 ms is rendered less often than once a second.
pub const RENDER_COST_FACTOR: u32 = 100;

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
    /// The lines of each queue as last rendered.
    cache: Mutex<RenderCache>,
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

    /// Clears the changed mark; true when something changed since the last call.
    fn take_dirty(&self) -> bool {
        self.dirty_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.dirty.swap(false, Ordering::SeqCst)
    }

    /// Renders the real-time part of the seeded queues of `set` from the
    /// merged state taken at `now_ms`: only the queues that changed since
    /// the last render are rendered again (every queue when `set` is new or
    /// a whole seed replaced the state); the others keep their lines.
    pub fn render(
        &self,
        set: &Arc<QueueSet>,
        filter: &QueueFilter,
        hidden: &[&'static str],
        now_ms: i64,
    ) -> Rendered {
        let started = std::time::Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = cache.is_stale(set);
        let mut s = self.state();
        let changed = s.merged.take_changed();
        let (render, obs) = match changed.filter(|_| !stale) {
            Some(changed) => {
                let render: BTreeSet<String> = changed.intersection(&s.seeded).cloned().collect();
                let obs = s.merged.snapshot_of(now_ms, &render);
                (render, obs)
            }
            None => (s.seeded.clone(), s.merged.snapshot(now_ms)),
        };
        let seeded = s.seeded.clone();
        drop(s);
        let snap = realtime_snapshot_of(
            set,
            |id| render.contains(id),
            &obs,
            |m| filter.keeps_media(m),
        );
        cache.update(set, &render, &snap);
        let part = cache.assemble(|id| seeded.contains(id), hidden);
        tracing::debug!(
            queues = render.len(),
            of = seeded.len(),
            took_ms = started.elapsed().as_secs_f64() * 1000.0,
            "rendered pushed real-time gauges"
        );
        part
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
    /// returns how long rendering it took.
    async fn render(&self) -> Duration {
        let pushed = self.poller.pushed();
        if !pushed.is_active() || !pushed.take_dirty() {
            return Duration::ZERO;
        }
        match self.poller.publish_pushed().await {
            Ok(cost) => cost,
            Err(e) => {
                tracing::warn!(error = %e, "rendering pushed real-time gauges failed");
                Duration::ZERO
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::families;
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
        p.take_dirty();
        p.mark();
        let rendered = Instant::now();
        p.render_due(rendered + render_gap(Duration::from_millis(5)))
            .await;
        assert_eq!(Instant::now(), rendered + RENDER_EVERY);
        // A render that took 20 ms waits 2 s for the next.
        p.take_dirty();
        p.mark();
        let rendered = Instant::now();
        p.render_due(rendered + render_gap(Duration::from_millis(20)))
            .await;
        assert_eq!(Instant::now(), rendered + Duration::from_secs(2));
        // Changes 30 ms apart keep the render waiting for a pause…
        p.take_dirty();
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
        p.take_dirty();
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

    fn queue_set(ids: &[&str]) -> Arc<QueueSet> {
        use crate::exporter::snapshot::{MediaInfo, QueueInfo};
        let media = |m: &str| MediaInfo {
            media_type: Arc::from(m),
            sl_target: None,
            sl_threshold_ms: None,
        };
        Arc::new(QueueSet::new(
            ids.iter()
                .map(|id| QueueInfo {
                    id: id.to_string(),
                    name: Arc::from(format!("Queue \"{id}\"")),
                    division: "Home".into(),
                    member_count: None,
                    media: vec![media("voice"), media("chat")],
                })
                .collect(),
        ))
    }

    /// What a full render of the pushed state writes (the polled path).
    fn full_render(p: &Pushed, set: &QueueSet, hidden: &[&'static str], now_ms: i64) -> String {
        let s = p.state();
        let snap = realtime_snapshot_of(
            set,
            |id| s.seeded.contains(id),
            &s.merged.snapshot(now_ms),
            |_| true,
        );
        crate::exporter::render::render_realtime_except(&snap, hidden).text()
    }

    /// Events count only for seeded queues; a change marks the state for
    /// one render, which shows it; removed queues are forgotten.
    #[test]
    fn pushed_state() {
        let p = Pushed::default();
        let qs = queue_set(&["q1", "q2"]);
        let filter = QueueFilter::default();
        assert_eq!(p.apply(waiting(3.0)), Applied::Same, "not seeded yet");
        assert!(!p.take_dirty());
        p.seed_queues(&snap("q1", 1), &set(&["q1"]));
        assert!(p.take_dirty(), "a seed renders");
        assert_eq!(p.apply(waiting(3.0)), Applied::Changed);
        assert!(p.take_dirty());
        assert!(!p.take_dirty(), "once per change");
        let text = p.render(&qs, &filter, &[], 0).text();
        let line = "genesys_queue_waiting{media_type=\"voice\",queue=\"Queue \\\"q1\\\"\"} 3";
        assert!(text.contains(line), "{text}");
        assert!(!text.contains("q2"), "not seeded: not shown\n{text}");
        p.retain(&set(&["q2"]));
        assert_eq!(p.apply(waiting(4.0)), Applied::Same, "forgotten");
        p.seed_all(&snap("q2", 2), &set(&["q2"]));
        let text = p.render(&qs, &filter, &[], 0).text();
        assert!(!text.contains("q1") && text.contains("q2"), "{text}");
    }

    /// One step of a pushed-state history.
    #[derive(Debug, Clone)]
    enum Step {
        Event(
            usize,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
            f64,
        ),
        SeedQueues(Vec<usize>, u64),
        SeedAll(Vec<usize>, u64),
        Retain(Vec<usize>),
        NewSet(Vec<usize>),
        Render(i64, bool),
    }

    const IDS: [&str; 5] = ["q0", "q1", "q2", "q3", "q4"];

    /// An observations answer with `waiting` voice interactions in each of `queues`.
    fn answer(queues: &BTreeSet<String>, waiting: u64) -> ObservationSnapshot {
        let mut answer = ObservationSnapshot::default();
        for id in queues {
            answer.media.extend(snap(id, waiting).media);
        }
        answer
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        let queues = || proptest::collection::vec(0..IDS.len(), 0..=IDS.len());
        let metric = prop_oneof![
            Just((Some("voice"), "oWaiting", None)),
            Just((Some("chat"), "oWaiting", None)),
            Just((Some("voice"), "oInteracting", None)),
            Just((Some("chat"), "oAlerting", None)),
            Just((Some("voice"), "oLongestWaiting", None)),
            Just((Some("email"), "oWaiting", None)),
            Just((None, "oOnQueueUsers", Some("IDLE"))),
            Just((None, "oOnQueueUsers", Some("INTERACTING"))),
            Just((None, "oActiveUsers", None)),
        ];
        let value = prop_oneof![
            (0u32..4).prop_map(f64::from),
            Just(1_700_000_000_000.0),
            Just(-1.0),
        ];
        prop_oneof![
            6 => (0..IDS.len(), metric, value)
                .prop_map(|(q, (media, m, qual), v)| Step::Event(q, media, m, qual, v)),
            1 => (queues(), 0u64..3).prop_map(|(q, n)| Step::SeedQueues(q, n)),
            1 => (queues(), 0u64..3).prop_map(|(q, n)| Step::SeedAll(q, n)),
            1 => queues().prop_map(Step::Retain),
            1 => queues().prop_map(Step::NewSet),
            3 => (1_700_000_000_000i64..1_700_000_100_000, any::<bool>())
                .prop_map(|(now, hide)| Step::Render(now, hide)),
        ]
    }

    proptest::proptest! {
        /// Whatever the history, the incremental render writes exactly what
        /// a full render of the same state writes.
        #[test]
        fn incremental_render_matches_full(
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let p = Pushed::default();
            let filter = QueueFilter::default();
            let mut qs = queue_set(&IDS);
            let ids = |v: &[usize]| v.iter().map(|&i| IDS[i].to_string()).collect::<BTreeSet<_>>();
            for step in steps {
                match step {
                    Step::Event(q, media, metric, qualifier, n) => {
                        let stats = if metric == "oLongestWaiting" {
                            message::Stats { count: None, value: Some(n) }
                        } else {
                            message::Stats { count: Some(n), value: None }
                        };
                        let _ = p.apply(QueueEvent {
                            queue_id: IDS[q].into(),
                            media_type: media.map(str::to_string),
                            metrics: vec![(metric.into(), qualifier.map(str::to_string), stats)],
                        });
                    }
                    Step::SeedQueues(q, n) => {
                        let queues = ids(&q);
                        p.seed_queues(&answer(&queues, n), &queues);
                    }
                    Step::SeedAll(q, n) => {
                        let queues = ids(&q);
                        p.seed_all(&answer(&queues, n), &queues);
                    }
                    Step::Retain(q) => p.retain(&ids(&q)),
                    Step::NewSet(q) => {
                        let kept: Vec<&str> = q.iter().map(|&i| IDS[i]).collect();
                        qs = queue_set(&kept);
                    }
                    Step::Render(now, hide) => {
                        let hidden: &[&'static str] = if hide {
                            &[families::WAITING.name]
                        } else {
                            &[]
                        };
                        let got = p.render(&qs, &filter, hidden, now).text();
                        proptest::prop_assert_eq!(got, full_render(&p, &qs, hidden, now));
                    }
                }
            }
        }
    }
}
