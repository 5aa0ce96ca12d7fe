//! The traffic model: when interactions arrive and what happens to each one.
//!
//! Time is cut into one-minute arrival slots per queue × media type. The number
//! of arrivals in a slot is a Poisson draw (keyed by seed, queue, media, slot)
//! whose mean is the queue's peak rate × the daily profile (`profile`). Each arrival's fate
//! (wait, outcome, alert, talk, hold, ACW, transfer, agent, wrap-up) is drawn
//! from its own keyed stream. A conversation lives at most [`MAX_LIFETIME_MS`],
//! so a query over `[a, b)` only scans slots from `a − MAX_LIFETIME_MS` to `b`.

use super::org::{MediaDef, OrgModel, QueueDef, WRAP_UPS};
use super::rng::{key, key_extend, Rng};

/// Width of an arrival slot.
pub const SLOT_MS: i64 = 60_000;
/// Longest possible conversation, from offer to the end of after-call work.
pub const MAX_LIFETIME_MS: i64 = 2 * 3_600_000;
/// Longest talk + hold.
const MAX_TALK_MS: i64 = 35 * 60_000;
/// Longest after-call work.
const MAX_ACW_MS: i64 = 5 * 60_000;

/// How an interaction left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// An agent answered it.
    Answered,
    /// The customer hung up or left while waiting.
    Abandoned,
    /// It left the queue unanswered (overflow, timeout, transfer to another flow).
    FlowOut,
}

/// The numeric core of one conversation (no strings, cheap to generate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvCore {
    pub slot: i64,
    pub k: u32,
    pub offered: i64,
    /// Answer, abandon or flow-out instant.
    pub wait_end: i64,
    pub outcome: Outcome,
    /// Alerting time (the last part of the wait) for answered interactions.
    pub alert: i64,
    pub talk1: i64,
    pub hold: i64,
    pub talk2: i64,
    pub acw: i64,
    pub transferred: bool,
    pub agent: u32,
    pub wrap_up: u8,
    pub sl_ms: i64,
    pub short_threshold_ms: i64,
}

impl ConvCore {
    /// Time spent in queue (tWait, tAnswered, tAbandon or tFlowOut value).
    pub fn wait(&self) -> i64 {
        self.wait_end - self.offered
    }

    /// End of talk and hold (start of ACW), answered interactions only.
    pub fn talk_end(&self) -> i64 {
        self.wait_end + self.talk1 + self.hold + self.talk2
    }

    /// Instant of the conversation's last event.
    pub fn last_event(&self) -> i64 {
        match self.outcome {
            Outcome::Answered => self.talk_end() + self.acw,
            _ => self.wait_end,
        }
    }
}

/// The hashed constant parts of a stream's keys.
#[derive(Debug, Clone, Copy)]
struct StreamKeys {
    arrivals: u64,
    conversations: u64,
}

/// Everything needed to generate one queue × media type's traffic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream<'a> {
    pub org: &'a OrgModel,
    pub queue: &'a QueueDef,
    pub media: &'a MediaDef,
}

impl<'a> Stream<'a> {
    /// Calls `f` for every conversation of this stream with at least one event
    /// in `[from_ms, to_ms)` (offered before `to_ms`, last event at or after `from_ms`).
    pub fn for_each(&self, from_ms: i64, to_ms: i64, mut f: impl FnMut(&ConvCore)) {
        if to_ms <= from_ms {
            return;
        }
        let first = (from_ms - self.lifetime_ms()).div_euclid(SLOT_MS);
        let last = (to_ms - 1).div_euclid(SLOT_MS);
        let keys = self.keys();
        for slot in first..=last {
            let n = self.arrivals_keyed(keys, slot);
            for k in 0..n {
                match self.generate_keyed(keys, slot, k, from_ms) {
                    Some(c) if c.offered < to_ms && c.last_event() >= from_ms => f(&c),
                    _ => {}
                }
            }
        }
    }

