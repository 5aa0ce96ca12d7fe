//! One log event as one line, without I/O: logfmt as the Prometheus ecosystem
//! writes it (`time=… level=info msg="poll succeeded" poll=aggregates`) or a
//! JSON object with the same keys in the same order.

use std::fmt::Write as _;

use crate::timefmt;

/// A field value as recorded: numbers and booleans stay typed so that JSON
/// lines carry them unquoted.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text (strings, `Display` and `Debug` renderings, errors).
    Text(String),
    /// A signed integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    fn to_text(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// Everything a line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    /// Event time, epoch milliseconds (printed in UTC with a `Z`).
    pub time_ms: i64,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: &'a str,
    /// The event's message, if it has one.
    pub msg: Option<&'a str>,
    /// Span fields (outermost span first), then the event's own fields.
    pub fields: &'a [(&'a str, Value)],
}

/// The line in logfmt, newline included. Values are quoted when they are
/// empty or contain a space, `=`, `"` or a control character; inside quotes
/// `"` and `\` are escaped and control characters written as `\n`, `\t`,
/// `\r` or `\uXXXX`, so an event never spans two lines.
pub fn logfmt(line: &Line<'_>) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("time=");
    out.push_str(&timefmt::format_instant(line.time_ms));
    out.push_str(" level=");
    out.push_str(line.level);
    if let Some(msg) = line.msg {
        out.push_str(" msg=");
        push_logfmt_value(&mut out, msg);
    }
    for (key, value) in line.fields {
        out.push(' ');
        push_logfmt_key(&mut out, key);
        out.push('=');
        push_logfmt_value(&mut out, &value.to_text());
    }
    out.push('\n');
    out
}

/// The line as one JSON object, newline included: `time`, `level`, `msg`,
/// then the fields. A key given twice keeps its last value.
pub fn json(line: &Line<'_>) -> String {
    let mut entries: Vec<(&str, serde_json::Value)> = vec![
        ("time", timefmt::format_instant(line.time_ms).into()),
        ("level", line.level.into()),
    ];
    if let Some(msg) = line.msg {
        entries.push(("msg", msg.into()));
    }
    for (key, value) in line.fields {
        let value = match value {
            Value::Text(t) => serde_json::Value::from(t.as_str()),
            Value::Int(i) => i64::try_from(*i)
                .map(serde_json::Value::from)
                .or_else(|_| u64::try_from(*i).map(serde_json::Value::from))
                .unwrap_or_else(|_| i.to_string().into()),
            Value::Float(f) if f.is_finite() => serde_json::Value::from(*f),
            Value::Float(f) => f.to_string().into(),
            Value::Bool(b) => serde_json::Value::from(*b),
        };
        entries.retain(|(k, _)| k != key);
        entries.push((key, value));
    }
    let mut out = String::from("{");
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(*key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push_str("}\n");
    out
}

/// True when a logfmt value must be quoted.
fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value
            .chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control())
}

fn push_logfmt_value(out: &mut String, value: &str) {
    if !needs_quotes(value) {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Keys are written bare; characters that would break the `key=value`
/// structure become `_`.
fn push_logfmt_key(out: &mut String, key: &str) {
    if key.is_empty() {
        out.push('_');
    }
    out.extend(key.chars().map(|c| {
        if c == ' ' || c == '=' || c == '"' || c.is_control() {
            '_'
        } else {
            c
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-02T03:04:05.678Z.
    const T: i64 = 1_767_323_045_678;

    fn line<'a>(msg: Option<&'a str>, fields: &'a [(&'a str, Value)]) -> Line<'a> {
        Line {
            time_ms: T,
            level: "info",
            msg,
            fields,
        }
    }

    /// The documented example renders exactly: UTC time with milliseconds,
    /// then level, msg and the fields in the order recorded.
    #[test]
    fn documented_example() {
        let fields = [
            ("poll", Value::Text("aggregates".into())),
            ("seconds", Value::Float(0.024)),
        ];
        assert_eq!(
            logfmt(&line(Some("poll succeeded"), &fields)),
            "time=2026-01-02T03:04:05.678Z level=info msg=\"poll succeeded\" poll=aggregates seconds=0.024\n"
        );
    }

    /// Values are quoted only when they are empty or hold a space, `=` or `"`;
    /// quotes and backslashes inside quotes are escaped.
    #[test]
    fn quoting() {
        let fields = [
            ("plain", Value::Text("a-b/c:d".into())),
            ("empty", Value::Text(String::new())),
            ("eq", Value::Text("a=b".into())),
            ("quote", Value::Text("say \"hi\"".into())),
            ("slash", Value::Text(r"C:\x y".into())),
            ("bare_slash", Value::Text(r"a\b".into())),
            ("n", Value::Int(-3)),
            ("ok", Value::Bool(true)),
        ];
        assert_eq!(
            logfmt(&line(None, &fields)),
            "time=2026-01-02T03:04:05.678Z level=info plain=a-b/c:d empty=\"\" eq=\"a=b\" \
             quote=\"say \\\"hi\\\"\" slash=\"C:\\\\x y\" bare_slash=a\\b n=-3 ok=true\n"
        );
    }

    /// Newlines and other control characters are escaped, so every event is
    /// exactly one line, in logfmt and in JSON.
    #[test]
    fn one_line_per_event() {
        let fields = [("cause", Value::Text("first\nsecond\r\tthird\u{7}".into()))];
        let text = logfmt(&line(Some("two\nlines"), &fields));
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
        assert!(
            text.contains(r#"msg="two\nlines" cause="first\nsecond\r\tthird\u0007""#),
            "{text}"
        );
        let json = json(&line(Some("two\nlines"), &fields));
        assert_eq!(json.matches('\n').count(), 1);
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed["msg"], "two\nlines");
    }

    /// JSON lines use the same keys in the same order, with typed numbers and
    /// booleans; a repeated key keeps its last value.
    #[test]
    fn json_keys_and_order() {
        let fields = [
            ("poll", Value::Text("aggregates".into())),
            ("seconds", Value::Float(0.024)),
            ("queues", Value::Int(12)),
            ("ok", Value::Bool(false)),
            ("poll", Value::Text("observations".into())),
            ("ratio", Value::Float(f64::NAN)),
        ];
        assert_eq!(
            json(&line(Some("poll succeeded"), &fields)),
            "{\"time\":\"2026-01-02T03:04:05.678Z\",\"level\":\"info\",\"msg\":\"poll succeeded\",\
             \"seconds\":0.024,\"queues\":12,\"ok\":false,\"poll\":\"observations\",\"ratio\":\"NaN\"}\n"
        );
    }

    /// Keys that would break the `key=value` structure are made safe.
    #[test]
    fn odd_keys() {
        let fields = [("a b=c", Value::Int(1)), ("", Value::Int(2))];
        assert!(logfmt(&line(None, &fields)).ends_with(" a_b_c=1 _=2\n"));
    }
}
