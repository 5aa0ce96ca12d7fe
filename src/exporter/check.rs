//! `genesys_exporter check-config`: validates the flags and environment offline
//! and, with `--online`, requests one token and one page of queues. Exits 0
//! when everything is valid, 2 with one line per problem otherwise.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use super::args::CheckConfigArgs;
use super::config::Config;
use super::demo;
use super::state::PollKind;
use crate::genesys::{ApiObserver, Client, ClientConfig, Endpoint, RetryReason};

/// Overall bound of the online check.
const ONLINE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the check and prints the verdict.
pub async fn check_config_command(args: CheckConfigArgs) -> ExitCode {
    let (config, client, problems) = validate(&args);
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("check-config: {p}");
        }
        return ExitCode::from(2);
    }
    let (Some(config), Some(client)) = (config, client) else {
        return ExitCode::from(2);
    };
    let mut sim = None;
    let client = match client {
        Some(c) => c,
        None if args.online => match demo::start().await {
            Ok((c, s)) => {
                sim = Some(s);
                c
            }
            Err(e) => {
                eprintln!("check-config: --demo: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            println!(
                "configuration OK (demo: the embedded simulator replaces Genesys Cloud); {}; {}",
                web_summary(&config),
                families_summary(&config)
            );
            return ExitCode::SUCCESS;
        }
    };
    let verdict = if args.online {
        online(client).await
    } else {
        Ok(())
    };
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    match verdict {
        Ok(()) => {
            let windows: Vec<&str> = config
                .windows
                .specs()
                .iter()
                .map(|s| s.label.as_str())
                .collect();
            let online = if args.online {
                "; token and first queue page OK"
            } else {
                ""
            };
            println!(
                "configuration OK: windows {}; {}; {}{online}",
                windows.join(", "),
                web_summary(&config),
                families_summary(&config)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("check-config: --online: {e}");
            ExitCode::from(2)
        }
    }
}

/// How /metrics will be served, for the verdict line.
fn web_summary(config: &Config) -> String {
    match &config.web {
        Some(web) => format!("web: {}", web.current().config.summary()),
        None => String::from("web: plain HTTP, no authentication"),
    }
}

/// The queue families served (`--metrics.*`) and the polls they turn off.
fn families_summary(config: &Config) -> String {
    let f = &config.families;
    if f.is_everything() {
        return String::from("families: all queue families");
    }
    let served = f.served();
    let off: Vec<&str> = PollKind::ALL
        .into_iter()
        .filter(|k| !f.polls(*k))
        .map(PollKind::as_str)
        .collect();
    let polls = if off.is_empty() {
        String::new()
    } else {
        format!(" (not polled: {})", off.join(", "))
    };
    let names = if served.is_empty() {
        String::from("none")
    } else {
        served.join(", ")
    };
    format!(
        "families: {} of {}: {names}{polls}",
        served.len(),
        served.len() + f.hidden().len()
    )
}

/// The validated configuration and client configuration (`Some(None)` in demo
/// mode), or every problem found.
fn validate(args: &CheckConfigArgs) -> (Option<Config>, Option<Option<ClientConfig>>, Vec<String>) {
    let mut problems = Vec::new();
    let config = Config::from_args(&args.exporter)
        .map_err(|p| problems.extend(p))
        .ok();
    let client = if args.exporter.demo {
        Some(None)
    } else {
        match args.exporter.client.to_config() {
            Ok(c) => Some(Some(c)),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    };
    (config, client, problems)
}

/// Requests a token and the first page of queues, and no more: a budget of
/// two requests per minute stops the listing before a second page (or a
/// retry) goes out.
async fn online(mut config: ClientConfig) -> Result<(), String> {
    config.requests_per_minute = 2;
    config.concurrency = 1;
    let probe = Arc::new(FirstPage::default());
    let client = Client::new(config, probe.clone()).map_err(|e| e.to_string())?;
    let listing = async {
        tokio::select! {
            biased;
            () = probe.ok.notified() => Ok(()),
            r = client.queues(&[]) => r.map(|_| ()),
        }
    };
    let result = tokio::time::timeout(ONLINE_TIMEOUT, listing).await;
    let state = probe
        .state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if state.first_page_ok {
        return Ok(());
    }
    match (result, state.last_refusal) {
        // A budget or deadline error stands for a retry that was not sent.
        (Ok(Err(e)), Some((endpoint, outcome))) if e.is_timeout() => {
            let endpoint = endpoint.as_str();
            Err(match outcome.parse::<u16>() {
                Ok(status) => {
                    format!("{endpoint} answered HTTP {status} (check-config does not retry)")
                }
                Err(_) => {
                    format!("{endpoint} got no answer ({outcome}); is the API/login URL reachable?")
                }
            })
        }
        (Ok(Err(e)), _) => Err(e.to_string()),
        (Ok(Ok(())), _) => Ok(()),
        (Err(_), _) => Err(format!("no answer within {}s", ONLINE_TIMEOUT.as_secs())),
    }
}

/// What the probe saw.
#[derive(Debug, Clone, Default)]
struct ProbeState {
    first_page_ok: bool,
    last_refusal: Option<(Endpoint, String)>,
}

/// Notices the first successful queue page so the listing can stop there.
#[derive(Debug, Default)]
struct FirstPage {
    ok: Notify,
    state: Mutex<ProbeState>,
}

impl ApiObserver for FirstPage {
    fn request_finished(&self, endpoint: Endpoint, outcome: &str, _elapsed: Duration) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if outcome != "200" {
            state.last_refusal = Some((endpoint, outcome.to_owned()));
        } else if endpoint == Endpoint::Queues && !state.first_page_ok {
            state.first_page_ok = true;
            self.ok.notify_one();
        }
    }

    fn retried(&self, _endpoint: Endpoint, _reason: RetryReason) {}

    fn throttled(&self, _endpoint: Endpoint, _wait: Duration) {}
}
