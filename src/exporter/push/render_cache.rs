//! The pushed real-time part rendered incrementally (pure): the sample lines
//! of every queue are kept between renders, only the queues that changed are
//! rendered again, and the part is the kept lines assembled in label order —
//! byte for byte what a full render of the same state writes
//! ([`render::render_realtime_except`]), at a cost that follows the number
//! of changed queues rather than the size of the org (plus one compression
//! of the assembled text).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::exporter::realtime::RealtimeSnapshot;
use crate::exporter::render::{self, RealtimeLines, Rendered};
use crate::exporter::snapshot::QueueSet;

/// The kept lines of each queue, and the queue set they were rendered for.
#[derive(Debug, Default)]
pub struct RenderCache {
    set: Option<Arc<QueueSet>>,
    lines: HashMap<String, RealtimeLines>,
}

impl RenderCache {
    /// True when the kept lines were not rendered for `set` (labels and
    /// media may differ): every queue must be rendered again.
    pub fn is_stale(&self, set: &Arc<QueueSet>) -> bool {
        !self.set.as_ref().is_some_and(|kept| Arc::ptr_eq(kept, set))
    }

    /// Replaces the lines of the queues in `rendered` with those of `snap`
    /// (rendered for `set` from the state of exactly those queues; a queue
    /// without rows keeps none). A stale cache is emptied first.
    pub fn update(
        &mut self,
        set: &Arc<QueueSet>,
        rendered: &BTreeSet<String>,
        snap: &RealtimeSnapshot,
    ) {
        if self.is_stale(set) {
            self.lines.clear();
            self.set = Some(Arc::clone(set));
        }
        for queue in rendered {
            self.lines.remove(queue);
        }
        for q in &snap.queues {
            self.lines.insert(q.queue_id.clone(), RealtimeLines::of(q));
        }
    }

    /// The part: the kept lines of the exported queues `shown` accepts, in
    /// label order, without the families named in `hidden`. Lines of queues
    /// no longer exported are dropped.
    pub fn assemble(&mut self, shown: impl Fn(&str) -> bool, hidden: &[&'static str]) -> Rendered {
        let Some(set) = self.set.clone() else {
            return Rendered::default();
        };
        self.lines.retain(|id, _| set.get(id).is_some());
        let ordered: Vec<&RealtimeLines> = set
            .queues()
            .iter()
            .filter(|q| shown(&q.id))
            .filter_map(|q| self.lines.get(&q.id))
            .collect();
        render::assemble_realtime(|| ordered.iter().copied(), hidden)
    }
}
