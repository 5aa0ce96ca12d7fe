//! Ground truth for report rows, computed straight from the simulator's
//! conversation events with the API notes' §3 formulas.

use std::collections::BTreeMap;

/// Independent ground truth for one queue × media type over `[from, to)`,
/// computed from the simulator's conversation events (API notes §3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Truth {
    /// Count of events per metric name.
    pub counts: BTreeMap<&'static str, u64>,
    /// Sum of durations per metric name, ms.
    pub sums: BTreeMap<&'static str, i64>,
}

impl Truth {
    /// Folds every event emitted in `[from, to)` of the model's conversations.
    pub fn compute(
        model: &genesys_exporter::simulator::OrgModel,
        queue_id: &str,
        media: &str,
        from: i64,
        to: i64,
    ) -> Truth {
        let mut t = Truth::default();
        for conv in model.conversations(queue_id, media, from, to) {
            for e in conv.events() {
                if e.at_ms >= from && e.at_ms < to {
                    *t.counts.entry(e.metric).or_default() += 1;
                    *t.sums.entry(e.metric).or_default() += e.value_ms.unwrap_or(0);
                }
            }
        }
        t
    }

    /// Events of `metric`.
    pub fn count(&self, metric: &str) -> u64 {
        self.counts.get(metric).copied().unwrap_or(0)
    }

    /// Mean of `metric` in seconds, `None` without events.
    pub fn mean_seconds(&self, metric: &str) -> Option<f64> {
        let n = self.count(metric);
        let sum = self.sums.get(metric).copied().unwrap_or(0);
        (n > 0).then(|| (sum as f64 / 1000.0) / n as f64)
    }

    /// Service level per §3.2 with the org's options.
    pub fn service_level(&self, o: &genesys_exporter::simulator::SlOptions) -> Option<f64> {
        let answered = self.count("tAnswered") as f64;
        let num = answered - self.count("nOverSla") as f64;
        let mut den = answered;
        if o.include_abandons {
            den += self.count("tAbandon") as f64;
            if !o.include_short_abandons {
                den -= self.count("tShortAbandon") as f64;
            }
        }
        if o.include_flowouts {
            den += self.count("tFlowOut") as f64;
        }
        (den > 0.0).then(|| num / den)
    }

    /// True when nothing at all was emitted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}
