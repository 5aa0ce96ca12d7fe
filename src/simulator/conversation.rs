//! Conversations and their metric events, stamped at emission time (API notes §2.6).
//!
//! `nOffered` posts at the offer; `tAnswered`, `tAlert`, `nOverSla` at the
//! answer; `tAbandon`/`tShortAbandon`/`tFlowOut`/`tWait`/`tAcd` at the end of
//! the wait; `tTalk`/`tHeld` at the end of each segment; `nTransferred` at the
//! transfer; `tAcw`, `tTalkComplete`, `tHeldComplete` and `tHandle` when
//! after-call work ends.

use super::media::MediaKind;
use super::org::OrgModel;
use super::rng::uuid;
use super::traffic::{ConvCore, Outcome, Stream};

/// The metrics the traffic model emits (a subset of the 82 valid ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Metric {
    NOffered,
    TWait,
    TAcd,
    TAnswered,
    TAlert,
    NConnected,
    NOverSla,
    TAbandon,
    TShortAbandon,
    TFlowOut,
    TTalk,
    THeld,
    NTransferred,
    TAcw,
    TTalkComplete,
    THeldComplete,
    THandle,
}

impl Metric {
    /// Every modelled metric, in discriminant order.
    pub const ALL: [Metric; 17] = [
        Metric::NOffered,
        Metric::TWait,
        Metric::TAcd,
        Metric::TAnswered,
        Metric::TAlert,
        Metric::NConnected,
        Metric::NOverSla,
        Metric::TAbandon,
        Metric::TShortAbandon,
        Metric::TFlowOut,
        Metric::TTalk,
        Metric::THeld,
        Metric::NTransferred,
        Metric::TAcw,
        Metric::TTalkComplete,
        Metric::THeldComplete,
        Metric::THandle,
    ];

    /// Genesys metric name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::NOffered => "nOffered",
            Metric::TWait => "tWait",
            Metric::TAcd => "tAcd",
            Metric::TAnswered => "tAnswered",
            Metric::TAlert => "tAlert",
            Metric::NConnected => "nConnected",
            Metric::NOverSla => "nOverSla",
            Metric::TAbandon => "tAbandon",
            Metric::TShortAbandon => "tShortAbandon",
            Metric::TFlowOut => "tFlowOut",
            Metric::TTalk => "tTalk",
            Metric::THeld => "tHeld",
            Metric::NTransferred => "nTransferred",
            Metric::TAcw => "tAcw",
            Metric::TTalkComplete => "tTalkComplete",
            Metric::THeldComplete => "tHeldComplete",
            Metric::THandle => "tHandle",
        }
    }

    /// Looks a modelled metric up by name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for metrics emitted by an agent's segment (they carry `userId`).
    pub fn has_user(self) -> bool {
        matches!(
            self,
            Metric::TAnswered
                | Metric::TAlert
                | Metric::NConnected
                | Metric::TTalk
                | Metric::THeld
                | Metric::NTransferred
                | Metric::TAcw
                | Metric::TTalkComplete
                | Metric::THeldComplete
                | Metric::THandle
        )
    }

    /// True for metrics emitted when wrap-up ends (they carry `wrapUpCode`).
    pub fn has_wrap_up(self) -> bool {
        matches!(
            self,
            Metric::TAcw | Metric::TTalkComplete | Metric::THeldComplete | Metric::THandle
        )
    }
}

impl ConvCore {
    /// Calls `f(metric, emitted_at_ms, value_ms)` for every event, in time order
    /// (`value_ms` is `None` for n* metrics).
    pub(crate) fn for_each_event(&self, mut f: impl FnMut(Metric, i64, Option<i64>)) {
        f(Metric::NOffered, self.offered, None);
        let (end, wait) = (self.wait_end, self.wait());
        match self.outcome {
            Outcome::Answered => {
                f(Metric::TAlert, end, Some(self.alert));
                f(Metric::TAnswered, end, Some(wait));
                f(Metric::NConnected, end, None);
                if wait > self.sl_ms {
                    f(Metric::NOverSla, end, None);
                }
            }
            Outcome::Abandoned => {
                f(Metric::TAbandon, end, Some(wait));
                if wait < self.short_threshold_ms {
                    f(Metric::TShortAbandon, end, Some(wait));
                }
            }
            Outcome::FlowOut => f(Metric::TFlowOut, end, Some(wait)),
        }
        f(Metric::TWait, end, Some(wait));
        f(Metric::TAcd, end, Some(wait));
        if self.outcome != Outcome::Answered {
            return;
        }
        let mut t = end + self.talk1;
        f(Metric::TTalk, t, Some(self.talk1));
        if self.hold > 0 {
            t += self.hold;
            f(Metric::THeld, t, Some(self.hold));
            t += self.talk2;
            f(Metric::TTalk, t, Some(self.talk2));
        }
        if self.transferred {
            f(Metric::NTransferred, t, None);
        }
        let acw_end = t + self.acw;
        let talk = self.talk1 + self.talk2;
        f(Metric::TAcw, acw_end, Some(self.acw));
        f(Metric::TTalkComplete, acw_end, Some(talk));
        if self.hold > 0 {
            f(Metric::THeldComplete, acw_end, Some(self.hold));
        }
        f(Metric::THandle, acw_end, Some(talk + self.hold + self.acw));
    }
}

