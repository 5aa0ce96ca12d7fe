//! Parsing and validation of a conversation-aggregate query body (API notes
//! §2.1, §2.7, §10.7), with the Genesys 400 for each kind of mistake.

use serde_json::{Map, Value};

use super::buckets;
use super::catalog::{AGGREGATE_DIMENSIONS, AGGREGATE_METRICS, NOT_SORTABLE};
use super::errors::ApiError;
use super::filter::{self, Filter, Grammar};
use super::variants::BucketAlignment;
use crate::timefmt::parse_interval;

/// `queryType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryType {
    GroupBy,
    TopN,
    BottomN,
}

/// `sortMetric.function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortFn {
    Average,
    Count,
    Max,
    Min,
    Sum,
}

/// A validated aggregate query.
#[derive(Debug, Clone)]
pub(crate) struct AggQuery {
    pub start: i64,
    pub end: i64,
    pub buckets: Vec<(i64, i64)>,
    /// The requested `granularity`, verbatim.
    pub granularity: Option<String>,
    /// Requested `groupBy` dimensions (deduplicated, request order).
    pub group_by: Vec<String>,
    pub filter: Option<Filter>,
    /// Requested metrics (deduplicated, request order).
    pub metrics: Vec<String>,
    pub query_type: QueryType,
    pub sort: Option<(String, SortFn)>,
    pub limit: Option<usize>,
}

/// Limits that come from the simulator's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_interval_days: u32,
    pub max_predicates: usize,
    pub max_buckets: usize,
    pub alignment: BucketAlignment,
}

const QUERY_TYPES: &[&str] = &["groupBy", "topN", "bottomN"];
const SORT_FNS: &[&str] = &["average", "count", "max", "min", "sum"];
const GRAMMAR: Grammar = Grammar {
    dimension_type: "ConversationAggregateDimension",
    dimensions: AGGREGATE_DIMENSIONS,
    extra: &[super::catalog::EXTRA_PREDICATE_DIMENSION],
};

/// Parses and validates a request body.
pub(crate) fn parse(body: &[u8], limits: Limits) -> Result<AggQuery, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed())?;
    let obj = v.as_object().ok_or_else(ApiError::malformed)?;
    let (start, end) = interval(obj, limits)?;
    let metrics = string_list(obj, "metrics")?.unwrap_or_default();
    if metrics.is_empty() {
        return Err(ApiError::bad_request(
            "The metrics list is required and must name at least one metric.",
        ));
    }
    for m in &metrics {
        if !AGGREGATE_METRICS.contains(&m.as_str()) {
            return Err(ApiError::invalid_value(
                m,
                "ConversationAggregateMetric",
                AGGREGATE_METRICS,
            ));
        }
    }
    let group_by = string_list(obj, "groupBy")?.unwrap_or_default();
    for d in &group_by {
        if !AGGREGATE_DIMENSIONS.contains(&d.as_str()) {
            return Err(ApiError::invalid_value(
                d,
                "ConversationAggregateDimension",
                AGGREGATE_DIMENSIONS,
            ));
        }
    }
    let granularity = opt_str(obj, "granularity")?;
    let time_zone = opt_str(obj, "timeZone")?;
    let buckets = buckets::split(
        start,
        end,
        granularity,
        time_zone,
        limits.alignment,
        limits.max_buckets,
    )?;
    let filter = match obj.get("filter") {
        None | Some(Value::Null) => None,
        Some(f) => {
            let f = filter::parse(f, &GRAMMAR)?;
            if f.predicates > limits.max_predicates {
                return Err(too_many_predicates(f.predicates, limits.max_predicates));
            }
            Some(f)
        }
    };
    let (query_type, sort, limit) = ranking(obj, &metrics)?;
    if obj
        .get("views")
        .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty()) && !v.is_null())
    {
        return Err(ApiError::bad_request(
            "Aggregation views are not supported by this server; remove the views field.",
        ));
    }
    match obj.get("alternateTimeDimension") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "eventTime" => {}
        Some(Value::String(s)) => {
            return Err(ApiError::invalid_value(
                s,
                "AlternateTimeDimension",
                &["eventTime"],
            ))
        }
        Some(_) => return Err(ApiError::malformed()),
    }
    if obj
        .get("flattenMultivaluedDimensions")
        .is_some_and(|v| !v.is_boolean() && !v.is_null())
    {
        return Err(ApiError::malformed());
    }
    Ok(AggQuery {
        start,
        end,
        buckets,
        granularity: granularity.map(str::to_string),
        group_by: dedup(group_by),
        filter,
        metrics: dedup(metrics),
        query_type,
        sort,
        limit,
    })
}

