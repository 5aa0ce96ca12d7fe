//! Pure decisions of the push runtime: why a channel is replaced
//! ([`Reason`]), when a channel is near its expiry ([`expiry_due`]), how long
//! to wait before trying again ([`retry_delay`]), and why push cannot work
//! ([`Refusal`]).

use std::time::Duration;

use super::message::Message;

/// A channel is replaced this long before it expires.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(600);

/// The first retry delay after a failed channel setup or socket.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The longest retry delay.
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// Why a channel is replaced by a new one (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// `v2.system.socket_closing`.
    SocketClosing,
    /// A `result` 404: the channel expired or was evicted.
    ChannelGone,
    /// The channel is within [`EXPIRY_MARGIN`] of its expiry.
    Expiry,
    /// Nothing arrived for the heartbeat timeout.
    Silence,
    /// The socket failed or was closed.
    SocketError,
}

impl Reason {
    /// Every reason, for zero-valued series.
    pub const ALL: [Reason; 5] = [
        Reason::SocketClosing,
        Reason::ChannelGone,
        Reason::Expiry,
        Reason::Silence,
        Reason::SocketError,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SocketClosing => "socket_closing",
            Reason::ChannelGone => "channel_gone",
            Reason::Expiry => "expiry",
            Reason::Silence => "silence",
            Reason::SocketError => "socket_error",
        }
    }

    /// The reason a message asks for a new channel, if it does.
    pub fn of(message: &Message) -> Option<Reason> {
        match message {
            Message::SocketClosing => Some(Reason::SocketClosing),
            Message::ChannelGone => Some(Reason::ChannelGone),
            _ => None,
        }
    }
}

/// Why push cannot work now (logged once, then polling takes over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `POST …/channels` failed.
    Channel(String),
    /// The subscription failed, or kept fewer topics than asked.
    Subscription(String),
    /// The socket could not be opened.
    Socket(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Channel(e) => write!(f, "a notification channel cannot be created: {e}"),
            Refusal::Subscription(e) => write!(f, "the queue topics cannot be subscribed: {e}"),
            Refusal::Socket(e) => write!(f, "the notification socket was refused: {e}"),
        }
    }
}

/// When (ms after `created_ms`, in the channel's own clock) a channel that
/// expires at `expires_ms` must be replaced: [`EXPIRY_MARGIN`] before it
/// expires, but never sooner than half its lifetime. `None` when the channel
/// gave no expiry, or one not after its creation (another clock: ignored).
pub fn expiry_due(created_ms: i64, expires_ms: Option<i64>) -> Option<Duration> {
    let life = expires_ms?.checked_sub(created_ms)?;
    if life <= 0 {
        return None;
    }
    let life = Duration::from_millis(life.unsigned_abs());
    Some(life.saturating_sub(EXPIRY_MARGIN).max(life / 2))
}

/// The delay before attempt `failures + 1` after `failures` (≥ 1)
/// consecutive failures: [`FIRST_RETRY`] doubling up to [`MAX_RETRY`], cut
/// by up to half at random (`unit` in [0, 1)) so exporters that failed
/// together do not retry in step.
pub fn retry_delay(failures: u32, unit: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let ceiling = FIRST_RETRY.saturating_mul(1u32 << doublings).min(MAX_RETRY);
    let cut = if unit.is_finite() {
        unit.clamp(0.0, 1.0) / 2.0
    } else {
        0.0
    };
    ceiling.mul_f64(1.0 - cut)
}

/// True when a subscription that kept `kept` of `asked` topics refuses push.
pub fn subscription_refused(asked: usize, kept: usize) -> bool {
    kept < asked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages that end a channel name their reason; others do not.
    #[test]
    fn reasons() {
        assert_eq!(
            Reason::of(&Message::SocketClosing),
            Some(Reason::SocketClosing)
        );
        assert_eq!(Reason::of(&Message::ChannelGone), Some(Reason::ChannelGone));
        for m in [
            Message::Heartbeat,
            Message::Pong,
            Message::Malformed,
            Message::System("v2.subscription.updated".into()),
            Message::SubscribeReply { ok: false },
        ] {
            assert_eq!(Reason::of(&m), None, "{m:?}");
        }
        let labels: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            labels,
            [
                "socket_closing",
                "channel_gone",
                "expiry",
                "silence",
                "socket_error"
            ]
        );
    }

    /// 24 h channels roll over 10 min early; short ones at half their life;
    /// expiries in the past or missing are ignored.
    #[test]
    fn expiry() {
        let h = 3_600_000;
        assert_eq!(
            expiry_due(0, Some(24 * h)),
            Some(Duration::from_secs(24 * 3600 - 600))
        );
        assert_eq!(
            expiry_due(1_000, Some(1_000 + 600_000)),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            expiry_due(5 * h, Some(h)),
            None,
            "already past: other clock"
        );
        assert_eq!(expiry_due(h, Some(h)), None);
        assert_eq!(expiry_due(0, None), None);
        assert_eq!(expiry_due(i64::MIN, Some(i64::MAX)), None, "no overflow");
    }

    /// Delays double from 1 s to at most 5 min; the jitter only shortens,
    /// by at most half.
    #[test]
    fn backoff() {
        let d: Vec<u64> = (1..=11).map(|n| retry_delay(n, 0.0).as_secs()).collect();
        assert_eq!(d, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(retry_delay(u32::MAX, 0.0), MAX_RETRY);
        assert_eq!(retry_delay(0, 0.0), FIRST_RETRY);
        let j = retry_delay(3, 0.999);
        assert!(
            j < Duration::from_secs(4) && j >= Duration::from_secs(2),
            "{j:?}"
        );
        assert_eq!(retry_delay(1, f64::NAN), FIRST_RETRY);
    }

    /// Fewer topics than asked is a refusal; all of them is not.
    #[test]
    fn subscriptions() {
        assert!(subscription_refused(10, 9));
        assert!(subscription_refused(10, 0));
        assert!(!subscription_refused(10, 10));
        assert!(!subscription_refused(0, 0));
    }
}
