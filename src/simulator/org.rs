//! The simulated org: queues (ids, names, divisions, media, service levels,
//! sizes), presences, and the ground-truth API ([`OrgModel`]) that tests read.
//!
//! Queue `i` depends only on `(seed, i)`, so a larger `--queues` keeps the
//! first queues unchanged. Only queue definitions are stored; traffic is
//! recomputed on demand (see `traffic`).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use super::config::{SimConfig, SlOptions};
use super::media::MediaKind;
use super::names::{self, CURATED, DEPARTMENTS, DIVISIONS, MIXES, REGIONS, SYSTEM_PRESENCES};
use super::profile::TrafficProfile;
use super::rng::{uuid, Rng};

/// One media type served by a queue, with its service-level configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct SimMedia {
    /// Analytics media type: voice, callback, chat, email or message.
    pub media_type: String,
    /// Service-level target percentage (0–1).
    pub sl_percentage: f64,
    /// Service-level threshold in milliseconds.
    pub sl_duration_ms: u64,
}

/// A queue as the ground truth sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimQueue {
    /// Queue id (UUID).
    pub id: String,
    /// Queue name (may contain spaces, unicode, quotes, backslashes).
    pub name: String,
    /// Division id.
    pub division_id: String,
    /// Division name.
    pub division_name: String,
    /// Number of member users.
    pub member_count: u32,
    /// Media types served, with their service levels.
    pub media: Vec<SimMedia>,
}

/// Internal per-media definition of a queue.
#[derive(Debug, Clone)]
pub(crate) struct MediaDef {
    pub kind: MediaKind,
    pub sl_percentage: f64,
    pub sl_duration_ms: i64,
    /// Arrivals per minute at the daily peak.
    pub rate_peak: f64,
    /// Multiplier on the media's service (answer) time.
    pub pressure: f64,
}

/// Internal queue definition.
#[derive(Debug, Clone)]
pub(crate) struct QueueDef {
    pub index: u64,
    pub id: String,
    pub name: String,
    pub division: usize,
    pub members: u32,
    pub media: Vec<MediaDef>,
}

/// The org: queue definitions plus the traffic model's ground truth.
#[derive(Debug)]
pub struct OrgModel {
    pub(crate) seed: u64,
    pub(crate) queues: Vec<QueueDef>,
    pub(crate) by_id: HashMap<String, usize>,
    /// Queue indices sorted by name (case-insensitive, then bytewise).
    pub(crate) name_order: Vec<usize>,
    pub(crate) removed: RwLock<HashSet<usize>>,
    pub(crate) division_ids: Vec<String>,
    pub(crate) presence_ids: Vec<String>,
    pub(crate) sl: SlOptions,
    pub(crate) traffic_scale: f64,
    pub(crate) traffic_profile: TrafficProfile,
}

impl OrgModel {
    /// Builds the org described by `config` (seed, queue count, SL options).
    pub fn new(config: &SimConfig) -> OrgModel {
        let seed = config.seed;
        let queues: Vec<QueueDef> = (0..config.queues as u64)
            .map(|i| make_queue(seed, i))
            .collect();
        let by_id = queues
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i))
            .collect();
        let mut name_order: Vec<usize> = (0..queues.len()).collect();
        name_order.sort_by(|&a, &b| name_key(&queues[a].name).cmp(&name_key(&queues[b].name)));
        OrgModel {
            seed,
            queues,
            by_id,
            name_order,
            removed: RwLock::new(HashSet::new()),
            division_ids: (0..DIVISIONS.len() as u64)
                .map(|d| uuid(&[seed, 0xD1, d]))
                .collect(),
            presence_ids: (0..SYSTEM_PRESENCES.len() as u64)
                .map(|p| uuid(&[seed, 0x9E, p]))
                .collect(),
            sl: config.sl_options,
            traffic_scale: config.traffic_scale,
            traffic_profile: config.traffic_profile,
        }
    }

    /// Active (not removed) queues, sorted by name.
    pub fn queues(&self) -> Vec<SimQueue> {
        let removed = self.removed_set();
        self.name_order
            .iter()
            .filter(|i| !removed.contains(i))
            .map(|&i| self.sim_queue(i))
            .collect()
    }

    /// The org's service-level options.
    pub fn service_level_options(&self) -> SlOptions {
        self.sl
    }

    /// Organization presence id for each system presence (`ON_QUEUE`, `OFFLINE`, …).
    pub fn presence_mappings(&self) -> Vec<(&'static str, String)> {
        SYSTEM_PRESENCES
            .iter()
            .zip(&self.presence_ids)
            .map(|(s, id)| (*s, id.clone()))
            .collect()
    }

    /// Index of an active queue by id.
    pub(crate) fn active_index(&self, id: &str) -> Option<usize> {
        let i = *self.by_id.get(id)?;
        (!self.removed_set().contains(&i)).then_some(i)
    }

    /// A snapshot of the removed queue indices.
    pub(crate) fn removed_set(&self) -> HashSet<usize> {
        match self.removed.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Hides (`removed = true`) or restores a queue; unknown ids are ignored.
    pub(crate) fn set_removed(&self, id: &str, removed: bool) {
        let Some(&i) = self.by_id.get(id) else { return };
        let mut set = match self.removed.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if removed {
            set.insert(i);
        } else {
            set.remove(&i);
        }
    }

    /// Division name of a queue.
    pub(crate) fn division_name(&self, q: &QueueDef) -> &'static str {
        DIVISIONS[q.division]
    }

    /// Public view of queue `i`.
    pub(crate) fn sim_queue(&self, i: usize) -> SimQueue {
        let q = &self.queues[i];
        SimQueue {
            id: q.id.clone(),
            name: q.name.clone(),
            division_id: self.division_ids[q.division].clone(),
            division_name: self.division_name(q).to_string(),
            member_count: q.members,
            media: q
                .media
                .iter()
                .map(|m| SimMedia {
                    media_type: m.kind.analytics_name().to_string(),
                    sl_percentage: m.sl_percentage,
                    sl_duration_ms: m.sl_duration_ms as u64,
                })
                .collect(),
        }
    }

    /// User id of agent `agent` of queue index `q`.
    pub(crate) fn user_id(&self, q: u64, agent: u32) -> String {
        uuid(&[self.seed, 0x05E2, q, u64::from(agent)])
    }

    /// Id of wrap-up code `code`.
    pub(crate) fn wrap_up_id(&self, code: u8) -> String {
        uuid(&[self.seed, 0x3A9, u64::from(code)])
    }
}

