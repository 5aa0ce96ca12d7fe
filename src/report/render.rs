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

/// Terminal columns a string occupies: East Asian wide and fullwidth
/// characters (and most emoji) take two, combining marks and zero-width
/// characters none, everything else one.
pub fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
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
    let mut widths = TABLE_HEADER.map(display_width);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(c));
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
                let pad = widths[i].saturating_sub(display_width(c));
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
        let rows = [
            row("Ünïcødé\tQ", Some(0.2)),
            row("B", None),
            row("サポート 東京", None),
        ];
        let text = table(&rows, "title");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "title");
        assert!(lines[1].starts_with("QUEUE"));
        assert!(lines[2].starts_with("Ünïcødé\\tQ"));
        assert!(lines[2].contains("20.0%") && lines[2].contains("12.2"));
        assert!(lines[3].contains(" - "));
        assert!(lines[4].starts_with("サポート 東京  voice"));
        let widths: Vec<usize> = lines[1..].iter().map(|l| display_width(l)).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");
        assert!(table(&[], "").contains("no data"));
    }

    /// Wide scripts count two columns, combining marks none.
    #[test]
    fn widths() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("東京"), 4);
        assert_eq!(display_width("ｱ"), 1);
        assert_eq!(display_width("e\u{301}"), 1);
    }
}
