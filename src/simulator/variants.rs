//! Real-org variants: the ways a real Genesys org may plausibly answer where the
//! public documentation is silent (API notes §2.2, §2.7, §4.2, §4.3, §5.2), each a
//! knob so clients can be tested against every reading, plus the `real-org`
//! preset that turns on the most realistic combination.
//!
//! [`VariantFlags`] are the command-line flags; [`Variants`] is what the
//! simulator reads. Explicit flags override the preset.

use super::buckets;
use super::catalog::{AGGREGATE_METRICS, OBSERVATION_METRICS};
use super::errors::ApiError;

/// Where granularity buckets start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BucketAlignment {
    /// At the interval start, then every granularity step.
    #[default]
    Interval,
    /// At multiples of the granularity counted from midnight of the query's
    /// `timeZone` (UTC when absent); first and last bucket clipped to the interval.
    Clock,
}

/// Which media a queue's `mediaSettings` (and the real-time answers) list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MediaSettingsMode {
    /// Only the media the queue is configured for.
    #[default]
    Configured,
    /// All five media with default service levels; observations answer every
    /// media group (also `video`) and aggregates carry sparse groups.
    All,
}

/// How the queue list's `nextUri` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NextUri {
    /// A path with a query string, `/api/v2/routing/queues?...`.
    #[default]
    Relative,
    /// A full URL on the host the request came to.
    Absolute,
    /// No `nextUri` at all; `pageCount` and `pageNumber` still page.
    None,
}

/// A named combination of variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// All media in `mediaSettings`, absolute `nextUri`, clock-aligned buckets,
    /// granularities PT15M/PT30M/PT1H/P1D, 100 predicates on aggregates and 200
    /// on observations.
    RealOrg,
}

/// Granularities the `real-org` preset accepts.
pub const REAL_ORG_GRANULARITIES: [&str; 4] = ["PT15M", "PT30M", "PT1H", "P1D"];

/// The variant settings the simulator answers with. `Default` is the
/// documented reading of the API notes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variants {
    /// Metrics the org refuses with 400 `invalid.value`.
    pub reject_metrics: Vec<String>,
    /// Where aggregate buckets start.
    pub bucket_alignment: BucketAlignment,
    /// The only granularities accepted (`None` = any valid duration).
    pub granularities: Option<Vec<String>>,
    /// Which media queues list.
    pub media_settings: MediaSettingsMode,
    /// How `nextUri` is written.
    pub next_uri: NextUri,
    /// Predicate limit of aggregate queries (`None` = `max_predicates`).
    pub aggregates_max_predicates: Option<usize>,
    /// Predicate limit of observation queries (`None` = `max_predicates`).
    pub observations_max_predicates: Option<usize>,
    /// Most groups an aggregate answer may carry before it is refused with a
    /// 400 (`None` = no limit; Genesys's limit is unknown).
    pub aggregates_max_groups: Option<usize>,
}

impl Variants {
    /// The settings of a preset.
    pub fn preset(p: Preset) -> Variants {
        match p {
            Preset::RealOrg => Variants {
                reject_metrics: Vec::new(),
                bucket_alignment: BucketAlignment::Clock,
                granularities: Some(REAL_ORG_GRANULARITIES.map(String::from).to_vec()),
                media_settings: MediaSettingsMode::All,
                next_uri: NextUri::Absolute,
                aggregates_max_predicates: Some(100),
                observations_max_predicates: Some(200),
                aggregates_max_groups: None,
            },
        }
    }

    /// The 400 for the first requested metric the org rejects, if any.
    /// `field_type` and `catalog` are those of the list being checked.
    pub(crate) fn check_metrics(
        &self,
        requested: &[String],
        field_type: &str,
        catalog: &[&str],
    ) -> Result<(), ApiError> {
        let Some(bad) = requested.iter().find(|m| self.reject_metrics.contains(m)) else {
            return Ok(());
        };
        let allowed: Vec<&str> = catalog
            .iter()
            .copied()
            .filter(|m| !self.reject_metrics.iter().any(|r| r == m))
            .collect();
        Err(ApiError::invalid_value(bad, field_type, &allowed))
    }

    /// The 400 for a granularity outside the accepted list.
    pub(crate) fn check_granularity(&self, granularity: Option<&str>) -> Result<(), ApiError> {
        match (granularity, &self.granularities) {
            (Some(g), Some(list)) if !list.iter().any(|a| a == g) => {
                let allowed: Vec<&str> = list.iter().map(String::as_str).collect();
                Err(ApiError::invalid_value(g, "Granularity", &allowed))
            }
            _ => Ok(()),
        }
    }
}

