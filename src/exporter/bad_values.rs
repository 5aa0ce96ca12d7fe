//! Bad API data found by a poll: which queue × media type sent what kind of
//! value that cannot be served ([`BadValue`]), counted in
//! `genesys_exporter_bad_api_values_total` and logged once per queue × media
//! type × reason, so a source that keeps sending garbage does not flood the log.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus::IntCounterVec;

use super::state::PollKind;
use crate::kpi::{BadValue, BadValues};

/// At most this many distinct (poll, queue, media type, reason) keys are
/// remembered as logged; past it, new ones are counted but not logged.
const MAX_LOGGED: usize = 10_000;

/// One queue × media type whose answer held bad values in one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadGroup {
    /// Genesys queue id.
    pub queue_id: String,
    /// Analytics media type.
    pub media_type: String,
    /// What was wrong.
    pub reasons: BadValues,
}

/// Counts bad groups per poll and reason, and logs each key once.
#[derive(Debug)]
pub struct BadValueCounter {
    counter: IntCounterVec,
    logged: Mutex<HashSet<(PollKind, String, String, BadValue)>>,
}

impl BadValueCounter {
    /// Wraps the registered `genesys_exporter_bad_api_values_total` vector,
    /// creating a zero series for every poll kind and reason.
    pub fn new(counter: IntCounterVec) -> BadValueCounter {
        for poll in PollKind::ALL {
            for reason in BadValue::ALL {
                counter.with_label_values(&[poll.as_str(), reason.as_str()]);
            }
        }
        BadValueCounter {
            counter,
            logged: Mutex::new(HashSet::new()),
        }
    }

    /// Counts each group once per reason; logs keys not logged before.
    pub fn record(&self, poll: PollKind, groups: &[BadGroup]) {
        for g in groups {
            for reason in g.reasons.iter() {
                self.counter
                    .with_label_values(&[poll.as_str(), reason.as_str()])
                    .inc();
                if self.first_time(poll, g, reason) {
                    tracing::warn!(
                        poll = poll.as_str(),
                        queue_id = %g.queue_id,
                        media_type = %g.media_type,
                        reason = reason.as_str(),
                        "the Genesys API sent values that cannot be served; this queue and \
                         media type's series are left out while it does"
                    );
                }
            }
        }
    }

    fn first_time(&self, poll: PollKind, g: &BadGroup, reason: BadValue) -> bool {
        let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
        let key = (poll, g.queue_id.clone(), g.media_type.clone(), reason);
        if logged.contains(&key) || logged.len() >= MAX_LOGGED {
            return false;
        }
        logged.insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each reason of each group counts once per call, under its poll kind.
    #[test]
    fn counts_per_poll_and_reason() {
        let vec = IntCounterVec::new(prometheus::Opts::new("t_total", "t"), &["poll", "reason"])
            .expect("valid");
        let counter = BadValueCounter::new(vec.clone());
        let mut reasons = BadValues::default();
        reasons.insert(BadValue::Negative);
        reasons.insert(BadValue::Overflow);
        let group = BadGroup {
            queue_id: "q".into(),
            media_type: "voice".into(),
            reasons,
        };
        let groups = [group];
        counter.record(PollKind::Aggregates, &groups);
        counter.record(PollKind::Aggregates, &groups);
        let get = |poll: &str, reason: &str| vec.with_label_values(&[poll, reason]).get();
        assert_eq!(get("aggregates", "negative"), 2);
        assert_eq!(get("aggregates", "overflow"), 2);
        assert_eq!(get("aggregates", "non_finite"), 0);
        assert_eq!(get("observations", "negative"), 0);
        assert_eq!(
            counter.logged.lock().expect("lock").len(),
            2,
            "logged once each"
        );
    }
}
