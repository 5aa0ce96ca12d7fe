//! The report's I/O: list the queues, query aggregates for each range chunk,
//! merge, render, and map failures to one line on stderr and an exit status.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use super::args::{Plan, ReportArgs};
use super::range;
use super::render;
use super::rows::{self, Row};
use crate::genesys::{AggregateRequest, Client, Error, NoopObserver};

/// Exit status for invalid flags, environment or arguments.
pub const EXIT_USAGE: u8 = 2;
/// Exit status for rejected credentials or a missing permission.
pub const EXIT_AUTH: u8 = 3;
/// Exit status when the API cannot be reached or keeps failing (network, timeouts, 5xx, 429).
pub const EXIT_UNAVAILABLE: u8 = 4;
/// Exit status for anything else (a refused request, an unreadable response).
pub const EXIT_FAILURE: u8 = 1;

/// A failed report: the exit status and the one line to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Process exit status.
    pub code: u8,
    /// One line, no secrets.
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = if e.is_config() {
            EXIT_USAGE
        } else if e.is_credentials() || e.is_permission() {
            EXIT_AUTH
        } else if e.is_transient() {
            EXIT_UNAVAILABLE
        } else {
            EXIT_FAILURE
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Runs the report and prints it; returns the exit status.
pub async fn run_command(args: ReportArgs) -> ExitCode {
    let outcome = match render_report(&args).await {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| Failure {
                    code: EXIT_FAILURE,
                    message: format!("cannot write the report: {e}"),
                })
        }
        Err(f) => Err(f),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("genesys_exporter report: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Validates the flags, fetches the data and renders it in the chosen format.
pub async fn render_report(args: &ReportArgs) -> Result<String, Failure> {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let plan = args.plan(now_ms).map_err(Failure::usage)?;
    let config = args.client.to_config()?;
    let client = Client::new(config, Arc::new(NoopObserver))?;
    let rows = collect_rows(&client, &plan).await?;
    let title = format!(
        "Queue report {} to {} ({})",
        range::display(plan.range.start_ms, &plan.time_zone),
        range::display(plan.range.end_ms, &plan.time_zone),
        plan.time_zone_name
    );
    Ok(render::render(&rows, plan.format, &title))
}

/// Lists queues, selects them, queries every range chunk and merges the results.
pub async fn collect_rows(client: &Client, plan: &Plan) -> Result<Vec<Row>, Failure> {
    let all = client.queues(&[]).await?;
    let selected = rows::select_queues(&all, &plan.queue_patterns);
    if selected.is_empty() && !plan.queue_patterns.is_empty() {
        return Err(Failure::usage(format!(
            "no queue matches --queue {} ({} queues visible to the OAuth client)",
            plan.queue_patterns.join(" --queue "),
            all.len()
        )));
    }
    let queue_ids: Vec<String> = selected.iter().map(|q| q.id.clone()).collect();
    let mut totals = BTreeMap::new();
    for chunk in &plan.chunks {
        let request = AggregateRequest {
            start_ms: chunk.start_ms,
            end_ms: chunk.end_ms,
            granularity_ms: None,
            time_zone: Some(plan.time_zone_name.clone()),
            scope: crate::genesys::QueryScope::Queues(queue_ids.clone()),
            media_types: plan.media_types.clone(),
        };
        let series = client.aggregates(&request).await?;
        rows::accumulate(&mut totals, &series);
    }
    Ok(rows::build_rows(&selected, &totals, &plan.media_types))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::Endpoint;

    /// Error kinds map to distinct exit statuses and keep their one-line message.
    #[test]
    fn exit_statuses() {
        let creds = Error::Credentials {
            status: 401,
            detail: "invalid_client".into(),
        };
        assert_eq!(Failure::from(creds).code, EXIT_AUTH);
        let down = Error::Unreachable {
            endpoint: Endpoint::Token,
            host: "127.0.0.1:1".into(),
            cause: "Connection refused".into(),
        };
        let f = Failure::from(down);
        assert_eq!(f.code, EXIT_UNAVAILABLE);
        assert!(f.message.contains("127.0.0.1:1"));
        assert_eq!(Failure::from(Error::Config("x".into())).code, EXIT_USAGE);
        let decode = Error::Decode {
            endpoint: Endpoint::Queues,
            cause: "x".into(),
        };
        assert_eq!(Failure::from(decode).code, EXIT_FAILURE);
    }
}
