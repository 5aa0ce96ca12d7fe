//! Evaluation of a validated aggregate query against the traffic model.
//!
//! Every event emitted in `[start, min(end, now))` by a matching queue × media
//! stream lands in the granularity bucket of its emission time, in the group
//! made of the requested dimensions that metric carries (plus `mediaType`).
//! Only per-query scratch is kept; nothing survives the request. An answer of
//! more groups than `--aggregates-max-groups` is refused with a 400, the way
//! an org whose result-size limit is that low would (API notes §2.7: the limit
//! is unknown).

use std::collections::HashMap;

use super::aggregate_render::{kinds_of, render, Acc, Groups, Kind};
use super::config::{EmptyResults, SlOptions};
use super::conversation::Metric;
use super::errors::ApiError;
use super::filter::Dim;
use super::org::OrgModel;
use super::query::{AggQuery, QueryType};
use super::rng::uuid;
use super::traffic::{ConvCore, Stream};

/// Which requested dimensions vary below the stream level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct SubKey {
    user: Option<u32>,
    wrap: Option<u8>,
    conv: Option<(i64, u32)>,
}

struct Plan<'q> {
    q: &'q AggQuery,
    kinds: Vec<Kind>,
    slots: [Option<usize>; Metric::ALL.len()],
    sl: Option<usize>,
    target: Option<usize>,
    want_user: bool,
    want_wrap: bool,
    want_conv: bool,
    stream_dims: Vec<(String, Dim)>,
    starts: Vec<i64>,
    scan_end: i64,
    opts: SlOptions,
}

/// How an answer is shaped beyond the query itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnswerOptions {
    /// Body of an answer without data.
    pub empty: EmptyResults,
    /// Add the sparse groups of media the queues never handle (`--media-settings all`).
    pub sparse: bool,
    /// Most groups one answer may carry (`None` = no limit).
    pub max_groups: Option<usize>,
}

/// Answers `q` at `now` with the JSON response body, or the 400 of an answer
/// with more groups than `opts.max_groups`.
pub(crate) fn answer(
    org: &OrgModel,
    q: &AggQuery,
    now: i64,
    opts: AnswerOptions,
) -> Result<String, ApiError> {
    let groups = evaluate(org, q, now);
    let extra = if opts.sparse {
        super::sparse::groups(org, q, now)
    } else {
        Vec::new()
    };
    let count = groups.len() + extra.len();
    let ranked = q.query_type != QueryType::GroupBy;
    if let Some(max) = opts.max_groups.filter(|&max| count > max && !ranked) {
        return Err(too_many_groups(count, max));
    }
    Ok(render(q, groups, extra, opts.empty))
}

/// The 400 for an answer of `n` groups, more than `max`. Genesys's wording is
/// unknown; this one names the result size and the way out.
pub(crate) fn too_many_groups(n: usize, max: usize) -> ApiError {
    ApiError::bad_request(format!(
        "The query result has {n} groups, more than the maximum of {max} a synchronous \
         aggregate query may return. Narrow the query or use an aggregate job."
    ))
}

fn plan<'q>(org: &OrgModel, q: &'q AggQuery, now: i64) -> Plan<'q> {
    let kinds = kinds_of(q);
    let mut slots = [None; Metric::ALL.len()];
    let (mut sl, mut target) = (None, None);
    for (i, (name, kind)) in q.metrics.iter().zip(&kinds).enumerate() {
        match kind {
            Kind::ServiceLevel => sl = Some(i),
            Kind::Target => target = Some(i),
            Kind::Timed | Kind::Count => {
                if let Some(m) = Metric::from_name(name) {
                    slots[m as usize] = Some(i);
                }
            }
            Kind::Unmodelled => {}
        }
    }
    let has = |d: &str| q.group_by.iter().any(|g| g == d);
    let stream_dims = q
        .group_by
        .iter()
        .map(|g| (g.clone(), Dim::from_name(g)))
        .filter(|(_, d)| d.is_stream_level() && *d != Dim::Other)
        .collect();
    Plan {
        q,
        kinds,
        slots,
        sl,
        target,
        want_user: has("userId"),
        want_wrap: has("wrapUpCode"),
        want_conv: has("conversationId"),
        stream_dims,
        starts: q.buckets.iter().map(|b| b.0).collect(),
        scan_end: q.end.min(now),
        opts: org.service_level_options(),
    }
}

/// Streams per evaluation thread below which a query runs on one thread.
const STREAMS_PER_THREAD: usize = 256;

