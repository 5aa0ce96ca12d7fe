//! Runtime knobs shared by the server and tests: faults, latency, outage,
//! clock, queue removal, extra OAuth clients, request counters, the most
//! recent request bodies of the query endpoints, and the notification
//! channels (listed, and their sockets killed).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::auth::Auth;
use super::config::SimConfig;
use super::notify::Channels;
use super::org::OrgModel;

/// The simulated endpoints (for scripted faults and request counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimEndpoint {
    /// `POST /oauth/token`.
    Token,
    /// `GET /api/v2/routing/queues`.
    Queues,
    /// `POST /api/v2/analytics/conversations/aggregates/query`.
    Aggregates,
    /// `POST /api/v2/analytics/queues/observations/query`.
    Observations,
    /// `/api/v2/notifications/channels…` (channels and subscriptions).
    Notifications,
}

impl SimEndpoint {
    fn slot(self) -> usize {
        self as usize
    }
}

/// A scripted fault, consumed by one request to its endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and the Genesys error body (429 gets the
    /// normalized rate-limit body), optionally with `Retry-After`.
    Status {
        /// HTTP status code.
        status: u16,
        /// `Retry-After` seconds.
        retry_after: Option<u32>,
    },
    /// Wait this long, then answer normally (for client timeouts).
    Delay(Duration),
    /// Answer 200 with a truncated, unparseable JSON body.
    MalformedBody,
}

/// Request bodies kept per query endpoint (the oldest is dropped first).
pub const RECENT_BODIES: usize = 64;

/// Mutable knobs.
#[derive(Debug)]
pub(crate) struct Knobs {
    pub fault_rate: f64,
    pub latency: Duration,
    pub outage: bool,
    pub scripted: HashMap<SimEndpoint, VecDeque<Fault>>,
    pub fixed_now_ms: Option<i64>,
    pub fault_draws: u64,
}

/// State shared by every request and by [`Control`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SimConfig,
    pub org: Arc<OrgModel>,
    pub knobs: Mutex<Knobs>,
    pub auth: Mutex<Auth>,
    counts: [AtomicU64; 5],
    /// The last [`RECENT_BODIES`] bodies per query endpoint.
    recent: Mutex<HashMap<SimEndpoint, VecDeque<Vec<u8>>>>,
    pub notify: Mutex<Channels>,
    /// Bumped by [`Control::kill_sockets`]; every socket watches it.
    kills: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    pub fn new(config: SimConfig) -> Shared {
        let org = Arc::new(OrgModel::new(&config));
        let knobs = Knobs {
            fault_rate: config.fault_rate,
            latency: config.latency,
            outage: false,
            scripted: HashMap::new(),
            fixed_now_ms: config.fixed_now_ms,
            fault_draws: 0,
        };
        let auth = Auth::new(&config);
        Shared {
            config,
            org,
            knobs: Mutex::new(knobs),
            auth: Mutex::new(auth),
            counts: Default::default(),
            recent: Mutex::new(HashMap::new()),
            notify: Mutex::new(Channels::default()),
            kills: tokio::sync::watch::Sender::new(0),
        }
    }

    pub fn knobs(&self) -> MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn auth(&self) -> MutexGuard<'_, Auth> {
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn notify(&self) -> MutexGuard<'_, Channels> {
        self.notify.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A receiver that changes whenever the open sockets are to be killed.
    pub fn kill_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.kills.subscribe()
    }

    pub fn count(&self, e: SimEndpoint) {
        self.counts[e.slot()].fetch_add(1, Ordering::Relaxed);
    }

    /// Keeps `body` among the recent bodies of a query endpoint (aggregates,
    /// observations; never the token endpoint, whose body may hold a secret).
    pub fn record(&self, e: SimEndpoint, body: &[u8]) {
        if !matches!(e, SimEndpoint::Aggregates | SimEndpoint::Observations) {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let log = recent.entry(e).or_default();
        if log.len() == RECENT_BODIES {
            log.pop_front();
        }
        log.push_back(body.to_vec());
    }

    /// The simulator's current time, epoch ms (wall clock unless frozen).
    pub fn now_ms(&self) -> i64 {
        if let Some(t) = self.knobs().fixed_now_ms {
            return t;
        }
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// One notification channel as [`Control::channels_of`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Channel id.
    pub id: String,
    /// Subscribed topics, in subscription order.
    pub topics: Vec<String>,
    /// Whether a WebSocket is connected to it now.
    pub connected: bool,
}

/// Runtime knobs for tests; a cheap clone. Changes apply to the next request.
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl Control {
    /// Share (0–1) of `/api/v2` calls answered with a random 500/502/503/504.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.knobs().fault_rate = rate.clamp(0.0, 1.0);
    }

    /// Queues faults for an endpoint, consumed one per request, first in first out.
    pub fn push_faults(&self, endpoint: SimEndpoint, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .knobs()
            .scripted
            .entry(endpoint)
            .or_default()
            .extend(faults);
    }

    /// While on, every call (token endpoint included) answers 503 `service.unavailable`.
    pub fn set_outage(&self, on: bool) {
        self.shared.knobs().outage = on;
    }

    /// Every bearer token issued so far now answers 401.
    pub fn expire_all_tokens(&self) {
        self.shared.auth().expire_all();
    }

    /// Hides a queue from every endpoint and the ground truth.
    pub fn remove_queue(&self, queue_id: &str) {
        self.shared.org.set_removed(queue_id, true);
    }

    /// Brings a removed queue back.
    pub fn restore_queue(&self, queue_id: &str) {
        self.shared.org.set_removed(queue_id, false);
    }

    /// Adds (or replaces) an OAuth client with exactly these permissions.
    pub fn add_client(&self, id: &str, secret: &str, permissions: &[&str]) {
        self.shared.auth().add_client(id, secret, permissions);
    }

    /// Requests received by an endpoint since the last reset (rejected ones included).
    pub fn request_count(&self, endpoint: SimEndpoint) -> u64 {
        self.shared.counts[endpoint.slot()].load(Ordering::Relaxed)
    }

    /// Sets every request counter back to zero and forgets the recent bodies.
    pub fn reset_counts(&self) {
        for c in &self.shared.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.shared
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The bodies of the last requests (at most [`RECENT_BODIES`], oldest
    /// first) to the aggregates or observations endpoint since the last reset;
    /// empty for other endpoints.
    pub fn recent_bodies(&self, endpoint: SimEndpoint) -> Vec<Vec<u8>> {
        self.shared
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&endpoint)
            .map(|log| log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Freezes the simulator's clock at an epoch-ms instant, or unfreezes it (`None`).
    pub fn set_fixed_now(&self, now_ms: Option<i64>) {
        self.shared.knobs().fixed_now_ms = now_ms;
    }

    /// The simulator's current time, epoch ms.
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// The live (not expired, not evicted) channels of an OAuth client, oldest first.
    pub fn channels_of(&self, client_id: &str) -> Vec<ChannelInfo> {
        let now = std::time::Instant::now();
        self.shared
            .notify()
            .of_client(client_id, now)
            .into_iter()
            .map(|c| ChannelInfo {
                id: c.id.clone(),
                topics: c.topics.clone(),
                connected: c.socket.is_some(),
            })
            .collect()
    }

    /// Drops every open notification socket abruptly, as a network failure
    /// would: no close frame, no message first. The channels themselves live
    /// on. Returns how many sockets were connected.
    pub fn kill_sockets(&self) -> usize {
        let connected = self.shared.notify().connected();
        self.shared.kills.send_modify(|n| *n += 1);
        connected
    }
}
