//! Writes Prometheus text format 0.0.4 lines straight into a byte buffer:
//! `# HELP`/`# TYPE` headers and sample lines, label values escaped as they
//! are copied (no allocation per label or per value).
//!
//! The output is byte for byte what the `prometheus` crate's `TextEncoder`
//! writes for the same gauge family (HELP escapes `\` and newline, label
//! values also `"`, values in Rust's shortest `f64` display form, no
//! timestamps); the unit tests compare the two.

use std::io::Write;

/// Appends the `# HELP` and `# TYPE` lines of a family (`kind` lowercase,
/// e.g. `gauge`). An empty HELP writes no `# HELP` line.
pub fn write_header(out: &mut Vec<u8>, name: &str, help: &str, kind: &str) {
    if !help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        escape_into(out, help, false);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(kind.as_bytes());
    out.push(b'\n');
}

/// Appends one sample line; `labels` are (name, value) pairs in the order
/// to write them. No labels write no braces.
pub fn write_sample<'a>(
    out: &mut Vec<u8>,
    name: &str,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    value: f64,
) {
    out.extend_from_slice(name.as_bytes());
    let mut separator = b'{';
    for (label, v) in labels {
        out.push(separator);
        out.extend_from_slice(label.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_into(out, v, true);
        out.push(b'"');
        separator = b',';
    }
    if separator == b',' {
        out.push(b'}');
    }
    out.push(b' ');
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{value}");
    out.push(b'\n');
}

/// Appends `v` escaped: `\` → `\\`, newline → `\n`, and with `quote` also
/// `"` → `\"`. The escaped bytes are ASCII, so scanning bytes is UTF-8 safe.
pub fn escape_into(out: &mut Vec<u8>, v: &str, quote: bool) {
    let bytes = v.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};
    use prometheus::TextEncoder;

    /// What the `prometheus` crate writes for one gauge family.
    fn reference(name: &str, help: &str, samples: &[(Vec<(&str, &str)>, f64)]) -> String {
        let mut mf = MetricFamily::default();
        mf.set_name(name.to_owned());
        mf.set_help(help.to_owned());
        mf.set_field_type(MetricType::GAUGE);
        mf.set_metric(
            samples
                .iter()
                .map(|(labels, v)| {
                    let mut g = Gauge::default();
                    g.set_value(*v);
                    let mut m = Metric::from_gauge(g);
                    m.set_label(
                        labels
                            .iter()
                            .map(|(n, v)| {
                                let mut lp = LabelPair::default();
                                lp.set_name((*n).to_owned());
                                lp.set_value((*v).to_owned());
                                lp
                            })
                            .collect(),
                    );
                    m
                })
                .collect(),
        );
        let mut s = String::new();
        TextEncoder::new()
            .encode_utf8(&[mf], &mut s)
            .expect("encode");
        s
    }

    fn ours(name: &str, help: &str, samples: &[(Vec<(&str, &str)>, f64)]) -> String {
        let mut out = Vec::new();
        write_header(&mut out, name, help, "gauge");
        for (labels, v) in samples {
            write_sample(&mut out, name, labels.iter().copied(), *v);
        }
        String::from_utf8(out).expect("utf8")
    }

    /// Hostile label values, HELP text and awkward numbers come out exactly
    /// as the `prometheus` crate's encoder writes them.
    #[test]
    fn same_bytes_as_the_prometheus_crate() {
        let values = [
            0.0,
            1.0,
            0.5,
            1e-7,
            123_456_789.125,
            1e21,
            4.2e300,
            7e-300,
            -0.0,
        ];
        let awkward = [
            "",
            "plain",
            "Sales \"EU\"\\\nline2 ✓",
            "\\\\n\"",
            "\n\n",
            "\"",
            "日本語\\",
            "tab\there",
        ];
        for help in ["", "Cached. A \\ b\nc \"q\""] {
            let samples: Vec<(Vec<(&str, &str)>, f64)> = awkward
                .iter()
                .zip(values.iter().cycle())
                .map(|(v, n)| (vec![("media_type", "voice"), ("queue", *v)], *n))
                .chain([(Vec::new(), 3.0)])
                .collect();
            assert_eq!(
                ours("genesys_x", help, &samples),
                reference("genesys_x", help, &samples)
            );
        }
    }

    /// Escaping copies runs between the escaped bytes unchanged.
    #[test]
    fn escapes() {
        let mut out = Vec::new();
        escape_into(&mut out, "a\"b\\c\nd", true);
        assert_eq!(out, b"a\\\"b\\\\c\\nd");
        out.clear();
        escape_into(&mut out, "a\"b", false);
        assert_eq!(out, b"a\"b");
    }
}
