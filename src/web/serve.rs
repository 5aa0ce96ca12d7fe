//! The HTTP/1 serve loop: every accepted connection (plain TCP or TLS) is
//! served by hyper with a header-read timeout, watched for idleness, and
//! counted against a cap on open connections.
//!
//! Rules (documented in the README):
//! - a connection that has not sent a complete request head within
//!   `read_header_timeout` after it opened, or after its previous response,
//!   is closed (hyper's own `header_read_timeout`);
//! - a connection on which no byte has moved in either direction for
//!   `idle_timeout` is closed, even in the middle of a request or response;
//! - when `max_connections` are open, the connection idle longest is closed
//!   to admit the new one, so a fresh scrape always gets in.
//!
//! Every connection closed by one of these rules is reported to the
//! [`CloseObserver`] with its [`CloseReason`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Timeouts and the connection cap of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head (`--web.read-header-timeout`).
    pub read_header_timeout: Duration,
    /// Longest time without a byte moving either way (`--web.idle-timeout`).
    pub idle_timeout: Duration,
    /// Most connections open at once (`--web.max-connections`).
    pub max_connections: usize,
}

/// Why the server closed a connection early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// No complete request head within the header-read timeout.
    HeaderTimeout,
    /// No byte moved either way within the idle timeout.
    IdleTimeout,
    /// Closed, as the connection idle longest, to admit a new one at the cap.
    MaxConnections,
}

impl CloseReason {
    /// Every reason, for zero-valued series.
    pub const ALL: [CloseReason; 3] = [
        CloseReason::HeaderTimeout,
        CloseReason::IdleTimeout,
        CloseReason::MaxConnections,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::MaxConnections => "max_connections",
        }
    }
}

/// Told about every connection the server closes early, and how many are open.
pub trait CloseObserver: Send + Sync + 'static {
    /// A connection was closed for `reason`.
    fn closed(&self, reason: CloseReason);
    /// `open` connections are being served now.
    fn open_connections(&self, open: usize);
}

/// Serves `router` on every connection `listener` accepts until `shutdown`
/// completes, then stops accepting, asks every connection to finish its
/// request in flight and close, and returns once all are closed.
pub async fn serve<L, F>(
    mut listener: L,
    router: Router,
    limits: ConnectionLimits,
    observer: Arc<dyn CloseObserver>,
    shutdown: F,
) where
    L: axum::serve::Listener,
    F: Future<Output = ()> + Send,
{
    let table = Arc::new(Table::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        // Reap finished connection tasks so the set stays small.
        while connections.try_join_next().is_some() {}
        let started = Instant::now();
        let activity = Arc::new(Activity::new(started));
        let evict = Arc::new(Notify::new());
        let (id, evicted) = table.admit(Arc::clone(&activity), Arc::clone(&evict));
        if evicted {
            observer.closed(CloseReason::MaxConnections);
        }
        observer.open_connections(table.len());
        let connection = Connection {
            io: Tracked {
                inner: io,
                activity: Arc::clone(&activity),
            },
            router: router.clone(),
            limits,
            activity,
            evict,
            stop: stop_rx.clone(),
        };
        let table = Arc::clone(&table);
        let observer = Arc::clone(&observer);
        connections.spawn(async move {
            if let Some(reason) = connection.run().await {
                observer.closed(reason);
            }
            table.remove(id);
            observer.open_connections(table.len());
        });
    }
    let _ = stop_tx.send(true);
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// One accepted connection and what it needs to be served.
struct Connection<I> {
    io: Tracked<I>,
    router: Router,
    limits: ConnectionLimits,
    activity: Arc<Activity>,
    evict: Arc<Notify>,
    stop: watch::Receiver<bool>,
}

impl<I> Connection<I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Serves the connection; the reason when one of the rules closed it.
    async fn run(mut self) -> Option<CloseReason> {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.read_header_timeout)
            .keep_alive(true);
        let service = TowerToHyperService::new(self.router);
        let conn = builder.serve_connection(TokioIo::new(self.io), service);
        let mut conn = std::pin::pin!(conn);
        let idle = idle_expired(&self.activity, self.limits.idle_timeout);
        let mut idle = std::pin::pin!(idle);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    return match result {
                        Err(e) if e.is_timeout() => Some(CloseReason::HeaderTimeout),
                        Err(e) => {
                            tracing::debug!(error = %e, "HTTP connection ended with an error");
                            None
                        }
                        Ok(()) => None,
                    };
                }
                () = &mut idle => return Some(CloseReason::IdleTimeout),
                () = self.evict.notified() => return Some(CloseReason::MaxConnections),
                changed = self.stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    if changed.is_ok() {
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// Completes once no byte has moved for `timeout`.
async fn idle_expired(activity: &Activity, timeout: Duration) {
    loop {
        let deadline = activity.last().checked_add(timeout);
        let Some(deadline) = deadline else {
            return std::future::pending().await;
        };
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}

/// When a connection last moved a byte, as milliseconds since it opened.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new(opened: Instant) -> Activity {
        Activity {
            opened,
            last_ms: AtomicU64::new(0),
        }
    }

    /// Records that a byte moved now.
    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// The instant a byte last moved (or the connection opened).
    fn last(&self) -> Instant {
        let ms = self.last_ms.load(Ordering::Relaxed);
        self.opened
            .checked_add(Duration::from_millis(ms))
            .unwrap_or(self.opened)
    }
}

