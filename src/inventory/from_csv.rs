//! Reading CSV inventories into [`RawRow`]s: a header row naming the fields, one row per table
//! or index, `#` comments and blank lines skipped (and counted in line numbers).

use super::lines::Lines;
use super::raw::{Raw, RawRow};
use super::rules::{unknown_field, FIELDS};
use super::{InventoryError, InventoryErrors};
use std::collections::HashMap;

pub(super) fn read_csv(label: &str, text: &str) -> Result<Vec<RawRow>, InventoryErrors> {
    let lines = Lines::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(InventoryError {
                    file: label.into(),
                    line: e.position().map(|p| lines.of(p.byte() as usize)),
                    field: None,
                    message: format!("malformed CSV: {e}"),
                    hint: Some("check quoting on this line".into()),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| record_line(text, &lines, p.byte() as usize))
            .unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let Some((_, names)) = &header else {
            let names: Vec<String> = record.iter().map(str::to_string).collect();
            let mut seen = HashMap::new();
            for name in &names {
                if !FIELDS.contains(&name.as_str()) {
                    errors.push(unknown_field(label, line, name));
                } else if seen.insert(name.clone(), ()).is_some() {
                    errors.push(InventoryError {
                        file: label.into(),
                        line: Some(line),
                        field: Some(name.clone()),
                        message: "column appears twice in the header".into(),
                        hint: None,
                    });
                }
            }
            for required in ["region", "table"] {
                if !names.iter().any(|n| n == required) {
                    errors.push(InventoryError {
                        file: label.into(),
                        line: Some(line),
                        field: Some(required.into()),
                        message: "required column missing from the header".into(),
                        hint: Some(format!("add a `{required}` column")),
                    });
                }
            }
            header = Some((line, names));
            continue;
        };
        if record.len() != names.len() {
            errors.push(InventoryError {
                file: label.into(),
                line: Some(line),
                field: None,
                message: format!(
                    "row has {} fields but the header has {}",
                    record.len(),
                    names.len()
                ),
                hint: Some(
                    "every row needs one value per column (leave a cell empty, not out)".into(),
                ),
            });
            continue;
        }
        let mut row = RawRow {
            line,
            ..RawRow::default()
        };
        for (name, value) in names.iter().zip(record.iter()) {
            if !value.is_empty() && FIELDS.contains(&name.as_str()) {
                row.insert(name, Raw::Text(value.to_string()), line, true);
            }
        }
        rows.push(row);
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(InventoryErrors(errors))
    }
}

/// The line a CSV record starts on. The csv crate counts neither comment nor blank lines and
/// reports the offset where it began reading, before the lines it skipped: skip them here too.
fn record_line(text: &str, lines: &Lines, offset: usize) -> u64 {
    let mut line = lines.of(offset);
    for l in text[offset.min(text.len())..].split('\n') {
        let l = l.trim_end_matches('\r');
        if !(l.is_empty() || l.starts_with('#')) {
            break;
        }
        line += 1;
    }
    line
}
