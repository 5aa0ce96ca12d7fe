//! Why a poll failed: the client's typed error, or a failure of the poll
//! itself. Kept typed until it is shown (log line, landing page) or counted
//! (`genesys_exporter_poll_failures_total{kind}`).

use std::fmt;
use std::time::Duration;

use crate::genesys;

/// A failed poll.
#[derive(Debug, Clone)]
pub enum PollError {
    /// A call of the Genesys API client failed.
    Api(genesys::Error),
    /// The poll did not finish within its deadline and was cancelled.
    Deadline(Duration),
    /// A task of the poll panicked or was aborted.
    Lost {
        /// What the task was doing.
        task: &'static str,
        /// The runtime's description of the failure.
        cause: String,
    },
}

impl PollError {
    /// Every value [`PollError::kind`] can take, each with a zero series from
    /// the start: the client's `Error::KINDS`, then the poll's own `deadline`.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        genesys::Error::KINDS.into_iter().chain(["deadline"])
    }

    /// The `kind` label: the client's [`genesys::Error::kind`], `deadline`
    /// for a poll cancelled at its deadline, `internal` for a lost task.
    pub fn kind(&self) -> &'static str {
        match self {
            PollError::Api(e) => e.kind(),
            PollError::Deadline(_) => "deadline",
            PollError::Lost { .. } => "internal",
        }
    }
}

impl From<genesys::Error> for PollError {
    fn from(e: genesys::Error) -> PollError {
        PollError::Api(e)
    }
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::Api(e) => e.fmt(f),
            PollError::Deadline(d) => write!(
                f,
                "did not finish within its {} deadline",
                humantime::format_duration(*d)
            ),
            PollError::Lost { task, cause } => write!(f, "{task} failed: {cause}"),
        }
    }
}

impl std::error::Error for PollError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The advertised kinds are distinct and include every kind a poll error reports.
    #[test]
    fn kinds_are_distinct_and_complete() {
        let kinds: Vec<&str> = PollError::kinds().collect();
        let unique: std::collections::BTreeSet<&str> = kinds.iter().copied().collect();
        assert_eq!(unique.len(), kinds.len());
        let lost = PollError::Lost {
            task: "t",
            cause: String::new(),
        };
        for e in [PollError::Deadline(Duration::from_secs(1)), lost] {
            assert!(unique.contains(e.kind()), "{} not advertised", e.kind());
        }
    }

    /// Each variant names its kind and renders as one line.
    #[test]
    fn kinds_and_messages() {
        let late = PollError::Deadline(Duration::from_secs(90));
        assert_eq!(late.kind(), "deadline");
        assert_eq!(
            late.to_string(),
            "did not finish within its 1m 30s deadline"
        );
        let lost = PollError::Lost {
            task: "rendering",
            cause: String::from("task panicked"),
        };
        assert_eq!(lost.kind(), "internal");
        assert_eq!(lost.to_string(), "rendering failed: task panicked");
        let api = genesys::Error::Config(String::from("--api.region: unknown"));
        assert_eq!(PollError::from(api.clone()).kind(), api.kind());
        assert_eq!(PollError::Api(api).to_string(), "--api.region: unknown");
    }
}
