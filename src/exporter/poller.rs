//! The poll loops: queue list, aggregates and observations, each on its own
//! interval, first poll immediately, never overlapping itself, each cycle
//! bounded by a deadline. A failure is logged and counted, never fatal. Each
//! success renders a complete new part and publishes it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::{Config, QueueFilter};
use super::ingest::{fold_answers, queue_set};
use super::realtime::realtime_snapshot;
use super::render::{self, Rendered};
use super::selfmetrics::SelfMetrics;
use super::snapshot::{window_snapshot, QueueSet, WindowTotals};
use super::state::{PollKind, Shared};
use super::window::ResolvedWindow;
use crate::genesys::{AggregateRequest, Client, ObservationSnapshot};
use crate::tasks::settle_all;

/// The shortest per-cycle deadline, whatever the interval.
const MIN_DEADLINE: Duration = Duration::from_secs(10);

/// Latest successful API answers, kept to re-render when the queue set changes.
#[derive(Debug, Default)]
struct Cache {
    queues: Option<Arc<QueueSet>>,
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

/// Runs the three poll loops.
#[derive(Debug)]
pub struct Poller {
    client: Client,
    config: Arc<Config>,
    shared: Arc<Shared>,
    metrics: Arc<SelfMetrics>,
    cache: Mutex<Cache>,
    /// Serialises "update cache, render, publish" so parts never go backwards.
    render_lock: tokio::sync::Mutex<()>,
    queues_tx: watch::Sender<Option<Arc<QueueSet>>>,
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
            cache: Mutex::new(Cache::default()),
            render_lock: tokio::sync::Mutex::new(()),
            queues_tx: watch::channel(None).0,
        })
    }

    /// Spawns one task per enabled poll kind; they stop when `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let poll = &self.config.poll;
        [
            (PollKind::Queues, Some(poll.queues)),
            (PollKind::Aggregates, Some(poll.aggregates)),
            (PollKind::Observations, poll.observations),
        ]
        .into_iter()
        .filter_map(|(kind, interval)| {
            let interval = interval?;
            Some(tokio::spawn(Arc::clone(self).run_loop(
                kind,
                interval,
                stop.clone(),
            )))
        })
        .collect()
    }

    async fn run_loop(
        self: Arc<Self>,
        kind: PollKind,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let deadline = interval.max(MIN_DEADLINE);
        let mut queues_rx = self.queues_tx.subscribe();
        let mut last_ok = None;
        loop {
            if kind != PollKind::Queues {
                tokio::select! {
                    _ = queues_rx.wait_for(Option::is_some) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
            let started = Instant::now();
            let outcome = tokio::select! {
                r = tokio::time::timeout(deadline, self.cycle(kind)) => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            let result = outcome.unwrap_or_else(|_| {
                Err(format!(
                    "did not finish within its {} deadline",
                    humantime::format_duration(deadline)
                ))
            });
            let elapsed = started.elapsed();
            match (&result, last_ok) {
                (Ok(()), Some(true)) => tracing::debug!(
                    poll = kind.as_str(),
                    seconds = elapsed.as_secs_f64(),
                    "poll succeeded"
                ),
                (Ok(()), _) => tracing::info!(
                    poll = kind.as_str(),
                    seconds = elapsed.as_secs_f64(),
                    "poll succeeded (first success or recovery)"
                ),
                (Err(e), _) => tracing::warn!(poll = kind.as_str(), error = %e, "poll failed"),
            }
            last_ok = Some(result.is_ok());
            self.metrics.poll_finished(kind, elapsed, result.is_ok());
            self.shared.record(kind, elapsed, result);
            tokio::select! {
                _ = tokio::time::sleep_until((started + interval).into()) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    async fn cycle(&self, kind: PollKind) -> Result<(), String> {
        match kind {
            PollKind::Queues => self.poll_queues().await,
            PollKind::Aggregates => self.poll_aggregates().await,
            PollKind::Observations => self.poll_observations().await,
        }
    }

    fn current_queues(&self) -> Arc<QueueSet> {
        self.queues_tx.borrow().clone().unwrap_or_default()
    }

    async fn poll_queues(&self) -> Result<(), String> {
        let listed = self
            .client
            .queues(&self.config.filter.divisions)
            .await
            .map_err(|e| e.to_string())?;
        let set = Arc::new(queue_set(listed, &self.config.filter));
        self.metrics.set_queues(set.len());
        let _guard = self.render_lock.lock().await;
        let (windows, observations) = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.queues = Some(Arc::clone(&set));
            (cache.windows.clone(), cache.observations.clone())
        };
        let filter = self.config.filter.clone();
        let set2 = Arc::clone(&set);
        let parts = blocking(move || {
            let queues = render::render_queues(&set2);
            let windows = windows.map(|w| render_windows(&set2, &w, &filter));
            let realtime = observations.map(|o| render_realtime(&set2, &o, &filter));
            (queues, windows, realtime)
        })
        .await?;
        self.shared.publish(PollKind::Queues, parts.0);
        if let Some(p) = parts.1 {
            self.shared.publish(PollKind::Aggregates, p);
        }
        if let Some(p) = parts.2 {
            self.shared.publish(PollKind::Observations, p);
        }
        self.queues_tx.send_replace(Some(set));
        Ok(())
    }

    async fn poll_aggregates(&self) -> Result<(), String> {
        let set = self.current_queues();
        let plan = self.config.windows.plan(now_ms());
        let ids = set.ids();
        // The queries run concurrently; the client's limiter paces them all.
        let calls = plan
            .queries
            .iter()
            .map(|q| {
                let req = AggregateRequest {
                    start_ms: q.start_ms,
                    end_ms: q.end_ms,
                    granularity_ms: q.granularity_ms,
                    time_zone: None,
                    queue_ids: ids.clone(),
                    media_types: self.config.filter.media_types.clone(),
                };
                let client = self.client.clone();
                async move { client.aggregates(&req).await.map_err(|e| e.to_string()) }
            })
            .collect::<Vec<_>>();
        let answers = settle_all(calls, |cause| {
            format!("aggregates query task failed: {cause}")
        })
        .await?;
        let totals = fold_answers(&plan, &answers);
        let entry = Arc::new(WindowAnswer {
            windows: plan.windows,
            totals,
            queried: ids.into_iter().collect(),
        });
        self.publish_with(
            PollKind::Aggregates,
            move |cache| {
                cache.windows = Some(Arc::clone(&entry));
                entry
            },
            render_windows,
        )
        .await
    }

    async fn poll_observations(&self) -> Result<(), String> {
        let set = self.current_queues();
        let ids = set.ids();
        let obs = if ids.is_empty() {
            ObservationSnapshot {
                media: Vec::new(),
                queues: Vec::new(),
            }
        } else {
            self.client
                .observations(&ids)
                .await
                .map_err(|e| e.to_string())?
        };
        let entry = Arc::new(ObservationAnswer {
            observations: obs,
            queried: ids.into_iter().collect(),
        });
        self.publish_with(
            PollKind::Observations,
            move |cache| {
                cache.observations = Some(Arc::clone(&entry));
                entry
            },
            render_realtime,
        )
        .await
    }

    /// Stores a new answer in the cache and renders it against the current queue set.
    async fn publish_with<T: Send + Sync + 'static>(
        &self,
        kind: PollKind,
        store: impl FnOnce(&mut Cache) -> Arc<T>,
        render_fn: fn(&QueueSet, &T, &QueueFilter) -> Rendered,
    ) -> Result<(), String> {
        let _guard = self.render_lock.lock().await;
        let (set, entry) = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = store(&mut cache);
            (cache.queues.clone().unwrap_or_default(), entry)
        };
        let filter = self.config.filter.clone();
        let part = blocking(move || render_fn(&set, &entry, &filter)).await?;
        self.shared.publish(kind, part);
        Ok(())
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

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("rendering failed: {e}"))
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
