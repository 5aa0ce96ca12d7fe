//! The sockets the exporter serves on: the `--web.listen-address` list, bound
//! here, or the sockets systemd passes by socket activation (`LISTEN_FDS`),
//! which replace that list. Each address is printed as
//! `genesys_exporter listening on SCHEME://ADDRESS`.

use tokio::net::TcpListener;

use super::Config;

/// Binds every `--web.listen-address`, or takes the sockets of a systemd
/// socket unit; errors name the flag or the passed socket.
pub async fn open(config: &Config) -> Result<Vec<TcpListener>, String> {
    let scheme = match &config.web {
        Some(web) if web.current().tls.is_some() => "https",
        _ => "http",
    };
    let mut listeners = activated()?;
    if listeners.is_empty() {
        for address in &config.listen_addresses {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|e| format!("--web.listen-address: cannot listen on {address}: {e}"))?;
            listeners.push(listener);
        }
    } else {
        tracing::info!(
            sockets = listeners.len(),
            "systemd socket activation: serving the passed sockets, not --web.listen-address"
        );
    }
    for listener in &listeners {
        match listener.local_addr() {
            Ok(addr) => {
                tracing::info!(address = %addr, path = %config.telemetry_path, scheme, "listening");
                println!("genesys_exporter listening on {scheme}://{addr}");
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the bound address"),
        }
    }
    Ok(listeners)
}

/// The TCP sockets passed by systemd (`LISTEN_PID` is this process and
/// `LISTEN_FDS` counts them); none without socket activation.
fn activated() -> Result<Vec<TcpListener>, String> {
    let mut fds = listenfd::ListenFd::from_env();
    let mut listeners = Vec::with_capacity(fds.len());
    for index in 0..fds.len() {
        let passed = fds.take_tcp_listener(index).map_err(|e| {
            format!("socket activation: passed socket {index} is not a TCP listener: {e}")
        })?;
        let Some(std) = passed else { continue };
        std.set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(std))
            .map_err(|e| format!("socket activation: cannot use passed socket {index}: {e}"))
            .map(|l| listeners.push(l))?;
    }
    Ok(listeners)
}
