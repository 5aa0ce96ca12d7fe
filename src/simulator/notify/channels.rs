//! The channel registry of the Notifications API (notifications notes §1–§2):
//! channels per OAuth client with eviction of the least recently used, topic
//! lists with the 1,000-topic limit, lifetimes extended by re-subscribing, and
//! the one-socket-per-channel rule. Pure: the caller passes the clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most channels one OAuth client may hold; creating one more evicts the oldest.
pub const MAX_CHANNELS_PER_CLIENT: usize = 20;

/// Most topics one channel may subscribe to.
pub const MAX_TOPICS_PER_CHANNEL: usize = 1000;

/// One channel.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Channel id (also the last segment of `connectUri`).
    pub id: String,
    /// OAuth client that created it.
    pub client: String,
    /// Bearer token it was created with (`includechannels=token`).
    pub token: String,
    /// Whether the creating client may subscribe to queue observation topics.
    pub observe: bool,
    /// Subscribed topics, in subscription order, without duplicates.
    pub topics: Vec<String>,
    /// When the channel expires (extended by every subscription change).
    pub expires: Instant,
    /// Epoch ms of the expiry on the simulator's clock (for the `expires` field).
    pub expires_ms: i64,
    /// Last creation, subscription or connection.
    pub last_used: Instant,
    /// Generation of the connected socket; `None` while no socket is connected.
    pub socket: Option<u64>,
}

/// Why a subscription change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeError {
    /// No such channel (never created, expired or evicted).
    NoChannel,
    /// The change would exceed [`MAX_TOPICS_PER_CHANNEL`].
    TooManyTopics(usize),
}

/// Who creates a channel.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// OAuth client id.
    pub client: &'a str,
    /// Bearer token.
    pub token: &'a str,
    /// Whether the client holds the queue observation permission.
    pub observe: bool,
}

/// Every live channel, by id.
#[derive(Debug, Default)]
pub struct Channels {
    channels: BTreeMap<String, Channel>,
    created: u64,
    sockets: u64,
}

impl Channels {
    /// Drops channels whose lifetime is over.
    pub fn expire(&mut self, now: Instant) {
        self.channels.retain(|_, c| c.expires > now);
    }

    /// Creates a channel for `client`, evicting its least recently used channel
    /// (unconnected ones first) when it already holds the maximum.
    pub fn create(
        &mut self,
        owner: Owner<'_>,
        now: Instant,
        now_ms: i64,
        ttl: Duration,
        new_id: impl FnOnce(u64) -> String,
    ) -> Channel {
        self.expire(now);
        let owned: Vec<&Channel> = self
            .channels
            .values()
            .filter(|c| c.client == owner.client)
            .collect();
        if owned.len() >= MAX_CHANNELS_PER_CLIENT {
            let victim = owned
                .iter()
                .min_by_key(|c| (c.socket.is_some(), c.last_used))
                .map(|c| c.id.clone());
            if let Some(id) = victim {
                self.channels.remove(&id);
            }
        }
        self.created += 1;
        let channel = Channel {
            id: new_id(self.created),
            client: owner.client.to_string(),
            token: owner.token.to_string(),
            observe: owner.observe,
            topics: Vec::new(),
            expires: now + ttl,
            expires_ms: now_ms.saturating_add(ttl.as_millis() as i64),
            last_used: now,
            socket: None,
        };
        self.channels.insert(channel.id.clone(), channel.clone());
        channel
    }

    /// The live channel `id`.
    pub fn get(&self, id: &str, now: Instant) -> Option<&Channel> {
        self.channels.get(id).filter(|c| c.expires > now)
    }

    /// The live channels of `client`, oldest first.
    pub fn of_client(&self, client: &str, now: Instant) -> Vec<&Channel> {
        let mut list: Vec<&Channel> = self
            .channels
            .values()
            .filter(|c| c.client == client && c.expires > now)
            .collect();
        list.sort_by_key(|c| c.expires);
        list
    }

    /// Replaces (`replace`) or extends the topic list of channel `id`, and
    /// extends its lifetime by `ttl` from `now`.
    pub fn subscribe(
        &mut self,
        id: &str,
        topics: &[String],
        replace: bool,
        now: Instant,
        now_ms: i64,
        ttl: Duration,
    ) -> Result<&Channel, SubscribeError> {
        self.expire(now);
        let c = self.channels.get_mut(id).ok_or(SubscribeError::NoChannel)?;
        let mut next = if replace {
            Vec::new()
        } else {
            c.topics.clone()
        };
        for t in topics {
            if !next.contains(t) {
                next.push(t.clone());
            }
        }
        if next.len() > MAX_TOPICS_PER_CHANNEL {
            return Err(SubscribeError::TooManyTopics(next.len()));
        }
        c.topics = next;
        c.expires = now + ttl;
        c.expires_ms = now_ms.saturating_add(ttl.as_millis() as i64);
        c.last_used = now;
        Ok(c)
    }

