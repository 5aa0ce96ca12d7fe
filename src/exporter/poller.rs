//! The three polls against the Genesys API — queue list, aggregates and
//! observations — each scheduled by [`run_loop`]. Each success renders a
//! complete new part and publishes it; a new queue set re-renders the parts
//! built from the last answers, so a removed queue vanishes at once.
//!
//! Each queue-list refresh also asks one cheap `nOffered` query over the last
//! 7 days to learn the media each queue serves ([`ServedMedia`]). A metric
//! the org refuses is dropped and the same poll retried without it
//! ([`MetricSupport`]); a shared multi-window query answered with buckets it
//! did not plan, or whose granularity is refused, is re-planned as one query
//! per window and the same poll retried, so no number is ever built from
//! mismatched buckets. More queues than one chunk are asked about org-wide,
//! one request per query, falling back to chunks in the same poll when the
//! org refuses that ([`OrgWide`]).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use super::budget::{Intervals, Org, Realtime};
use super::config::{Config, QueueFilter};
use super::ingest::{self, queue_set};
use super::metric_support::{MetricSupport, QueryKind};
use super::org_wide::{asked_scope, Fallback, OrgWide};
use super::planner::Planner;
use super::poll_error::PollError;
use super::poll_fold::PollFold;
use super::poll_loop::{run_loop, Outcomes, PollCycle, Schedule};
use super::push::Pushed;
use super::realtime::{self, realtime_snapshot_of};
use super::render::{self, Rendered};
use super::selfmetrics::SelfMetrics;
use super::served_media::{ServedMedia, LOOKBACK_MS};
use super::snapshot::{window_snapshot, QueueSet, WindowTotals};
use super::state::{PollKind, Shared};
use super::window::{QueryPlan, ResolvedWindow};
use crate::genesys::{
    AggregateRequest, Client, Endpoint, ObservationSnapshot, QueryScope, Queue, QueueMediaSeries,
};
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
    /// Window families left out because a metric they read is refused.
    hidden: Vec<&'static str>,
}

/// The last observations poll and the queue ids it asked about.
#[derive(Debug)]
struct ObservationAnswer {
    observations: ObservationSnapshot,
    queried: HashSet<String>,
    /// Real-time families left out because the metric they show is refused.
    hidden: Vec<&'static str>,
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
    /// The last queue listing, to rebuild the set when served media grow.
    listed: Mutex<Option<Vec<Queue>>>,
    /// The media each queue serves, as learnt so far.
    served: std::sync::Mutex<ServedMedia>,
    /// Metrics the org refuses.
    support: MetricSupport,
    /// Rolling window groups (by labels) queried one window at a time.
    split: std::sync::Mutex<BTreeSet<Vec<String>>>,
    /// The budget plan: the interval in force of each poll kind.
    planner: Planner,
    /// Whether aggregates queries may go org-wide.
    org_wide: OrgWide,
    /// The merged real-time state pushed events update (seeded by every
    /// observations answer).
    pushed: Arc<Pushed>,
}

impl Poller {
    /// A poller publishing into `shared`.
    pub fn new(
        client: Client,
        config: Arc<Config>,
        shared: Arc<Shared>,
        metrics: Arc<SelfMetrics>,
    ) -> Arc<Poller> {
        let org = Org {
            queues: 0,
            listed: 0,
            page_size: 1,
            aggregates_chunk: 1,
            observations_chunk: 1,
            queries: 0,
            chunked: false,
        };
        let [_, aggregates, observations] = config.poll_intervals();
        let asked = Intervals {
            queues: config.poll.queues,
            aggregates,
            // Observations are polled (or off) until push notifications feed them.
            realtime: observations.map_or(Realtime::Off, |interval| Realtime::Poll { interval }),
        };
        let planner = Planner::new(asked, org, Arc::clone(&shared), Arc::clone(&metrics));
        let poller = Arc::new(Poller {
            client,
            shared,
            metrics,
            queues: watch::channel(None).0,
            answers: Mutex::new(Answers::default()),
            listed: Mutex::new(None),
            served: std::sync::Mutex::new(ServedMedia::new(&config.filter.media_types)),
            support: MetricSupport::default(),
            split: std::sync::Mutex::new(BTreeSet::new()),
            planner,
            org_wide: OrgWide::default(),
            pushed: Arc::new(Pushed::default()),
            config,
        });
        poller.replan(None);
        poller
    }

