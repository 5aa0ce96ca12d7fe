//! The `/` landing page: name, version, links, the last status of each poll
//! and where the real-time gauges come from (source, live notification
//! channels, age of the last socket message).

use std::fmt::Write;
use std::time::SystemTime;

use super::selfmetrics::RealtimeView;
use super::state::{Health, KindStatus, PollKind};

/// Renders the landing page at the current time.
pub fn page(
    telemetry_path: &str,
    status: &[KindStatus; 3],
    health: &Health,
    realtime: &RealtimeView,
) -> String {
    page_at(telemetry_path, status, health, realtime, SystemTime::now())
}

/// One line on the real-time source as of `now`.
fn realtime_line(view: &RealtimeView, now: SystemTime) -> String {
    let age = view.last_message.map_or_else(
        || String::from("none yet"),
        |t| {
            let secs = now.duration_since(t).unwrap_or_default().as_secs();
            format!("{secs}s ago")
        },
    );
    match view.source {
        None => String::from("Real-time gauges: off."),
        Some(source) => format!(
            "Real-time gauges: {}; live notification channels: {}; last socket message: {age}.",
            source.as_str(),
            view.channels
        ),
    }
}

fn page_at(
    telemetry_path: &str,
    status: &[KindStatus; 3],
    health: &Health,
    realtime: &RealtimeView,
    now: SystemTime,
) -> String {
    let path = escape(telemetry_path);
    let mut rows = String::new();
    for ((kind, s), fresh) in PollKind::ALL.iter().zip(status).zip(health.fresh) {
        let state = match (s.interval, &s.last_error, s.last_success) {
            (None, _, _) => "off",
            (Some(_), Some(_), _) => "failing",
            (Some(_), None, Some(_)) if fresh => "ok",
            (Some(_), None, Some(_)) => "stale",
            (Some(_), None, None) => "pending",
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            kind.as_str(),
            s.interval
                .map(|d| humantime::format_duration(d).to_string())
                .unwrap_or_else(|| "-".into()),
            s.last_success
                .map(|(_, t)| timestamp(t))
                .unwrap_or_else(|| "never".into()),
            s.last_duration
                .map(|d| format!("{:.3}s", d.as_secs_f64()))
                .unwrap_or_else(|| "-".into()),
            escape(
                &s.last_error
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        );
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Genesys Cloud exporter</title></head>\n\
         <body><h1>Genesys Cloud exporter</h1>\n<p>Version {version}. Data is polled from the Genesys \
         Cloud API on a schedule and cached; scrapes never call the API. genesys_up = {up}.</p>\n\
         <ul><li><a href=\"{path}\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li>\
         <li><a href=\"/-/ready\">Readiness</a></li></ul>\n<p>{realtime}</p>\n<table border=\"1\" cellpadding=\"4\">\
         <tr><th>poll</th><th>state</th><th>interval</th><th>last success (UTC)</th>\
         <th>last duration</th><th>last error</th></tr>{rows}</table>\n</body></html>\n",
        version = env!("CARGO_PKG_VERSION"),
        up = u8::from(health.up),
        realtime = realtime_line(realtime, now),
    )
}

fn timestamp(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| String::from("?"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exporter::config::RealtimeSource;
    use crate::exporter::poll_error::PollError;
    use std::time::Duration;

    /// The page links the metrics path and shows each poll's state, escaping errors.
    #[test]
    fn shows_status() {
        let mut status: [KindStatus; 3] = Default::default();
        status[0].interval = Some(Duration::from_secs(600));
        status[1].interval = Some(Duration::from_secs(60));
        status[1].last_error = Some(PollError::Lost {
            task: "rendering",
            cause: String::from("<panicked>"),
        });
        let health = Health {
            up: false,
            fresh: [false; 3],
        };
        let view = RealtimeView {
            source: None,
            channels: 0,
            last_message: None,
        };
        let html = page("/metrics", &status, &health, &view);
        assert!(html.contains("<p>Real-time gauges: off.</p>"));
        assert!(html.contains("<a href=\"/metrics\">"));
        assert!(html.contains("<td>queues</td><td>pending</td><td>10m</td>"));
        assert!(html.contains("<td>aggregates</td><td>failing</td>"));
        assert!(html.contains("rendering failed: &lt;panicked&gt;"));
        assert!(html.contains("<td>observations</td><td>off</td>"));
    }

    /// The real-time line names the source, the live channels and the age
    /// of the last message.
    #[test]
    fn shows_push_state() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut view = RealtimeView {
            source: Some(RealtimeSource::Push),
            channels: 2,
            last_message: Some(now - Duration::from_secs(3)),
        };
        assert_eq!(
            realtime_line(&view, now),
            "Real-time gauges: push; live notification channels: 2; last socket message: 3s ago."
        );
        view.source = Some(RealtimeSource::Poll);
        view.last_message = None;
        assert!(realtime_line(&view, now)
            .ends_with("poll; live notification channels: 2; last socket message: none yet."));
    }
}
