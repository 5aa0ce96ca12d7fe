//! genesys_exporter: a Prometheus exporter for Genesys Cloud queue analytics,
//! with a faithful, deterministic simulator of the Genesys Cloud API.
//!
//! # Layout
//! - [`cli`]: the command line (exporter flags and the `simulate`, `report`,
//!   `check-config` subcommands), every flag mirrored by an environment variable.
//! - [`simulator`]: the Genesys Cloud API simulator (OAuth, queues, aggregates,
//!   observations, rate limits, faults) and its deterministic traffic model.
//! - [`genesys`]: the API client: OAuth client credentials, regions, paging,
//!   query building, rate limiting, retries and typed responses.
//! - [`report`]: the one-shot per-queue table (`genesys_exporter report`).
//! - [`exporter`]: the poll loop, rolling windows, snapshots, `/metrics` and health.
//! - [`kpi`]: pure KPI arithmetic shared by `report` and the exporter.
//! - [`timefmt`]: Genesys-style instants, intervals and ISO-8601 durations.
//! - [`secret`]: a redacted string type for client secrets and tokens.
//! - [`logging`]: tracing setup (`--log.level`, `--log.format`): logfmt or JSON lines.
//! - `tasks`: runs concurrent futures to completion (client fan-out, poller).
//! - [`shutdown`]: the SIGINT/SIGTERM stop signal of the long-running commands.
//! - [`web`]: `--web.config.file`: TLS, basic authentication, security headers.

pub mod cli;
pub mod exporter;
pub mod genesys;
pub mod kpi;
pub mod logging;
pub mod report;
pub mod secret;
pub mod shutdown;
pub mod simulator;
mod tasks;
pub mod timefmt;
pub mod web;
