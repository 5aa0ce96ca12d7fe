//! Queue observation topics (pure): a queue id's topic name
//! `v2.analytics.queues.{id}.observations`, and the assignment of queues to
//! channels of at most [`MAX_TOPICS`] topics. The assignment is stable: a
//! queue stays on its channel while it exists, so adding or removing a queue
//! changes the subscriptions of one channel, not all.

use std::collections::BTreeSet;

/// Topics per channel (the Genesys limit).
pub const MAX_TOPICS: usize = 1_000;

const PREFIX: &str = "v2.analytics.queues.";
const SUFFIX: &str = ".observations";

/// The observations topic of a queue.
pub fn topic(queue_id: &str) -> String {
    format!("{PREFIX}{queue_id}{SUFFIX}")
}

/// The queue id of an observations topic (`None` for any other topic).
pub fn queue_of(topic: &str) -> Option<&str> {
    let id = topic.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    (!id.is_empty() && !id.contains('.')).then_some(id)
}

/// The queues of each channel for `queues`, starting from `previous`:
/// queues gone are removed, queues kept stay where they were, new queues
/// fill the first channels with room (in id order), then new channels;
/// channels left empty are dropped from the end only, so indexes of the
/// others do not move. At most `cap` (≥ 1) queues per channel.
pub fn assign(
    previous: &[BTreeSet<String>],
    queues: &[String],
    cap: usize,
) -> Vec<BTreeSet<String>> {
    let cap = cap.max(1);
    let wanted: BTreeSet<&str> = queues.iter().map(String::as_str).collect();
    let mut out: Vec<BTreeSet<String>> = previous
        .iter()
        .map(|c| {
            c.iter()
                .filter(|q| wanted.contains(q.as_str()))
                .cloned()
                .collect()
        })
        .collect();
    let placed: BTreeSet<String> = out.iter().flatten().cloned().collect();
    let fresh: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|q| !placed.contains(*q))
        .collect();
    let mut slot = 0;
    for q in fresh {
        while slot < out.len() && out[slot].len() >= cap {
            slot += 1;
        }
        if slot == out.len() {
            out.push(BTreeSet::new());
        }
        out[slot].insert(q.to_string());
    }
    while out.last().is_some_and(BTreeSet::is_empty) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("q{i:05}")).collect()
    }

    /// Topic names round-trip; other topics are not queue topics.
    #[test]
    fn names() {
        assert_eq!(topic("abc"), "v2.analytics.queues.abc.observations");
        assert_eq!(queue_of(&topic("abc")), Some("abc"));
        for other in [
            "v2.analytics.queues.abc.activity",
            "v2.analytics.queues..observations",
            "v2.analytics.queues.a.b.observations",
            "channel.metadata",
            "",
        ] {
            assert_eq!(queue_of(other), None, "{other}");
        }
    }

    /// ceil(n / cap) channels, none over the cap, every queue exactly once.
    #[test]
    fn splits_by_cap() {
        for (n, channels) in [
            (0, 0),
            (1, 1),
            (1_000, 1),
            (1_001, 2),
            (1_500, 2),
            (2_000, 2),
            (2_001, 3),
        ] {
            let a = assign(&[], &ids(n), MAX_TOPICS);
            assert_eq!(a.len(), channels, "{n} queues");
            assert!(a.iter().all(|c| c.len() <= MAX_TOPICS));
            assert_eq!(a.iter().map(BTreeSet::len).sum::<usize>(), n);
        }
    }

    /// Adding one queue changes one channel; removing one changes its own only.
    #[test]
    fn stable_assignment() {
        let before = assign(&[], &ids(1_500), MAX_TOPICS);
        let mut more = ids(1_500);
        more.push(String::from("a-new-queue"));
        let after = assign(&before, &more, MAX_TOPICS);
        assert_eq!(after[0], before[0], "the full channel is untouched");
        assert!(after[1].contains("a-new-queue"));
        let mut fewer = ids(1_500);
        fewer.remove(3);
        let after = assign(&before, &fewer, MAX_TOPICS);
        assert_eq!(after[1], before[1]);
        assert!(!after[0].contains("q00003"));
        // A queue freed on the first channel is refilled before the second grows.
        let mut swap = fewer.clone();
        swap.push(String::from("zz"));
        let again = assign(&after, &swap, MAX_TOPICS);
        assert!(again[0].contains("zz"));
        assert_eq!(again[1], before[1]);
        assert!(assign(&again, &[], MAX_TOPICS).is_empty());
    }
}
