//! Report rendering (pure): an aligned text table, RFC 4180 CSV, or JSON.
//! Undefined ratios and averages are `-` in the table, blank in CSV and
//! `null` in JSON.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::rows::{Cell, Row, COLUMNS};

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

fn csv_cell(cell: Cell<'_>) -> String {
    match cell {
        Cell::Text(text) => csv_field(text),
        Cell::Count(n) => n.to_string(),
        Cell::Ratio(v) | Cell::Seconds(v) => v.map(|v| v.to_string()).unwrap_or_default(),
    }
}

/// CSV with CRLF line ends (RFC 4180); undefined values are empty fields.
pub fn csv(rows: &[Row]) -> String {
    let header: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        let fields: Vec<String> = COLUMNS.iter().map(|c| csv_cell((c.cell)(r))).collect();
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

/// Terminal columns a string occupies (Unicode Standard Annex #11): East
/// Asian wide and fullwidth characters take two, combining marks none.
pub fn display_width(text: &str) -> usize {
    text.width()
}

fn table_cell(cell: Cell<'_>) -> String {
    match cell {
        Cell::Text(text) => cell_text(text),
        Cell::Count(n) => n.to_string(),
        Cell::Ratio(v) => v
            .map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| String::from("-")),
        Cell::Seconds(v) => v
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| String::from("-")),
    }
}

/// An aligned table: text columns left-aligned, numbers right-aligned.
pub fn table(rows: &[Row], title: &str) -> String {
    let columns: Vec<_> = COLUMNS
        .iter()
        .filter_map(|c| c.header.map(|h| (h, c.cell)))
        .collect();
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|(_, cell)| {
                    let cell = cell(r);
                    (table_cell(cell), matches!(cell, Cell::Text(_)))
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| display_width(h)).collect();
    for row in &cells {
        for (w, (c, _)) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(c));
        }
    }
    let mut out = String::new();
    if !title.is_empty() {
        let _ = writeln!(out, "{}", cell_text(title));
    }
    let line = |out: &mut String, row: &[(String, bool)]| {
        let parts: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|((c, left), width)| {
                let pad = " ".repeat(width.saturating_sub(display_width(c)));
                if *left {
                    format!("{c}{pad}")
                } else {
                    format!("{pad}{c}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    // Each column always yields the same kind of cell; with no rows every
    // header is exactly its column's width, so alignment does not matter.
    let left: Vec<bool> = match cells.first() {
        Some(row) => row.iter().map(|(_, left)| *left).collect(),
        None => vec![true; columns.len()],
    };
    let header: Vec<(String, bool)> = columns
        .iter()
        .zip(left)
        .map(|((h, _), left)| (h.to_string(), left))
        .collect();
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
        let mut expected: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
        expected.sort_unstable();
        let mut got = keys.clone();
        got.sort_unstable();
        assert_eq!(got, expected);
        assert!(obj["aht_seconds"].is_null());
        assert_eq!(obj["abandon_ratio"], 0.2);
        let at: Vec<usize> = COLUMNS
            .iter()
            .map(|c| text.find(&format!("\"{}\":", c.key)).expect("key"))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "keys in column order");
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
        let keys: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
        assert_eq!(lines[0], keys.join(","));
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
