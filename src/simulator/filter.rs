//! The analytics filter grammar (API notes §2.2): parsing with Genesys-style
//! validation errors, and evaluation against dimension values.
//!
//! `filter = {type: and|or, predicates?, clauses?}`, `clause = {type, predicates}`,
//! `predicate = {type?: dimension, dimension, operator?: matches|exists|notExists, value?}`.

use std::collections::HashSet;

use serde_json::Value;

use super::errors::ApiError;

/// Dimensions the simulated conversations carry; every other valid dimension
/// is absent from every event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dim {
    QueueId,
    MediaType,
    DivisionId,
    Direction,
    OriginatingDirection,
    ConversationId,
    UserId,
    WrapUpCode,
    /// A valid dimension the simulator does not model (never present).
    Other,
}

impl Dim {
    /// Maps a (validated) dimension name.
    pub fn from_name(name: &str) -> Dim {
        match name {
            "queueId" => Dim::QueueId,
            "mediaType" => Dim::MediaType,
            "divisionId" => Dim::DivisionId,
            "direction" => Dim::Direction,
            "originatingDirection" => Dim::OriginatingDirection,
            "conversationId" => Dim::ConversationId,
            "userId" => Dim::UserId,
            "wrapUpCode" => Dim::WrapUpCode,
            _ => Dim::Other,
        }
    }

    /// True for dimensions whose value is the same for a whole queue × media stream.
    pub fn is_stream_level(self) -> bool {
        matches!(
            self,
            Dim::QueueId
                | Dim::MediaType
                | Dim::DivisionId
                | Dim::Direction
                | Dim::OriginatingDirection
                | Dim::Other
        )
    }
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Matches(Dim, String),
    InSet(Dim, HashSet<String>),
    Exists(Dim),
    NotExists(Dim),
}

/// What a filter may reference, and how to name things in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grammar {
    /// Field type named in invalid-dimension errors.
    pub dimension_type: &'static str,
    /// Allowed dimension names (listed in errors).
    pub dimensions: &'static [&'static str],
    /// Extra accepted dimension names (not listed).
    pub extra: &'static [&'static str],
}

/// A parsed filter plus its predicate count.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    pub root: Node,
    pub predicates: usize,
}

const FILTER_TYPES: &[&str] = &["and", "or"];
const OPERATORS: &[&str] = &["matches", "exists", "notExists"];
const PREDICATE_TYPES: &[&str] = &["dimension", "property", "metric"];

/// Parses and validates a `filter` object.
pub(crate) fn parse(v: &Value, g: &Grammar) -> Result<Filter, ApiError> {
    let mut count = 0;
    let root = parse_group(v, g, &mut count, true)?;
    Ok(Filter {
        root,
        predicates: count,
    })
}

fn parse_group(v: &Value, g: &Grammar, count: &mut usize, top: bool) -> Result<Node, ApiError> {
    let obj = v.as_object().ok_or_else(ApiError::malformed)?;
    let ty = match obj.get("type") {
        Some(Value::String(s)) if FILTER_TYPES.contains(&s.as_str()) => s.as_str(),
        Some(Value::String(s)) => {
            return Err(ApiError::invalid_value(s, "QueryFilterType", FILTER_TYPES))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::invalid_value("", "QueryFilterType", FILTER_TYPES))
        }
        Some(_) => return Err(ApiError::malformed()),
    };
    let mut children = Vec::new();
    match obj.get("predicates") {
        Some(Value::Array(ps)) => {
            for p in ps {
                children.push(parse_predicate(p, g)?);
                *count += 1;
            }
        }
        None | Some(Value::Null) => {}
        Some(_) => return Err(ApiError::malformed()),
    }
    if !top && children.is_empty() {
        return Err(ApiError::bad_request(
            "A filter clause must contain at least one predicate.",
        ));
    }
    if top {
        match obj.get("clauses") {
            Some(Value::Array(cs)) => {
                for c in cs {
                    children.push(parse_group(c, g, count, false)?);
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => return Err(ApiError::malformed()),
        }
    } else if obj.get("clauses").is_some_and(|c| !c.is_null()) {
        return Err(ApiError::bad_request(
            "Filter clauses allow at most two levels of nesting; a clause cannot contain clauses.",
        ));
    }
    Ok(if ty == "and" {
        Node::And(children)
    } else {
        Node::Or(group_sets(children))
    })
}

fn parse_predicate(v: &Value, g: &Grammar) -> Result<Node, ApiError> {
    let obj = v.as_object().ok_or_else(ApiError::malformed)?;
    match obj.get("type") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "dimension" => {}
        Some(Value::String(s)) if PREDICATE_TYPES.contains(&s.as_str()) => {
            return Err(ApiError::bad_request(format!(
                "Predicates of type [{s}] are not supported by this server; use dimension predicates."
            )))
        }
        Some(Value::String(s)) => return Err(ApiError::invalid_value(s, "QueryPredicateType", PREDICATE_TYPES)),
        Some(_) => return Err(ApiError::malformed()),
    }
    let dim = match obj.get("dimension") {
        Some(Value::String(s))
            if g.dimensions.contains(&s.as_str()) || g.extra.contains(&s.as_str()) =>
        {
            Dim::from_name(s)
        }
        Some(Value::String(s)) => {
            return Err(ApiError::invalid_value(s, g.dimension_type, g.dimensions))
        }
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "A dimension predicate requires a dimension.",
            ))
        }
        Some(_) => return Err(ApiError::malformed()),
    };
    if obj.get("range").is_some_and(|r| !r.is_null()) {
        return Err(ApiError::bad_request(
            "Range predicates are not supported on dimension predicates by this server.",
        ));
    }
    let operator = match obj.get("operator") {
        None | Some(Value::Null) => "matches",
        Some(Value::String(s)) if OPERATORS.contains(&s.as_str()) => s.as_str(),
        Some(Value::String(s)) => {
            return Err(ApiError::invalid_value(
                s,
                "QueryPredicateOperator",
                OPERATORS,
            ))
        }
        Some(_) => return Err(ApiError::malformed()),
    };
    match operator {
        "exists" => Ok(Node::Exists(dim)),
        "notExists" => Ok(Node::NotExists(dim)),
        _ => match obj.get("value") {
            Some(Value::String(s)) => Ok(Node::Matches(dim, s.clone())),
            None | Some(Value::Null) => Err(ApiError::bad_request(
                "A predicate with operator [matches] requires a value.",
            )),
            Some(_) => Err(ApiError::malformed()),
        },
    }
}

