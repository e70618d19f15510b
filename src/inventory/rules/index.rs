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
    /// written on such a row, and the maximum on-demand throughput.
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
                    "an index row takes only account_id, region, table, index, mode, thresholds and maximum on-demand throughput"
                        .into(),
                    Some("set it on the table's own row".into()),
                );
            }
        }
        if self
            .row
            .fields
            .get("table_class")
            .is_some_and(|v| v.explicit)
        {
            self.error(
                "table_class",
                "the table class is table-wide: it applies to the table and every index".into(),
                Some("set it on the table's own row".into()),
            );
        }
        Some(index)
    }
}

/// Gives each index row's GSI its settings on its table's row: thresholds on a provisioned
/// table, maximum on-demand throughput on an on-demand one.
pub(super) fn attach(
    label: &str,
    index_rows: Vec<IndexRow>,
    tables: &mut [DesiredTable],
    errors: &mut Vec<InventoryError>,
) {
    for IndexRow { line, index, row } in index_rows {
        let err = |message: String, hint: &str| InventoryError {
            file: label.into(),
            line: Some(line),
            field: Some("index".into()),
            message,
            hint: Some(hint.into()),
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
        let duplicate = t.index_overrides.contains_key(&index) || t.index_caps.contains_key(&index);
        match (row.mode, t.mode) {
            _ if duplicate => errors.push(err(
                format!("duplicate index row for `{index}` of table `{}`", t.table),
                "keep one row per index",
            )),
            (DesiredMode::Provisioned(scaling), DesiredMode::Provisioned(_)) => {
                t.index_overrides.insert(index, scaling);
            }
            (DesiredMode::Provisioned(_), DesiredMode::OnDemand) => errors.push(err(
                format!(
                    "table `{}` is not provisioned: its indexes have no auto scaling",
                    t.table
                ),
                "remove the index row, or make the table provisioned",
            )),
            (DesiredMode::OnDemand, DesiredMode::Provisioned(_)) => errors.push(err(
                format!(
                    "table `{}` is provisioned: maximum on-demand throughput applies to the indexes of on-demand tables",
                    t.table
                ),
                "give the index row the table's mode, provisioned, with thresholds",
            )),
            (DesiredMode::OnDemand, DesiredMode::OnDemand) if row.caps.is_unset() => {
                errors.push(err(
                    format!("the on-demand index row for `{index}` sets nothing"),
                    "set max_read_request_units or max_write_request_units (a number, or none)",
                ))
            }
            (DesiredMode::OnDemand, DesiredMode::OnDemand) => {
                t.index_caps.insert(index, row.caps);
            }
        }
    }
}
