//! The Genesys Cloud API client: OAuth client credentials, regions, queue
//! listing with safe paging, conversation aggregates and queue observations,
//! under a shared rate limit and concurrency cap, with retries and deadlines.
//!
//! # Layout
//! - [`region`]: the 18 SDK regions and the `api.` → `login.` host rule.
//! - [`args`] / [`config`]: flags and the validated [`ClientConfig`].
//! - [`client`]: the [`Client`] and its request loop; [`oauth`]: the token cache.
//! - [`limiter`], [`retry`], [`http`]: budget, retry policy, one HTTP attempt;
//!   [`fanout`]: concurrent calls run to completion.
//! - [`model`]: tolerant serde models; [`query`]: pure body builders.
//! - [`queues`], [`aggregates`], [`observations`]: the three endpoints.
//! - [`observer`]: instrumentation hooks; [`error`]: the [`Error`] type.
//!
//! Request cost of each call: `queues` = `max(1, ceil(queues / page_size))`,
//! `aggregates` and `observations` = `ceil(queue_ids / chunk_size)`, plus one
//! token request whenever the cached token is missing, due for renewal
//! (`expires_in − 60 s`) or answered with 401.

pub mod aggregates;
pub mod args;
pub mod client;
pub mod config;
pub mod error;
pub mod fanout;
pub mod http;
pub mod limiter;
pub mod model;
pub mod oauth;
pub mod observations;
pub mod observer;
pub mod query;
pub mod queues;
pub mod region;
pub mod retry;

pub use aggregates::{AggregateRequest, BucketTotals, QueueMediaSeries};
pub use args::ClientArgs;
pub use client::Client;
pub use config::ClientConfig;
pub use error::{ApiDetail, Error};
pub use observations::{MediaObs, ObservationSnapshot, QueueObs};
pub use observer::{ApiObserver, Endpoint, NoopObserver, RetryReason};
pub use queues::{Queue, QueueMedia};