    /// Calls `f(at, n)` for the offers of this stream in `[from_ms, to_ms)`:
    /// once per arrival slot lying inside `[from_ms, to_ms)` for which `whole`
    /// says its offers all count alike (`at` = the slot start, `n` = its
    /// arrivals, no conversation generated), else once per offer (`n` = 1).
    /// The same offers, at the same instants, as [`Stream::for_each`] gives.
    pub fn for_each_offer(
        &self,
        from_ms: i64,
        to_ms: i64,
        whole: impl Fn(i64, i64) -> bool,
        mut f: impl FnMut(i64, u32),
    ) {
        if to_ms <= from_ms {
            return;
        }
        let keys = self.keys();
        for slot in from_ms.div_euclid(SLOT_MS)..=(to_ms - 1).div_euclid(SLOT_MS) {
            let n = self.arrivals_keyed(keys, slot);
            if n == 0 {
                continue;
            }
            let (a, b) = (slot * SLOT_MS, (slot + 1) * SLOT_MS);
            if from_ms <= a && b <= to_ms && whole(a, b) {
                f(a, n);
                continue;
            }
            for k in 0..n {
                if let Some(c) = self.generate_keyed(keys, slot, k, i64::MIN) {
                    if from_ms <= c.offered && c.offered < to_ms {
                        f(c.offered, 1);
                    }
                }
            }
        }
    }

    /// Longest possible life of a conversation of this media type (≤ [`MAX_LIFETIME_MS`]).
    pub fn lifetime_ms(&self) -> i64 {
        self.media.kind.profile().max_wait_ms + MAX_TALK_MS + MAX_ACW_MS
    }

    /// The hashed constant parts of this stream's arrival and conversation
    /// keys (see [`key_extend`]).
    fn keys(&self) -> StreamKeys {
        let (seed, queue, media) = (self.org.seed, self.queue.index, self.media.kind.index());
        StreamKeys {
            arrivals: key(&[seed, 0xA7, queue, media]),
            conversations: key(&[seed, 0xC0, queue, media]),
        }
    }

    /// Number of arrivals in a slot.
    #[cfg(test)]
    fn arrivals(&self, slot: i64) -> u32 {
        self.arrivals_keyed(self.keys(), slot)
    }

    fn arrivals_keyed(&self, keys: StreamKeys, slot: i64) -> u32 {
        let lambda = self.media.rate_peak
            * self.org.traffic_profile.level(slot * SLOT_MS + SLOT_MS / 2)
            * self.org.traffic_scale;
        Rng::from_key(key_extend(keys.arrivals, &[slot as u64])).poisson(lambda)
    }

    /// Generates arrival `k` of `slot`, or stops early (`None`) once it is
    /// certain that its last event comes before `not_before`. The random draws
    /// happen in the same order either way, so values never depend on it.
    #[cfg(test)]
    fn generate(&self, slot: i64, k: u32, not_before: i64) -> Option<ConvCore> {
        self.generate_keyed(self.keys(), slot, k, not_before)
    }

    /// [`Stream::generate`] with the stream's keys hashed already.
    fn generate_keyed(
        &self,
        keys: StreamKeys,
        slot: i64,
        k: u32,
        not_before: i64,
    ) -> Option<ConvCore> {
        let p = self.media.kind.profile();
        let max_wait = p.max_wait_ms;
        let mut rng = Rng::from_key(key_extend(keys.conversations, &[slot as u64, u64::from(k)]));
        let offered = slot * SLOT_MS + rng.range(0, SLOT_MS - 1);
        let load = 0.6 + 0.8 * self.org.traffic_profile.level(offered);
        let service = (rng.exp(p.service_mean * self.media.pressure * load).round() as i64)
            .max(p.alert.0 / 2 + 500);
        let patience = p
            .patience_mean
            .map(|m| (rng.exp(m).round() as i64).max(500))
            .unwrap_or(i64::MAX);
        // Overflow: a share of interactions is routed out of the queue after a
        // while unless the customer gives up first.
        let flow = if rng.chance(p.flow_share) {
            rng.range(10_000, 180_000).min(service - 1)
        } else {
            max_wait
        };
        let alert = rng.range(p.alert.0, p.alert.1).min(service - 250);
        let (wait, outcome) = if service <= patience && service < flow && service <= max_wait {
            (service, Outcome::Answered)
        } else if patience <= flow && patience <= max_wait {
            (patience, Outcome::Abandoned)
        } else {
            (flow.min(max_wait), Outcome::FlowOut)
        };
        let answered = outcome == Outcome::Answered;
        let horizon = if answered {
            MAX_TALK_MS + MAX_ACW_MS
        } else {
            0
        };
        if offered + wait + horizon < not_before {
            return None;
        }
        let mut talk = rng.duration_ms(p.talk_mean, 15_000, MAX_TALK_MS);
        let hold = if rng.chance(p.hold_share) {
            rng.duration_ms(p.hold_mean, 5_000, 10 * 60_000)
        } else {
            0
        };
        talk = talk.min(MAX_TALK_MS - hold);
        let split = if hold > 0 {
            (talk as f64 * (0.2 + 0.6 * rng.unit())) as i64
        } else {
            talk
        };
        Some(ConvCore {
            slot,
            k,
            offered,
            wait_end: offered + wait,
            outcome,
            alert: if answered { alert } else { 0 },
            talk1: if answered { split } else { 0 },
            hold: if answered { hold } else { 0 },
            talk2: if answered { talk - split } else { 0 },
            acw: if answered {
                rng.duration_ms(p.acw_mean, 2_000, MAX_ACW_MS)
            } else {
                0
            },
            transferred: answered && rng.chance(p.transfer_share),
            agent: (rng.next_u64() % u64::from(self.queue.members.max(1))) as u32,
            wrap_up: (rng.next_u64() % u64::from(WRAP_UPS)) as u8,
            sl_ms: self.media.sl_duration_ms,
            short_threshold_ms: self.org.sl.short_abandon_threshold_ms,
        })
    }

