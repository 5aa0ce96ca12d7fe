//! `--metrics.include` / `--metrics.exclude`: which queue families are
//! served. A family is served when its name matches the include expression
//! (if given) and not the exclude one; like `--queues.include`, an expression
//! matches anywhere in the name unless anchored (`^…$`). Self-metrics
//! (`genesys_exporter_*`, `genesys_up`, `genesys_api_rate_limit_*`, build
//! info) are never filtered.
//!
//! An excluded family is neither rendered nor asked for: an API metric is
//! requested only while a served family reads it (or when no family reads it
//! at all), and a poll kind none of whose families is served does not run.
//! Pure: built once from the flags.

use regex::Regex;

use super::families::{self, WINDOW_FAMILIES};
use super::metric_support::{families_reading, QueryKind};
use super::state::PollKind;

/// The real-time families, rendered from observations.
const REALTIME_FAMILIES: [&str; 5] = [
    families::AGENTS.name,
    families::ALERTING.name,
    families::INTERACTING.name,
    families::LONGEST_WAITING.name,
    families::WAITING.name,
];

/// The real-time families whose value reads an observation metric.
/// `genesys_queue_longest_waiting_seconds` reads `oWaiting` too: it is 0
/// when nothing waits and Genesys leaves `oLongestWaiting` out.
pub fn observation_readers(metric: &str) -> &'static [&'static str] {
    match metric {
        "oWaiting" => &[families::WAITING.name, families::LONGEST_WAITING.name],
        "oInteracting" => &[families::INTERACTING.name],
        "oAlerting" => &[families::ALERTING.name],
        "oLongestWaiting" => &[families::LONGEST_WAITING.name],
        "oOnQueueUsers" => &[families::AGENTS.name],
        _ => &[],
    }
}

/// The served queue families and the API metrics they need.
#[derive(Debug, Clone, Default)]
pub struct FamilyFilter {
    include: Option<Regex>,
    exclude: Option<Regex>,
    /// Queue families not served, in catalogue order.
    hidden: Vec<&'static str>,
    /// Aggregate metrics no served family reads.
    unread_aggregates: Vec<&'static str>,
    /// Observation metrics no served family reads.
    unread_observations: Vec<&'static str>,
}

impl FamilyFilter {
    /// A filter from the two expressions (`None` = not given).
    pub fn new(include: Option<Regex>, exclude: Option<Regex>) -> FamilyFilter {
        let mut f = FamilyFilter {
            include,
            exclude,
            ..FamilyFilter::default()
        };
        f.hidden = families::queue_families()
            .map(|fam| fam.name)
            .filter(|name| !f.matches(name))
            .collect();
        let unread = |readers: &[&'static str]| {
            !readers.is_empty() && readers.iter().all(|r| f.hidden.contains(r))
        };
        f.unread_aggregates = QueryKind::Aggregates
            .catalogue()
            .iter()
            .copied()
            .filter(|m| unread(&families_reading(m)))
            .collect();
        f.unread_observations = QueryKind::Observations
            .catalogue()
            .iter()
            .copied()
            .filter(|m| unread(observation_readers(m)))
            .collect();
        f
    }

