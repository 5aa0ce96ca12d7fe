//! The one PromQL reader of the static checks: parses an expression with the
//! `promql-parser` crate and lists every vector selector (metric name, matcher
//! label names, range) with the calls and aggregations around it, and every
//! range written in brackets. Grafana variables outside string literals
//! (`[$__rate_interval]`) are swapped for unique placeholder durations before
//! parsing and swapped back in the ranges reported.

use std::time::Duration;

use promql_parser::label::Matchers;
use promql_parser::parser::{self, Expr, LabelModifier, VectorSelector};

/// A function call or aggregation that encloses a selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Function or aggregator name (`rate`, `sum`, …).
    pub name: String,
    /// Labels of a `by (…)` clause, if any.
    pub by: Option<Vec<String>>,
    /// Labels of a `without (…)` clause, if any.
    pub without: Option<Vec<String>>,
}

/// A vector selector found in an expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// Label names used in its `{…}` matchers.
    pub labels: Vec<String>,
    /// The range written after it (`$__rate_interval`, `5m`, …), if it is a range selector.
    pub range: Option<String>,
    /// The calls around it, outermost first.
    pub calls: Vec<Call>,
}

/// What one expression selects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Every vector selector, in order.
    pub selectors: Vec<Selector>,
    /// Every range or subquery range, in order (`5m`, `$__rate_interval`, `1h:5m`).
    pub ranges: Vec<String>,
}

/// First placeholder duration, in seconds: far from any range a query would write.
const PLACEHOLDER_BASE_S: u64 = 1_234_567;

/// Parses one PromQL expression, possibly holding Grafana variables.
pub fn scan(expr: &str) -> Result<Scan, String> {
    let (text, variables) = substitute_variables(expr);
    let ast = parser::parse(&text)?;
    let mut scan = Scan::default();
    walk(&ast, &mut Vec::new(), &variables, &mut scan);
    Ok(scan)
}

/// Replaces every `$name`, `${name}` or `${name:format}` outside string
/// literals with a placeholder duration; returns the text and the variables
/// in placeholder order.
fn substitute_variables(expr: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(expr.len());
    let mut variables: Vec<String> = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' && c != '`' {
                        out.extend(chars.next());
                    } else if d == c {
                        break;
                    }
                }
            }
            '$' => {
                let mut var = String::from("$");
                if chars.peek() == Some(&'{') {
                    for d in chars.by_ref() {
                        var.push(d);
                        if d == '}' {
                            break;
                        }
                    }
                } else {
                    while let Some(&d) = chars.peek() {
                        if !(d.is_ascii_alphanumeric() || d == '_') {
                            break;
                        }
                        var.push(d);
                        chars.next();
                    }
                }
                let index = match variables.iter().position(|v| *v == var) {
                    Some(i) => i,
                    None => {
                        variables.push(var);
                        variables.len() - 1
                    }
                };
                out.push_str(&format!("{}s", PLACEHOLDER_BASE_S + index as u64));
            }
            other => out.push(other),
        }
    }
    (out, variables)
}

/// A range as written: the Grafana variable a placeholder stands for, or the
/// duration in Prometheus notation.
fn range_text(range: Duration, variables: &[String]) -> String {
    let ms = range.as_millis() as u64;
    let placeholder = (ms % 1000 == 0)
        .then(|| (ms / 1000).checked_sub(PLACEHOLDER_BASE_S))
        .flatten()
        .and_then(|i| variables.get(i as usize));
    if let Some(v) = placeholder {
        return v.clone();
    }
    let mut rest = ms;
    let mut text = String::new();
    for (unit, size) in [
        ("y", 365 * 86_400_000),
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

fn grouping(modifier: &Option<LabelModifier>) -> (Option<Vec<String>>, Option<Vec<String>>) {
    match modifier {
        Some(LabelModifier::Include(l)) => (Some(l.labels.clone()), None),
        Some(LabelModifier::Exclude(l)) => (None, Some(l.labels.clone())),
        None => (None, None),
    }
}

fn selector(vs: &VectorSelector, range: Option<String>, calls: &[Call]) -> Option<Selector> {
    let Matchers {
        matchers,
        or_matchers,
    } = &vs.matchers;
    let all = matchers.iter().chain(or_matchers.iter().flatten());
    let metric = vs.name.clone().or_else(|| {
        all.clone()
            .find(|m| m.name == "__name__")
            .map(|m| m.value.clone())
    })?;
    Some(Selector {
        metric,
        labels: all
            .filter(|m| m.name != "__name__")
            .map(|m| m.name.clone())
            .collect(),
        range,
        calls: calls.to_vec(),
    })
}

fn walk(expr: &Expr, calls: &mut Vec<Call>, variables: &[String], scan: &mut Scan) {
    match expr {
        Expr::Aggregate(a) => {
            let (by, without) = grouping(&a.modifier);
            calls.push(Call {
                name: a.op.to_string(),
                by,
                without,
            });
            if let Some(param) = &a.param {
                walk(param, calls, variables, scan);
            }
            walk(&a.expr, calls, variables, scan);
            calls.pop();
        }
        Expr::Call(c) => {
            calls.push(Call {
                name: c.func.name.to_string(),
                by: None,
                without: None,
            });
            for arg in &c.args.args {
                walk(arg, calls, variables, scan);
            }
            calls.pop();
        }
        Expr::Unary(u) => walk(&u.expr, calls, variables, scan),
        Expr::Paren(p) => walk(&p.expr, calls, variables, scan),
        Expr::Binary(b) => {
            walk(&b.lhs, calls, variables, scan);
            walk(&b.rhs, calls, variables, scan);
        }
        Expr::Subquery(s) => {
            let step = s.step.map(|d| range_text(d, variables));
            let text = format!(
                "{}:{}",
                range_text(s.range, variables),
                step.unwrap_or_default()
            );
            scan.ranges.push(text);
            walk(&s.expr, calls, variables, scan);
        }
        Expr::VectorSelector(vs) => scan.selectors.extend(selector(vs, None, calls)),
        Expr::MatrixSelector(m) => {
            let text = range_text(m.range, variables);
            scan.ranges.push(text.clone());
            scan.selectors.extend(selector(&m.vs, Some(text), calls));
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}
