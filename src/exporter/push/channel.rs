//! One channel slot's lifecycle (I/O edge): create a channel, subscribe its
//! queues' topics (PUT, `ignoreErrors`), connect its socket, seed its queues
//! by one REST observations query, then apply messages until the channel
//! must be replaced; follow changes of its queue set by subscribing again on
//! the same channel (new queues are seeded). A replacement (`socket_closing`,
//! a 404, near expiry, silence, a failed socket) sets up the new channel
//! before the old one is dropped and re-seeds, so the gauges never go
//! missing. Setups that fail are retried with jittered backoff; every REST
//! call goes through the client's limiter and budget.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, Instant};

use super::merge::Applied;
use super::message::Message;
use super::plan::{self, Reason, Refusal};
use super::socket::{redact, Socket, SocketEnd};
use super::topics;
use crate::exporter::poller::Poller;
use crate::exporter::selfmetrics::SelfMetrics;
use crate::exporter::state::{PollKind, Shared};
use crate::genesys::{Channel, Jitter};

/// A socket that ends sooner than this after it opened counts as a failed
/// setup (so a socket refused right after the upgrade backs off).
const MIN_HEALTHY: Duration = Duration::from_secs(10);

/// What a slot tells the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotStatus {
    /// Not set up yet.
    Starting,
    /// Its channel is subscribed, its socket open and its queues seeded.
    Live,
    /// Its setup failed, and why; it is being retried.
    Down(Refusal),
}

/// What every slot shares.
#[derive(Debug)]
pub struct SlotContext {
    /// The poller: API client, observations query path and publishing.
    pub poller: Arc<Poller>,
    /// Freshness of pushed data.
    pub shared: Arc<Shared>,
    /// Self-metrics.
    pub metrics: Arc<SelfMetrics>,
    /// `--realtime.heartbeat-timeout`.
    pub heartbeat_timeout: Duration,
    /// Where slots report their status, by slot index.
    pub status: mpsc::UnboundedSender<(usize, SlotStatus)>,
}

/// A channel with an open socket.
#[derive(Debug)]
struct Live {
    channel: Channel,
    socket: Socket,
    opened: Instant,
    /// When to replace it before it expires, if it said when it expires.
    expires_at: Option<Instant>,
}

/// Why the inner loop left a live channel.
enum Leave {
    /// Replace the channel for this reason.
    Replace(Reason),
    /// The slot's queue set is gone or empty: stop.
    Stop,
}

/// Runs slot `index` for the queue set in `queues` until that set is empty
/// or its sender is gone.
pub async fn run_slot(
    ctx: Arc<SlotContext>,
    index: usize,
    mut queues: watch::Receiver<BTreeSet<String>>,
) {
    let jitter = Jitter::default();
    let mut failures = 0u32;
    let mut current: Option<Live> = None;
    let mut spare: Option<Channel> = None;
    loop {
        let wanted = queues.borrow_and_update().clone();
        if wanted.is_empty() {
            return;
        }
        let live = match current.take() {
            Some(live) => live,
            None => match setup(&ctx, index, &wanted, &mut spare).await {
                Ok(live) => {
                    seed(&ctx, &wanted).await;
                    let _ = ctx.status.send((index, SlotStatus::Live));
                    live
                }
                Err(refusal) => {
                    failures = failures.saturating_add(1);
                    let _ = ctx.status.send((index, SlotStatus::Down(refusal)));
                    let delay = plan::retry_delay(failures, jitter.next_unit());
                    tokio::select! {
                        () = sleep(delay) => {}
                        changed = queues.changed() => if changed.is_err() { return },
                    }
                    continue;
                }
            },
        };
        let (live, leave) = serve(&ctx, live, &mut queues).await;
        let reason = match leave {
            Leave::Stop => {
                live.socket.close().await;
                return;
            }
            Leave::Replace(reason) => reason,
        };
        ctx.metrics.notification_reconnect(reason);
        let dead = matches!(reason, Reason::Silence | Reason::SocketError);
        if dead && live.opened.elapsed() < MIN_HEALTHY {
            failures = failures.saturating_add(1);
            sleep(plan::retry_delay(failures, jitter.next_unit())).await;
        } else {
            failures = 0;
        }
        tracing::info!(
            channel = %live.channel.id,
            reason = reason.as_str(),
            "replacing notification channel"
        );
        let wanted = queues.borrow_and_update().clone();
        if wanted.is_empty() {
            live.socket.close().await;
            return;
        }
        // The new channel first, then the old one goes.
        match setup(&ctx, index, &wanted, &mut spare).await {
            Ok(new) => {
                live.socket.close().await;
                seed(&ctx, &wanted).await;
                let _ = ctx.status.send((index, SlotStatus::Live));
                current = Some(new);
            }
            Err(refusal) => {
                live.socket.close().await;
                failures = failures.saturating_add(1);
                let _ = ctx.status.send((index, SlotStatus::Down(refusal)));
                sleep(plan::retry_delay(failures, jitter.next_unit())).await;
            }
        }
    }
}

