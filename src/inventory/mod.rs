//! The inventory: CSV or TOML rows naming tables and the capacity they should have.
//!
//! Reading and validating are apart:
//! - [`from_csv`] and [`from_toml`] read a file into [`RawRow`]s (field name →
//!   value, with line numbers); the single-table flags build one such row too;
//! - [`rules`] turns raw rows into [`DesiredTable`]s, one module per concern (identity, capacity,
//!   index rows): a new field goes there;
//! - [`names`] checks account ids, ARNs, regions and table names, and matches patterns;
//! - [`error`] locates every problem by file, line and field.
//!
//! Validation covers the whole file and collects every error ([`InventoryErrors`]) before
//! anything talks to AWS: an inventory is either entirely valid or not used at all.

pub mod error;
mod from_csv;
mod from_toml;
mod lines;
pub mod names;
pub mod raw;
pub mod rules;
#[cfg(test)]
mod tests;

use crate::model::*;
use sha2::{Digest, Sha256};
use std::path::Path;

pub use error::{InventoryError, InventoryErrors};
pub use names::{
    glob_match, is_pattern, parse_role_arn, suggest, valid_account_id, valid_region, KNOWN_REGIONS,
};
pub use raw::{Raw, RawField, RawRow};
pub use rules::{validate_rows, FIELDS, TARGET_RANGE};

/// Bounds applied to an inventory's values. The upper bound on capacity units is AWS's
/// default per-table quota (40,000 RCU/WCU); accounts with a raised quota pass
/// `--max-capacity-units`. Regions must be ones this release knows
/// ([`names::KNOWN_REGIONS`]), or allowed by name (`--allow-region`, for a newer one).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_capacity_units: i64,
    pub allowed_regions: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_capacity_units: 40_000,
            allowed_regions: Vec::new(),
        }
    }
}

/// A validated inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: String,
    pub sha256: String,
    pub tables: Vec<DesiredTable>,
}

/// Reads and validates an inventory file (format by extension: `.csv` or `.toml`).
pub fn load(path: &Path, limits: &Limits) -> Result<Inventory, InventoryErrors> {
    let label = path.display().to_string();
    let one = |message: String, hint: Option<String>| {
        InventoryErrors(vec![InventoryError {
            file: label.clone(),
            line: None,
            field: None,
            message,
            hint,
        }])
    };
    let bytes = std::fs::read(path).map_err(|e| {
        one(
            format!("cannot read inventory: {e}"),
            Some("check the path".into()),
        )
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
        _ => {
            return Err(one(
                "unknown inventory format".into(),
                Some("name the file *.csv or *.toml".into()),
            ))
        }
    };
    let tables = parse_bytes(&label, &bytes, format, limits)?;
    Ok(Inventory {
        path: label,
        sha256: sha256_hex(&bytes),
        tables,
    })
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Toml,
}

/// Parses and validates inventory bytes; `label` names the file in errors.
pub fn parse_bytes(
    label: &str,
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    let err = |line: Option<u64>, message: String, hint: Option<&str>| InventoryError {
        file: label.to_string(),
        line,
        field: None,
        message,
        hint: hint.map(str::to_string),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                + 1;
            return Err(InventoryErrors(vec![err(
                Some(line),
                "not valid UTF-8".into(),
                Some("save the file as UTF-8"),
            )]));
        }
    };
    // Spreadsheet programs often write a UTF-8 byte order mark: accept it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = match format {
        Format::Csv => from_csv::read_csv(label, text),
        Format::Toml => from_toml::read_toml(label, text),
    }?;
    if rows.is_empty() {
        return Err(InventoryErrors(vec![err(
            None,
            "the inventory lists no tables".into(),
            Some(match format {
                Format::Csv => "add one row per table below the header",
                Format::Toml => "add [[tables]] entries",
            }),
        )]));
    }
    validate_rows(label, &rows, limits, true)
}