/// One metric event of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Genesys metric name (`nOffered`, `tAnswered`, …).
    pub metric: &'static str,
    /// Emission time, epoch ms: the instant the metric posts.
    pub at_ms: i64,
    /// Duration in ms for t* metrics, `None` for n* metrics.
    pub value_ms: Option<i64>,
}

/// One simulated conversation in one queue and media type.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Conversation id (UUID).
    pub id: String,
    /// Queue id.
    pub queue_id: String,
    /// Analytics media type.
    pub media_type: String,
    /// When the interaction entered the queue (epoch ms).
    pub offered_ms: i64,
    /// Answered, abandoned or flowed out.
    pub outcome: Outcome,
    /// When it left the wait (answer, abandon or flow-out), epoch ms.
    pub wait_end_ms: i64,
    /// Alerting time at the agent before the answer (0 unless answered).
    pub alert_ms: i64,
    /// Talk time (all talk segments).
    pub talk_ms: i64,
    /// Hold time (0 when never held).
    pub hold_ms: i64,
    /// After-call work.
    pub acw_ms: i64,
    /// End of talk and hold (start of ACW); equals `wait_end_ms` unless answered.
    pub talk_end_ms: i64,
    /// End of after-call work; equals `wait_end_ms` unless answered.
    pub acw_end_ms: i64,
    /// Whether the agent transferred it onwards.
    pub transferred: bool,
    /// Answering agent's user id.
    pub user_id: Option<String>,
    /// Wrap-up code id chosen by the agent.
    pub wrap_up_code: Option<String>,
    core: ConvCore,
}

impl Conversation {
    /// Every metric event of the conversation, in time order.
    pub fn events(&self) -> Vec<Event> {
        let mut out = Vec::with_capacity(16);
        self.core.for_each_event(|m, at, v| {
            out.push(Event {
                metric: m.name(),
                at_ms: at,
                value_ms: v,
            })
        });
        out
    }

    pub(crate) fn from_core(org: &OrgModel, s: &Stream<'_>, c: &ConvCore) -> Conversation {
        let answered = c.outcome == Outcome::Answered;
        Conversation {
            id: uuid(&s.conversation_key(c.slot, c.k)),
            queue_id: s.queue.id.clone(),
            media_type: s.media.kind.analytics_name().to_string(),
            offered_ms: c.offered,
            outcome: c.outcome,
            wait_end_ms: c.wait_end,
            alert_ms: c.alert,
            talk_ms: c.talk1 + c.talk2,
            hold_ms: c.hold,
            acw_ms: c.acw,
            talk_end_ms: if answered { c.talk_end() } else { c.wait_end },
            acw_end_ms: c.last_event(),
            transferred: c.transferred,
            user_id: answered.then(|| org.user_id(s.queue.index, c.agent)),
            wrap_up_code: answered.then(|| org.wrap_up_id(c.wrap_up)),
            core: *c,
        }
    }
}

impl OrgModel {
    /// The stream of one active queue × media type, if the queue serves it.
    pub(crate) fn stream(&self, queue_id: &str, media_type: &str) -> Option<Stream<'_>> {
        let queue = &self.queues[self.active_index(queue_id)?];
        let kind = MediaKind::from_analytics(media_type)?;
        let media = queue.media.iter().find(|m| m.kind == kind)?;
        Some(Stream {
            org: self,
            queue,
            media,
        })
    }

    /// Every conversation of that queue × media type with at least one event
    /// emitted in `[from_ms, to_ms)`, ordered by offer time. Empty for unknown,
    /// removed or unserved combinations.
    pub fn conversations(
        &self,
        queue_id: &str,
        media_type: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Vec<Conversation> {
        let Some(s) = self.stream(queue_id, media_type) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        s.for_each(from_ms, to_ms, |c| {
            out.push(Conversation::from_core(self, &s, c))
        });
        out.sort_by_key(|c| (c.offered_ms, c.id.clone()));
        out
    }
}