/// Creates a channel (or takes `spare`, one created by a setup that failed
/// later), subscribes the topics of `queues` and opens its socket. A channel
/// whose topics were refused is kept in `spare` for the next attempt, so
/// retries do not pile up channels (Genesys evicts the oldest past 20).
async fn setup(
    ctx: &SlotContext,
    index: usize,
    queues: &BTreeSet<String>,
    spare: &mut Option<Channel>,
) -> Result<Live, Refusal> {
    let channel = match spare.take() {
        Some(channel) => channel,
        None => ctx
            .poller
            .client()
            .create_channel()
            .await
            .map_err(|e| Refusal::Channel(e.to_string()))?,
    };
    let created_ms = now_ms();
    match subscribe(ctx, &channel, queues).await {
        Ok(()) => {}
        Err(Subscribe::Failed(refusal)) => return Err(refusal),
        Err(Subscribe::Dropped(refusal)) => {
            *spare = Some(channel);
            return Err(refusal);
        }
    }
    let socket = Socket::connect(&channel.connect_uri, ctx.heartbeat_timeout)
        .await
        .map_err(Refusal::Socket)?;
    let now = Instant::now();
    let expires_at = plan::expiry_due(created_ms, channel.expires_ms).map(|d| now + d);
    tracing::info!(
        slot = index,
        channel = %channel.id,
        uri = redact(&channel.connect_uri),
        queues = queues.len(),
        "notification channel connected"
    );
    Ok(Live {
        channel,
        socket,
        opened: now,
        expires_at,
    })
}

/// Why a subscription did not take.
enum Subscribe {
    /// The call failed (the channel may be gone).
    Failed(Refusal),
    /// Topics were dropped (no permission); the channel itself is fine.
    Dropped(Refusal),
}

impl Subscribe {
    fn refusal(self) -> Refusal {
        match self {
            Subscribe::Failed(r) | Subscribe::Dropped(r) => r,
        }
    }
}

/// Replaces the subscriptions of `channel` with the topics of `queues`;
/// refused when any topic was dropped (no permission) or the call failed.
async fn subscribe(
    ctx: &SlotContext,
    channel: &Channel,
    queues: &BTreeSet<String>,
) -> Result<(), Subscribe> {
    let asked: Vec<String> = queues.iter().map(|q| topics::topic(q)).collect();
    let kept: BTreeSet<String> = ctx
        .poller
        .client()
        .subscribe(&channel.id, &asked)
        .await
        .map_err(|e| Subscribe::Failed(Refusal::Subscription(e.to_string())))?
        .into_iter()
        .collect();
    let held = asked.iter().filter(|t| kept.contains(*t)).count();
    if plan::subscription_refused(asked.len(), held) {
        return Err(Subscribe::Dropped(Refusal::Subscription(format!(
            "{held} of {} queue topics accepted (is analytics:queueObservation:view granted?)",
            asked.len()
        ))));
    }
    Ok(())
}

/// Seeds `queues` with one REST observations query (a failure is logged:
/// the next reconcile heals it).
async fn seed(ctx: &SlotContext, queues: &BTreeSet<String>) {
    let ids: Vec<String> = queues.iter().cloned().collect();
    match ctx.poller.observe_checked(&ids).await {
        Ok(snap) => ctx.poller.pushed().seed_queues(&snap, queues),
        Err(e) => tracing::warn!(
            queues = ids.len(),
            error = %e,
            "seeding pushed real-time gauges failed; the next reconcile fills them"
        ),
    }
}

/// Applies messages of `live` until it must be replaced or the slot stops;
/// a queue-set change subscribes again on the same channel.
async fn serve(
    ctx: &SlotContext,
    mut live: Live,
    queues: &mut watch::Receiver<BTreeSet<String>>,
) -> (Live, Leave) {
    let mut held = queues.borrow().clone();
    loop {
        let expiry = live.expires_at;
        tokio::select! {
            m = live.socket.next() => match m {
                Ok(message) => {
                    if let Some(reason) = handle(ctx, message) {
                        return (live, Leave::Replace(reason));
                    }
                }
                Err(SocketEnd::Silent) => return (live, Leave::Replace(Reason::Silence)),
                Err(end) => {
                    tracing::info!(channel = %live.channel.id, end = ?end, "notification socket ended");
                    return (live, Leave::Replace(Reason::SocketError));
                }
            },
            changed = queues.changed() => {
                if changed.is_err() {
                    return (live, Leave::Stop);
                }
                let wanted = queues.borrow_and_update().clone();
                if wanted.is_empty() {
                    return (live, Leave::Stop);
                }
                if let Err(refusal) = subscribe(ctx, &live.channel, &wanted).await {
                    let refusal = refusal.refusal();
                    tracing::warn!(reason = %refusal, "subscribing the changed queue set failed");
                    return (live, Leave::Replace(Reason::SocketError));
                }
                let added: BTreeSet<String> = wanted.difference(&held).cloned().collect();
                if !added.is_empty() {
                    seed(ctx, &added).await;
                }
                held = wanted;
            }
            () = wait_until(expiry) => return (live, Leave::Replace(Reason::Expiry)),
        }
    }
}

/// Counts and applies one message; the reason to replace the channel, if any.
fn handle(ctx: &SlotContext, message: Message) -> Option<Reason> {
    ctx.metrics.notification_message(message.kind());
    if message != Message::Malformed {
        ctx.shared
            .confirm(PollKind::Observations, std::time::Instant::now());
    }
    if let Some(reason) = Reason::of(&message) {
        return Some(reason);
    }
    if let Message::QueueEvent(event) = message {
        if let Applied::Bad(group) = ctx.poller.pushed().apply(event) {
            ctx.metrics.bad_api_values(PollKind::Observations, &[group]);
        }
    }
    None
}

async fn wait_until(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
