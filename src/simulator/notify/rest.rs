//! The REST side of the Notifications API: `/api/v2/notifications/channels`
//! (create, list, `HEAD`) and `…/channels/{id}/subscriptions`
//! (`GET`/`POST`/`PUT`/`DELETE`, `[{"id": topic}]` bodies, `ignoreErrors`).

use std::time::Instant;

use axum::http::Method;
use serde_json::{json, Value};

use super::super::control::Shared;
use super::super::errors::ApiError;
use super::super::rng::uuid;
use super::super::urlenc::parse_pairs;
use super::channels::{Channel, Owner, SubscribeError, MAX_TOPICS_PER_CHANNEL};
use super::events::queue_of_topic;

const CHANNELS: &str = "/api/v2/notifications/channels";

/// Whether `path` belongs to the Notifications API.
pub fn is_notifications_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == CHANNELS || path.starts_with("/api/v2/notifications/channels/")
}

/// The caller of a request, as the pipeline authenticated it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// OAuth client id.
    pub client: &'a str,
    /// Bearer token.
    pub token: &'a str,
    /// Whether the caller holds the permission queue topics need
    /// (`NotifyConfig::topic_permission`).
    pub observe: bool,
}

/// Answers a Notifications API request; `Ok(None)` is an empty body.
pub fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    host: Option<&str>,
    body: &[u8],
    caller: Caller<'_>,
) -> Result<Option<Value>, ApiError> {
    let path = path.trim_end_matches('/');
    let now = Instant::now();
    let now_ms = shared.now_ms();
    let ttl = shared.config.notify.channel_ttl;
    let params = parse_pairs(query);
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    if path == CHANNELS {
        return match *method {
            Method::POST => {
                let owner = Owner {
                    client: caller.client,
                    token: caller.token,
                    observe: caller.observe,
                };
                let seed = shared.config.seed;
                let c = shared
                    .notify()
                    .create(owner, now, now_ms, ttl, |n| uuid(&[seed, 0xC4A7, n]));
                Ok(Some(channel_body(&c, host)))
            }
            Method::GET => {
                let by_client = match param("includechannels").unwrap_or("token") {
                    "token" => false,
                    "oauthclient" => true,
                    other => {
                        return Err(ApiError::invalid_value(
                            other,
                            "includechannels",
                            &["token", "oauthclient"],
                        ))
                    }
                };
                let reg = shared.notify();
                let entities: Vec<Value> = reg
                    .of_client(caller.client, now)
                    .into_iter()
                    .filter(|c| by_client || c.token == caller.token)
                    .map(|c| channel_body(c, host))
                    .collect();
                Ok(Some(json!({"entities": entities})))
            }
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    let rest = path
        .strip_prefix(CHANNELS)
        .and_then(|r| r.strip_prefix('/'))
        .unwrap_or("");
    let (id, sub) = match rest.split_once('/') {
        Some((id, "subscriptions")) => (id, true),
        Some(_) => return Err(ApiError::not_found()),
        None => (rest, false),
    };
    let owned = |reg: &super::Channels| {
        reg.get(id, now)
            .filter(|c| c.client == caller.client)
            .is_some()
    };
    if !sub {
        return match *method {
            Method::HEAD if owned(&shared.notify()) => Ok(None),
            Method::HEAD => Err(ApiError::not_found()),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    let mut reg = shared.notify();
    if !owned(&reg) {
        return Err(ApiError::not_found());
    }
    let ignore_errors = param("ignoreErrors").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (topics, replace) = match *method {
        Method::GET => {
            let c = reg.get(id, now).ok_or_else(ApiError::not_found)?;
            return Ok(Some(topics_body(c)));
        }
        Method::DELETE => (Vec::new(), true),
        Method::POST => (parse_topics(body)?, false),
        Method::PUT => (parse_topics(body)?, true),
        _ => return Err(ApiError::method_not_allowed()),
    };
    let permission = &shared.config.notify.topic_permission;
    let topics = check_topics(topics, caller.observe, permission, ignore_errors)?;
    match reg.subscribe(id, &topics, replace, now, now_ms, ttl) {
        Ok(_) if *method == Method::DELETE => Ok(None),
        Ok(c) => Ok(Some(topics_body(c))),
        Err(SubscribeError::NoChannel) => Err(ApiError::not_found()),
        Err(SubscribeError::TooManyTopics(n)) => Err(too_many_topics(n)),
    }
}

/// 400 for a topic list over the channel limit.
pub fn too_many_topics(n: usize) -> ApiError {
    ApiError::bad_request(format!(
        "A channel may subscribe to at most {MAX_TOPICS_PER_CHANNEL} topics; {n} requested."
    ))
}

/// Keeps the topics the caller may subscribe to: an unknown topic is a 400 and
/// a queue topic without `permission` (which the caller holds when `observe`)
/// a 403 naming it, unless `ignore_errors` skips them.
pub fn check_topics(
    topics: Vec<String>,
    observe: bool,
    permission: &str,
    ignore_errors: bool,
) -> Result<Vec<String>, ApiError> {
    let mut kept = Vec::with_capacity(topics.len());
    for t in topics {
        let err = if queue_of_topic(&t).is_none() {
            Some(ApiError::bad_request(format!("Invalid topic: {t}")))
        } else if !observe {
            Some(ApiError::missing_permission(permission))
        } else {
            None
        };
        match err {
            Some(_) if ignore_errors => {}
            Some(e) => return Err(e),
            None => kept.push(t),
        }
    }
    Ok(kept)
}

fn parse_topics(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed())?;
    v.as_array()
        .ok_or_else(ApiError::malformed)?
        .iter()
        .map(|t| {
            t["id"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(ApiError::malformed)
        })
        .collect()
}

fn channel_body(c: &Channel, host: Option<&str>) -> Value {
    let host = host.unwrap_or("127.0.0.1");
    json!({
        "id": c.id,
        "connectUri": format!("ws://{host}/channels/{}", c.id),
        "expires": crate::timefmt::format_instant(c.expires_ms),
    })
}

fn topics_body(c: &Channel) -> Value {
    let entities: Vec<Value> = c.topics.iter().map(|t| json!({"id": t})).collect();
    json!({"entities": entities})
}
