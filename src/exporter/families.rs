//! The exported queue metric families: names, HELP texts (each naming its
//! Genesys source metric and saying the value is cached per poll) and, for the
//! window families, how each value is read from a snapshot row.

use super::snapshot::WindowValues;

/// One window gauge family.
#[derive(Debug)]
pub struct WindowFamily {
    /// Metric name.
    pub name: &'static str,
    /// HELP text.
    pub help: &'static str,
    /// The value of a row; `None` leaves the series out.
    pub value: fn(&WindowValues) -> Option<f64>,
}

macro_rules! window_family {
    ($name:literal, $field:ident, $help:literal) => {
        WindowFamily {
            name: $name,
            help: concat!(
                $help,
                " over the window; cached, recomputed once per aggregates poll."
            ),
            value: |v| Some(v.$field),
        }
    };
}

/// Every window gauge family (labels `media_type`, `queue`, `window`).
pub const WINDOW_FAMILIES: [WindowFamily; 21] = [
    window_family!("genesys_queue_offered", offered, "Interactions offered to the queue (Genesys nOffered count)"),
    window_family!("genesys_queue_answered", answered, "Interactions answered (Genesys tAnswered count)"),
    window_family!("genesys_queue_abandoned", abandoned, "Interactions abandoned in queue (Genesys tAbandon count)"),
    window_family!(
        "genesys_queue_short_abandoned",
        short_abandoned,
        "Interactions abandoned within the short-abandon threshold (Genesys tShortAbandon count)"
    ),
    window_family!("genesys_queue_flowouts", flowouts, "Interactions that flowed out of the queue unanswered (Genesys tFlowOut count)"),
    window_family!("genesys_queue_transferred", transferred, "Interactions transferred (Genesys nTransferred count)"),
    window_family!("genesys_queue_handled", handled, "Interactions handled (Genesys tHandle count)"),
    window_family!(
        "genesys_queue_answer_time_seconds",
        answer_time,
        "Total time to answer in seconds (Genesys tAnswered sum; ASA = this / genesys_queue_answered)"
    ),
    window_family!(
        "genesys_queue_handle_time_seconds",
        handle_time,
        "Total handle time in seconds (Genesys tHandle sum; AHT = this / genesys_queue_handled)"
    ),
    window_family!("genesys_queue_wait_time_seconds", wait_time, "Total time waited in queue in seconds (Genesys tWait sum)"),
    window_family!("genesys_queue_waited", waited, "Interactions whose wait ended (Genesys tWait count)"),
    window_family!("genesys_queue_talk_time_seconds", talk_time, "Total talk time in seconds (Genesys tTalkComplete sum)"),
    window_family!("genesys_queue_talked", talked, "Interactions whose talk completed (Genesys tTalkComplete count)"),
    window_family!("genesys_queue_hold_time_seconds", hold_time, "Total hold time in seconds (Genesys tHeldComplete sum)"),
    window_family!("genesys_queue_held", held, "Interactions whose hold completed (Genesys tHeldComplete count)"),
    window_family!("genesys_queue_acw_time_seconds", acw_time, "Total after-call work in seconds (Genesys tAcw sum)"),
    window_family!("genesys_queue_wrapped_up", wrapped_up, "Interactions whose after-call work completed (Genesys tAcw count)"),
    window_family!(
        "genesys_queue_service_level_met",
        sl_met,
        "Interactions answered within the service-level threshold (Genesys oServiceLevel numerator)"
    ),
    window_family!(
        "genesys_queue_service_level_eligible",
        sl_eligible,
        "Interactions counted by the service level (Genesys oServiceLevel denominator)"
    ),
    WindowFamily {
        name: "genesys_queue_abandon_ratio",
        help: "Abandoned / offered, 0-1 (Genesys tAbandon count / nOffered count) over the window; \
               absent when nothing was offered; cached, recomputed once per aggregates poll.",
        value: |v| v.abandon_ratio,
    },
    WindowFamily {
        name: "genesys_queue_service_level_ratio",
        help: "Service level, 0-1 (Genesys oServiceLevel numerator / denominator) over the window; \
               absent when nothing was eligible; cached, recomputed once per aggregates poll.",
        value: |v| v.sl_ratio,
    },
];

/// HELP of `genesys_window_start_timestamp_seconds`.
pub const WINDOW_START_HELP: &str =
    "Start (inclusive) of the window the queue window gauges cover, Unix seconds; cached per aggregates poll.";
/// HELP of `genesys_window_end_timestamp_seconds`.
pub const WINDOW_END_HELP: &str =
    "End (exclusive) of the window the queue window gauges cover, Unix seconds; cached per aggregates poll.";
/// HELP of `genesys_queue_info`.
pub const QUEUE_INFO_HELP: &str =
    "Exported queue (Genesys routing queue id and division), always 1; cached per queue-list poll.";
/// HELP of `genesys_queue_members`.
pub const QUEUE_MEMBERS_HELP: &str =
    "Queue members (Genesys routing queue memberCount); cached per queue-list poll.";
/// HELP of `genesys_queue_service_level_target_ratio`.
pub const SL_TARGET_HELP: &str =
    "Configured service-level target, 0-1 (Genesys queue mediaSettings serviceLevel.percentage); cached per queue-list poll.";
/// HELP of `genesys_queue_service_level_threshold_seconds`.
pub const SL_THRESHOLD_HELP: &str =
    "Configured service-level threshold in seconds (Genesys queue mediaSettings serviceLevel.durationMs); cached per queue-list poll.";
/// HELP of `genesys_queue_agents`.
pub const AGENTS_HELP: &str =
    "On-queue agents by routing status (Genesys observation oOnQueueUsers); cached per observations poll.";
/// HELP of `genesys_queue_waiting`.
pub const WAITING_HELP: &str = "Interactions waiting in queue now (Genesys observation oWaiting); cached per observations poll.";
/// HELP of `genesys_queue_interacting`.
pub const INTERACTING_HELP: &str =
    "Interactions connected to agents now (Genesys observation oInteracting); cached per observations poll.";
/// HELP of `genesys_queue_alerting`.
pub const ALERTING_HELP: &str =
    "Interactions alerting at agents now (Genesys observation oAlerting); cached per observations poll.";
/// HELP of `genesys_queue_longest_waiting_seconds`.
pub const LONGEST_WAITING_HELP: &str =
    "Wait of the longest-waiting interaction in seconds (Genesys observation \
     oLongestWaiting), 0 when none waits; cached per observations poll.";