/// The 400 for a filter with too many predicates.
pub(crate) fn too_many_predicates(n: usize, max: usize) -> ApiError {
    ApiError::bad_request(format!(
        "The query has {n} predicates, more than the maximum of {max}. Split it into smaller queries."
    ))
}

fn interval(obj: &Map<String, Value>, limits: Limits) -> Result<(i64, i64), ApiError> {
    let text = match obj.get("interval") {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "The interval is required, as two ISO-8601 instants: start/end.",
            ))
        }
        Some(_) => return Err(ApiError::invalid_date()),
    };
    let (start, end) = parse_interval(text).ok_or_else(ApiError::invalid_date)?;
    if start >= end {
        return Err(ApiError::bad_request(format!(
            "Invalid interval [{text}]: the start must be before the end."
        )));
    }
    let max_ms = i64::from(limits.max_interval_days) * 86_400_000;
    if end - start > max_ms {
        return Err(ApiError::bad_request(format!(
            "Invalid interval [{text}]: an interval may not exceed {} days.",
            limits.max_interval_days
        )));
    }
    Ok((start, end))
}

type Ranking = (QueryType, Option<(String, SortFn)>, Option<usize>);

fn ranking(obj: &Map<String, Value>, metrics: &[String]) -> Result<Ranking, ApiError> {
    let query_type = match opt_str(obj, "queryType")? {
        None | Some("groupBy") => QueryType::GroupBy,
        Some("topN") => QueryType::TopN,
        Some("bottomN") => QueryType::BottomN,
        Some(other) => {
            return Err(ApiError::invalid_value(
                other,
                "AggregationQueryType",
                QUERY_TYPES,
            ))
        }
    };
    let sort = match obj.get("sortMetric") {
        None | Some(Value::Null) => None,
        Some(Value::Object(s)) => {
            let name = match s.get("name") {
                Some(Value::String(n))
                    if AGGREGATE_METRICS.contains(&n.as_str())
                        && !NOT_SORTABLE.contains(&n.as_str()) =>
                {
                    n.clone()
                }
                Some(Value::String(n)) => {
                    let sortable: Vec<&str> = AGGREGATE_METRICS
                        .iter()
                        .copied()
                        .filter(|m| !NOT_SORTABLE.contains(m))
                        .collect();
                    return Err(ApiError::invalid_value(
                        n,
                        "ConversationAggregationSortName",
                        &sortable,
                    ));
                }
                _ => return Err(ApiError::bad_request("sortMetric.name is required.")),
            };
            let function = match s.get("function") {
                None | Some(Value::Null) => SortFn::Sum,
                Some(Value::String(f)) => match f.as_str() {
                    "average" => SortFn::Average,
                    "count" => SortFn::Count,
                    "max" => SortFn::Max,
                    "min" => SortFn::Min,
                    "sum" => SortFn::Sum,
                    other => {
                        return Err(ApiError::invalid_value(
                            other,
                            "ConversationAggregationSortFunction",
                            SORT_FNS,
                        ))
                    }
                },
                Some(_) => return Err(ApiError::malformed()),
            };
            Some((name, function))
        }
        Some(_) => return Err(ApiError::malformed()),
    };
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(l) if l >= 1 => Some(l as usize),
            _ => return Err(ApiError::bad_request("limit must be a positive integer.")),
        },
        Some(_) => return Err(ApiError::malformed()),
    };
    if query_type == QueryType::GroupBy && (sort.is_some() || limit.is_some()) {
        return Err(ApiError::bad_request(
            "sortMetric and limit only apply to topN and bottomN queries.",
        ));
    }
    if query_type != QueryType::GroupBy && sort.is_none() && metrics.len() > 1 {
        return Err(ApiError::bad_request(
            "sortMetric is required for topN and bottomN queries with more than one metric.",
        ));
    }
    let sort = match (query_type, sort) {
        (QueryType::GroupBy, _) => None,
        (_, Some(s)) => Some(s),
        (_, None) => Some((metrics[0].clone(), SortFn::Sum)),
    };
    Ok((query_type, sort, limit))
}

/// A list of strings, `None` when absent; wrong types are malformed bodies.
pub(crate) fn string_list(
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(ApiError::malformed)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::malformed()),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::malformed()),
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
