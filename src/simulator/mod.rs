//! A faithful, deterministic simulator of the Genesys Cloud API subset the
//! exporter uses: OAuth client credentials, the queue list, conversation
//! aggregates and queue observations, with Genesys's validation errors, rate
//! limits and injectable faults.
//!
//! # Layout
//! - [`config`]: every knob and its default; `args` ([`SimulateFlags`]) maps
//!   the `simulate` flags onto it.
//! - `org`, `names`, `media`: the org (queues, divisions, media, service levels).
//! - `profile`, `traffic`, `conversation`, `realtime`: the daily arrival
//!   profile, the traffic model, metric events at emission time, and the
//!   real-time state derived from them.
//! - `query`, `filter`, `buckets`, `aggregate`, `aggregate_render`, `sparse`: aggregate
//!   queries.
//! - `observations`, `routing`, `auth`: the other endpoints.
//! - `notify`: the Notifications API (channels, subscriptions, the WebSocket
//!   and queue observation events).
//! - [`variants`]: the ways a real org may answer differently, and the `real-org` preset.
//! - `server`, `control`, `errors`, `urlenc`, `rng`: HTTP plumbing.

use std::process::ExitCode;

mod aggregate;
mod aggregate_render;
mod args;
mod auth;
mod buckets;
mod catalog;
pub mod config;
mod control;
mod conversation;
mod errors;
mod filter;
mod media;
mod names;
mod notify;
mod observations;
mod org;
mod profile;
mod query;
mod realtime;
mod rng;
mod routing;
mod server;
mod sparse;
mod traffic;
mod urlenc;
pub mod variants;

pub use args::{SimulateArgs, SimulateFlags};
pub use config::{
    EmptyResults, ExpiredTokenCode, LongestMode, NotifyConfig, NotifyStyle, SimClient, SimConfig,
    SlOptions, ALL_PERMISSIONS, DEFAULT_TOPIC_PERMISSION,
};
pub use control::{ChannelInfo, Control, Fault, SimEndpoint};
pub use conversation::{Conversation, Event};
pub use notify::{MAX_CHANNELS_PER_CLIENT, MAX_TOPICS_PER_CHANNEL};
pub use org::{OrgModel, SimMedia, SimQueue};
pub use profile::TrafficProfile;
pub use realtime::{MediaObservation, QueueUsers};
pub use server::{spawn, SimHandle};
pub use traffic::{Outcome, MAX_LIFETIME_MS, SLOT_MS};
pub use variants::{BucketAlignment, MediaSettingsMode, NextUri, Preset, VariantFlags, Variants};

/// Runs the simulator until Ctrl-C or SIGTERM.
pub async fn run_command(args: SimulateArgs) -> ExitCode {
    let args = args.flags;
    let config = args.to_config();
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(err) => {
            eprintln!(
                "genesys_exporter simulate: cannot listen on {:?} (--listen): {err}",
                args.listen
            );
            return ExitCode::from(2);
        }
    };
    let (queues, seed, client) = (config.queues, config.seed, config.client_id.clone());
    let handle = match spawn(config, listener).await {
        Ok(h) => h,
        Err(err) => {
            eprintln!("genesys_exporter simulate: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "genesys_exporter simulator listening on {} (seed {seed}, {queues} queues, client id {client})",
            handle.base_url()
        );
        let _ = out.flush();
    }
    crate::shutdown::shutdown_signal().await;
    tracing::info!("simulator shutting down");
    handle.shutdown().await;
    ExitCode::SUCCESS
}
