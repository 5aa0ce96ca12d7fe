//! `genesys_exporter report`: a one-shot table of queue KPIs per queue name and
//! media type over a past range, from the real Genesys endpoints.
//!
//! # Layout
//! - [`args`]: flags and validation into a [`args::Plan`].
//! - [`range`]: the time range and its splitting into query-sized chunks (pure).
//! - [`rows`]: queue selection, merging, and the KPI row fields (pure).
//! - [`render`]: table, CSV and JSON output (pure).
//! - [`run`]: the I/O: list queues, query each chunk, print.
//!
//! Requests per report: `max(1, ceil(Q_all / page_size))` queue pages
//! + `ceil(Q / chunk_size) × ceil(range / max_interval)` aggregate queries
//! + 1 token, where `Q_all` is every visible queue and `Q` those selected.

pub mod args;
pub mod range;
pub mod render;
pub mod rows;
pub mod run;

pub use args::ReportArgs;
pub use render::Format;
pub use run::run_command;
