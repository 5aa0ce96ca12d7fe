//! Push-based real-time gauges (Notifications API), the pure core:
//! [`topics`] (queue topics and their channels of ≤ 1,000), [`message`]
//! (socket frames) and [`merge`] (the merged real-time state, seeded by REST
//! and updated by events, rendered through the polled path).

pub mod merge;
pub mod message;
pub mod socket;
pub mod topics;
