//! The Genesys Notifications API: channels and subscriptions over REST
//! ([`rest`]), their registry ([`channels`]), the WebSocket ([`socket`]) and
//! queue observation events computed from the REST observations answer ([`events`]).

mod channels;
mod events;
pub(crate) mod rest;
pub(crate) mod socket;

pub use channels::{Channels, SubscribeError, MAX_CHANNELS_PER_CLIENT, MAX_TOPICS_PER_CHANNEL};
