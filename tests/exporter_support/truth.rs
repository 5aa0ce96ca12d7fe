//! Ground truth for window gauges, computed straight from the simulator's
//! conversation events (emission-time semantics, API notes §2.6 and §3),
//! without any exporter or client code.

use std::collections::BTreeMap;

use genesys_exporter::simulator::OrgModel;

/// Expected value of every window family for one queue × media × window;
/// `None` = the series must be absent.
pub fn expected(
    model: &OrgModel,
    queue_id: &str,
    media: &str,
    start_ms: i64,
    end_ms: i64,
) -> BTreeMap<&'static str, Option<f64>> {
    let mut n: BTreeMap<&'static str, i64> = BTreeMap::new();
    let mut ms: BTreeMap<&'static str, i64> = BTreeMap::new();
    for conv in model.conversations(queue_id, media, start_ms, end_ms) {
        for e in conv.events() {
            if e.at_ms < start_ms || e.at_ms >= end_ms {
                continue;
            }
            *n.entry(e.metric).or_default() += 1;
            *ms.entry(e.metric).or_default() += e.value_ms.unwrap_or(0);
        }
    }
    let count = |m: &str| n.get(m).copied().unwrap_or(0);
    let secs = |m: &str| ms.get(m).copied().unwrap_or(0) as f64 / 1000.0;
    let sl = model.service_level_options();
    let answered = count("tAnswered");
    let abandoned = count("tAbandon");
    let met = answered - count("nOverSla");
    let mut eligible = answered;
    if sl.include_abandons {
        eligible += abandoned;
        if !sl.include_short_abandons {
            eligible -= count("tShortAbandon");
        }
    }
    if sl.include_flowouts {
        eligible += count("tFlowOut");
    }
    let offered = count("nOffered");
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    let c = |m: &str| Some(count(m) as f64);
    BTreeMap::from([
        ("genesys_queue_offered", Some(offered as f64)),
        ("genesys_queue_answered", Some(answered as f64)),
        ("genesys_queue_abandoned", Some(abandoned as f64)),
        ("genesys_queue_short_abandoned", c("tShortAbandon")),
        ("genesys_queue_flowouts", c("tFlowOut")),
        ("genesys_queue_transferred", c("nTransferred")),
        ("genesys_queue_handled", c("tHandle")),
        ("genesys_queue_answer_time_seconds", Some(secs("tAnswered"))),
        ("genesys_queue_handle_time_seconds", Some(secs("tHandle"))),
        ("genesys_queue_wait_time_seconds", Some(secs("tWait"))),
        ("genesys_queue_waited", c("tWait")),
        (
            "genesys_queue_talk_time_seconds",
            Some(secs("tTalkComplete")),
        ),
        ("genesys_queue_talked", c("tTalkComplete")),
        (
            "genesys_queue_hold_time_seconds",
            Some(secs("tHeldComplete")),
        ),
        ("genesys_queue_held", c("tHeldComplete")),
        ("genesys_queue_acw_time_seconds", Some(secs("tAcw"))),
        ("genesys_queue_wrapped_up", c("tAcw")),
        ("genesys_queue_service_level_met", Some(met as f64)),
        (
            "genesys_queue_service_level_eligible",
            Some(eligible as f64),
        ),
        ("genesys_queue_abandon_ratio", ratio(abandoned, offered)),
        ("genesys_queue_service_level_ratio", ratio(met, eligible)),
    ])
}

/// True when two exported values agree (exact for counts; a relative 1e-9
/// for sums of milliseconds turned into seconds).
pub fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}
