//! `--demo`: the embedded simulator (pending the simulator module).

use crate::genesys::ClientConfig;

/// A running simulator.
#[derive(Debug)]
pub struct DemoSim;

impl DemoSim {
    /// Stops the simulator.
    pub async fn shutdown(self) {}
}

/// Starts the simulator and returns a client configuration pointing at it.
pub async fn start() -> Result<(ClientConfig, DemoSim), String> {
    Err(String::from(
        "the embedded simulator is not available in this build",
    ))
}