/// The real-org variant flags of `genesys_exporter simulate`, each with an
/// environment variable. Unset flags take the preset's value, else the default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct VariantFlags {
    /// A combination of variants: "real-org" (media settings all, absolute nextUri,
    /// clock buckets, granularities PT15M,PT30M,PT1H,P1D, 100 aggregate and 200
    /// observation predicates). Explicit flags override it.
    #[arg(long, env = "GENESYS_SIMULATOR_PRESET", value_enum)]
    pub preset: Option<Preset>,
    /// A metric the org answers with 400 invalid.value, in aggregate `metrics` or
    /// observation `metrics`/`detailMetrics` (repeatable; comma-separated in the
    /// environment variable).
    #[arg(
        long = "reject-metric",
        env = "GENESYS_SIMULATOR_REJECT_METRICS",
        value_delimiter = ',',
        value_parser = parse_metric
    )]
    pub reject_metric: Vec<String>,
    /// Where aggregate buckets start: "interval" (default: at the interval start) or
    /// "clock" (at multiples of the granularity from midnight of the query's timeZone).
    #[arg(
        long = "bucket-alignment",
        env = "GENESYS_SIMULATOR_BUCKET_ALIGNMENT",
        value_enum
    )]
    pub bucket_alignment: Option<BucketAlignment>,
    /// The only aggregate granularities accepted, comma-separated (e.g.
    /// PT15M,PT30M,PT1H,P1D); others get 400 invalid.value. Default: any.
    #[arg(
        long,
        env = "GENESYS_SIMULATOR_GRANULARITIES",
        value_delimiter = ',',
        value_parser = parse_granularity
    )]
    pub granularities: Option<Vec<String>>,
    /// Queue mediaSettings: "configured" (default: the queue's own media) or "all"
    /// (all five media; observations answer every media group with zeros; aggregates
    /// carry sparse cobrowse/unknown groups).
    #[arg(
        long = "media-settings",
        env = "GENESYS_SIMULATOR_MEDIA_SETTINGS",
        value_enum
    )]
    pub media_settings: Option<MediaSettingsMode>,
    /// Queue-list nextUri: "relative" (default), "absolute" (full URL on the request's
    /// host) or "none" (omitted; page by pageNumber up to pageCount).
    #[arg(long = "next-uri", env = "GENESYS_SIMULATOR_NEXT_URI", value_enum)]
    pub next_uri: Option<NextUri>,
    /// Most filter predicates per aggregate query (1..; default --max-predicates).
    #[arg(long = "aggregates-max-predicates", env = "GENESYS_SIMULATOR_AGGREGATES_MAX_PREDICATES", value_parser = clap::value_parser!(u32).range(1..))]
    pub aggregates_max_predicates: Option<u32>,
    /// Most filter predicates per observation query (1..; default --max-predicates).
    #[arg(long = "observations-max-predicates", env = "GENESYS_SIMULATOR_OBSERVATIONS_MAX_PREDICATES", value_parser = clap::value_parser!(u32).range(1..))]
    pub observations_max_predicates: Option<u32>,
    /// Most groups (queue × media × other dimensions) one groupBy aggregate answer
    /// may carry; a larger answer is refused with 400 bad.request, as an org with a
    /// result-size limit would (1..; default: no limit).
    #[arg(long = "aggregates-max-groups", env = "GENESYS_SIMULATOR_AGGREGATES_MAX_GROUPS", value_parser = clap::value_parser!(u32).range(1..))]
    pub aggregates_max_groups: Option<u32>,
}

/// A metric name of either query kind's catalogue.
fn parse_metric(s: &str) -> Result<String, String> {
    let s = s.trim();
    if AGGREGATE_METRICS.contains(&s) || OBSERVATION_METRICS.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a conversation-aggregate or queue-observation metric"
        ))
    }
}

/// A positive ISO-8601 duration such as PT30M or P1D.
fn parse_granularity(s: &str) -> Result<String, String> {
    let s = s.trim();
    buckets::parse_granularity(s)
        .map(|_| s.to_string())
        .map_err(|_| format!("{s:?} is not a positive ISO-8601 duration such as PT30M or P1D"))
}

