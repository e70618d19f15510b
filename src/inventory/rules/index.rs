//! `index` rows: a row naming a GSI of a table gives that GSI its own settings. The row is
//! checked here ([`RowValidator::index_row`]) and attached to its table's row once every row
//! is read ([`attach`]).

use super::super::names::{is_pattern, valid_table_name};
use super::super::raw::Raw;
use super::RowValidator;
use crate::inventory::InventoryError;
use crate::model::*;

/// An index row, validated as a row of its own, waiting to be attached to its table.
pub(super) struct IndexRow {
    pub line: u64,
    pub index: String,
    pub row: DesiredTable,
}

impl RowValidator<'_> {
    /// The GSI an `index` row names, checked: only identity, mode and thresholds may be
    /// written on such a row.
    pub(super) fn index_row(&mut self) -> Option<String> {
        let index = self.text("index")?;
        if index.len() < 3 || index.len() > 255 || !valid_table_name(&index) {
            self.error(
                "index",
                format!("`{index}` is not a valid index name"),
                Some("3 to 255 characters: letters, digits, _ - .".into()),
            );
        }
        if self
            .row
            .fields
            .get("table")
            .is_some_and(|f| matches!(&f.value, Raw::Text(t) if is_pattern(t)))
        {
            self.error(
                "index",
                "an index row names one table, not a pattern".into(),
                None,
            );
        }
        for f in ["role_arn", "role_name", "external_id", "indexes"] {
            if self.row.fields.get(f).is_some_and(|v| v.explicit) {
                self.error(
                    f,
                    "an index row takes only account_id, region, table, index, mode and thresholds"
                        .into(),
                    Some("set it on the table's own row".into()),
                );
            }
        }
        Some(index)
    }
}

/// Gives each index row's GSI its thresholds on its (provisioned) table's row.
pub(super) fn attach(
    label: &str,
    index_rows: Vec<IndexRow>,
    tables: &mut [DesiredTable],
    errors: &mut Vec<InventoryError>,
) {
    // Index rows give one GSI of a provisioned table row its own thresholds.
    for IndexRow { line, index, row } in index_rows {
        let err = |message: String, hint: &str| InventoryError {
            file: label.into(),
            line: Some(line),
            field: Some("index".into()),
            message,
            hint: Some(hint.into()),
        };
        let DesiredMode::Provisioned(scaling) = row.mode else {
            errors.push(err(
                format!("index row for `{index}` is not provisioned"),
                "an index row gives a GSI its own auto scaling: mode provisioned, with thresholds",
            ));
            continue;
        };
        let Some(t) = tables.iter_mut().find(|t| {
            t.account_id == row.account_id && t.region == row.region && t.table == row.table
        }) else {
            errors.push(err(
                format!(
                    "no row for table `{}` in {} {} to attach index `{index}` to",
                    row.table, row.account_id, row.region
                ),
                "add a row for the table itself",
            ));
            continue;
        };
        if !matches!(t.mode, DesiredMode::Provisioned(_)) {
            errors.push(err(
                format!(
                    "table `{}` is not provisioned: its indexes have no auto scaling",
                    t.table
                ),
                "remove the index row, or make the table provisioned",
            ));
        } else if t.index_overrides.insert(index.clone(), scaling).is_some() {
            errors.push(err(
                format!("duplicate index row for `{index}` of table `{}`", t.table),
                "keep one row per index",
            ));
        }
    }
}
