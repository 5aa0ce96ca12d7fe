//! The API client over real HTTP against the simulator (and, for a hostile
//! paging link, a tiny stub server): tokens, re-authentication, rate limits,
//! retries, permanent errors, paging, chunking, observations and secrets.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::client::*;
use crate::util::sim::start_sim;
use axum::routing::{get, post};
use axum::{Json, Router};
use genesys_exporter::genesys::{
    AggregateRequest, Client, Endpoint, Error, NoopObserver, RetryReason,
};
use genesys_exporter::simulator::{Fault, LongestMode, SimConfig, SimEndpoint, TrafficProfile};
use serde_json::json;

fn demo_client(base: &str) -> (Client, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let client =
        Client::new(fast_config(base, DEMO_ID, DEMO_SECRET), recorder.clone()).expect("client");
    (client, recorder)
}

fn status(status: u16, retry_after: Option<u32>) -> Fault {
    Fault::Status {
        status,
        retry_after,
    }
}

/// A past day, aligned to the hour, that every simulator clock has fully seen.
fn past_day() -> (i64, i64) {
    let hour = 3_600_000;
    let now = jiff::Timestamp::now().as_millisecond();
    let end = now - now.rem_euclid(hour) - 2 * hour;
    (end - 24 * hour, end)
}

fn aggregate_request(queue_ids: Vec<String>) -> AggregateRequest {
    let (start_ms, end_ms) = past_day();
    AggregateRequest {
        start_ms,
        end_ms,
        granularity_ms: None,
        time_zone: None,
        scope: genesys_exporter::genesys::QueryScope::Queues(queue_ids),
        media_types: vec![],
    }
}

mod auth;
mod data;
mod resilience;
