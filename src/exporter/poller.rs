//! The three polls against the Genesys API — queue list, aggregates and
//! observations — each scheduled by [`run_loop`]. Each success renders a
//! complete new part and publishes it; a new queue set re-renders the parts
//! built from the last answers, so a removed queue vanishes at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use super::config::{Config, QueueFilter};
use super::ingest::{self, fold_answers, queue_set};
use super::poll_error::PollError;
use super::poll_loop::{run_loop, Outcomes, PollCycle, Schedule};
use super::realtime::{self, realtime_snapshot};
use super::render::{self, Rendered};
use super::selfmetrics::SelfMetrics;
use super::snapshot::{window_snapshot, QueueSet, WindowTotals};
use super::state::{PollKind, Shared};
use super::window::ResolvedWindow;
use crate::genesys::{Client, ObservationSnapshot};
use crate::tasks::settle_all;

/// Latest successful aggregates and observations answers, kept to re-render
/// them when the queue set changes.
#[derive(Debug, Default)]
struct Answers {
    windows: Option<Arc<WindowAnswer>>,
    observations: Option<Arc<ObservationAnswer>>,
}

/// The last aggregates poll: windows, totals and the queue ids it asked about.
#[derive(Debug)]
struct WindowAnswer {
    windows: Vec<ResolvedWindow>,
    totals: WindowTotals,
    queried: HashSet<String>,
}

/// The last observations poll and the queue ids it asked about.
#[derive(Debug)]
struct ObservationAnswer {
    observations: ObservationSnapshot,
    queried: HashSet<String>,
}

/// The three polls against the Genesys API, run by [`run_loop`].
#[derive(Debug)]
pub struct Poller {
    client: Client,
    config: Arc<Config>,
    shared: Arc<Shared>,
    metrics: Arc<SelfMetrics>,
    /// The exported queue set, `None` until the first queue-list poll
    /// succeeds: the one place it is kept. Replaced only while `answers` is
    /// locked, so a render under that lock sees one consistent set.
    queues: watch::Sender<Option<Arc<QueueSet>>>,
    /// Held while updating an answer, rendering and publishing, so parts
    /// never go backwards.
    answers: Mutex<Answers>,
}

impl Poller {
    /// A poller publishing into `shared`.
    pub fn new(
        client: Client,
        config: Arc<Config>,
        shared: Arc<Shared>,
        metrics: Arc<SelfMetrics>,
    ) -> Arc<Poller> {
        Arc::new(Poller {
            client,
            config,
            shared,
            metrics,
            queues: watch::channel(None).0,
            answers: Mutex::new(Answers::default()),
        })
    }

