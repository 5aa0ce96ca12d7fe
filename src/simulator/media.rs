//! Media types and their traffic character: how fast each kind of interaction
//! arrives, waits, abandons, talks, holds, wraps up and transfers.
//!
//! The analytics name (`voice`) and the queue-configuration name (`call`) of
//! each media type live here too, since the two differ (API notes §6).

/// One routable media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MediaKind {
    /// Phone calls (`call` in queue configuration).
    Voice,
    /// Scheduled callbacks.
    Callback,
    /// Web chat.
    Chat,
    /// E-mail.
    Email,
    /// Asynchronous messaging (SMS, social, web messaging).
    Message,
}

/// Traffic parameters of one media type. Times are in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct MediaProfile {
    /// Arrival rate at peak, relative to the queue's voice rate.
    pub rate_share: f64,
    /// Mean time until an agent picks the interaction up, at nominal pressure.
    pub service_mean: f64,
    /// Mean customer patience; `None` when customers never abandon (e-mail).
    pub patience_mean: Option<f64>,
    /// Share of interactions that leave the queue unanswered (overflow, timeout).
    pub flow_share: f64,
    /// Range of alerting (ringing) time before an answer.
    pub alert: (i64, i64),
    /// Mean talk (interaction) time.
    pub talk_mean: f64,
    /// Share of answered interactions put on hold.
    pub hold_share: f64,
    /// Mean hold time.
    pub hold_mean: f64,
    /// Mean after-call work.
    pub acw_mean: f64,
    /// Share of answered interactions transferred onwards.
    pub transfer_share: f64,
    /// Default service-level threshold.
    pub sl_duration_ms: u64,
    /// Longest wait in queue; longer waits flow out.
    pub max_wait_ms: i64,
}

impl MediaKind {
    /// All media types, in a fixed order (their index is part of random keys).
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Voice,
        MediaKind::Callback,
        MediaKind::Chat,
        MediaKind::Email,
        MediaKind::Message,
    ];

    /// Stable index used in random keys.
    pub fn index(self) -> u64 {
        self as u64
    }

    /// The analytics `mediaType` value.
    pub fn analytics_name(self) -> &'static str {
        match self {
            MediaKind::Voice => "voice",
            MediaKind::Callback => "callback",
            MediaKind::Chat => "chat",
            MediaKind::Email => "email",
            MediaKind::Message => "message",
        }
    }

    /// The key under the queue's `mediaSettings`.
    pub fn config_name(self) -> &'static str {
        match self {
            MediaKind::Voice => "call",
            other => other.analytics_name(),
        }
    }

    /// Looks a media type up by its analytics name.
    pub fn from_analytics(name: &str) -> Option<MediaKind> {
        MediaKind::ALL
            .into_iter()
            .find(|m| m.analytics_name() == name)
    }

    /// The traffic character of this media type.
    pub fn profile(self) -> MediaProfile {
        const S: f64 = 1000.0;
        match self {
            MediaKind::Voice => MediaProfile {
                rate_share: 1.0,
                service_mean: 15.0 * S,
                patience_mean: Some(400.0 * S),
                flow_share: 0.02,
                alert: (2_000, 12_000),
                talk_mean: 300.0 * S,
                hold_share: 0.25,
                hold_mean: 60.0 * S,
                acw_mean: 45.0 * S,
                transfer_share: 0.06,
                sl_duration_ms: 20_000,
                max_wait_ms: 30 * 60_000,
            },
            MediaKind::Callback => MediaProfile {
                rate_share: 0.15,
                service_mean: 300.0 * S,
                patience_mean: Some(20_000.0 * S),
                flow_share: 0.01,
                alert: (3_000, 15_000),
                talk_mean: 240.0 * S,
                hold_share: 0.1,
                hold_mean: 45.0 * S,
                acw_mean: 60.0 * S,
                transfer_share: 0.03,
                sl_duration_ms: 3_600_000,
                max_wait_ms: 60 * 60_000,
            },
            MediaKind::Chat => MediaProfile {
                rate_share: 0.6,
                service_mean: 30.0 * S,
                patience_mean: Some(900.0 * S),
                flow_share: 0.02,
                alert: (3_000, 20_000),
                talk_mean: 480.0 * S,
                hold_share: 0.0,
                hold_mean: 0.0,
                acw_mean: 30.0 * S,
                transfer_share: 0.04,
                sl_duration_ms: 60_000,
                max_wait_ms: 45 * 60_000,
            },
            MediaKind::Email => MediaProfile {
                rate_share: 0.3,
                service_mean: 1_200.0 * S,
                patience_mean: None,
                flow_share: 0.01,
                alert: (5_000, 30_000),
                talk_mean: 360.0 * S,
                hold_share: 0.0,
                hold_mean: 0.0,
                acw_mean: 60.0 * S,
                transfer_share: 0.05,
                sl_duration_ms: 3_600_000,
                max_wait_ms: 80 * 60_000,
            },
            MediaKind::Message => MediaProfile {
                rate_share: 0.4,
                service_mean: 120.0 * S,
                patience_mean: Some(3_600.0 * S),
                flow_share: 0.02,
                alert: (3_000, 20_000),
                talk_mean: 600.0 * S,
                hold_share: 0.0,
                hold_mean: 0.0,
                acw_mean: 30.0 * S,
                transfer_share: 0.04,
                sl_duration_ms: 300_000,
                max_wait_ms: 60 * 60_000,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Voice is `call` in queue configuration and `voice` in analytics.
    #[test]
    fn names_round_trip() {
        assert_eq!(MediaKind::Voice.config_name(), "call");
        for m in MediaKind::ALL {
            assert_eq!(MediaKind::from_analytics(m.analytics_name()), Some(m));
        }
        assert_eq!(MediaKind::from_analytics("video"), None);
    }
}
