//! `GET /api/v2/routing/queues`: every page, following `nextUri` only when it
//! leads to the same endpoint on the API base's own origin (a relative path or
//! an absolute URL), else paging by `pageNumber + 1` up to `pageCount` so that
//! no other host is ever contacted; and conversion of queue entities to
//! [`Queue`] (with `call` → `voice` for service levels), with broken or
//! control characters in names replaced by U+FFFD.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use reqwest::{Method, Url};
use serde::Deserialize;

use super::client::Client;
use super::endpoint::Endpoint;
use super::error::{clean_text, Error, PagingStop};
use super::lenient;
use super::model::{QueueEntity, QueueListing};
use super::query;

/// Hard bound on pages per listing (a million queues at 100 per page).
const MAX_PAGES: usize = 10_000;

/// A routing queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Queue id.
    pub id: String,
    /// Queue name.
    pub name: String,
    /// Division id (empty when not reported).
    pub division_id: String,
    /// Division name (empty when not reported).
    pub division_name: String,
    /// `memberCount`.
    pub member_count: Option<u64>,
    /// Configured media types, sorted by analytics name.
    pub media: Vec<QueueMedia>,
}

/// A queue's configuration for one media type.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueMedia {
    /// Analytics media name (`mediaSettings.call` becomes `voice`).
    pub media_type: String,
    /// Service-level target, 0–1.
    pub service_level_target: Option<f64>,
    /// Service-level threshold in milliseconds.
    pub service_level_threshold_ms: Option<u64>,
}

/// The analytics media name for a `mediaSettings` key.
pub fn analytics_media_name(settings_key: &str) -> String {
    match settings_key {
        "call" => String::from("voice"),
        other => other.to_string(),
    }
}

/// Converts a listed queue; entities without an id are dropped. Control
/// characters in the queue and division names become U+FFFD (see
/// [`lenient`]), so every consumer sees the same repaired name.
pub fn queue_from_entity(entity: QueueEntity) -> Option<Queue> {
    let id = entity.id.filter(|id| !id.is_empty())?;
    let division = entity.division.unwrap_or_default();
    let mut media: Vec<QueueMedia> = entity
        .media_settings
        .into_iter()
        .map(|(key, setting)| {
            let sl = setting.and_then(|s| s.service_level).unwrap_or_default();
            QueueMedia {
                media_type: analytics_media_name(&key),
                service_level_target: sl
                    .percentage
                    .filter(|p| p.is_finite() && (0.0..=1.0).contains(p)),
                service_level_threshold_ms: sl
                    .duration_ms
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .map(|d| d.round() as u64),
            }
        })
        .collect();
    media.sort_by(|a, b| a.media_type.cmp(&b.media_type));
    Some(Queue {
        name: lenient::clean_name(entity.name.unwrap_or_else(|| id.clone())),
        id,
        division_id: division.id.unwrap_or_default(),
        division_name: lenient::clean_name(division.name.unwrap_or_default()),
        member_count: entity
            .member_count
            .filter(|c| c.is_finite() && *c >= 0.0)
            .map(|c| c.round() as u64),
        media,
    })
}

impl Client {
    /// Logs, once per queue id for the life of the client, that a queue's
    /// name was repaired.
    fn warn_repaired_once(&self, queue: &Queue) {
        let mut warned = self
            .inner
            .repaired_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if warned.insert(queue.id.clone()) {
            tracing::warn!(
                queue_id = %queue.id,
                name = %queue.name,
                "queue name held invalid UTF-8, a lone surrogate or control characters; \
                 exported with U+FFFD in their place"
            );
        }
    }
}

/// A listing page with its paging counters (numbers, tolerant of `2.0`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingPage {
    #[serde(flatten)]
    listing: QueueListing,
    #[serde(default)]
    page_number: Option<f64>,
    #[serde(default)]
    page_count: Option<f64>,
}

