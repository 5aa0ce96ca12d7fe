//! The simulated org's vocabulary: queue names (including the awkward ones real
//! orgs have), divisions, wrap-up codes and presences.

use super::media::MediaKind;
use MediaKind::{Callback, Chat, Email, Message, Voice};

/// A hand-written queue: name, media served, and voice arrivals per minute at peak.
pub struct CuratedQueue {
    /// Queue name, exactly as the API returns it.
    pub name: &'static str,
    /// Media types configured in `mediaSettings`.
    pub media: &'static [MediaKind],
    /// Arrival rate at peak (per minute) for the queue's first media type.
    pub size: f64,
    /// Index into [`DIVISIONS`].
    pub division: usize,
}

/// The first queues of every org, in index order. The default org (12 queues)
/// covers every media type and the names that stress label escaping.
pub const CURATED: &[CuratedQueue] = &[
    q("Support EN", &[Voice, Chat, Email], 3.0, 2),
    q("Sales EN", &[Voice, Chat], 2.0, 1),
    q("Billing", &[Voice, Callback, Email], 1.2, 2),
    q("Ventes – Français", &[Voice, Chat, Message], 1.0, 3),
    q("Support \"VIP\" \\ Billing", &[Voice, Callback], 0.4, 2),
    q("Technical Support L2", &[Voice, Email], 0.8, 2),
    q("Kundenservice Zürich", &[Voice, Chat, Message], 0.9, 3),
    q("Soporte Técnico", &[Voice, Chat], 0.7, 0),
    q("サポート 東京", &[Voice, Email, Message], 0.5, 0),
    q("Retentions & Loyalty", &[Voice, Callback], 0.3, 1),
    q("Claims (Motor)", &[Voice, Email, Callback], 0.6, 2),
    q("Social Media", &[Message, Chat], 0.8, 1),
    q("Back Office Email", &[Email], 0.7, 0),
    q("After-Hours Overflow", &[Voice], 0.2, 0),
    q("Partners <B2B>", &[Voice, Email], 0.3, 1),
    q(
        "Help Desk 'IT'",
        &[Voice, Chat, Email, Message, Callback],
        0.9,
        0,
    ),
];

const fn q(
    name: &'static str,
    media: &'static [MediaKind],
    size: f64,
    division: usize,
) -> CuratedQueue {
    CuratedQueue {
        name,
        media,
        size,
        division,
    }
}

/// Media mixes for generated queues.
pub const MIXES: &[&[MediaKind]] = &[
    &[Voice],
    &[Voice],
    &[Voice, Chat],
    &[Voice, Callback],
    &[Voice, Email],
    &[Voice, Chat, Email],
    &[Chat, Message],
    &[Email],
    &[Voice, Chat, Message],
    &[Voice, Callback, Chat, Email, Message],
];

/// Department words for generated queue names.
pub const DEPARTMENTS: &[&str] = &[
    "Support",
    "Sales",
    "Billing",
    "Service Client",
    "Kundendienst",
    "Atención",
    "Collections",
    "Onboarding",
    "Claims",
    "Tech",
];

/// Region words for generated queue names (some non-ASCII).
pub const REGIONS: &[&str] = &[
    "EN",
    "FR",
    "DE",
    "ES",
    "Montréal",
    "München",
    "São Paulo",
    "Kraków",
    "NL",
    "Nordics",
];

/// Division names; index 0 is the org's home division.
pub const DIVISIONS: &[&str] = &["Home", "Sales", "Customer Care", "EMEA"];

/// Number of wrap-up codes agents choose from.
pub const WRAP_UP_CODES: u64 = 6;

/// System presences, each mapped to one organization presence id.
pub const SYSTEM_PRESENCES: &[&str] = &[
    "ON_QUEUE",
    "AVAILABLE",
    "AWAY",
    "BUSY",
    "BREAK",
    "MEAL",
    "MEETING",
    "TRAINING",
    "IDLE",
    "OFFLINE",
];
