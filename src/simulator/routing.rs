//! `GET /api/v2/routing/queues`: filters, sorting and the paging envelope (API notes
//! §5, §10.5); also `GET /api/v2/routing/queues/{id}`.

use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::media::MediaKind;
use super::org::{OrgModel, QueueDef};
use super::realtime::active_members;
use super::urlenc::encode;
use super::variants::NextUri;

const PATH: &str = "/api/v2/routing/queues";

/// Genesys's default service level of a media type a queue does not configure.
const DEFAULT_SL: (f64, i64) = (0.8, 20_000);

/// How page links and queue entities are written (real-org variants).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Links<'a> {
    /// Form of `nextUri` (the other page links follow it, except that `none`
    /// drops only `nextUri`).
    pub next: NextUri,
    /// The `Host` the request came to, for absolute links.
    pub host: Option<&'a str>,
    /// Every queue lists all five media in `mediaSettings`.
    pub all_media: bool,
}

/// Answers a queue listing for the decoded query `params`.
pub(crate) fn list(
    org: &OrgModel,
    params: &[(String, String)],
    max_page_size: u32,
    now: i64,
    links: Links<'_>,
) -> Result<Value, ApiError> {
    let page_number = int_param(params, "pageNumber", 1)?;
    let page_size = int_param(params, "pageSize", 25)?;
    if page_number < 1 {
        return Err(ApiError::bad_request("pageNumber must be at least 1."));
    }
    if page_size < 1 || page_size > i64::from(max_page_size) {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {max_page_size}."
        )));
    }
    let descending = match last(params, "sortOrder") {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("asc") => false,
        Some(s) if s.eq_ignore_ascii_case("desc") => true,
        Some(s) => return Err(ApiError::invalid_value(s, "SortOrder", &["asc", "desc"])),
    };
    let ids = multi(params, "id");
    let divisions = multi(params, "divisionId");
    let name = last(params, "name");
    let removed = org.removed_set();
    let mut matched: Vec<&QueueDef> = org
        .name_order
        .iter()
        .filter(|i| !removed.contains(i))
        .map(|&i| &org.queues[i])
        .filter(|q| ids.is_empty() || ids.iter().any(|id| *id == q.id))
        .filter(|q| {
            divisions.is_empty() || divisions.iter().any(|d| *d == org.division_ids[q.division])
        })
        .filter(|q| name.is_none_or(|n| name_matches(n, &q.name)))
        .collect();
    if descending {
        matched.reverse();
    }
    let total = matched.len() as i64;
    let page_count = (total + page_size - 1) / page_size;
    let skip = ((page_number - 1) * page_size).min(total) as usize;
    let entities: Vec<Value> = matched
        .iter()
        .skip(skip)
        .take(page_size as usize)
        .map(|q| queue_json(org, q, now, links.all_media))
        .collect();
    let origin = match (links.next, links.host) {
        (NextUri::Absolute, Some(host)) => format!("http://{host}"),
        _ => String::new(),
    };
    let uri = |n: i64| format!("{origin}{}", page_uri(params, page_size, n));
    let mut body = Map::new();
    body.insert("entities".into(), Value::Array(entities));
    body.insert("pageSize".into(), json!(page_size));
    body.insert("pageNumber".into(), json!(page_number));
    body.insert("total".into(), json!(total));
    body.insert("pageCount".into(), json!(page_count));
    body.insert("firstUri".into(), json!(uri(1)));
    body.insert("selfUri".into(), json!(uri(page_number)));
    body.insert("lastUri".into(), json!(uri(page_count.max(1))));
    if page_number < page_count && links.next != NextUri::None {
        body.insert("nextUri".into(), json!(uri(page_number + 1)));
    }
    if page_number > 1 {
        body.insert(
            "previousUri".into(),
            json!(uri((page_number - 1).min(page_count.max(1)))),
        );
    }
    Ok(Value::Object(body))
}

/// `GET /api/v2/routing/queues/{id}`: one active queue, or 404.
pub(crate) fn get_one(
    org: &OrgModel,
    id: &str,
    now: i64,
    all_media: bool,
) -> Result<Value, ApiError> {
    let i = org.active_index(id).ok_or_else(ApiError::not_found)?;
    Ok(queue_json(org, &org.queues[i], now, all_media))
}

/// One queue entity, as `GET /api/v2/routing/queues` returns it. With
/// `all_media`, media the queue does not serve appear too, with the default
/// service level, as recorded real answers show.
pub(crate) fn queue_json(org: &OrgModel, q: &QueueDef, now: i64, all_media: bool) -> Value {
    let division_id = &org.division_ids[q.division];
    let media: Map<String, Value> = MediaKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let own = q.media.iter().find(|m| m.kind == kind);
            let (percentage, duration_ms) = match own {
                Some(m) => (m.sl_percentage, m.sl_duration_ms),
                None if all_media => DEFAULT_SL,
                None => return None,
            };
            Some((
                kind.config_name().to_string(),
                json!({
                    "alertingTimeoutSeconds": if kind == MediaKind::Voice { 8 } else { 30 },
                    "enableAutoAnswer": false,
                    "serviceLevel": {"percentage": percentage, "durationMs": duration_ms},
                }),
            ))
        })
        .collect();
    json!({
        "id": q.id,
        "name": q.name,
        "division": {
            "id": division_id,
            "name": org.division_name(q),
            "selfUri": format!("/api/v2/authorization/divisions/{division_id}"),
        },
        "description": "",
        "dateCreated": "2024-01-15T09:30:00.000Z",
        "dateModified": "2025-01-06T14:05:00.000Z",
        "memberCount": q.members,
        "userMemberCount": q.members,
        "joinedMemberCount": active_members(org, q, now),
        "mediaSettings": media,
        "selfUri": format!("{PATH}/{}", q.id),
    })
}

/// `name` filter: exact (case-insensitive), with `*` wildcards allowed at either end.
fn name_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_lowercase(), name.to_lowercase());
    let lead = p.starts_with('*');
    let trail = p.len() > 1 && p.ends_with('*') || (p == "*");
    let core = p.trim_start_matches('*').trim_end_matches('*');
    match (lead, trail) {
        (true, true) => n.contains(core),
        (true, false) => n.ends_with(core),
        (false, true) => n.starts_with(core),
        (false, false) => n == core,
    }
}

/// All values of a repeatable parameter, repeated keys and comma-joined lists alike.
fn multi<'a>(params: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

fn last<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn int_param(params: &[(String, String)], key: &str, default: i64) -> Result<i64, ApiError> {
    match last(params, key) {
        None => Ok(default),
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "Invalid value [{v}] for query parameter {key}: an integer is required."
            ))
        }),
    }
}

/// A relative page link that keeps the request's other parameters.
fn page_uri(params: &[(String, String)], page_size: i64, page_number: i64) -> String {
    let mut uri = format!("{PATH}?pageSize={page_size}&pageNumber={page_number}");
    for (k, v) in params
        .iter()
        .filter(|(k, _)| k != "pageSize" && k != "pageNumber")
    {
        uri.push('&');
        uri.push_str(&encode(k));
        uri.push('=');
        uri.push_str(&encode(v));
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wildcards work at either end, case-insensitively.
    #[test]
    fn wildcards() {
        assert!(name_matches("support*", "Support EN"));
        assert!(name_matches("*billing", "Support \"VIP\" \\ Billing"));
        assert!(name_matches("*VIP*", "Support \"VIP\" \\ Billing"));
        assert!(name_matches("*", "anything"));
        assert!(name_matches("billing", "Billing"));
        assert!(!name_matches("bill", "Billing"));
    }
}
