//! `--demo`: starts the embedded Genesys API simulator (default seed and
//! queues, traffic at the weekday peak around the clock so the demo is busy
//! whatever the hour) on a loopback port and returns a client configuration
//! pointing at it with the simulator's demo credentials.

use tokio::net::TcpListener;

use crate::genesys::ClientConfig;
use crate::secret::Secret;
use crate::simulator::{self, Preset, SimConfig, SimHandle, TrafficProfile, Variants};

/// The running embedded simulator.
#[derive(Debug)]
pub struct DemoSim(SimHandle);

impl DemoSim {
    /// Stops the simulator.
    pub async fn shutdown(self) {
        self.0.shutdown().await;
    }
}

/// The real-org variants the demo's simulator answers with: the `real-org`
/// preset, so a new user sees the most realistic path (all five media per
/// queue, clock-aligned buckets, a short granularity list, absolute
/// `nextUri`, per-endpoint predicate limits).
fn demo_variants() -> Variants {
    Variants::preset(Preset::RealOrg)
}

/// Starts the simulator on 127.0.0.1 (a free port) and configures the client for it.
pub async fn start() -> Result<(ClientConfig, DemoSim), String> {
    let config = SimConfig {
        traffic_profile: TrafficProfile::Flat,
        variants: demo_variants(),
        ..SimConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on a loopback port: {e}"))?;
    let sim = simulator::spawn(config.clone(), listener)
        .await
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let client = ClientConfig::for_base_url(
        &sim.base_url(),
        &config.client_id,
        Secret::new(config.client_secret),
    )
    .map_err(|e| e.to_string())?;
    tracing::info!(simulator = %sim.base_url(), "demo mode: exporting the embedded simulator");
    Ok((client, DemoSim(sim)))
}
