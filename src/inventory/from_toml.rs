//! Reading TOML inventories into [`RawRow`]s: a `[defaults]` table inherited by every
//! `[[tables]]` entry, each entry's fields overriding it (a role given either way replaces the
//! default's role, whichever form that uses).

use super::lines::Lines;
use super::raw::{Raw, RawRow};
use super::rules::{unknown_field, FIELDS};
use super::{InventoryError, InventoryErrors};
use std::collections::BTreeMap;

type TomlEntry = BTreeMap<String, toml::Spanned<toml::Value>>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    #[serde(default)]
    defaults: Option<toml::Spanned<TomlEntry>>,
    #[serde(default)]
    tables: Vec<toml::Spanned<TomlEntry>>,
}

/// The rows of a TOML inventory, each with `[defaults]` merged in.
pub(super) fn read_toml(label: &str, text: &str) -> Result<Vec<RawRow>, InventoryErrors> {
    let lines = Lines::new(text);
    let doc: TomlInventory = toml::from_str(text).map_err(|e| {
        InventoryErrors(vec![InventoryError {
            file: label.into(),
            line: e.span().map(|s| lines.of(s.start)),
            field: None,
            message: format!("invalid TOML: {}", e.message().trim()),
            hint: Some("the file has a `[defaults]` table and `[[tables]]` entries".into()),
        }])
    })?;
    let mut errors = Vec::new();
    let mut convert = |entry: &TomlEntry, explicit: bool, row: &mut RawRow| {
        for (name, value) in entry {
            let line = lines.of(value.span().start);
            if !FIELDS.contains(&name.as_str()) {
                errors.push(unknown_field(label, line, name));
                continue;
            }
            let raw = match value.get_ref() {
                toml::Value::String(s) => Raw::Text(s.trim().to_string()),
                toml::Value::Integer(i) => Raw::Int(*i),
                toml::Value::Float(f) => Raw::Float(*f),
                toml::Value::Boolean(b) => Raw::Bool(*b),
                other => Raw::Other(other.type_str()),
            };
            row.insert(name, raw, line, explicit);
        }
    };
    let mut defaults = RawRow::default();
    if let Some(d) = &doc.defaults {
        convert(d.get_ref(), false, &mut defaults);
    }
    let mut rows = Vec::new();
    for entry in &doc.tables {
        let mut row = defaults.clone();
        row.line = lines.of(entry.span().start);
        // An entry's own choice of role replaces the default's, whichever form each uses.
        let entry = entry.get_ref();
        if entry.contains_key("role_arn") || entry.contains_key("role_name") {
            row.fields.remove("role_arn");
            row.fields.remove("role_name");
        }
        convert(entry, true, &mut row);
        rows.push(row);
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(InventoryErrors(errors))
    }
}
