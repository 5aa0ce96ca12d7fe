//! Org-wide aggregates: when the exported queues are more than one chunk of
//! `--api.chunk-size`, each aggregates query (the window queries and the
//! served-media lookback) is one request without a queue filter, grouped by
//! `queueId` × `mediaType`, instead of `ceil(queues / chunk size)` filtered
//! requests ([`QueryScope::for_queues`]).
//!
//! Genesys's limit on the size of a synchronous aggregates answer is unknown
//! (API notes §2.7). When an org-wide request is refused — a 400, or an answer
//! larger than `--api.max-response-bytes` — the same poll is run again in
//! chunked filters, and queries stay chunked until the next queue-list
//! refresh, which tries org-wide again ([`OrgWide::retry`]): at most one
//! refused request per query per refresh (10 minutes by default). The first
//! fallback is logged at warning level, later ones at debug level; every one
//! is counted in `genesys_exporter_aggregates_fallbacks_total`.
//!
//! [`is_refusal`] is the pure rule; [`OrgWide`] keeps the state.

use std::sync::atomic::{AtomicBool, Ordering};

use super::window::QueryPlan;
use crate::genesys::{Error, QueryScope};

/// True when `err`, the answer to an org-wide query, means the org will not
/// answer it whole: an answer over the size limit, or any 400 (callers first
/// rule out refusals of a metric or a granularity, which chunks would meet too).
pub fn is_refusal(err: &Error) -> bool {
    matches!(
        err,
        Error::TooLarge { .. } | Error::Rejected { status: 400, .. }
    )
}

/// The scope a failed `plan` asked in: `scope` when some query of it went
/// org-wide, else its chunked form (every query was longer than an org-wide
/// query may be), so a refusal of chunks is never taken for an org-wide one.
pub fn asked_scope(plan: &QueryPlan, scope: &QueryScope) -> QueryScope {
    if plan.queries.iter().any(|q| q.request.scope.is_org_wide()) {
        scope.clone()
    } else {
        scope.chunked()
    }
}

/// Whether aggregates queries may go org-wide now. Shared by every poll.
#[derive(Debug, Default)]
pub struct OrgWide {
    /// An org-wide request was refused since the last queue-list refresh.
    refused: AtomicBool,
    /// The first fallback was logged.
    logged: AtomicBool,
}

/// What [`OrgWide::refused`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Not an org-wide refusal: the error stands.
    No,
    /// Fall back to chunks; the first fallback of the process.
    First,
    /// Fall back to chunks again.
    Again,
}

impl OrgWide {
    /// The scope of a query of `queue_ids` when one query carries at most
    /// `chunk_size` ids: org-wide for more than one chunk, unless an
    /// org-wide request was refused since the last queue-list refresh.
    pub fn scope(&self, queue_ids: &[String], chunk_size: usize) -> QueryScope {
        let scope = QueryScope::for_queues(queue_ids, chunk_size);
        if self.refused.load(Ordering::Relaxed) {
            scope.chunked()
        } else {
            scope
        }
    }

    /// A queue-list refresh: org-wide queries are tried again.
    pub fn retry(&self) {
        self.refused.store(false, Ordering::Relaxed);
    }

    /// Whether `err`, the answer to a query asked in `scope`, makes queries
    /// fall back to chunks until the next refresh.
    pub fn refused(&self, scope: &QueryScope, err: &Error) -> Fallback {
        if !scope.is_org_wide() || !is_refusal(err) {
            return Fallback::No;
        }
        self.refused.store(true, Ordering::Relaxed);
        if self.logged.swap(true, Ordering::Relaxed) {
            Fallback::Again
        } else {
            Fallback::First
        }
    }

    /// True when the last org-wide request was refused and no queue-list
    /// refresh has happened since.
    pub fn is_refused(&self) -> bool {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::served_media::LOOKBACK_MS;
    use crate::genesys::{ApiDetail, Endpoint};

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i}")).collect()
    }

    fn rejected(status: u16) -> Error {
        Error::Rejected {
            endpoint: Endpoint::Aggregates,
            status,
            detail: ApiDetail::default(),
        }
    }

    /// A 400 and an oversized answer are refusals; other failures are not.
    #[test]
    fn refusals() {
        assert!(is_refusal(&rejected(400)));
        assert!(is_refusal(&Error::TooLarge {
            endpoint: Endpoint::Aggregates,
            limit: 1024,
        }));
        assert!(!is_refusal(&rejected(404)));
        assert!(!is_refusal(&Error::Server {
            endpoint: Endpoint::Aggregates,
            status: 503,
            detail: ApiDetail::default(),
        }));
    }

    /// A refusal turns org-wide queries into chunks until the next refresh;
    /// only the first fallback is the first; filtered queries never fall back.
    #[test]
    fn fallback_until_the_next_refresh() {
        let o = OrgWide::default();
        assert!(o.scope(&ids(101), 100).is_org_wide());
        assert_eq!(o.scope(&ids(3), 100), QueryScope::Queues(ids(3)));
        let narrow = QueryScope::Queues(ids(3));
        assert_eq!(o.refused(&narrow, &rejected(400)), Fallback::No);
        let wide = o.scope(&ids(101), 100);
        assert_eq!(o.refused(&wide, &rejected(503)), Fallback::No);
        assert!(!o.is_refused());
        assert_eq!(o.refused(&wide, &rejected(400)), Fallback::First);
        assert!(o.is_refused());
        assert_eq!(o.scope(&ids(101), 100), QueryScope::Queues(ids(101)));
        o.retry();
        assert!(o.scope(&ids(101), 100).is_org_wide());
        assert_eq!(o.refused(&wide, &rejected(400)), Fallback::Again);
    }

    /// A plan whose every query is too long to go org-wide asked in chunks.
    #[test]
    fn asked_scope_follows_the_plan() {
        use crate::exporter::window::{WindowKind, WindowSet, WindowSpec};
        use std::time::Duration;
        let set = |days: u64| {
            let spec = WindowSpec {
                label: format!("{days}d"),
                kind: WindowKind::Rolling(Duration::from_secs(days * 86_400)),
            };
            let minute = Duration::from_secs(60);
            WindowSet::new(vec![spec], minute, minute, jiff::tz::TimeZone::UTC)
        };
        let wide = QueryScope::for_queues(&ids(3), 2);
        let now = 1_741_784_700_000;
        let short = set(1).plan(now, &wide, &[]);
        assert_eq!(asked_scope(&short, &wide), wide);
        let long = set(8).plan(now, &wide, &[]);
        assert_eq!(asked_scope(&long, &wide), QueryScope::Queues(ids(3)));
    }

    /// The served-media lookback fits the interval of an unfiltered query.
    #[test]
    fn lookback_fits_an_org_wide_query() {
        let wide = QueryScope::for_queues(&ids(2), 1);
        assert!(wide.for_interval(LOOKBACK_MS).is_org_wide());
    }
}
