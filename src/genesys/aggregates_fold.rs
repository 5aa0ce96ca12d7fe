//! Streaming decode of a conversation-aggregates answer: each bucket is
//! handed to a [`BucketSink`] as soon as it is read, so an answer is never
//! held decoded (no groups, buckets or metric names kept), only the raw body
//! and one bucket's totals at a time.
//!
//! The rules are those of [`super::aggregates::series_from_responses`]:
//! groups without a `queueId` or `mediaType`, and for an org-wide request
//! groups of queues it does not keep, are skipped; a bucket without a
//! parseable interval counts as the whole request interval when there is no
//! granularity, and is skipped otherwise; `null`s and unknown fields are
//! ignored. A group whose `data` comes before its `group` map has its
//! buckets held until the map is read.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::model::{group_map, null_default};
use super::query::{AggregateRequest, QueryScope};
use crate::kpi;
use crate::timefmt;

/// Receives the buckets of an aggregates answer as they are decoded.
pub trait BucketSink {
    /// A kept group of `queue_id` × `media_type` starts (once per group in
    /// the answer, before its buckets).
    fn group(&mut self, queue_id: &str, media_type: &str);
    /// One bucket `[start_ms, end_ms)` of that group with everything it recorded.
    fn bucket(
        &mut self,
        queue_id: &str,
        media_type: &str,
        start_ms: i64,
        end_ms: i64,
        totals: &kpi::Totals,
    );
}

/// What the decode of one answer needs to know about its request.
#[derive(Debug)]
struct Context<'a> {
    req: &'a AggregateRequest,
    keep: Option<HashSet<&'a str>>,
}

impl<'a> Context<'a> {
    fn new(req: &'a AggregateRequest) -> Context<'a> {
        let keep = match &req.scope {
            QueryScope::OrgWide { keep } => Some(keep.iter().map(String::as_str).collect()),
            QueryScope::Queues(_) => None,
        };
        Context { req, keep }
    }

    /// The span a bucket counts for, from its `interval` text.
    fn span(&self, interval: Option<&str>) -> Option<(i64, i64)> {
        interval
            .and_then(timefmt::parse_interval)
            .filter(|(s, e)| s < e)
            .or_else(|| {
                self.req
                    .granularity_ms
                    .is_none()
                    .then_some((self.req.start_ms, self.req.end_ms))
            })
    }

    /// The group's queue and media when it is one to keep.
    fn kept<'g>(&self, group: &'g BTreeMap<String, String>) -> Option<(&'g str, &'g str)> {
        let (queue, media) = (group.get("queueId")?, group.get("mediaType")?);
        if self
            .keep
            .as_ref()
            .is_some_and(|k| !k.contains(queue.as_str()))
        {
            return None;
        }
        Some((queue, media))
    }
}

/// Decodes one aggregates answer (`body`, JSON; empty or whitespace means no
/// data) for `req` into `sink`. On an error the sink may have received part
/// of the answer.
pub fn fold_response(
    req: &AggregateRequest,
    body: &[u8],
    sink: &mut dyn BucketSink,
) -> Result<(), serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let ctx = Context::new(req);
    let mut de = serde_json::Deserializer::from_slice(body);
    Answer { ctx: &ctx, sink }.deserialize(&mut de)?;
    de.end()
}

/// The whole answer: `{"results": [group, …]}`; anything else is ignored.
struct Answer<'c, 's> {
    ctx: &'c Context<'c>,
    sink: &'s mut dyn BucketSink,
}