/// A paging counter as a page number (whole, ≥ 1), if it is one.
fn page_counter(value: Option<f64>) -> Option<u64> {
    value
        .filter(|v| v.is_finite() && *v >= 1.0 && v.fract() == 0.0 && *v <= 1e9)
        .map(|v| v as u64)
}

/// Resolves a `nextUri` against the API base. Accepted: a relative path to
/// the queue listing itself, or an absolute URL to it on the API base's own
/// origin (scheme, host, port) without credentials. Refused: any other host,
/// a protocol-relative `//host` link, another path.
pub fn resolve_next_uri(api_base: &str, next: &str) -> Result<Url, Error> {
    let refuse = || Error::UnsafeNextUri {
        uri: clean_text(next, 120),
    };
    if next
        .chars()
        .any(|c| c.is_control() || c == '\\' || c == '#')
    {
        return Err(refuse());
    }
    let base = Url::parse(api_base).map_err(|_| refuse())?;
    let listing = format!(
        "{}{}",
        base.path().trim_end_matches('/'),
        Endpoint::Queues.path()
    );
    let url = if next.starts_with('/') && !next.starts_with("//") {
        let is_listing = next
            .strip_prefix(Endpoint::Queues.path())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'));
        if !is_listing {
            return Err(refuse());
        }
        Url::parse(&format!("{api_base}{next}")).map_err(|_| refuse())?
    } else {
        let url = Url::parse(next).map_err(|_| refuse())?;
        let is_listing = url
            .as_str()
            .strip_prefix(base.origin().ascii_serialization().as_str())
            .and_then(|rest| rest.strip_prefix(listing.as_str()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'));
        if !is_listing || !url.username().is_empty() || url.password().is_some() {
            return Err(refuse());
        }
        url
    };
    if url.origin() != base.origin() || url.path() != listing {
        return Err(refuse());
    }
    Ok(url)
}

/// The listing URL `first` with its `pageNumber` set to `page`.
fn numbered_page(first: &Url, page: u64) -> Url {
    let mut url = first.clone();
    let pairs: Vec<(String, String)> = first
        .query_pairs()
        .filter(|(k, _)| k != "pageNumber")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        q.append_pair("pageNumber", &page.to_string());
    }
    url
}

impl Client {
    /// Lists every queue visible to the OAuth client (all pages), optionally
    /// limited to some divisions. Costs `max(1, ceil(queues / page_size))` requests.
    ///
    /// Each next page is the page's `nextUri` when [`resolve_next_uri`]
    /// accepts it; otherwise (absent, or off the API base: logged once, never
    /// contacted) `pageNumber + 1` while it is at most `pageCount`.
    pub async fn queues(&self, division_ids: &[String]) -> Result<Vec<Queue>, Error> {
        let inner = &self.inner;
        let first = query::queues_url(&inner.api_base, inner.config.page_size, division_ids)
            .ok_or_else(|| Error::Config(String::from("invalid API base URL")))?;
        let mut url = first.clone();
        let mut page_number = 1u64;
        let mut seen_urls = HashSet::new();
        let mut seen_ids = HashSet::new();
        let mut queues = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: ListingPage = inner
                .call_json(Endpoint::Queues, Method::GET, url.clone(), None)
                .await?;
            let count = page.listing.entities.len();
            for queue in page
                .listing
                .entities
                .into_iter()
                .filter_map(queue_from_entity)
            {
                if queue.name.contains(lenient::REPLACEMENT) {
                    self.warn_repaired_once(&queue);
                }
                if seen_ids.insert(queue.id.clone()) {
                    queues.push(queue);
                }
            }
            if count == 0 {
                return Ok(queues);
            }
            let current = page_counter(page.page_number).unwrap_or(page_number);
            let page_count = page_counter(page.page_count);
            let by_number = page_count
                .filter(|&last| current < last)
                .map(|_| numbered_page(&first, current + 1));
            let linked = match page.listing.next_uri.filter(|n| !n.is_empty()) {
                None => None,
                Some(next) => match resolve_next_uri(&inner.api_base, &next) {
                    Ok(link) => Some(link),
                    Err(_) if page_count.is_some() => {
                        if !inner.paging_logged.swap(true, Ordering::Relaxed) {
                            tracing::warn!(
                                next_uri = %clean_text(&next, 120),
                                "the queue list's nextUri is not on the API base; it is never \
                                 contacted, and paging goes by pageNumber up to pageCount instead"
                            );
                        }
                        None
                    }
                    Err(refused) => return Err(refused),
                },
            };
            let Some(next_url) = linked.or(by_number) else {
                return Ok(queues);
            };
            page_number = current + 1;
            seen_urls.insert(url.to_string());
            url = next_url;
            if seen_urls.contains(url.as_str()) {
                return Err(Error::Paging {
                    endpoint: Endpoint::Queues,
                    cause: PagingStop::Loop,
                });
            }
        }
        Err(Error::Paging {
            endpoint: Endpoint::Queues,
            cause: PagingStop::TooManyPages(MAX_PAGES),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "entities": [
        {"id": "3b3c5b1e-0000-4000-8000-000000000001", "name": "Support_EN",
         "division": {"id": "083286ea-a25a-4d65-b21c-91e1702bf962", "name": "Home",
                      "selfUri": "/api/v2/authorization/divisions/083286ea-a25a-4d65-b21c-91e1702bf962"},
         "memberCount": 16, "userMemberCount": 16, "joinedMemberCount": 12,
         "mediaSettings": {"call": {"alertingTimeoutSeconds": 8,
                                    "serviceLevel": {"percentage": 0.8, "durationMs": 20000}},
                           "chat": {"alertingTimeoutSeconds": 30,
                                    "serviceLevel": {"percentage": 0.8, "durationMs": 20000}}},
         "selfUri": "/api/v2/routing/queues/3b3c5b1e-0000-4000-8000-000000000001"}
      ],
      "pageSize": 25, "pageNumber": 1, "total": 157, "pageCount": 7,
      "firstUri": "/api/v2/routing/queues?pageSize=25&pageNumber=1",
      "selfUri": "/api/v2/routing/queues?pageSize=25&pageNumber=1",
      "nextUri": "/api/v2/routing/queues?pageSize=25&pageNumber=2",
      "lastUri": "/api/v2/routing/queues?pageSize=25&pageNumber=7"
    }"#;

    /// The documented listing converts with division, members and `call` as `voice`.
    #[test]
    fn documented_listing_converts() {
        let page: QueueListing = serde_json::from_str(EXAMPLE).expect("parses");
        assert_eq!(
            page.next_uri.as_deref(),
            Some("/api/v2/routing/queues?pageSize=25&pageNumber=2")
        );
        let q = page
            .entities
            .into_iter()
            .find_map(queue_from_entity)
            .expect("queue");
        assert_eq!(q.name, "Support_EN");
        assert_eq!(q.division_name, "Home");
        assert_eq!(q.member_count, Some(16));
        let media: Vec<_> = q.media.iter().map(|m| m.media_type.as_str()).collect();
        assert_eq!(media, ["chat", "voice"]);
        assert_eq!(q.media[1].service_level_target, Some(0.8));
        assert_eq!(q.media[1].service_level_threshold_ms, Some(20_000));
    }

    /// Entities without an id are dropped; out-of-range targets are ignored.
    #[test]
    fn odd_entities() {
        assert!(queue_from_entity(QueueEntity::default()).is_none());
        let e: QueueEntity = serde_json::from_str(
            r#"{"id":"x","mediaSettings":{"email":{"serviceLevel":{"percentage":80,"durationMs":-1}},"chat":null}}"#,
        )
        .expect("parses");
        let q = queue_from_entity(e).expect("queue");
        assert_eq!(q.name, "x");
        assert_eq!(q.media.len(), 2);
        assert!(q.media.iter().all(|m| m.service_level_target.is_none()));
        assert!(q
            .media
            .iter()
            .all(|m| m.service_level_threshold_ms.is_none()));
    }

    /// Relative listing links resolve on the API host; anything else is refused.
    #[test]
    fn next_uri_rules() {
        let base = "http://127.0.0.1:8080";
        let ok = resolve_next_uri(base, "/api/v2/routing/queues?pageSize=25&pageNumber=2")
            .expect("relative");
        assert_eq!(
            ok.as_str(),
            "http://127.0.0.1:8080/api/v2/routing/queues?pageSize=25&pageNumber=2"
        );
        let prefixed = resolve_next_uri("https://proxy.test/genesys", "/api/v2/routing/queues?p=2")
            .expect("prefix");
        assert_eq!(
            prefixed.as_str(),
            "https://proxy.test/genesys/api/v2/routing/queues?p=2"
        );
        let absolute = resolve_next_uri(
            base,
            "http://127.0.0.1:8080/api/v2/routing/queues?pageSize=25&pageNumber=2",
        )
        .expect("absolute on the API origin");
        assert_eq!(absolute, ok);
        let prefixed_absolute = resolve_next_uri(
            "https://proxy.test/genesys",
            "https://proxy.test/genesys/api/v2/routing/queues?p=2",
        )
        .expect("absolute under the base path");
        assert_eq!(prefixed_absolute, prefixed);
        for hostile in [
            "https://evil.test/api/v2/routing/queues?pageNumber=2",
            "https://127.0.0.1:8080/api/v2/routing/queues?pageNumber=2",
            "http://127.0.0.1:8081/api/v2/routing/queues?pageNumber=2",
            "http://localhost:8080/api/v2/routing/queues?pageNumber=2",
            "http://user:pw@127.0.0.1:8080/api/v2/routing/queues?pageNumber=2",
            "http://127.0.0.1:8080/api/v2/users?pageNumber=2",
            "http://127.0.0.1:8080/api/v2/routing/queues/../../users",
            "//evil.test/api/v2/routing/queues",
            "/api/v2/users?pageNumber=2",
            "/api/v2/routing/queuesX",
            "/api/v2/routing/queues/../../users",
            "/api/v2/routing/queues@evil.test",
            "api/v2/routing/queues?pageNumber=2",
            "/api/v2/routing/queues?\npageNumber=2",
        ] {
            let err = resolve_next_uri(base, hostile).expect_err(hostile);
            assert!(matches!(err, Error::UnsafeNextUri { .. }), "{err}");
        }
        let outside = resolve_next_uri(
            "https://proxy.test/genesys",
            "https://proxy.test/api/v2/routing/queues?p=2",
        );
        assert!(outside.is_err(), "a link outside the base path is refused");
    }

    /// Numbered pages keep every other parameter and replace `pageNumber`.
    #[test]
    fn numbered_pages() {
        let first = query::queues_url("http://127.0.0.1:1", 25, &["d 1".into()]).expect("url");
        let third = numbered_page(&first, 3);
        let pairs: Vec<(String, String)> = third
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("pageSize".to_string(), "25".to_string()),
                ("divisionId".to_string(), "d 1".to_string()),
                ("pageNumber".to_string(), "3".to_string()),
            ]
        );
        assert_eq!(page_counter(Some(2.0)), Some(2));
        for odd in [None, Some(0.0), Some(1.5), Some(-1.0), Some(f64::NAN)] {
            assert_eq!(page_counter(odd), None);
        }
    }

    /// A page's counters are read beside the listing fields.
    #[test]
    fn listing_page_counters() {
        let page: ListingPage = serde_json::from_str(EXAMPLE).expect("parses");
        assert_eq!(page.page_number, Some(1.0));
        assert_eq!(page.page_count, Some(7.0));
        assert_eq!(page.listing.entities.len(), 1);
        assert!(page.listing.next_uri.is_some());
    }
}