fn evaluate(org: &OrgModel, q: &AggQuery, now: i64) -> Groups {
    let p = plan(org, q, now);
    if p.scan_end <= q.start {
        return Groups::new();
    }
    let root = q.filter.as_ref().map(|f| &f.root);
    let removed = org.removed_set();
    let mut candidates: Vec<usize> = match root.and_then(|r| r.queue_ids()) {
        Some(ids) => {
            let mut v: Vec<usize> = ids
                .iter()
                .filter_map(|id| org.by_id.get(*id).copied())
                .collect();
            v.sort_unstable();
            v
        }
        None => (0..org.queues.len()).collect(),
    };
    candidates.retain(|i| !removed.contains(i));
    // An org-wide query covers thousands of streams: split them over the
    // cores, each part into its own groups, merged in queue order.
    let streams: usize = candidates.iter().map(|&i| org.queues[i].media.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(streams / STREAMS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return evaluate_queues(org, &p, &candidates);
    }
    let parts: Vec<Groups> = std::thread::scope(|scope| {
        let p = &p;
        let handles: Vec<_> = candidates
            .chunks(candidates.len().div_ceil(threads))
            .map(|part| scope.spawn(move || evaluate_queues(org, p, part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut groups = Groups::new();
    for part in parts {
        merge_groups(&mut groups, part, &p.kinds);
    }
    groups
}

/// The groups of the streams of `queues` (indices, removed ones excluded).
fn evaluate_queues(org: &OrgModel, p: &Plan<'_>, queues: &[usize]) -> Groups {
    let root = p.q.filter.as_ref().map(|f| &f.root);
    let per_event = root.is_some_and(|r| !r.is_stream_level());
    let mut groups = Groups::new();
    for &qi in queues {
        let queue = &org.queues[qi];
        for media in &queue.media {
            let s = Stream { org, queue, media };
            if let Some(r) = root.filter(|_| !per_event) {
                if !r.eval(&|d| stream_value(org, &s, d).map(Into::into)) {
                    continue;
                }
            }
            let rows = if offers_only(p) && !per_event {
                scan_offers(p, &s)
            } else {
                scan_stream(p, &s, per_event)
            };
            flush(org, p, &s, rows, &mut groups);
        }
    }
    groups
}

/// Adds the groups of `part` into `groups`.
fn merge_groups(groups: &mut Groups, part: Groups, kinds: &[Kind]) {
    for (key, buckets) in part {
        let target = groups.entry(key).or_default();
        for (bucket, accs) in buckets {
            let into = target
                .entry(bucket)
                .or_insert_with(|| vec![Acc::default(); kinds.len()]);
            for (i, a) in accs.iter().enumerate() {
                into[i].merge(a, kinds[i]);
            }
        }
    }
}

/// True when the only modelled metric asked for is `nOffered` and nothing
/// varies below the stream: the answer is the arrivals of each bucket, which
/// whole slots give without generating their conversations.
fn offers_only(p: &Plan<'_>) -> bool {
    let offered = Metric::NOffered as usize;
    p.sl.is_none()
        && p.target.is_none()
        && !(p.want_user || p.want_wrap || p.want_conv)
        && p.slots
            .iter()
            .enumerate()
            .all(|(m, slot)| slot.is_none() || m == offered)
}

/// [`scan_stream`] for an [`offers_only`] query.
fn scan_offers(p: &Plan<'_>, s: &Stream<'_>) -> Rows {
    let mut rows = Rows {
        index: HashMap::new(),
        rows: Vec::new(),
        last: None,
        width: p.kinds.len(),
    };
    let Some(i) = p.slots[Metric::NOffered as usize] else {
        return rows;
    };
    let bucket = |at: i64| p.starts.partition_point(|&x| x <= at) - 1;
    let whole = |a: i64, b: i64| bucket(a) == bucket(b - 1);
    s.for_each_offer(p.q.start, p.scan_end, whole, |at, n| {
        let acc = &mut rows.get((SubKey::default(), bucket(at)))[i];
        for _ in 0..n {
            acc.add(None);
        }
    });
    rows
}

/// Value of a stream-level dimension.
fn stream_value(org: &OrgModel, s: &Stream<'_>, d: Dim) -> Option<String> {
    match d {
        Dim::QueueId => Some(s.queue.id.clone()),
        Dim::MediaType => Some(s.media.kind.analytics_name().to_string()),
        Dim::DivisionId => Some(org.division_ids[s.queue.division].clone()),
        Dim::Direction | Dim::OriginatingDirection => Some("inbound".to_string()),
        _ => None,
    }
}

/// Value of any dimension for one event of `c`.
fn event_value(org: &OrgModel, s: &Stream<'_>, c: &ConvCore, m: Metric, d: Dim) -> Option<String> {
    match d {
        Dim::UserId => m.has_user().then(|| org.user_id(s.queue.index, c.agent)),
        Dim::WrapUpCode => m.has_wrap_up().then(|| org.wrap_up_id(c.wrap_up)),
        Dim::ConversationId => Some(uuid(&s.conversation_key(c.slot, c.k))),
        other => stream_value(org, s, other),
    }
}

/// Accumulation rows of one stream, with a one-entry cache for the hot path.
struct Rows {
    index: HashMap<(SubKey, usize), usize>,
    rows: Vec<((SubKey, usize), Vec<Acc>)>,
    last: Option<((SubKey, usize), usize)>,
    width: usize,
}

impl Rows {
    fn get(&mut self, key: (SubKey, usize)) -> &mut Vec<Acc> {
        let i = match self.last {
            Some((k, i)) if k == key => i,
            _ => {
                let next = self.rows.len();
                let i = *self.index.entry(key).or_insert(next);
                if i == next {
                    self.rows.push((key, vec![Acc::default(); self.width]));
                }
                self.last = Some((key, i));
                i
            }
        };
        &mut self.rows[i].1
    }
}

fn scan_stream(p: &Plan<'_>, s: &Stream<'_>, per_event: bool) -> Rows {
    let mut rows = Rows {
        index: HashMap::new(),
        rows: Vec::new(),
        last: None,
        width: p.kinds.len(),
    };
    let (start, end) = (p.q.start, p.scan_end);
    let sl_target = s.media.sl_percentage;
    let root = p.q.filter.as_ref().map(|f| &f.root);
    s.for_each(start, end, |c| {
        c.for_each_event(|m, at, v| {
            if at < start || at >= end {
                return;
            }
            if per_event {
                if let Some(r) = root {
                    if !r.eval(&|d| event_value(s.org, s, c, m, d).map(Into::into)) {
                        return;
                    }
                }
            }
            let b = p.starts.partition_point(|&x| x <= at) - 1;
            if let Some(i) = p.slots[m as usize] {
                let key = SubKey {
                    user: (p.want_user && m.has_user()).then_some(c.agent),
                    wrap: (p.want_wrap && m.has_wrap_up()).then_some(c.wrap_up),
                    conv: p.want_conv.then_some((c.slot, c.k)),
                };
                rows.get((key, b))[i].add(v);
            }
            if let Some(i) = p.sl {
                let (num, den) = service_level_step(m, p.opts);
                if num != 0 || den != 0 {
                    let acc = &mut rows.get((SubKey::default(), b))[i];
                    acc.count += num;
                    acc.sum += den;
                    acc.target = sl_target;
                }
            }
            if let Some(i) = p.target {
                let acc = &mut rows.get((SubKey::default(), b))[i];
                acc.count += 1;
                acc.target = sl_target;
            }
        });
    });
    rows
}

/// Contribution of one event to the service level's numerator and denominator
/// (API notes §3.2): answered within target / answered + abandons (unless
/// excluded) − short abandons (unless included) + flow-outs (if included).
fn service_level_step(m: Metric, o: SlOptions) -> (i64, i64) {
    match m {
        Metric::TAnswered => (1, 1),
        Metric::NOverSla => (-1, 0),
        Metric::TAbandon => (0, i64::from(o.include_abandons)),
        Metric::TShortAbandon => (
            0,
            -i64::from(o.include_abandons && !o.include_short_abandons),
        ),
        Metric::TFlowOut => (0, i64::from(o.include_flowouts)),
        _ => (0, 0),
    }
}

fn flush(org: &OrgModel, p: &Plan<'_>, s: &Stream<'_>, rows: Rows, groups: &mut Groups) {
    if rows.rows.is_empty() {
        return;
    }
    let mut base: Vec<(String, String)> = p
        .stream_dims
        .iter()
        .filter_map(|(name, d)| stream_value(org, s, *d).map(|v| (name.clone(), v)))
        .collect();
    if !base.iter().any(|(n, _)| n == "mediaType") {
        base.push(("mediaType".into(), s.media.kind.analytics_name().into()));
    }
    for ((sub, bucket), accs) in rows.rows {
        let mut key = base.clone();
        if let Some(a) = sub.user {
            key.push(("userId".into(), org.user_id(s.queue.index, a)));
        }
        if let Some(w) = sub.wrap {
            key.push(("wrapUpCode".into(), org.wrap_up_id(w)));
        }
        if let Some((slot, k)) = sub.conv {
            key.push(("conversationId".into(), uuid(&s.conversation_key(slot, k))));
        }
        key.sort();
        let target = groups
            .entry(key)
            .or_default()
            .entry(bucket)
            .or_insert_with(|| vec![Acc::default(); p.kinds.len()]);
        for (i, a) in accs.iter().enumerate() {
            target[i].merge(a, p.kinds[i]);
        }
    }
}