impl<'de> DeserializeSeed<'de> for Answer<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Answer<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an aggregates answer object")
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "results" {
                map.next_value_seed(Groups {
                    ctx: self.ctx,
                    sink: &mut *self.sink,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `results`: a list of groups, or `null`.
struct Groups<'c, 's> {
    ctx: &'c Context<'c>,
    sink: &'s mut dyn BucketSink,
}

impl<'de> DeserializeSeed<'de> for Groups<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Groups<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of aggregate groups")
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Group {
                ctx: self.ctx,
                sink: &mut *self.sink,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// One `{group, data}` entry.
struct Group<'c, 's> {
    ctx: &'c Context<'c>,
    sink: &'s mut dyn BucketSink,
}

impl<'de> DeserializeSeed<'de> for Group<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

/// Where a group's buckets go: straight to the sink once the group is
/// known, else held (`data` before `group`), or dropped for a skipped group.
enum Target<'g> {
    Unknown(Vec<((i64, i64), kpi::Totals)>),
    Kept(&'g str, &'g str),
    Skipped,
}

impl<'de> Visitor<'de> for Group<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an aggregate group")
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut group: Option<BTreeMap<String, String>> = None;
        let mut held: Vec<((i64, i64), kpi::Totals)> = Vec::new();
        let mut announced = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                // A repeated `group` key: the last one wins.
                "group" => group = Some(map.next_value::<GroupMap>()?.0),
                "data" => {
                    let target = match group.as_ref() {
                        None => Target::Unknown(std::mem::take(&mut held)),
                        Some(g) => match self.ctx.kept(g) {
                            Some((q, m)) => Target::Kept(q, m),
                            None => Target::Skipped,
                        },
                    };
                    if let Target::Kept(q, m) = target {
                        if !announced {
                            self.sink.group(q, m);
                            announced = true;
                        }
                    }
                    let mut buckets = Buckets {
                        ctx: self.ctx,
                        sink: &mut *self.sink,
                        target,
                    };
                    map.next_value_seed(&mut buckets)?;
                    if let Target::Unknown(b) = buckets.target {
                        held = b;
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // The group map came last (or the group has no data): announce it now
        // and hand over what was held.
        let Some((queue, media)) = group.as_ref().and_then(|g| self.ctx.kept(g)) else {
            return Ok(());
        };
        if !announced {
            self.sink.group(queue, media);
        }
        for ((start, end), totals) in &held {
            self.sink.bucket(queue, media, *start, *end, totals);
        }
        Ok(())
    }
}

/// A `group` map decoded with the model's rules.
struct GroupMap(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for GroupMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupMap, D::Error> {
        group_map(d).map(GroupMap)
    }
}

/// `data`: the buckets of one group, or `null`.
struct Buckets<'c, 's, 'g> {
    ctx: &'c Context<'c>,
    sink: &'s mut dyn BucketSink,
    target: Target<'g>,
}

impl<'de> DeserializeSeed<'de> for &mut Buckets<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for &mut Buckets<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of buckets")
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(bucket) = seq.next_element::<Option<Bucket>>()? {
            let Some(bucket) = bucket else { continue };
            let Some(span) = self.ctx.span(bucket.interval.as_deref()) else {
                continue;
            };
            match &mut self.target {
                Target::Kept(q, m) => self.sink.bucket(q, m, span.0, span.1, &bucket.totals),
                Target::Unknown(held) => held.push((span, bucket.totals)),
                Target::Skipped => {}
            }
        }
        Ok(())
    }
}

/// `{metric, stats}`, the name borrowed from the body when it has no escapes.
#[derive(Deserialize)]
struct Metric<'a> {
    #[serde(default, borrow)]
    metric: Cow<'a, str>,
    #[serde(default, deserialize_with = "null_default")]
    stats: kpi::StatValues,
}

/// One `{interval, metrics}` bucket, its metrics recorded as they are read.
struct Bucket {
    interval: Option<String>,
    totals: kpi::Totals,
}

impl<'de> Deserialize<'de> for Bucket {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bucket, D::Error> {
        d.deserialize_map(BucketVisitor)
    }
}

struct BucketVisitor;

