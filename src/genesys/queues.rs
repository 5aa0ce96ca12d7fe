//! `GET /api/v2/routing/queues`: every page, following `nextUri` only when it
//! is a relative path to the same endpoint on the API host, and conversion of
//! queue entities to [`Queue`] (with `call` → `voice` for service levels),
//! with broken or control characters in names replaced by U+FFFD.

use std::collections::HashSet;

use reqwest::{Method, Url};

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

/// Resolves a `nextUri` against the API base. Only a relative path to the
/// queue listing itself is accepted; an absolute URL (any host), a
/// protocol-relative `//host` link or another path is refused.
pub fn resolve_next_uri(api_base: &str, next: &str) -> Result<Url, Error> {
    let refuse = || Error::UnsafeNextUri {
        uri: clean_text(next, 120),
    };
    let listing = Endpoint::Queues.path();
    let is_listing = next
        .strip_prefix(listing)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'));
    if !is_listing
        || next
            .chars()
            .any(|c| c.is_control() || c == '\\' || c == '#')
    {
        return Err(refuse());
    }
    let url = Url::parse(&format!("{api_base}{next}")).map_err(|_| refuse())?;
    let base = Url::parse(api_base).map_err(|_| refuse())?;
    let same_origin = url.origin() == base.origin();
    if !same_origin || url.path() != format!("{}{listing}", base.path().trim_end_matches('/')) {
        return Err(refuse());
    }
    Ok(url)
}

impl Client {
    /// Lists every queue visible to the OAuth client (all pages), optionally
    /// limited to some divisions. Costs `max(1, ceil(queues / page_size))` requests.
    pub async fn queues(&self, division_ids: &[String]) -> Result<Vec<Queue>, Error> {
        let inner = &self.inner;
        let mut url = query::queues_url(&inner.api_base, inner.config.page_size, division_ids)
            .ok_or_else(|| Error::Config(String::from("invalid API base URL")))?;
        let mut seen_urls = HashSet::new();
        let mut seen_ids = HashSet::new();
        let mut queues = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: QueueListing = inner
                .call_json(Endpoint::Queues, Method::GET, url.clone(), None)
                .await?;
            let count = page.entities.len();
            for queue in page.entities.into_iter().filter_map(queue_from_entity) {
                if queue.name.contains(lenient::REPLACEMENT) {
                    self.warn_repaired_once(&queue);
                }
                if seen_ids.insert(queue.id.clone()) {
                    queues.push(queue);
                }
            }
            let next = match page.next_uri.filter(|n| !n.is_empty()) {
                Some(next) if count > 0 => next,
                _ => return Ok(queues),
            };
            seen_urls.insert(url.to_string());
            url = resolve_next_uri(&inner.api_base, &next)?;
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
        for hostile in [
            "https://evil.test/api/v2/routing/queues?pageNumber=2",
            "http://127.0.0.1:8080/api/v2/routing/queues?pageNumber=2",
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
    }
}
