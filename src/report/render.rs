//! Report rendering (pure): an aligned text table, RFC 4180 CSV, or JSON.
//! Undefined ratios and averages are `-` in the table, blank in CSV and
//! `null` in JSON.

use std::fmt::Write as _;

use super::rows::{Row, COLUMNS};

/// Output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of row objects.
    Json,
}

/// Renders `rows` in `format`; `title` heads the table format only.
pub fn render(rows: &[Row], format: Format, title: &str) -> String {
    match format {
        Format::Table => table(rows, title),
        Format::Csv => csv(rows),
        Format::Json => json(rows),
    }
}

/// A JSON array with exactly the documented keys per row.
pub fn json(rows: &[Row]) -> String {
    let mut out = serde_json::to_string_pretty(rows).unwrap_or_else(|_| String::from("[]"));
    out.push('\n');
    out
}

/// Quotes a CSV field when it holds a comma, quote, CR/LF or edge spaces.
pub fn csv_field(value: &str) -> String {
    let needs_quotes =
        value.contains([',', '"', '\r', '\n']) || value.starts_with(' ') || value.ends_with(' ');
    if needs_quotes {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

fn opt(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// CSV with CRLF line ends (RFC 4180); undefined values are empty fields.
pub fn csv(rows: &[Row]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for r in rows {
        let fields = [
            csv_field(&r.queue),
            csv_field(&r.queue_id),
            csv_field(&r.media_type),
            r.offered.to_string(),
            r.answered.to_string(),
            r.abandoned.to_string(),
            opt(r.abandon_ratio),
            opt(r.asa_seconds),
            opt(r.aht_seconds),
            opt(r.avg_wait_seconds),
            opt(r.service_level_ratio),
            r.transferred.to_string(),
            r.flowouts.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Makes a name safe for one table cell: control characters are escaped.
fn cell_text(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| String::from("-"))
}

fn seconds(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}"))
        .unwrap_or_else(|| String::from("-"))
}

const TABLE_HEADER: [&str; 12] = [
    "QUEUE",
    "MEDIA",
    "OFFERED",
    "ANSWERED",
    "ABANDONED",
    "ABANDON%",
    "ASA(s)",
    "AHT(s)",
    "AVG WAIT(s)",
    "SL%",
    "TRANSFERRED",
    "FLOWOUTS",
];

/// An aligned table: text columns left-aligned, numbers right-aligned.
pub fn table(rows: &[Row], title: &str) -> String {
    let cells: Vec<[String; 12]> = rows
        .iter()
        .map(|r| {
            [
                cell_text(&r.queue),
                cell_text(&r.media_type),
                r.offered.to_string(),
                r.answered.to_string(),
                r.abandoned.to_string(),
                percent(r.abandon_ratio),
                seconds(r.asa_seconds),
                seconds(r.aht_seconds),
                seconds(r.avg_wait_seconds),
                percent(r.service_level_ratio),
                r.transferred.to_string(),
                r.flowouts.to_string(),
            ]
        })
        .collect();
    let mut widths = TABLE_HEADER.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    if !title.is_empty() {
        let _ = writeln!(out, "{}", cell_text(title));
    }
    let line = |out: &mut String, row: &[String]| {
        let parts: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i].saturating_sub(c.chars().count());
                if i < 2 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    let header: Vec<String> = TABLE_HEADER.iter().map(|h| h.to_string()).collect();
    line(&mut out, &header);
    for row in &cells {
        line(&mut out, row);
    }
    if cells.is_empty() {
        out.push_str("(no data for the selected queues and range)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, ratio: Option<f64>) -> Row {
        Row {
            queue: name.into(),
            queue_id: "id-1".into(),
            media_type: "voice".into(),
            offered: 10,
            answered: 8,
            abandoned: 2,
            abandon_ratio: ratio,
            asa_seconds: ratio.map(|_| 12.25),
            aht_seconds: None,
            avg_wait_seconds: Some(3.0),
            service_level_ratio: None,
            transferred: 1,
            flowouts: 0,
        }
    }

    /// JSON rows carry exactly the documented keys, with null for undefined values.
    #[test]
    fn json_keys_and_nulls() {
        let text = json(&[row("Q", Some(0.2))]);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        let obj = v[0].as_object().expect("object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut expected = COLUMNS.to_vec();
        expected.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, expected);
        assert!(obj["aht_seconds"].is_null());
        assert_eq!(obj["abandon_ratio"], 0.2);
    }

    /// CSV quotes awkward names per RFC 4180 and leaves undefined values blank.
    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let text = csv(&[row("Sales, \"EMEA\"", None)]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "\"Sales, \"\"EMEA\"\"\",id-1,voice,10,8,2,,,,3,,1,0"
        );
        assert_eq!(lines[2], "");
    }

    /// The table aligns columns, shows `-` for undefined values and escapes control characters.
    #[test]
    fn table_layout() {
        let text = table(&[row("Ünïcødé\tQ", Some(0.2)), row("B", None)], "title");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "title");
        assert!(lines[1].starts_with("QUEUE"));
        assert!(lines[2].starts_with("Ünïcødé\\tQ"));
        assert!(lines[2].contains("20.0%") && lines[2].contains("12.2"));
        assert!(lines[3].contains(" - "));
        let widths: Vec<usize> = lines[1..].iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
        assert!(table(&[], "").contains("no data"));
    }
}
