//! The Genesys Cloud API client: OAuth client credentials, regions, queue
//! listing with safe paging, conversation aggregates and queue observations,
//! under a shared rate limit and concurrency cap, with retries and deadlines.
//!
//! # Layout
//! - `region`: the 18 SDK regions and the `api.` → `login.` host rule.
//! - `args` / `config`: flags and the validated [`ClientConfig`].
//! - `client`: the [`Client`] and its request loop; `oauth`: the token cache.
//! - `limiter`, `retry`, `http`: budget, retry policy, one HTTP attempt;
//!   `fanout`: one concurrent query per chunk of queue ids, chunks halved
//!   for the process lifetime when Genesys names a predicate limit.
//! - `model`: tolerant serde models; `query`: [`AggregateRequest`] and pure body builders.
//! - `queues`, `aggregates`, `observations`: the three data endpoints
//!   (`aggregates_fold`: aggregates answers decoded bucket by bucket);
//!   `notifications`: notification channels and their subscriptions.
//! - `endpoint`: the API catalogue [`Endpoint`] (paths, permissions).
//! - `observer`: instrumentation hooks; `error`: the [`Error`] type.
//!
//! Request cost of each call: `queues` = `max(1, ceil(queues / page_size))`,
//! `aggregates` = `ceil(queue_ids / chunk_size)` (1 for an org-wide scope), `observations` =
//! `ceil(queue_ids / 200)` (more after a predicate-limit refusal), plus one
//! token request whenever the cached token is missing, due for renewal
//! (`expires_in − 60 s`) or answered with 401.

mod aggregates;
mod aggregates_fold;
mod args;
mod client;
mod config;
mod endpoint;
mod error;
mod fanout;
mod http;
mod lenient;
mod limiter;
mod model;
mod notifications;
mod oauth;
mod observations;
mod observer;
mod query;
mod queues;
mod region;
mod retry;

pub use aggregates::{BucketTotals, QueueMediaSeries};
pub use aggregates_fold::BucketSink;
pub use args::ClientArgs;
pub use client::Client;
pub use config::ClientConfig;
pub use endpoint::Endpoint;
pub use error::{ApiDetail, Error, PagingStop};
pub use notifications::Channel;
pub use observations::{MediaObs, MetricRef, ObservationFold, ObservationSnapshot, QueueObs};
pub use observer::{ApiObserver, NoopObserver, RateLimitReport, RetryReason};
pub use query::{AggregateRequest, QueryScope, OBSERVATION_METRICS};
pub use queues::{Queue, QueueMedia};
pub use retry::Jitter;

/// The pure decoders of the three data endpoints (JSON models and their
/// conversion), for tests that feed them hostile answers directly.
pub mod decode {
    pub use super::aggregates::series_from_responses;
    pub use super::aggregates_fold::fold_response;
    pub use super::model::{
        AggregateResponse, ObservationGroup, ObservationMetric, ObservationResponse,
        ObservationStats, QueueListing,
    };
    pub use super::observations::snapshot_from_responses;
    pub use super::queues::queue_from_entity;
}
