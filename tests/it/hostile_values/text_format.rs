//! A strict checker of Prometheus text format 0.0.4, written from the
//! format's rules: metric and label name grammar, label-value and HELP
//! escaping, one TYPE per family before its samples, families not
//! interleaved, no duplicate label names or label sets, Go float spelling of
//! values and no timestamps. It then checks what the exporter promises of
//! its queue families: finite, non-negative values and ratios within 0–1.

use std::collections::{BTreeMap, HashSet};

/// One sample as parsed: name, labels (unescaped, sorted) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name.
    pub name: String,
    /// Label names and unescaped values.
    pub labels: BTreeMap<String, String>,
    /// The value.
    pub value: f64,
}

impl Series {
    /// A label's value, or "".
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Go `strconv.ParseFloat` spellings the format accepts; `inf` is not one.
fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        "NaN" => return Ok(f64::NAN),
        _ => {}
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let ok = !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.');
    if !ok {
        return Err(format!("value {s:?} is not a float spelling"));
    }
    s.parse::<f64>().map_err(|e| format!("value {s:?}: {e}"))
}

/// Unescapes a HELP text: only `\\` and `\n` are escapes there.
fn check_help(text: &str) -> Result<(), String> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err(format!("bad escape in HELP {text:?}"));
        }
    }
    Ok(())
}

/// Parses `{a="x",b="y"}` (the braces included) and returns the rest.
fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s.strip_prefix('{').ok_or("labels must open with {")?;
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value must be quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().ok_or("unterminated label value")? {
                (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                    'n' => value.push('\n'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    other => return Err(format!("bad escape \\{other} in label value")),
                },
                (i, '"') => break i,
                (_, '\n') => return Err(String::from("raw newline in label value")),
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} given twice"));
        }
        rest = &rest[end + 1..];
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(String::from("labels must be separated by commas"));
        }
    }
}

/// The family a sample name belongs to, given the TYPEs declared so far.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(
                types.get(base).map(String::as_str),
                Some("histogram" | "summary")
            ) {
                return base;
            }
        }
    }
    name
}

/// Checks `text` against the format rules and returns its samples.
pub fn parse_strict(text: &str) -> Result<Vec<Series>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(String::from("text must end with a newline"));
    }
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: HashSet<String> = HashSet::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    let mut seen: HashSet<(String, Vec<(String, String)>)> = HashSet::new();
    let mut out = Vec::new();
    let mut enter = |family: &str, current: &mut Option<String>| -> Result<(), String> {
        if current.as_deref() != Some(family) {
            if finished.contains(family) {
                return Err(format!("family {family} is interleaved with another"));
            }
            if let Some(prev) = current.take() {
                finished.insert(prev);
            }
            *current = Some(family.to_owned());
        }
        Ok(())
    };
    for line in text.lines() {
        if line.is_empty() {
            return Err(String::from("blank line"));
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start_matches(' ').splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), help) => {
                    if !is_metric_name(name) || !helps.insert(name.to_owned()) {
                        return Err(format!("bad or repeated HELP for {name:?}"));
                    }
                    check_help(help.unwrap_or(""))?;
                    enter(name, &mut current)?;
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !is_metric_name(name) {
                        return Err(format!("bad TYPE name {name:?}"));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(format!("bad type {kind:?}"));
                    }
                    if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                        return Err(format!("second TYPE for {name}"));
                    }
                    if out
                        .iter()
                        .any(|s: &Series| family_of(&s.name, &types) == name)
                    {
                        return Err(format!("TYPE of {name} after its samples"));
                    }
                    enter(name, &mut current)?;
                }
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or("sample without value")?;
        let name = &line[..name_end];
        if !is_metric_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..])?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let fields: Vec<&str> = rest.split(' ').filter(|f| !f.is_empty()).collect();
        let [value] = fields[..] else {
            return Err(format!("want exactly one value and no timestamp: {line:?}"));
        };
        let value = parse_value(value)?;
        let family = family_of(name, &types).to_owned();
        enter(&family, &mut current)?;
        let key: Vec<(String, String)> = labels.clone().into_iter().collect();
        if !seen.insert((name.to_owned(), key)) {
            return Err(format!("duplicate series {line:?}"));
        }
        out.push(Series {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(out)
}

/// What the exporter promises of its queue families (`genesys_queue_*`,
/// `genesys_window_*`): finite, non-negative values, ratios within 0–1.
pub fn check_queue_values(series: &[Series]) -> Result<(), String> {
    for s in series
        .iter()
        .filter(|s| s.name.starts_with("genesys_queue_") || s.name.starts_with("genesys_window_"))
    {
        if !s.value.is_finite() || s.value < 0.0 {
            return Err(format!("{} {:?} = {}", s.name, s.labels, s.value));
        }
        if s.name.ends_with("_ratio") && s.value > 1.0 {
            return Err(format!("ratio {} {:?} = {}", s.name, s.labels, s.value));
        }
    }
    Ok(())
}

/// The checker itself refuses what the format forbids.
#[test]
fn checker_refuses_invalid_text() {
    let good = "# HELP a_b A help \\\\ with\\n escapes.\n# TYPE a_b gauge\n\
                a_b{x=\"q\\\"u\\\\o\\nte\",y=\"\"} 1.5\na_b 0\n";
    let parsed = parse_strict(good).expect("valid");
    assert_eq!(parsed[0].label("x"), "q\"u\\o\nte");
    for bad in [
        "a 1",                                   // no final newline
        "a inf\n",                               // Rust's spelling of infinity
        "a 1 1700000000\n",                      // timestamp
        "a{x=\"1\"} 1\na{x=\"1\"} 2\n",          // duplicate series
        "a{x=\"\\t\"} 1\n",                      // bad escape
        "a{x=\"1\",x=\"2\"} 1\n",                // label twice
        "a{1x=\"1\"} 1\n",                       // label name grammar
        "# TYPE a gauge\n# TYPE a gauge\na 1\n", // two TYPEs
        "a 1\n# TYPE a gauge\n",                 // TYPE after samples
        "a 1\nb 1\na 2\n",                       // interleaved
        "1a 1\n",                                // metric name grammar
        "\na 1\n",                               // blank line
    ] {
        assert!(parse_strict(bad).is_err(), "accepted {bad:?}");
    }
    let negative = parse_strict("genesys_queue_x -1\n").expect("format allows it");
    assert!(check_queue_values(&negative).is_err());
    let ratio = parse_strict("genesys_queue_abandon_ratio 1.5\n").expect("format allows it");
    assert!(check_queue_values(&ratio).is_err());
}