    /// Random key of arrival `k` of `slot` (also the conversation id's key).
    pub fn conversation_key(&self, slot: i64, k: u32) -> [u64; 6] {
        [
            self.org.seed,
            0xC0,
            self.queue.index,
            self.media.kind.index(),
            slot as u64,
            u64::from(k),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::config::SimConfig;

    /// Offers counted by whole slots equal the offers of every conversation.
    #[test]
    fn offers_by_slot_match_conversations() {
        let org = OrgModel::new(&SimConfig::default());
        let (from, to) = (
            1_741_737_600_000 + 17_345,
            1_741_737_600_000 + 9 * 3_600_000 - 999,
        );
        for q in org.queues.iter().take(4) {
            for m in &q.media {
                let s = Stream {
                    org: &org,
                    queue: q,
                    media: m,
                };
                let mut want = Vec::new();
                s.for_each(from, to, |c| {
                    if c.offered >= from && c.offered < to {
                        want.push(c.offered.div_euclid(3_600_000));
                    }
                });
                let mut got = Vec::new();
                let hour =
                    |a: i64, b: i64| a.div_euclid(3_600_000) == (b - 1).div_euclid(3_600_000);
                s.for_each_offer(from, to, hour, |at, n| {
                    got.extend(std::iter::repeat_n(at.div_euclid(3_600_000), n as usize));
                });
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, want);
            }
        }
    }

    /// Keys hashed from the stream's prefix equal the full keys.
    #[test]
    fn keyed_draws_match_full_keys() {
        let org = OrgModel::new(&SimConfig::default());
        let (q, m) = (&org.queues[3], &org.queues[3].media[0]);
        let s = Stream {
            org: &org,
            queue: q,
            media: m,
        };
        let keys = s.keys();
        for slot in [0_i64, 29_000_017] {
            let full = [org.seed, 0xA7, q.index, m.kind.index(), slot as u64];
            assert_eq!(key_extend(keys.arrivals, &[slot as u64]), key(&full));
            let conv = s.conversation_key(slot, 2);
            assert_eq!(
                key_extend(keys.conversations, &[slot as u64, 2]),
                key(&conv)
            );
        }
    }

    /// Lifetimes never exceed the cap, so slot scanning cannot miss events.
    #[test]
    fn lifetimes_are_capped() {
        let org = OrgModel::new(&SimConfig::default());
        for q in &org.queues {
            for m in &q.media {
                let s = Stream {
                    org: &org,
                    queue: q,
                    media: m,
                };
                for slot in 29_000_000..29_000_000 + 240 {
                    for k in 0..s.arrivals(slot) {
                        let c = s.generate(slot, k, i64::MIN).expect("no cut-off");
                        assert!(c.last_event() - c.offered <= s.lifetime_ms());
                        assert!(c.last_event() - c.offered <= MAX_LIFETIME_MS);
                        assert!(c.wait() > 0 && c.alert < c.wait());
                    }
                }
            }
        }
    }
}