    /// Spawns one loop per enabled poll kind; they stop when `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let poll = &self.config.poll;
        let outcomes = Outcomes {
            metrics: Arc::clone(&self.metrics),
            shared: Arc::clone(&self.shared),
        };
        [
            (PollKind::Queues, Some(poll.queues)),
            (PollKind::Aggregates, Some(poll.aggregates)),
            (PollKind::Observations, poll.observations),
        ]
        .into_iter()
        .filter_map(|(kind, interval)| {
            let schedule = Schedule::new(kind, interval?);
            Some(tokio::spawn(run_loop(
                Arc::clone(self),
                schedule,
                outcomes.clone(),
                stop.clone(),
            )))
        })
        .collect()
    }

    fn current_queues(&self) -> Arc<QueueSet> {
        self.queues.borrow().clone().unwrap_or_default()
    }

    async fn poll_queues(&self) -> Result<(), PollError> {
        let listed = self.client.queues(&self.config.filter.divisions).await?;
        let set = Arc::new(queue_set(listed, &self.config.filter));
        self.metrics.set_queues(set.len());
        let answers = self.answers.lock().await;
        self.queues.send_replace(Some(Arc::clone(&set)));
        let (windows, observations) = (answers.windows.clone(), answers.observations.clone());
        let filter = self.config.filter.clone();
        let (queues, windows, realtime) = blocking(move || {
            let queues = render::render_queues(&set);
            let windows = windows.map(|w| render_windows(&set, &w, &filter));
            let realtime = observations.map(|o| render_realtime(&set, &o, &filter));
            (queues, windows, realtime)
        })
        .await?;
        self.shared.publish(PollKind::Queues, queues);
        if let Some(p) = windows {
            self.shared.publish(PollKind::Aggregates, p);
        }
        if let Some(p) = realtime {
            self.shared.publish(PollKind::Observations, p);
        }
        Ok(())
    }

    async fn poll_aggregates(&self) -> Result<(), PollError> {
        let ids = self.current_queues().ids();
        let plan = self
            .config
            .windows
            .plan(now_ms(), &ids, &self.config.filter.media_types);
        // The queries run concurrently; the client's limiter paces them all.
        let calls = plan
            .queries
            .iter()
            .map(|q| {
                let client = self.client.clone();
                let request = q.request.clone();
                async move { Ok::<_, PollError>(client.aggregates(&request).await?) }
            })
            .collect::<Vec<_>>();
        let answers = settle_all(calls, |cause| PollError::Lost {
            task: "aggregates query task",
            cause,
        })
        .await?;
        let totals = fold_answers(&plan, &answers);
        let bad = ingest::bad_groups(&totals);
        self.metrics.bad_api_values(PollKind::Aggregates, &bad);
        let entry = Arc::new(WindowAnswer {
            windows: plan.windows,
            totals,
            queried: ids.into_iter().collect(),
        });
        self.publish_with(
            PollKind::Aggregates,
            move |answers| {
                answers.windows = Some(Arc::clone(&entry));
                entry
            },
            render_windows,
        )
        .await
    }

    async fn poll_observations(&self) -> Result<(), PollError> {
        let ids = self.current_queues().ids();
        let observations = if ids.is_empty() {
            ObservationSnapshot {
                media: Vec::new(),
                queues: Vec::new(),
            }
        } else {
            self.client.observations(&ids).await?
        };
        let bad = realtime::bad_groups(&observations);
        self.metrics.bad_api_values(PollKind::Observations, &bad);
        let entry = Arc::new(ObservationAnswer {
            observations,
            queried: ids.into_iter().collect(),
        });
        self.publish_with(
            PollKind::Observations,
            move |answers| {
                answers.observations = Some(Arc::clone(&entry));
                entry
            },
            render_realtime,
        )
        .await
    }

    /// Stores a new answer and renders it against the current queue set.
    async fn publish_with<T: Send + Sync + 'static>(
        &self,
        kind: PollKind,
        store: impl FnOnce(&mut Answers) -> Arc<T>,
        render_fn: fn(&QueueSet, &T, &QueueFilter) -> Rendered,
    ) -> Result<(), PollError> {
        let mut answers = self.answers.lock().await;
        let entry = store(&mut answers);
        let set = self.current_queues();
        let filter = self.config.filter.clone();
        let part = blocking(move || render_fn(&set, &entry, &filter)).await?;
        self.shared.publish(kind, part);
        Ok(())
    }
}

impl PollCycle for Poller {
    async fn ready(&self, kind: PollKind) {
        if kind != PollKind::Queues {
            // The sender lives as long as `self`, so this only ends with a set.
            let _ = self.queues.subscribe().wait_for(Option::is_some).await;
        }
    }

    async fn poll(&self, kind: PollKind) -> Result<(), PollError> {
        match kind {
            PollKind::Queues => self.poll_queues().await,
            PollKind::Aggregates => self.poll_aggregates().await,
            PollKind::Observations => self.poll_observations().await,
        }
    }
}

fn render_windows(set: &QueueSet, answer: &WindowAnswer, f: &QueueFilter) -> Rendered {
    let set = set.retain_ids(&answer.queried);
    let snap = window_snapshot(&set, answer.windows.clone(), &answer.totals, |m| {
        f.keeps_media(m)
    });
    render::render_windows(&snap)
}

fn render_realtime(set: &QueueSet, answer: &ObservationAnswer, f: &QueueFilter) -> Rendered {
    let set = set.retain_ids(&answer.queried);
    let snap = realtime_snapshot(&set, &answer.observations, |m| f.keeps_media(m));
    render::render_realtime(&snap)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PollError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PollError::Lost {
            task: "rendering",
            cause: e.to_string(),
        })
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
