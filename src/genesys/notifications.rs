//! The Notifications API on the REST side: create a channel
//! (`POST /api/v2/notifications/channels`) and replace its subscriptions
//! (`PUT …/channels/{id}/subscriptions?ignoreErrors=true`). Both go through
//! the client's limiter, budget and retries like every other call. The
//! channel's `connectUri` carries no secret (the socket is authenticated by
//! the channel id), and no token is ever put in it.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::{json, Value};

use super::client::Client;
use super::endpoint::Endpoint;
use super::error::Error;

/// A notification channel (model `Channel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Channel id.
    pub id: String,
    /// The WebSocket URI to connect to.
    pub connect_uri: String,
    /// When the channel expires (epoch ms), if the answer said.
    pub expires_ms: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    connect_uri: Option<String>,
    #[serde(default)]
    expires: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TopicsBody {
    #[serde(default)]
    entities: Option<Vec<TopicEntity>>,
}

#[derive(Debug, Default, Deserialize)]
struct TopicEntity {
    #[serde(default)]
    id: Option<String>,
}

/// The channel of a `POST …/channels` answer, or why it cannot be used.
fn channel_from(body: ChannelBody) -> Result<Channel, Error> {
    let bad = |what: &str| Error::Decode {
        endpoint: Endpoint::Notifications,
        cause: format!("the channel answer has no {what}"),
    };
    let id = body.id.filter(|s| !s.is_empty()).ok_or_else(|| bad("id"))?;
    let connect_uri = body
        .connect_uri
        .filter(|u| u.starts_with("ws://") || u.starts_with("wss://"))
        .ok_or_else(|| bad("ws:// or wss:// connectUri"))?;
    Ok(Channel {
        id,
        connect_uri,
        expires_ms: body
            .expires
            .as_deref()
            .and_then(crate::timefmt::parse_instant),
    })
}

/// The URL of `path` under the channels collection.
fn url(api_base: &str, path: &str) -> Result<Url, Error> {
    Url::parse(&format!(
        "{api_base}{}{path}",
        Endpoint::Notifications.path()
    ))
    .map_err(|e| Error::Config(format!("invalid notifications URL: {e}")))
}

/// The body of a subscription call: `[{"id": topic}, …]`.
pub fn topics_body(topics: &[String]) -> Value {
    Value::Array(topics.iter().map(|t| json!({ "id": t })).collect())
}

impl Client {
    /// Creates a notification channel.
    pub async fn create_channel(&self) -> Result<Channel, Error> {
        let inner = &self.inner;
        let url = url(&inner.api_base, "")?;
        let body: ChannelBody = inner
            .call_json(Endpoint::Notifications, Method::POST, url, Some(&json!({})))
            .await?;
        channel_from(body)
    }

    /// Replaces the subscriptions of channel `id` with `topics`, skipping
    /// topics the client may not subscribe to; returns the topics subscribed.
    pub async fn subscribe(&self, id: &str, topics: &[String]) -> Result<Vec<String>, Error> {
        let inner = &self.inner;
        let mut url = url(&inner.api_base, &format!("/{id}/subscriptions"))?;
        url.query_pairs_mut().append_pair("ignoreErrors", "true");
        let body: TopicsBody = inner
            .call_json(
                Endpoint::Notifications,
                Method::PUT,
                url,
                Some(&topics_body(topics)),
            )
            .await?;
        Ok(body
            .entities
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| t.id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A channel answer needs an id and a WebSocket URI; `expires` is optional.
    #[test]
    fn channel_answers() {
        let ok: ChannelBody = serde_json::from_str(
            r#"{"id":"c1","connectUri":"wss://streaming.example/channels/c1","expires":"2026-01-01T00:00:00Z"}"#,
        )
        .expect("json");
        let c = channel_from(ok).expect("channel");
        assert_eq!(c.id, "c1");
        assert_eq!(
            c.expires_ms,
            crate::timefmt::parse_instant("2026-01-01T00:00:00Z")
        );
        for bad in [
            r#"{}"#,
            r#"{"id":"c1","connectUri":"http://x/"}"#,
            r#"{"connectUri":"ws://x"}"#,
        ] {
            let body: ChannelBody = serde_json::from_str(bad).expect("json");
            assert!(channel_from(body).is_err(), "{bad}");
        }
        assert_eq!(topics_body(&["a".into()]), serde_json::json!([{"id": "a"}]));
    }
}