    fn matches(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|re| re.is_match(name))
            && !self.exclude.as_ref().is_some_and(|re| re.is_match(name))
    }

    /// True unless a flag was given.
    pub fn is_everything(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    /// True when the family named `name` is served (self-metrics always are).
    pub fn keeps(&self, name: &str) -> bool {
        !self.hidden.contains(&name)
    }

    /// The queue families not served, in catalogue order.
    pub fn hidden(&self) -> &[&'static str] {
        &self.hidden
    }

    /// The queue families served, in catalogue order.
    pub fn served(&self) -> Vec<&'static str> {
        families::queue_families()
            .map(|f| f.name)
            .filter(|n| self.keeps(n))
            .collect()
    }

    /// True when `metric` of a `kind` query is asked for: some served family
    /// reads it, or no family reads it at all.
    pub fn asks(&self, kind: QueryKind, metric: &str) -> bool {
        let unread = match kind {
            QueryKind::Aggregates => &self.unread_aggregates,
            QueryKind::Observations => &self.unread_observations,
        };
        !unread.contains(&metric)
    }

    /// True when a poll of `kind` has a served family to feed (the queue
    /// list always runs: it is the exported queue set).
    pub fn polls(&self, kind: PollKind) -> bool {
        match kind {
            PollKind::Queues => true,
            PollKind::Aggregates => WINDOW_FAMILIES.iter().any(|f| self.keeps(f.family.name)),
            PollKind::Observations => REALTIME_FAMILIES.iter().any(|n| self.keeps(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: Option<&str>, exclude: Option<&str>) -> FamilyFilter {
        let re = |s: Option<&str>| s.map(|s| Regex::new(s).expect("regex"));
        FamilyFilter::new(re(include), re(exclude))
    }

    /// No flag: everything served and asked for, every poll runs.
    #[test]
    fn everything_by_default() {
        let f = FamilyFilter::new(None, None);
        assert!(f.is_everything());
        assert!(f.hidden().is_empty());
        assert_eq!(f.served().len(), families::queue_families().count());
        for kind in QueryKind::ALL {
            assert!(kind.catalogue().iter().all(|m| f.asks(kind, m)));
        }
        assert!(PollKind::ALL.iter().all(|k| f.polls(*k)));
    }

    /// Excluding the short-abandon family drops the one metric only it reads.
    #[test]
    fn exclude_drops_metrics_only_they_read() {
        let f = filter(None, Some("^genesys_queue_short_abandoned$"));
        assert_eq!(f.hidden(), ["genesys_queue_short_abandoned"]);
        assert!(!f.asks(QueryKind::Aggregates, "tShortAbandon"));
        assert!(f.asks(QueryKind::Aggregates, "nOffered"));
        assert!(f.keeps("genesys_queue_offered"));
        assert!(f.polls(PollKind::Aggregates));
        // Excluding one of several readers keeps the metric.
        let f = filter(None, Some("^genesys_queue_offered$"));
        assert!(
            f.asks(QueryKind::Aggregates, "nOffered"),
            "abandon ratio reads it"
        );
    }

    /// Every real-time family excluded: observations are not polled; the
    /// self-metrics are never hidden.
    #[test]
    fn excluding_all_realtime_stops_observations() {
        let f = filter(
            None,
            Some("^genesys_queue_(waiting|interacting|alerting|longest_waiting_seconds|agents)$"),
        );
        assert!(!f.polls(PollKind::Observations));
        assert!(f.polls(PollKind::Aggregates));
        for m in ["oWaiting", "oAlerting", "oOnQueueUsers", "oLongestWaiting"] {
            assert!(!f.asks(QueryKind::Observations, m), "{m}");
        }
        assert!(
            f.asks(QueryKind::Observations, "oMemberUsers"),
            "read by no family"
        );
        for s in families::SELF_FAMILIES {
            assert!(f.keeps(s.name), "{}", s.name);
        }
    }

    /// Longest waiting reads oWaiting: excluding only the waiting count keeps it.
    #[test]
    fn longest_waiting_keeps_owaiting() {
        let f = filter(None, Some("^genesys_queue_waiting$"));
        assert!(f.asks(QueryKind::Observations, "oWaiting"));
        let f = filter(None, Some("waiting"));
        assert!(!f.asks(QueryKind::Observations, "oWaiting"));
        assert!(!f.asks(QueryKind::Observations, "oLongestWaiting"));
        assert!(f.asks(QueryKind::Observations, "oAlerting"));
    }

    /// An include of real-time families only: no aggregates poll, no window
    /// bounds, and include and exclude combine.
    #[test]
    fn include_then_exclude() {
        let f = filter(
            Some("^genesys_queue_(waiting|agents|info)$"),
            Some("agents"),
        );
        assert_eq!(f.served(), ["genesys_queue_info", "genesys_queue_waiting"]);
        assert!(!f.polls(PollKind::Aggregates));
        assert!(f.polls(PollKind::Observations));
        assert!(!f.keeps("genesys_window_start_timestamp_seconds"));
        assert!(!f.asks(QueryKind::Aggregates, "tTalkComplete"));
        assert!(!f.asks(QueryKind::Aggregates, "nOffered"));
        assert!(
            f.asks(QueryKind::Aggregates, "nOverSla"),
            "read by no family"
        );
        assert!(!f.asks(QueryKind::Observations, "oOnQueueUsers"));
    }

    /// Every observation metric maps to real-time families that exist.
    #[test]
    fn readers_are_real_time_families() {
        for m in QueryKind::Observations.catalogue() {
            for r in observation_readers(m) {
                assert!(REALTIME_FAMILIES.contains(r), "{m} → {r}");
            }
        }
        for name in REALTIME_FAMILIES {
            assert!(
                QueryKind::Observations
                    .catalogue()
                    .iter()
                    .any(|m| observation_readers(m).contains(&name)),
                "{name} reads some metric"
            );
        }
    }
}