/// The open connections, for the cap: when full, the one idle longest is
/// told to close and leaves the table at once.
struct Table {
    max: usize,
    state: Mutex<TableState>,
}

#[derive(Default)]
struct TableState {
    next_id: u64,
    open: HashMap<u64, (Arc<Activity>, Arc<Notify>)>,
}

impl Table {
    fn new(max: usize) -> Table {
        Table {
            max,
            state: Mutex::new(TableState::default()),
        }
    }

    /// Adds a connection; true when another was evicted to make room.
    fn admit(&self, activity: Arc<Activity>, evict: Arc<Notify>) -> (u64, bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut evicted = false;
        if state.open.len() >= self.max {
            let oldest = state
                .open
                .iter()
                .min_by_key(|(id, (activity, _))| (activity.last(), **id))
                .map(|(id, _)| *id);
            if let Some((_, notify)) = oldest.and_then(|id| state.open.remove(&id)) {
                notify.notify_one();
                evicted = true;
            }
        }
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        state.open.insert(id, (activity, evict));
        (id, evicted)
    }

    fn remove(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.open.remove(&id);
    }

    fn len(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.open.len()
    }
}

/// An I/O stream that records every byte moved in its [`Activity`].
struct Tracked<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the cap the connection idle longest is evicted, never the newcomer.
    #[tokio::test(start_paused = true)]
    async fn cap_evicts_the_longest_idle() {
        let table = Table::new(2);
        let a = Arc::new(Activity::new(Instant::now()));
        let notify_a = Arc::new(Notify::new());
        let (id_a, evicted) = table.admit(Arc::clone(&a), Arc::clone(&notify_a));
        assert!(!evicted);
        tokio::time::advance(Duration::from_secs(1)).await;
        let b = Arc::new(Activity::new(Instant::now()));
        let (_, evicted) = table.admit(b, Arc::new(Notify::new()));
        assert!(!evicted);
        tokio::time::advance(Duration::from_secs(1)).await;
        a.touch();
        let (_, evicted) = table.admit(
            Arc::new(Activity::new(Instant::now())),
            Arc::new(Notify::new()),
        );
        assert!(evicted, "third connection at a cap of 2 evicts one");
        assert_eq!(table.len(), 2);
        // `a` moved a byte after `b` opened, so `b` was the one evicted.
        let state = table.state.lock().expect("lock");
        assert!(state.open.contains_key(&id_a));
    }

    /// The idle timer restarts on every byte and fires only after a full quiet period.
    #[tokio::test(start_paused = true)]
    async fn idle_timer_restarts_on_activity() {
        let activity = Arc::new(Activity::new(Instant::now()));
        let timeout = Duration::from_secs(10);
        tokio::time::advance(Duration::from_secs(6)).await;
        activity.touch();
        let start = Instant::now();
        idle_expired(&activity, timeout).await;
        assert_eq!(start.elapsed(), timeout);
    }
}
