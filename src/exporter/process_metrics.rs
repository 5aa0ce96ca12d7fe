//! The `process_*` metrics of the Prometheus client conventions, read from
//! `/proc/self` on every scrape: CPU time, open and maximum file descriptors,
//! virtual and resident memory, start time and threads.
//!
//! The `prometheus` crate's own process collector counts CPU time in whole
//! seconds, so `rate(process_cpu_seconds_total[1m])` of an exporter using
//! 1–2 % of a core jumps between 0 and 1/60; this one counts clock ticks.

use std::sync::{Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Counter, Gauge, IntGauge, Opts};

/// The process metrics of this process.
#[derive(Debug)]
pub struct ProcessMetrics {
    descs: Vec<Desc>,
    cpu: Counter,
    open_fds: IntGauge,
    max_fds: IntGauge,
    virtual_memory: IntGauge,
    resident_memory: IntGauge,
    start_time: Gauge,
    threads: IntGauge,
    /// Held while the CPU counter is brought up to date, so two scrapes at
    /// once add the difference once.
    cpu_update: Mutex<()>,
}

fn family<M: Collector>(built: prometheus::Result<M>) -> M {
    built.expect("constant, valid process metric names")
}

impl ProcessMetrics {
    /// The collector; the start time is read once, here.
    pub fn new() -> ProcessMetrics {
        let cpu = family(Counter::with_opts(Opts::new(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
        )));
        let gauge = |name: &str, help: &str| family(IntGauge::with_opts(Opts::new(name, help)));
        let open_fds = gauge("process_open_fds", "Number of open file descriptors.");
        let max_fds = gauge(
            "process_max_fds",
            "Maximum number of open file descriptors.",
        );
        let virtual_memory = gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
        );
        let resident_memory = gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
        );
        let start_time = family(Gauge::with_opts(Opts::new(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
        )));
        let threads = gauge("process_threads", "Number of OS threads in the process.");
        if let (Ok(boot), Ok(stat)) = (
            procfs::boot_time_secs(),
            procfs::process::Process::myself().and_then(|p| p.stat()),
        ) {
            start_time.set(boot as f64 + stat.starttime as f64 / ticks_per_second());
        }
        let mut descs = Vec::new();
        descs.extend(cpu.desc().into_iter().cloned());
        for g in [
            &open_fds,
            &max_fds,
            &virtual_memory,
            &resident_memory,
            &threads,
        ] {
            descs.extend(g.desc().into_iter().cloned());
        }
        descs.extend(start_time.desc().into_iter().cloned());
        ProcessMetrics {
            descs,
            cpu,
            open_fds,
            max_fds,
            virtual_memory,
            resident_memory,
            start_time,
            threads,
            cpu_update: Mutex::new(()),
        }
    }

    /// Reads `/proc/self` into the metrics; what cannot be read keeps its
    /// last value.
    fn update(&self) {
        let Ok(process) = procfs::process::Process::myself() else {
            return;
        };
        if let Ok(n) = process.fd_count() {
            self.open_fds.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        if let Ok(limits) = process.limits() {
            if let procfs::process::LimitValue::Value(max) = limits.max_open_files.soft_limit {
                self.max_fds.set(i64::try_from(max).unwrap_or(i64::MAX));
            }
        }
        if let Ok(stat) = process.stat() {
            let page = procfs::page_size();
            self.virtual_memory
                .set(i64::try_from(stat.vsize).unwrap_or(i64::MAX));
            self.resident_memory
                .set(i64::try_from(stat.rss.saturating_mul(page)).unwrap_or(i64::MAX));
            self.threads.set(stat.num_threads);
            let total = (stat.utime + stat.stime) as f64 / ticks_per_second();
            let _held = self
                .cpu_update
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let past = self.cpu.get();
            if total > past {
                self.cpu.inc_by(total - past);
            }
        }
    }
}

impl Default for ProcessMetrics {
    fn default() -> Self {
        ProcessMetrics::new()
    }
}

/// Clock ticks per second of `/proc` times (at least 1).
fn ticks_per_second() -> f64 {
    procfs::ticks_per_second().max(1) as f64
}

impl Collector for ProcessMetrics {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.update();
        let mut families = self.cpu.collect();
        for g in [
            &self.open_fds,
            &self.max_fds,
            &self.virtual_memory,
            &self.resident_memory,
            &self.threads,
        ] {
            families.extend(g.collect());
        }
        families.extend(self.start_time.collect());
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU time is fractional and grows with work done; memory, threads and
    /// descriptors are read; the start time is in the recent past.
    #[test]
    fn reads_this_process() {
        let m = ProcessMetrics::new();
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(ProcessMetrics::new()))
            .expect("registers");
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert_eq!(names.len(), 7, "{names:?}");
        m.update();
        let before = m.cpu.get();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        m.update();
        let spent = m.cpu.get() - before;
        assert!(spent > 0.0, "no CPU time counted after 300 ms of work");
        assert!(
            spent.fract() != 0.0 || m.cpu.get().fract() != 0.0,
            "whole seconds only"
        );
        assert!(m.resident_memory.get() > 0 && m.virtual_memory.get() >= m.resident_memory.get());
        assert!(
            m.threads.get() >= 1 && m.open_fds.get() >= 1 && m.max_fds.get() >= m.open_fds.get()
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let age = now - m.start_time.get();
        assert!(
            (-2.0..86_400.0 * 365.0).contains(&age),
            "start time {age} s ago"
        );
    }
}
