//! A small PromQL scanner for lint checks: finds every vector selector (metric name,
//! matcher label names, range) together with the calls and aggregations around it,
//! and every range written in brackets. It understands Grafana `$variables` as
//! values; it does not evaluate anything and assumes the expression parses (the
//! test script checks that separately with promtool).

/// One lexical token of a PromQL expression.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// String literal, number, duration or Grafana variable: a value, kept as written.
    Value(String),
    Punct(char),
}

/// A function call or aggregation that encloses a selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Function or aggregator name (`rate`, `sum`, …); empty for plain parentheses.
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

/// What the scanner found in one expression.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Every vector selector, in order.
    pub selectors: Vec<Selector>,
    /// Every bracketed range or subquery text, in order.
    pub ranges: Vec<String>,
}

const AGGREGATORS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
];
const LABEL_LIST_KEYWORDS: &[&str] = &["on", "ignoring", "group_left", "group_right"];
const OPERATOR_KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "atan2"];

fn lex(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let take_while = |i: &mut usize, f: &dyn Fn(char) -> bool| {
        let start = *i;
        while *i < chars.len() && f(chars[*i]) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' || c == '`' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            out.push(Token::Value(chars[start..i].iter().collect()));
        } else if c == '$' {
            i += 1;
            let text = if chars.get(i) == Some(&'{') {
                take_while(&mut i, &|ch| ch != '}') + &take_while(&mut i, &|ch| ch == '}')
            } else {
                take_while(&mut i, &|ch| ch.is_ascii_alphanumeric() || ch == '_')
            };
            out.push(Token::Value(format!("${text}")));
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            out.push(Token::Value(take_while(&mut i, &|ch| {
                ch.is_ascii_alphanumeric() || ch == '.'
            })));
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            out.push(Token::Ident(take_while(&mut i, &|ch| {
                ch.is_ascii_alphanumeric() || ch == '_' || ch == ':'
            })));
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// Reads a parenthesised label list starting at `tokens[i] == '('`; returns the labels and the index after `)`.
fn label_list(tokens: &[Token], mut i: usize) -> (Vec<String>, usize) {
    let mut labels = Vec::new();
    if tokens.get(i) != Some(&Token::Punct('(')) {
        return (labels, i);
    }
    i += 1;
    while i < tokens.len() && tokens[i] != Token::Punct(')') {
        if let Token::Ident(name) = &tokens[i] {
            labels.push(name.clone());
        }
        i += 1;
    }
    (labels, i + 1)
}

/// Reads bracket contents starting at `tokens[i] == '['`; returns the text and the index after `]`.
fn bracket(tokens: &[Token], mut i: usize) -> (String, usize) {
    let mut text = String::new();
    i += 1;
    while i < tokens.len() && tokens[i] != Token::Punct(']') {
        match &tokens[i] {
            Token::Ident(s) | Token::Value(s) => text.push_str(s),
            Token::Punct(c) => text.push(*c),
        }
        i += 1;
    }
    (text, i + 1)
}

/// Scans one PromQL expression.
pub fn scan(expr: &str) -> Scan {
    let tokens = lex(expr);
    let mut scan = Scan::default();
    let mut stack: Vec<Call> = Vec::new();
    let mut pending: Option<Call> = None;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Ident(word) if word == "by" || word == "without" => {
                let (labels, next) = label_list(&tokens, i + 1);
                if let Some(call) = pending.as_mut() {
                    if word == "by" {
                        call.by = Some(labels);
                    } else {
                        call.without = Some(labels);
                    }
                }
                i = next;
            }
            Token::Ident(word) if LABEL_LIST_KEYWORDS.contains(&word.as_str()) => {
                i = label_list(&tokens, i + 1).1;
            }
            Token::Ident(word) if OPERATOR_KEYWORDS.contains(&word.as_str()) => i += 1,
            Token::Ident(word)
                if AGGREGATORS.contains(&word.as_str())
                    || tokens.get(i + 1) == Some(&Token::Punct('(')) =>
            {
                pending = Some(Call {
                    name: word.clone(),
                    by: None,
                    without: None,
                });
                i += 1;
            }
            Token::Ident(metric) => {
                let mut selector = Selector {
                    metric: metric.clone(),
                    labels: Vec::new(),
                    range: None,
                    calls: stack.clone(),
                };
                i += 1;
                if tokens.get(i) == Some(&Token::Punct('{')) {
                    while i < tokens.len() && tokens[i] != Token::Punct('}') {
                        if let Token::Ident(label) = &tokens[i] {
                            selector.labels.push(label.clone());
                        }
                        i += 1;
                    }
                    i += 1;
                }
                if tokens.get(i) == Some(&Token::Punct('[')) {
                    let (text, next) = bracket(&tokens, i);
                    scan.ranges.push(text.clone());
                    selector.range = Some(text);
                    i = next;
                }
                scan.selectors.push(selector);
            }
            Token::Punct('(') => {
                stack.push(pending.take().unwrap_or(Call {
                    name: String::new(),
                    by: None,
                    without: None,
                }));
                i += 1;
            }
            Token::Punct(')') => {
                stack.pop();
                i += 1;
            }
            Token::Punct('[') => {
                let (text, next) = bracket(&tokens, i);
                scan.ranges.push(text);
                i = next;
            }
            _ => i += 1,
        }
    }
    scan
}