impl<'de> Visitor<'de> for BucketVisitor {
    type Value = Bucket;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an aggregate bucket")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Bucket, A::Error> {
        let mut bucket = Bucket {
            interval: None,
            totals: kpi::Totals::default(),
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "interval" => bucket.interval = map.next_value()?,
                "metrics" => {
                    let metrics: Option<Vec<Option<Metric<'de>>>> = map.next_value()?;
                    for m in metrics.into_iter().flatten().flatten() {
                        bucket.totals.record(&m.metric, &m.stats);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::aggregates::{series_from_responses, QueueMediaSeries};
    use crate::genesys::model::AggregateResponse;

    /// Collects what the fold hands over, as series.
    type Held = Vec<((i64, i64), kpi::Totals)>;
    type Series = Vec<(String, String, Vec<(i64, i64, u64)>)>;

    #[derive(Default)]
    struct Collect(BTreeMap<(String, String), Held>);

    impl BucketSink for Collect {
        fn group(&mut self, q: &str, m: &str) {
            self.0.entry((q.into(), m.into())).or_default();
        }
        fn bucket(&mut self, q: &str, m: &str, start: i64, end: i64, t: &kpi::Totals) {
            self.0
                .get_mut(&(q.into(), m.into()))
                .expect("group announced first")
                .push(((start, end), *t));
        }
    }

    /// Each group's buckets merged per span, as [`series_from_responses`] does.
    fn folded(req: &AggregateRequest, body: &str) -> Series {
        let mut sink = Collect::default();
        fold_response(req, body.as_bytes(), &mut sink).expect("folds");
        sink.0
            .into_iter()
            .map(|((q, m), mut buckets)| {
                buckets.sort_by_key(|(span, _)| *span);
                let mut merged: Vec<(i64, i64, u64)> = Vec::new();
                for ((s, e), t) in buckets {
                    match merged.last_mut() {
                        Some(last) if (last.0, last.1) == (s, e) => last.2 += t.offered,
                        _ => merged.push((s, e, t.offered)),
                    }
                }
                (q, m, merged)
            })
            .collect()
    }

    fn modelled(req: &AggregateRequest, body: &str) -> Series {
        let parsed: AggregateResponse = serde_json::from_str(body).expect("parses");
        series_from_responses(req, [parsed])
            .into_iter()
            .map(|s: QueueMediaSeries| {
                let b = s
                    .buckets
                    .iter()
                    .map(|b| (b.start_ms, b.end_ms, b.totals.offered))
                    .collect();
                (s.queue_id, s.media_type, b)
            })
            .collect()
    }

    fn request(granularity_ms: Option<i64>, scope: QueryScope) -> AggregateRequest {
        AggregateRequest {
            start_ms: 0,
            end_ms: 3_600_000,
            granularity_ms,
            time_zone: None,
            scope,
            media_types: vec![],
        }
    }

    const BODY: &str = r#"{"x":[1,{"y":null}],"results":[
      {"group":{"queueId":"a","mediaType":"voice"},"data":[
        {"interval":"1970-01-01T00:00:00.000Z/1970-01-01T00:30:00.000Z","metrics":[{"metric":"nOffered","stats":{"count":2}}]},
        {"metrics":[{"metric":"nOffered","stats":{"count":7}},{"metric":"tAnswered","stats":null}]},
        {"interval":"1970-01-01T00:00:00.000Z/1970-01-01T00:30:00.000Z","metrics":[{"metric":"nOffered","stats":{"count":1}}],"extra":{}}]},
      {"data":[{"interval":"1970-01-01T00:30:00.000Z/1970-01-01T01:00:00.000Z","metrics":[{"metric":"n\u004ffered","stats":{"count":5}}]}],
       "group":{"queueId":"b","mediaType":"chat"}},
      {"group":{"queueId":"c","mediaType":"voice"}},
      {"group":{"queueId":"d","mediaType":"voice"},"data":null},
      {"group":{"mediaType":"voice"},"data":[{"metrics":[{"metric":"nOffered","stats":{"count":50}}]}]},
      {"group":null,"data":[]}
    ]}"#;

    /// The fold hands over exactly what the decoded model gives, with and
    /// without granularity: data before its group map, escaped metric
    /// names, groups without data, partial groups and unknown fields.
    #[test]
    fn agrees_with_the_model() {
        let queues = QueryScope::Queues(vec![]);
        for granularity in [None, Some(1_800_000)] {
            let req = request(granularity, queues.clone());
            assert_eq!(folded(&req, BODY), modelled(&req, BODY), "{granularity:?}");
        }
        let org = request(
            None,
            QueryScope::OrgWide {
                keep: vec!["b".into(), "c".into()],
            },
        );
        let kept = folded(&org, BODY);
        assert_eq!(kept, modelled(&org, BODY));
        assert_eq!(
            kept.iter().map(|(q, _, _)| q.as_str()).collect::<Vec<_>>(),
            ["b", "c"]
        );
    }

    /// Empty bodies, `{}` and `null` results are no data; broken JSON and
    /// trailing garbage are errors.
    #[test]
    fn empty_and_broken_bodies() {
        let req = request(None, QueryScope::Queues(vec![]));
        for body in [
            "",
            "  ",
            "{}",
            "null",
            r#"{"results":null}"#,
            r#"{"results":[]}"#,
        ] {
            assert!(folded(&req, body).is_empty(), "{body:?}");
        }
        for body in [r#"{"results":[{"group":"#, r#"{"results":[]} x"#, "[1]"] {
            let mut sink = Collect::default();
            assert!(
                fold_response(&req, body.as_bytes(), &mut sink).is_err(),
                "{body:?}"
            );
        }
    }
}