/// Sort key for queue names: case-insensitive first, bytewise as tie-break.
pub(crate) fn name_key(name: &str) -> (String, &str) {
    (name.to_lowercase(), name)
}

fn make_queue(seed: u64, index: u64) -> QueueDef {
    let mut rng = Rng::new(&[seed, 0x0E, index]);
    let (name, media, size, division) = match CURATED.get(index as usize) {
        Some(c) => (c.name.to_string(), c.media, c.size, c.division),
        None => {
            let dept = DEPARTMENTS[rng.range(0, DEPARTMENTS.len() as i64 - 1) as usize];
            let region = REGIONS[rng.range(0, REGIONS.len() as i64 - 1) as usize];
            let mix = MIXES[rng.range(0, MIXES.len() as i64 - 1) as usize];
            // Log-uniform size between 0.05 and 3 arrivals per minute at peak.
            let size = 0.05 * (60.0f64).powf(rng.unit());
            let division = rng.range(0, DIVISIONS.len() as i64 - 1) as usize;
            (format!("{dept} {region} {index:04}"), mix, size, division)
        }
    };
    let media: Vec<MediaDef> = media
        .iter()
        .enumerate()
        .map(|(n, &kind)| {
            let p = kind.profile();
            let first_share = media[0].profile().rate_share;
            let pct = [0.8, 0.8, 0.85, 0.9][rng.range(0, 3) as usize];
            let dur = match kind {
                MediaKind::Voice => [15_000, 20_000, 20_000, 30_000][rng.range(0, 3) as usize],
                _ => p.sl_duration_ms as i64,
            };
            let jitter = 0.7 + 0.6 * rng.unit();
            MediaDef {
                kind,
                sl_percentage: pct,
                sl_duration_ms: dur,
                rate_peak: size * p.rate_share / first_share * if n == 0 { 1.0 } else { jitter },
                pressure: 0.6 + 1.2 * rng.unit(),
            }
        })
        .collect();
    let members = member_count(&media);
    QueueDef {
        index,
        id: uuid(&[seed, 0x51, index]),
        name,
        division,
        members,
        media,
    }
}

/// Members needed to carry the peak load with a comfortable margin.
fn member_count(media: &[MediaDef]) -> u32 {
    let busy: f64 = media
        .iter()
        .map(|m| {
            let p = m.kind.profile();
            let occupied_ms = p.talk_mean + p.hold_share * p.hold_mean + p.acw_mean + 10_000.0;
            m.rate_peak * occupied_ms / 60_000.0
        })
        .sum();
    (busy * 2.0 + 3.0).ceil() as u32
}

/// Number of built-in wrap-up codes, as a `u8` range bound.
pub(crate) const WRAP_UPS: u8 = names::WRAP_UP_CODES as u8;

#[cfg(test)]
mod tests {
    use super::*;

    /// The same seed builds the same org; queue i does not depend on the queue count.
    #[test]
    fn org_is_deterministic_and_prefix_stable() {
        let small = OrgModel::new(&SimConfig::default());
        let big = OrgModel::new(&SimConfig {
            queues: 40,
            ..SimConfig::default()
        });
        for (a, b) in small.queues.iter().zip(&big.queues) {
            assert_eq!((&a.id, &a.name, a.members), (&b.id, &b.name, b.members));
        }
        let names: HashSet<String> = big.queues.iter().map(|q| q.name.clone()).collect();
        assert_eq!(names.len(), 40, "queue names are unique");
    }

    /// The default org serves every media type and has the awkward names.
    #[test]
    fn default_org_covers_media_and_awkward_names() {
        let org = OrgModel::new(&SimConfig::default());
        let qs = org.queues();
        for m in MediaKind::ALL {
            assert!(qs
                .iter()
                .any(|q| q.media.iter().any(|x| x.media_type == m.analytics_name())));
        }
        assert!(qs.iter().any(|q| q.name == "Ventes – Français"));
        assert!(qs.iter().any(|q| q.name == "Support \"VIP\" \\ Billing"));
    }
}