    /// Connects a socket to channel `id`; the previous socket (if any) is
    /// superseded. Returns the new socket's generation.
    pub fn connect(&mut self, id: &str, now: Instant) -> Option<u64> {
        self.expire(now);
        let c = self.channels.get_mut(id)?;
        self.sockets += 1;
        c.socket = Some(self.sockets);
        c.last_used = now;
        Some(self.sockets)
    }

    /// How many channels have a socket connected.
    pub fn connected(&self) -> usize {
        self.channels
            .values()
            .filter(|c| c.socket.is_some())
            .count()
    }

    /// Marks socket `generation` of channel `id` as gone (no-op when superseded).
    pub fn disconnect(&mut self, id: &str, generation: u64) {
        if let Some(c) = self.channels.get_mut(id) {
            if c.socket == Some(generation) {
                c.socket = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    fn ids(n: u64) -> String {
        format!("ch-{n}")
    }

    fn owner(client: &str) -> Owner<'_> {
        Owner {
            client,
            token: "t",
            observe: true,
        }
    }

    /// The 21st channel of a client evicts the least recently used one, an
    /// unconnected channel before a connected one; other clients are untouched.
    #[test]
    fn eviction_prefers_unconnected_then_oldest() {
        let t0 = Instant::now();
        let mut r = Channels::default();
        r.create(owner("other"), t0, 0, TTL, ids);
        for i in 0..20 {
            r.create(owner("a"), t0 + Duration::from_millis(i), 0, TTL, ids);
        }
        // ch-2 is the oldest of "a"; connect it so ch-3 becomes the victim.
        r.connect("ch-2", t0 + Duration::from_millis(30));
        r.create(owner("a"), t0 + Duration::from_millis(40), 0, TTL, ids);
        let now = t0 + Duration::from_millis(50);
        assert_eq!(r.of_client("a", now).len(), 20);
        assert!(r.get("ch-2", now).is_some(), "connected channel kept");
        assert!(r.get("ch-3", now).is_none(), "oldest unconnected evicted");
        assert!(
            r.get("ch-1", now).is_some(),
            "another client's channel kept"
        );
    }

    /// Topics are deduplicated, POST adds, PUT replaces, and 1,001 topics are refused.
    #[test]
    fn topic_limit_and_replace() {
        let t0 = Instant::now();
        let mut r = Channels::default();
        let id = r.create(owner("a"), t0, 0, TTL, ids).id;
        let topics: Vec<String> = (0..1000).map(|i| format!("t{i}")).collect();
        assert!(r.subscribe(&id, &topics, false, t0, 0, TTL).is_ok());
        let again = vec!["t0".to_string()];
        assert_eq!(
            r.subscribe(&id, &again, false, t0, 0, TTL)
                .map(|c| c.topics.len()),
            Ok(1000)
        );
        let more = vec!["extra".to_string()];
        assert_eq!(
            r.subscribe(&id, &more, false, t0, 0, TTL).err(),
            Some(SubscribeError::TooManyTopics(1001))
        );
        let replaced = r
            .subscribe(&id, &more, true, t0, 0, TTL)
            .map(|c| c.topics.clone());
        assert_eq!(replaced, Ok(more));
    }

    /// A channel expires after its lifetime unless re-subscribing extends it.
    #[test]
    fn resubscribing_extends_lifetime() {
        let t0 = Instant::now();
        let mut r = Channels::default();
        let a = r.create(owner("a"), t0, 0, TTL, ids).id;
        let b = r.create(owner("a"), t0, 0, TTL, ids).id;
        let later = t0 + Duration::from_secs(50);
        r.subscribe(&a, &[], false, later, 0, TTL).expect("live");
        let after = t0 + Duration::from_secs(70);
        assert!(r.get(&a, after).is_some());
        assert!(r.get(&b, after).is_none());
        assert_eq!(
            r.subscribe(&b, &[], false, after, 0, TTL).err(),
            Some(SubscribeError::NoChannel)
        );
    }

    /// A second socket supersedes the first; the first's disconnect leaves the second.
    #[test]
    fn one_socket_per_channel() {
        let t0 = Instant::now();
        let mut r = Channels::default();
        let id = r.create(owner("a"), t0, 0, TTL, ids).id;
        let first = r.connect(&id, t0).expect("live");
        let second = r.connect(&id, t0).expect("live");
        assert_ne!(first, second);
        r.disconnect(&id, first);
        assert_eq!(r.get(&id, t0).and_then(|c| c.socket), Some(second));
        assert_eq!(r.connect("missing", t0), None);
    }
}
