//! Rows as read, before validation ([`RawRow`]): field name → value as written, with the line
//! it is on and whether the row itself wrote it (TOML `[defaults]` are inherited).

use std::collections::BTreeMap;

/// A value as written, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Another TOML type (array, table, date); the name is for the message.
    Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawField {
    pub value: Raw,
    pub line: u64,
    /// Written on the row itself (not inherited from TOML `[defaults]`).
    pub explicit: bool,
}

/// One row as read from CSV, TOML or the single-table flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    pub line: u64,
    pub fields: BTreeMap<String, RawField>,
}

impl RawRow {
    pub fn insert(&mut self, name: &str, value: Raw, line: u64, explicit: bool) {
        self.fields.insert(
            name.to_string(),
            RawField {
                value,
                line,
                explicit,
            },
        );
    }
}

pub(super) fn raw_type(raw: &Raw) -> &'static str {
    match raw {
        Raw::Text(_) => "a string",
        Raw::Int(_) => "an integer",
        Raw::Float(_) => "a float",
        Raw::Bool(_) => "a boolean",
        Raw::Other(t) => t,
    }
}
