//! Serde models of the Genesys responses the client reads. Every field is
//! optional or defaulted and unknown fields are ignored, so `{}`, `null`s and
//! new fields never fail a parse.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::kpi::StatValues;
use crate::secret::Secret;

/// Deserializes `null` (or a missing field, with `#[serde(default)]`) as the default.
pub(super) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A `group` map: dimension → value; non-string values are kept as text.
pub(super) fn group_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect())
}

/// `POST /oauth/token` success body.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: Secret,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<f64>,
}

/// `POST /oauth/token` error body.
#[derive(Debug, Default, Deserialize)]
pub struct TokenErrorBody {
    /// e.g. `invalid_client`.
    #[serde(default)]
    pub error: Option<String>,
    /// Genesys's own description field.
    #[serde(default)]
    pub description: Option<String>,
    /// The RFC 6749 description field.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// The Platform API error body (`ErrorBody`), fields the client shows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// Machine code, e.g. `missing.any.permissions`.
    #[serde(default)]
    pub code: Option<String>,
    /// Correlation id.
    #[serde(default)]
    pub context_id: Option<String>,
}

/// `GET /api/v2/routing/queues` page (`QueueEntityListing`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueListing {
    /// The queues on this page.
    #[serde(default, deserialize_with = "null_default")]
    pub entities: Vec<QueueEntity>,
    /// Relative link to the next page; absent on the last page.
    #[serde(default)]
    pub next_uri: Option<String>,
}

/// One queue of the listing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueEntity {
    /// Queue id.
    #[serde(default)]
    pub id: Option<String>,
    /// Queue name.
    #[serde(default)]
    pub name: Option<String>,
    /// Division reference.
    #[serde(default)]
    pub division: Option<DivisionRef>,
    /// Members of the queue.
    #[serde(default)]
    pub member_count: Option<f64>,
    /// Per-media settings keyed by `call`, `callback`, `chat`, `email`, `message`.
    #[serde(default, deserialize_with = "null_default")]
    pub media_settings: BTreeMap<String, Option<MediaSetting>>,
}

/// `division {id, name}`.
#[derive(Debug, Default, Deserialize)]
pub struct DivisionRef {
    /// Division id.
    #[serde(default)]
    pub id: Option<String>,
    /// Division name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One media type's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSetting {
    /// Service-level target.
    #[serde(default)]
    pub service_level: Option<ServiceLevel>,
}

/// `serviceLevel {percentage, durationMs}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevel {
    /// Target fraction, 0–1.
    #[serde(default)]
    pub percentage: Option<f64>,
    /// Threshold in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<f64>,
}

/// Conversation-aggregate response; `{}` means no data.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateResponse {
    /// One entry per group.
    #[serde(default, deserialize_with = "null_default")]
    pub results: Vec<AggregateGroup>,
}

/// `{group, data}`.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateGroup {
    /// Dimension values actually present (always `mediaType`; partial groups exist).
    #[serde(default, deserialize_with = "group_map")]
    pub group: BTreeMap<String, String>,
    /// One entry per non-empty bucket.
    #[serde(default, deserialize_with = "null_default")]
    pub data: Vec<AggregateBucket>,
}

/// `{interval, metrics}`.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateBucket {
    /// `start/end` of the bucket.
    #[serde(default)]
    pub interval: Option<String>,
    /// Metrics with data in the bucket.
    #[serde(default, deserialize_with = "null_default")]
    pub metrics: Vec<AggregateMetric>,
}

/// `{metric, stats}` (the `qualifier` is not used by queue KPIs).
#[derive(Debug, Default, Deserialize)]
pub struct AggregateMetric {
    /// Metric name, e.g. `tAnswered`.
    #[serde(default)]
    pub metric: String,
    /// Statistics.
    #[serde(default, deserialize_with = "null_default")]
    pub stats: StatValues,
}

/// Queue-observation response.
#[derive(Debug, Default, Deserialize)]
pub struct ObservationResponse {
    /// One entry per `{queueId}` or `{queueId, mediaType}` group.
    #[serde(default, deserialize_with = "null_default")]
    pub results: Vec<ObservationGroup>,
}

/// `{group, data}`.
#[derive(Debug, Default, Deserialize)]
pub struct ObservationGroup {
    /// Dimension values.
    #[serde(default, deserialize_with = "group_map")]
    pub group: BTreeMap<String, String>,
    /// Metric values.
    #[serde(default, deserialize_with = "null_default")]
    pub data: Vec<ObservationMetric>,
}

/// `{metric, qualifier, stats}`.
#[derive(Debug, Default, Deserialize)]
pub struct ObservationMetric {
    /// Metric name, e.g. `oWaiting`.
    #[serde(default)]
    pub metric: String,
    /// Routing status or presence id for user metrics.
    #[serde(default)]
    pub qualifier: Option<String>,
    /// Statistics.
    #[serde(default, deserialize_with = "null_default")]
    pub stats: ObservationStats,
    /// Per-interaction details when the metric is in `detailMetrics`,
    /// oldest first (possibly truncated in the middle).
    #[serde(default, deserialize_with = "null_default")]
    pub observations: Vec<ObservationValue>,
}

/// One `ObservationValue` of a detail list; only its date is used.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationValue {
    /// When the interaction entered the observed state (ISO-8601).
    #[serde(default)]
    pub observation_date: Option<String>,
}

/// The observation statistics used.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationStats {
    /// Count.
    #[serde(default)]
    pub count: Option<f64>,
    /// oLongest* value: epoch ms of the oldest item, or a duration in ms.
    #[serde(default)]
    pub calculated_metric_value: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented example bodies parse; `{}` and nulls parse as empty.
    #[test]
    fn tolerant_parsing() {
        let empty: AggregateResponse = serde_json::from_str("{}").expect("{}");
        assert!(empty.results.is_empty());
        let nulls: AggregateResponse =
            serde_json::from_str(r#"{"results":[{"group":null,"data":null}],"x":1}"#)
                .expect("nulls");
        assert!(nulls.results[0].group.is_empty());
        let q: QueueListing =
            serde_json::from_str(r#"{"entities":[{}],"mediaSettings":null}"#).expect("listing");
        assert_eq!(q.entities.len(), 1);
        let g: AggregateGroup =
            serde_json::from_str(r#"{"group":{"queueId":"q","n":3,"z":null}}"#).expect("group");
        assert_eq!(g.group.get("n").map(String::as_str), Some("3"));
        assert!(!g.group.contains_key("z"));
    }

    /// Token bodies parse and the access token stays redacted in Debug.
    #[test]
    fn token_bodies() {
        let ok: TokenResponse = serde_json::from_str(
            r#"{"access_token":"tok-123","token_type":"bearer","expires_in":86399}"#,
        )
        .expect("token");
        assert_eq!(ok.expires_in, Some(86399.0));
        assert!(!format!("{ok:?}").contains("tok-123"));
        let err: TokenErrorBody = serde_json::from_str(
            r#"{"error":"invalid_client","description":"client not found","error_description":"client not found"}"#,
        )
        .expect("error");
        assert_eq!(err.error.as_deref(), Some("invalid_client"));
    }
}
