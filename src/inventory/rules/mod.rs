//! The row rules: raw rows into [`DesiredTable`]s ([`validate_rows`]), every error collected.
//!
//! One [`RowValidator`] reads one row; its rules are split by concern, one module each:
//! - [`values`]: reading one value as text, a whole number or a percentage, and recording
//!   errors against the row's file, line and field;
//! - [`identity`]: account id, role (`role_arn` / `role_name`, `external_id`), region, table;
//! - [`capacity`]: the capacity mode, the auto scaling thresholds, `indexes`;
//! - [`on_demand`]: the maximum on-demand throughput (`max_*_request_units`);
//! - [`table_class`]: the table class;
//! - [`index`]: `index` rows, which give one GSI its own settings, attached to their table.
//!
//! A new inventory field is a name in [`FIELDS`] and a rule in the module of its concern,
//! called from [`RowValidator::validate`].

mod capacity;
mod identity;
mod index;
mod on_demand;
mod table_class;
mod values;

use super::names::suggest;
use super::raw::RawRow;
use super::{InventoryError, InventoryErrors, Limits};
use crate::model::*;
use std::collections::HashMap;

pub use capacity::TARGET_RANGE;

/// Every field an inventory row may carry; anything else is an error.
pub const FIELDS: &[&str] = &[
    // identity
    "account_id",
    "role_arn",
    "role_name",
    "external_id",
    "region",
    "table",
    // capacity
    "mode",
    "min_read",
    "max_read",
    "target_read",
    "min_write",
    "max_write",
    "target_write",
    "indexes",
    // on_demand
    "max_read_request_units",
    "max_write_request_units",
    // table_class
    "table_class",
    // index rows
    "index",
];

/// An unknown field, with the closest known name when it looks like a typo.
pub(super) fn unknown_field(label: &str, line: u64, name: &str) -> InventoryError {
    let hint = match suggest(name, FIELDS) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known fields: {}", FIELDS.join(", ")),
    };
    InventoryError {
        file: label.into(),
        line: Some(line),
        field: Some(name.into()),
        message: "unknown field".into(),
        hint: Some(hint),
    }
}

/// Validates raw rows into desired tables, collecting every error. `require_account` is false
/// only for the single-table flags, whose account is the caller's own.
pub fn validate_rows(
    label: &str,
    rows: &[RawRow],
    limits: &Limits,
    require_account: bool,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    let mut errors = Vec::new();
    let mut tables = Vec::new();
    let mut index_rows = Vec::new();
    let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
    for row in rows {
        let mut v = RowValidator {
            label,
            row,
            errors: Vec::new(),
        };
        let table = v.validate(limits, require_account);
        let index = v.index_row();
        errors.append(&mut v.errors);
        if let (Some(t), Some(index)) = (&table, index) {
            index_rows.push(index::IndexRow {
                line: row.line,
                index,
                row: t.clone(),
            });
            continue;
        }
        if let Some(t) = table {
            let key = (t.account_id.clone(), t.region.clone(), t.table.clone());
            if let Some(first) = seen.insert(key, row.line) {
                errors.push(duplicate_row(label, row.line, &t, first));
                // Restore the first line so a third duplicate names the first too.
                seen.insert(
                    (t.account_id.clone(), t.region.clone(), t.table.clone()),
                    first,
                );
            }
            tables.push(t);
        }
    }
    index::attach(label, index_rows, &mut tables, &mut errors);
    if errors.is_empty() {
        Ok(tables)
    } else {
        Err(InventoryErrors::deduplicated(errors))
    }
}

fn duplicate_row(label: &str, line: u64, t: &DesiredTable, first: u64) -> InventoryError {
    InventoryError {
        file: label.into(),
        line: Some(line),
        field: Some("table".into()),
        message: format!(
            "duplicate row for table `{}` in {} {} (first at line {first})",
            t.table, t.account_id, t.region
        ),
        hint: Some("keep one row per (account_id, region, table)".into()),
    }
}

/// Reads one raw row, recording every problem it finds in `errors`.
pub(super) struct RowValidator<'a> {
    label: &'a str,
    row: &'a RawRow,
    errors: Vec<InventoryError>,
}

impl RowValidator<'_> {
    /// The row as a desired table, or `None` if anything in it is wrong (see `errors`). The
    /// rules run in the order of the fields, so errors are listed in that order.
    fn validate(&mut self, limits: &Limits, require_account: bool) -> Option<DesiredTable> {
        let account_id = self.account_id(require_account);
        let role = self.role(account_id.as_deref());
        let region = self.region(limits, require_account);
        let table = self.table(require_account);
        let billing_mode = self.billing_mode();
        let indexes = self.index_scope();
        let mode = self.desired_mode(billing_mode, limits);
        let caps = self.caps(billing_mode, limits);
        let table_class = self.table_class();
        Some(DesiredTable {
            source: Source {
                file: self.label.into(),
                line: self.row.line,
            },
            account_id: account_id?,
            role,
            region: region?,
            table: table?,
            mode: mode?,
            indexes: indexes?,
            index_overrides: Default::default(),
            caps,
            index_caps: Default::default(),
            table_class: table_class?,
            restore: None,
        })
        .filter(|_| self.errors.is_empty())
    }
}