impl VariantFlags {
    /// The variants these flags describe: each explicit flag, else the preset's
    /// value, else the default.
    pub fn resolve(&self) -> Variants {
        let base = self.preset.map(Variants::preset).unwrap_or_default();
        let mut reject: Vec<String> = Vec::new();
        for m in self.reject_metric.iter().map(|m| m.trim()) {
            if !m.is_empty() && !reject.iter().any(|r| r == m) {
                reject.push(m.to_string());
            }
        }
        let granularities = self
            .granularities
            .as_ref()
            .map(|list| {
                list.iter()
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect::<Vec<_>>()
            })
            .filter(|list| !list.is_empty());
        Variants {
            reject_metrics: if reject.is_empty() {
                base.reject_metrics
            } else {
                reject
            },
            bucket_alignment: self.bucket_alignment.unwrap_or(base.bucket_alignment),
            granularities: granularities.or(base.granularities),
            media_settings: self.media_settings.unwrap_or(base.media_settings),
            next_uri: self.next_uri.unwrap_or(base.next_uri),
            aggregates_max_predicates: self
                .aggregates_max_predicates
                .map(|n| n as usize)
                .or(base.aggregates_max_predicates),
            observations_max_predicates: self
                .observations_max_predicates
                .map(|n| n as usize)
                .or(base.observations_max_predicates),
            aggregates_max_groups: self
                .aggregates_max_groups
                .map(|n| n as usize)
                .or(base.aggregates_max_groups),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        v: VariantFlags,
    }

    fn parse(args: &[&str]) -> Variants {
        let mut argv = vec!["sim"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid flags").v.resolve()
    }

    /// Without flags every variant is the documented default.
    #[test]
    fn defaults_are_the_documented_reading() {
        assert_eq!(parse(&[]), Variants::default());
    }

    /// The real-org preset sets its five variants, and explicit flags override it.
    #[test]
    fn preset_and_overrides() {
        let v = parse(&["--preset", "real-org"]);
        assert_eq!(v.bucket_alignment, BucketAlignment::Clock);
        assert_eq!(v.media_settings, MediaSettingsMode::All);
        assert_eq!(v.next_uri, NextUri::Absolute);
        assert_eq!(
            v.granularities.as_deref(),
            Some(&REAL_ORG_GRANULARITIES.map(String::from)[..])
        );
        assert_eq!(
            (v.aggregates_max_predicates, v.observations_max_predicates),
            (Some(100), Some(200))
        );
        let o = parse(&[
            "--preset",
            "real-org",
            "--next-uri",
            "none",
            "--granularities",
            "PT5M",
            "--aggregates-max-predicates",
            "7",
            "--aggregates-max-groups",
            "500",
            "--reject-metric",
            "oLongestWaiting",
            "--reject-metric",
            "tShortAbandon",
        ]);
        assert_eq!(o.next_uri, NextUri::None);
        assert_eq!(o.granularities, Some(vec!["PT5M".to_string()]));
        assert_eq!(o.aggregates_max_predicates, Some(7));
        assert_eq!(o.observations_max_predicates, Some(200));
        assert_eq!(o.aggregates_max_groups, Some(500));
        assert_eq!(v.aggregates_max_groups, None);
        assert_eq!(o.reject_metrics, vec!["oLongestWaiting", "tShortAbandon"]);
        assert!(Cli::try_parse_from(["sim", "--aggregates-max-predicates", "0"]).is_err());
        assert!(Cli::try_parse_from(["sim", "--aggregates-max-groups", "0"]).is_err());
        assert!(Cli::try_parse_from(["sim", "--next-uri", "sideways"]).is_err());
        assert!(Cli::try_parse_from(["sim", "--reject-metric", "oLongestWaitng"]).is_err());
        assert!(Cli::try_parse_from(["sim", "--granularities", "PT15M,half-hour"]).is_err());
    }

    /// A rejected metric gets invalid.value naming it, with the rest of the catalog allowed.
    #[test]
    fn rejected_metric_error() {
        let v = Variants {
            reject_metrics: vec!["b".into()],
            ..Variants::default()
        };
        assert!(v.check_metrics(&["a".into()], "T", &["a", "b"]).is_ok());
        let e = v
            .check_metrics(&["a".into(), "b".into()], "T", &["a", "b", "c"])
            .expect_err("b is rejected");
        assert_eq!(e.code, "invalid.value");
        assert_eq!(
            e.message,
            "Value [b] is not valid for field type [T]. Allowable values are: a, c"
        );
    }

    /// Only listed granularities pass when a list is set; any passes otherwise.
    #[test]
    fn granularity_list() {
        let v = Variants::preset(Preset::RealOrg);
        assert!(v.check_granularity(Some("PT30M")).is_ok());
        assert!(v.check_granularity(None).is_ok());
        let e = v.check_granularity(Some("PT5M")).expect_err("not listed");
        assert!(e.message.contains("[PT5M]") && e.message.contains("PT15M, PT30M, PT1H, P1D"));
        assert!(Variants::default().check_granularity(Some("PT5M")).is_ok());
    }
}