/// Turns many `dim matches x` siblings of an `or` into one set lookup.
fn group_sets(children: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::new();
    let mut sets: Vec<(Dim, HashSet<String>)> = Vec::new();
    for c in children {
        match c {
            Node::Matches(d, v) => match sets.iter_mut().find(|(sd, _)| *sd == d) {
                Some((_, s)) => {
                    s.insert(v);
                }
                None => sets.push((d, HashSet::from([v]))),
            },
            other => out.push(other),
        }
    }
    out.extend(sets.into_iter().map(|(d, s)| Node::InSet(d, s)));
    out
}

impl Node {
    /// Evaluates against `lookup` (a dimension's value, `None` when absent).
    pub fn eval<'a>(&self, lookup: &dyn Fn(Dim) -> Option<std::borrow::Cow<'a, str>>) -> bool {
        match self {
            Node::And(cs) => cs.iter().all(|c| c.eval(lookup)),
            Node::Or(cs) => cs.is_empty() || cs.iter().any(|c| c.eval(lookup)),
            Node::Matches(d, v) => lookup(*d).is_some_and(|x| x == v.as_str()),
            Node::InSet(d, s) => lookup(*d).is_some_and(|x| s.contains(x.as_ref())),
            Node::Exists(d) => lookup(*d).is_some(),
            Node::NotExists(d) => lookup(*d).is_none(),
        }
    }

    /// True when the filter only references stream-level dimensions.
    pub fn is_stream_level(&self) -> bool {
        match self {
            Node::And(cs) | Node::Or(cs) => cs.iter().all(Node::is_stream_level),
            Node::Matches(d, _) | Node::InSet(d, _) | Node::Exists(d) | Node::NotExists(d) => {
                d.is_stream_level()
            }
        }
    }

    /// Queue ids this filter can match, when it pins them down (`None` = any).
    pub fn queue_ids(&self) -> Option<HashSet<&str>> {
        match self {
            Node::Matches(Dim::QueueId, v) => Some(HashSet::from([v.as_str()])),
            Node::InSet(Dim::QueueId, s) => Some(s.iter().map(String::as_str).collect()),
            Node::And(cs) => cs
                .iter()
                .filter_map(Node::queue_ids)
                .reduce(|a, b| a.intersection(&b).copied().collect()),
            Node::Or(cs) if !cs.is_empty() => {
                let mut all = HashSet::new();
                for c in cs {
                    all.extend(c.queue_ids()?);
                }
                Some(all)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    const G: Grammar = Grammar {
        dimension_type: "QueueObservationQueryDimension",
        dimensions: &["queueId", "mediaType"],
        extra: &[],
    };

    /// and/or trees evaluate as boolean logic over present dimensions.
    #[test]
    fn evaluates_and_or() {
        let f = parse(
            &json!({"type": "and", "clauses": [
                {"type": "or", "predicates": [{"dimension": "queueId", "value": "a"}, {"dimension": "queueId", "value": "b"}]},
                {"type": "or", "predicates": [{"dimension": "mediaType", "value": "voice"}]}
            ]}),
            &G,
        )
        .expect("valid");
        assert_eq!(f.predicates, 3);
        let look = |q: &'static str, m: &'static str| {
            move |d: Dim| match d {
                Dim::QueueId => Some(Cow::Borrowed(q)),
                Dim::MediaType => Some(Cow::Borrowed(m)),
                _ => None,
            }
        };
        assert!(f.root.eval(&look("a", "voice")));
        assert!(!f.root.eval(&look("a", "chat")));
        assert!(!f.root.eval(&look("c", "voice")));
        let ids = f.root.queue_ids().expect("pinned");
        assert_eq!(ids, HashSet::from(["a", "b"]));
    }

    /// Bad types, dimensions and operators give the Genesys invalid.value errors.
    #[test]
    fn rejects_bad_grammar() {
        let e = parse(&json!({"type": "xor"}), &G).expect_err("bad type");
        assert!(e
            .message
            .contains("[QueryFilterType]. Allowable values are: and, or"));
        let e = parse(
            &json!({"type": "or", "predicates": [{"dimension": "userId", "value": "x"}]}),
            &G,
        )
        .expect_err("bad dim");
        assert!(e.message.contains("Value [userId]"));
        let e = parse(&json!({"type": "or", "predicates": [{"dimension": "queueId", "operator": "like", "value": "x"}]}), &G).expect_err("bad op");
        assert_eq!(e.code, "invalid.value");
        let e = parse(&json!({"type": "or", "clauses": [{"type": "or"}]}), &G)
            .expect_err("empty clause");
        assert_eq!(e.code, "bad.request");
    }
}
