//! The tracing [`Layer`] behind `--log.format`: records each span's fields,
//! and writes every event as one [`line`](super::line) (span fields from the
//! outermost span in, then the event's fields) through a sink.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::line::{self, Line, Value};
use super::LogFormat;

/// Writes each event as one line in `format` to `sink`.
pub struct LineLayer<W> {
    format: LogFormat,
    sink: W,
}

impl<W> fmt::Debug for LineLayer<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineLayer")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<W> LineLayer<W>
where
    W: Fn(&str) + Send + Sync + 'static,
{
    /// A layer handing every finished line (newline included) to `sink`.
    pub fn new(format: LogFormat, sink: W) -> Self {
        LineLayer { format, sink }
    }
}

/// The fields recorded on a span, kept in its extensions.
#[derive(Debug, Default)]
struct SpanFields(Vec<(&'static str, Value)>);

/// Collects fields in the order recorded; `message` is kept apart. Fields
/// added by the `log` bridge (`log.target`, `log.file`, …) are dropped.
#[derive(Debug, Default)]
struct Collect {
    message: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Collect {
    fn push(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            self.message = Some(match value {
                Value::Text(t) => t,
                other => format!("{other:?}"),
            });
        } else if !name.starts_with("log.") {
            self.fields.retain(|(k, _)| *k != name);
            self.fields.push((name, value));
        }
    }
}

impl Visit for Collect {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::Int(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::Int(value.into()));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, Value::Int(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let value =
            i128::try_from(value).map_or_else(|_| Value::Text(value.to_string()), Value::Int);
        self.push(field, value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::Text(value.to_string()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(field, Value::Text(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::Text(format!("{value:?}")));
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl<S, W> Layer<S> for LineLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Fn(&str) + Send + Sync + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut collect = Collect::default();
        attrs.record(&mut collect);
        span.extensions_mut().insert(SpanFields(collect.fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() else {
            return;
        };
        let mut collect = Collect {
            message: None,
            fields: std::mem::take(fields),
        };
        values.record(&mut collect);
        *fields = collect.fields;
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.iter().cloned());
                }
            }
        }
        let mut collect = Collect::default();
        event.record(&mut collect);
        fields.extend(collect.fields);
        let line = Line {
            time_ms: now_ms(),
            level: level_name(event.metadata().level()),
            msg: collect.message.as_deref(),
            fields: &fields,
        };
        let text = match self.format {
            LogFormat::Logfmt => line::logfmt(&line),
            LogFormat::Json => line::json(&line),
        };
        (self.sink)(&text);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Runs `f` under a subscriber with a [`LineLayer`] and returns the lines written.
    fn capture(format: LogFormat, f: impl FnOnce()) -> Vec<String> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let lines = Arc::clone(&lines);
            move |text: &str| lines.lock().expect("lock").push(text.to_string())
        };
        let subscriber = tracing_subscriber::registry().with(LineLayer::new(format, sink));
        tracing::subscriber::with_default(subscriber, f);
        let lines = lines.lock().expect("lock").clone();
        lines
    }

    /// Strips the `time=…` prefix, which is the wall clock.
    fn after_time(line: &str) -> &str {
        line.split_once(' ').map_or("", |(_, rest)| rest)
    }

    /// An event inside spans prints the span fields (outer first), then its
    /// own, with `Display` and `Debug` values, on one line each.
    #[test]
    fn events_with_span_fields() {
        let lines = capture(LogFormat::Logfmt, || {
            let outer = tracing::info_span!("poll", poll = "aggregates");
            let _outer = outer.enter();
            let inner = tracing::info_span!("chunk", chunk = 2u64, pending = tracing::field::Empty);
            inner.record("pending", true);
            let _inner = inner.enter();
            tracing::info!(seconds = 0.024, queues = 3, cause = %"down\nnow", "poll succeeded");
            tracing::warn!(list = ?["a", "b"], "odd");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("time=") && lines[0].ends_with('\n'));
        assert_eq!(
            after_time(&lines[0]),
            "level=info msg=\"poll succeeded\" poll=aggregates chunk=2 pending=true \
             seconds=0.024 queues=3 cause=\"down\\nnow\"\n"
        );
        assert_eq!(
            after_time(&lines[1]),
            "level=warn msg=odd poll=aggregates chunk=2 pending=true list=\"[\\\"a\\\", \\\"b\\\"]\"\n"
        );
    }

    /// JSON lines carry `time`, `level`, `msg` and the fields as one object.
    #[test]
    fn json_events() {
        let lines = capture(LogFormat::Json, || {
            tracing::error!(poll = "queues", attempts = 2u64, "poll failed");
        });
        assert_eq!(lines.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "poll failed");
        assert_eq!(v["poll"], "queues");
        assert_eq!(v["attempts"], 2);
        assert!(v["time"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 24));
        assert!(lines[0].starts_with("{\"time\":"));
    }
}