    /// Plans the intervals again (with the exported and listed queue counts
    /// when they changed) from the client's chunk sizes, page size and
    /// budget and the aggregates queries per poll.
    fn replan(&self, counts: Option<(usize, usize)>) {
        let queries = self
            .config
            .windows
            .plan_with(
                now_ms(),
                &QueryScope::Queues(Vec::new()),
                &self.config.filter.media_types,
                &lock(&self.split),
            )
            .queries
            .len();
        let client = &self.client;
        self.planner
            .replan(client.requests_per_minute(), |org: &mut Org| {
                if let Some((queues, listed)) = counts {
                    org.queues = queues;
                    org.listed = listed;
                }
                org.page_size = client.config().page_size as usize;
                org.aggregates_chunk = client.chunk_size(Endpoint::Aggregates);
                org.observations_chunk = client.chunk_size(Endpoint::Observations);
                org.queries = queries;
                org.chunked = self.org_wide.is_refused();
            });
    }

    /// The metrics asked for in `kind` queries: not refused by the org, and
    /// read by a served family.
    fn asked(&self, kind: QueryKind) -> Vec<&'static str> {
        let mut metrics = self.support.metrics(kind);
        metrics.retain(|m| self.config.families.asks(kind, m));
        metrics
    }

    /// Families left out of a part: those `refused` leaves without data, and
    /// those `--metrics.*` do not serve.
    fn hidden(&self, refused: Vec<&'static str>) -> Vec<&'static str> {
        let mut hidden = refused;
        hidden.extend_from_slice(self.config.families.hidden());
        hidden
    }

    /// Spawns one loop per enabled poll kind; they stop when `stop` turns true.
    pub fn spawn(self: &Arc<Self>, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let outcomes = Outcomes {
            metrics: Arc::clone(&self.metrics),
            shared: Arc::clone(&self.shared),
        };
        PollKind::ALL
            .into_iter()
            .zip(self.config.poll_intervals())
            .filter_map(|(kind, interval)| {
                interval?;
                let schedule = Schedule::following(kind, self.planner.interval(kind));
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
        let ids: Vec<String> = listed
            .iter()
            .filter(|q| self.config.filter.keeps_name(&q.name))
            .map(|q| q.id.clone())
            .collect();
        let offered = self.offered_lately(&ids).await?;
        lock(&self.served).note_series(&offered);
        // Held while installing, so a served-media refresh never installs
        // an older listing after this one.
        let mut last = self.listed.lock().await;
        *last = Some(listed.clone());
        self.install_queue_set(listed).await
    }

    /// The `nOffered` of every queue × media over the last 7 days. Each
    /// queue-list refresh tries org-wide queries again, starting here.
    async fn offered_lately(&self, ids: &[String]) -> Result<Vec<QueueMediaSeries>, PollError> {
        self.org_wide.retry();
        let end = now_ms().div_euclid(60_000) * 60_000;
        // The second attempt is chunked whenever the first was refused org-wide.
        for _ in 0..2 {
            let scope = self.aggregates_scope(ids).for_interval(LOOKBACK_MS);
            let request = AggregateRequest {
                start_ms: end - LOOKBACK_MS,
                end_ms: end,
                granularity_ms: None,
                time_zone: None,
                scope,
                media_types: self.config.filter.media_types.clone(),
            };
            match self
                .client
                .aggregates_with_metrics(&request, &["nOffered"])
                .await
            {
                Ok(series) => return Ok(series),
                Err(e) if self.org_wide_refused(&request.scope, &e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(PollError::Lost {
            task: "served-media lookback",
            cause: String::from("the org-wide fallback did not settle"),
        })
    }

    /// The scope of an aggregates query of `ids` now.
    fn aggregates_scope(&self, ids: &[String]) -> QueryScope {
        self.org_wide
            .scope(ids, self.client.chunk_size(Endpoint::Aggregates))
    }

    /// True when `err` refuses an org-wide query asked in `scope`: queries
    /// are chunked until the next queue-list refresh; said once, counted always.
    fn org_wide_refused(&self, scope: &QueryScope, err: &crate::genesys::Error) -> bool {
        let queues = scope.queue_ids().len();
        match self.org_wide.refused(scope, err) {
            Fallback::No => return false,
            Fallback::First => tracing::warn!(
                queues,
                "an org-wide aggregates query was refused or too large ({err}); asking in \
                 chunks of queue ids instead until the next queue-list refresh"
            ),
            Fallback::Again => tracing::debug!(
                queues,
                "org-wide aggregates query refused again ({err}); asking in chunks"
            ),
        }
        self.metrics.aggregates_fallback();
        true
    }

    /// Rebuilds the queue set from the last listing when answers showed new
    /// served media.
    async fn refresh_served(&self, grew: bool) -> Result<(), PollError> {
        if !grew {
            return Ok(());
        }
        let listed = self.listed.lock().await.clone();
        match listed {
            Some(listed) => self.install_queue_set(listed).await,
            None => Ok(()),
        }
    }

    /// Publishes the queue set built from `listed` and re-renders every part.
    async fn install_queue_set(&self, listed: Vec<Queue>) -> Result<(), PollError> {
        let served = lock(&self.served).clone();
        let count = listed.len();
        let set = Arc::new(queue_set(listed, &self.config.filter, &served));
        self.metrics.set_queues(set.len());
        self.replan(Some((set.len(), count)));
        let answers = self.answers.lock().await;
        self.queues.send_replace(Some(Arc::clone(&set)));
        let (windows, observations) = (answers.windows.clone(), answers.observations.clone());
        let filter = self.config.filter.clone();
        let hidden = self.hidden(Vec::new());
        // While push feeds the real-time part, its state is newer than the
        // last answer polled.
        let pushed = self.pushed.is_active().then(|| {
            let hidden = self.hidden(self.support.hidden_realtime_families());
            (Arc::clone(&self.pushed), hidden)
        });
        let (queues, windows, realtime) = blocking(move || {
            let queues = render::render_queues_except(&set, &hidden);
            let windows = windows.map(|w| render_windows(&set, &w, &filter));
            let realtime = match pushed {
                Some((pushed, hidden)) => Some(pushed.render(&set, &filter, &hidden, now_ms())),
                None => observations.map(|o| render_realtime(&set, &o, &filter)),
            };
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
        // Each retry learns a refused metric, splits a window group or
        // falls back from org-wide to chunks (once: a refusal holds until the
        // next queue-list refresh, and one more if a refresh lands between),
        // so the attempts are bounded by the metrics and windows there are.
        let attempts =
            QueryKind::Aggregates.catalogue().len() + self.config.windows.specs().len() + 3;
        for _ in 0..attempts {
            let split = lock(&self.split).clone();
            let scope = self.aggregates_scope(&ids);
            let plan = self.config.windows.plan_with(
                now_ms(),
                &scope,
                &self.config.filter.media_types,
                &split,
            );
            let metrics = self.asked(QueryKind::Aggregates);
            let plan = Arc::new(plan);
            let folded = match self.run_plan(&plan, &metrics).await {
                Ok(folded) => folded,
                Err(PollError::Api(e)) => {
                    if self.learn_refusal(QueryKind::Aggregates, &e, &metrics)
                        || self.refused_granularity(&plan, &e)
                        || self.org_wide_refused(&asked_scope(&plan, &scope), &e)
                    {
                        continue;
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e),
            };
            let totals = match folded.finish() {
                Ok(totals) => totals,
                Err(unplanned) => {
                    for (qi, start, end) in unplanned {
                        self.split_group(
                            &plan,
                            qi,
                            &format!(
                                "answered with bucket {} it did not plan",
                                crate::timefmt::format_interval(start, end)
                            ),
                        );
                    }
                    continue;
                }
            };
            let bad = ingest::bad_groups(&totals);
            self.metrics.bad_api_values(PollKind::Aggregates, &bad);
            let grew = lock(&self.served).note_totals(&totals);
            self.refresh_served(grew).await?;
            let totals = lock(&self.served).retain_totals(totals);
            let entry = Arc::new(WindowAnswer {
                windows: plan.windows.clone(),
                totals,
                queried: ids.into_iter().collect(),
                hidden: self.hidden(self.support.hidden_window_families()),
            });
            return self
                .publish_with(
                    PollKind::Aggregates,
                    move |answers| {
                        answers.windows = Some(Arc::clone(&entry));
                        entry
                    },
                    render_windows,
                )
                .await
                .map(|_cost| ());
        }
        Err(PollError::Lost {
            task: "aggregates poll",
            cause: String::from("the query plan did not settle"),
        })
    }

    /// Runs every query of `plan` concurrently (the client's limiter paces
    /// them), each answer summed into the poll's windows as it is decoded.
    async fn run_plan(
        &self,
        plan: &Arc<QueryPlan>,
        metrics: &[&'static str],
    ) -> Result<PollFold, PollError> {
        let metrics: Arc<[&'static str]> = Arc::from(metrics);
        let fold = Arc::new(std::sync::Mutex::new(PollFold::new(Arc::clone(plan))));
        let calls = plan
            .queries
            .iter()
            .enumerate()
            .map(|(qi, q)| {
                let client = self.client.clone();
                let request = q.request.clone();
                let metrics = Arc::clone(&metrics);
                let sink = PollFold::sink(&fold, qi);
                async move {
                    client
                        .aggregates_folded(&request, &metrics, &sink)
                        .await
                        .map_err(PollError::from)
                }
            })
            .collect::<Vec<_>>();
        settle_all(calls, |cause| PollError::Lost {
            task: "aggregates query task",
            cause,
        })
        .await?;
        // Every query task has ended, so no sink refers to the fold any more.
        let fold = Arc::try_unwrap(fold).map_err(|_| PollError::Lost {
            task: "aggregates query task",
            cause: String::from("a query still held the poll's totals"),
        })?;
        Ok(fold.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    /// True when `err` names a metric of `asked` not known to be refused: it
    /// is dropped for the process lifetime, logged once and shown.
    fn learn_refusal(
        &self,
        kind: QueryKind,
        err: &crate::genesys::Error,
        asked: &[&'static str],
    ) -> bool {
        let Some(metric) = self.support.learn(kind, err, asked) else {
            return false;
        };
        tracing::warn!(
            query = kind.as_str(),
            metric,
            "the org refuses metric {metric} in {} queries; no longer asking for it",
            kind.as_str()
        );
        self.metrics.set_unsupported(kind, metric);
        true
    }

    /// True when `err` refuses the granularity of a shared query of `plan`:
    /// that query's window group is split.
    fn refused_granularity(&self, plan: &QueryPlan, err: &crate::genesys::Error) -> bool {
        let Some(value) = err.invalid_value() else {
            return false;
        };
        let refused: Vec<usize> = plan
            .queries
            .iter()
            .enumerate()
            .filter(|(_, q)| {
                q.request
                    .granularity_ms
                    .is_some_and(|g| crate::timefmt::format_duration(g) == value)
            })
            .map(|(i, _)| i)
            .collect();
        for &qi in &refused {
            self.split_group(plan, qi, &format!("granularity {value} refused"));
        }
        !refused.is_empty()
    }

    /// Queries the window group of query `qi` one window at a time from now
    /// on; logged and counted once per group.
    fn split_group(&self, plan: &QueryPlan, qi: usize, why: &str) {
        let Some(q) = plan.queries.get(qi) else {
            return;
        };
        let group = q.group(&plan.windows);
        if lock(&self.split).insert(group.clone()) {
            tracing::warn!(
                windows = %group.join(","),
                "shared aggregates query {why}; querying these windows one at a time without granularity"
            );
            self.metrics.granularity_fallback();
        }
    }

    /// Polls the observations of every exported queue (with push: the
    /// reconcile), replaces the merged pushed state with the answer and
    /// publishes it.
    async fn poll_observations(&self) -> Result<(), PollError> {
        let ids = self.current_queues().ids();
        let observations = self.observe_checked(&ids).await?;
        let queried: BTreeSet<String> = ids.into_iter().collect();
        self.pushed.seed_all(&observations, &queried);
        self.publish_observations(observations, queried)
            .await
            .map(|_cost| ())
    }

    /// The observations of `ids` as the poll serves them: refused metrics
    /// dropped, bad values counted, served media learnt and kept.
    pub async fn observe_checked(&self, ids: &[String]) -> Result<ObservationSnapshot, PollError> {
        let observations = if ids.is_empty() {
            ObservationSnapshot {
                media: Vec::new(),
                queues: Vec::new(),
            }
        } else {
            self.observe(ids).await?
        };
        let bad = realtime::bad_groups(&observations);
        self.metrics.bad_api_values(PollKind::Observations, &bad);
        let grew = lock(&self.served).note_observations(&observations);
        self.refresh_served(grew).await?;
        Ok(lock(&self.served).retain_observations(&observations))
    }

    /// Renders and publishes the real-time part from `observations` about
    /// the queues `queried`, under the same lock as every other part;
    /// returns how long rendering took.
    pub async fn publish_observations(
        &self,
        observations: ObservationSnapshot,
        queried: BTreeSet<String>,
    ) -> Result<Duration, PollError> {
        let entry = Arc::new(ObservationAnswer {
            observations,
            queried: queried.into_iter().collect(),
            hidden: self.hidden(self.support.hidden_realtime_families()),
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

    /// Renders and publishes the real-time part from the merged pushed
    /// state (only the queues that changed since the last render are
    /// rendered again), under the same lock as every other part; returns
    /// how long rendering took.
    pub async fn publish_pushed(&self) -> Result<Duration, PollError> {
        let _answers = self.answers.lock().await;
        let set = self.current_queues();
        let filter = self.config.filter.clone();
        let hidden = self.hidden(self.support.hidden_realtime_families());
        let pushed = Arc::clone(&self.pushed);
        let (part, cost) = blocking(move || {
            let started = Instant::now();
            let part = pushed.render(&set, &filter, &hidden, now_ms());
            (part, started.elapsed())
        })
        .await?;
        self.shared.publish(PollKind::Observations, part);
        Ok(cost)
    }

    /// The merged pushed state.
    pub fn pushed(&self) -> &Arc<Pushed> {
        &self.pushed
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The validated settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The exported queue set as it changes (`None` before the first listing).
    pub fn queue_sets(&self) -> watch::Receiver<Option<Arc<QueueSet>>> {
        self.queues.subscribe()
    }

    /// Switches how the real-time gauges are fed and plans again.
    pub fn set_realtime(&self, realtime: Realtime) {
        self.planner
            .set_realtime(realtime, self.client.requests_per_minute());
    }

    /// Observes `ids`, dropping each metric the org refuses and retrying.
    async fn observe(&self, ids: &[String]) -> Result<ObservationSnapshot, PollError> {
        let kind = QueryKind::Observations;
        loop {
            let metrics = self.asked(kind);
            match self.client.observations_with_metrics(ids, &metrics).await {
                Ok(obs) => return Ok(obs),
                // Each retry drops one more metric, and the last is never dropped.
                Err(e) if self.learn_refusal(kind, &e, &metrics) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Stores a new answer and renders it against the current queue set;
    /// returns how long rendering took (on its thread, without waits).
    async fn publish_with<T: Send + Sync + 'static>(
        &self,
        kind: PollKind,
        store: impl FnOnce(&mut Answers) -> Arc<T>,
        render_fn: fn(&QueueSet, &T, &QueueFilter) -> Rendered,
    ) -> Result<Duration, PollError> {
        let mut answers = self.answers.lock().await;
        let entry = store(&mut answers);
        let set = self.current_queues();
        let filter = self.config.filter.clone();
        let (part, cost) = blocking(move || {
            let started = Instant::now();
            let part = render_fn(&set, &entry, &filter);
            (part, started.elapsed())
        })
        .await?;
        self.shared.publish(kind, part);
        Ok(cost)
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
        let result = match kind {
            PollKind::Queues => self.poll_queues().await,
            PollKind::Aggregates => self.poll_aggregates().await,
            PollKind::Observations => self.poll_observations().await,
        };
        // A poll may have lowered the budget, shrunk a chunk or split a query.
        self.replan(None);
        result
    }
}

fn render_windows(set: &QueueSet, answer: &WindowAnswer, f: &QueueFilter) -> Rendered {
    let set = set.retain_ids(&answer.queried);
    let snap = window_snapshot(&set, answer.windows.clone(), &answer.totals, |m| {
        f.keeps_media(m)
    });
    render::render_windows_except(&snap, &answer.hidden)
}

fn render_realtime(set: &QueueSet, answer: &ObservationAnswer, f: &QueueFilter) -> Rendered {
    let snap = realtime_snapshot_of(
        set,
        |id| answer.queried.contains(id),
        &answer.observations,
        |m| f.keeps_media(m),
    );
    render::render_realtime_except(&snap, &answer.hidden)
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

/// Locks a mutex whose data stays valid even if a holder panicked.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
