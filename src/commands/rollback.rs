//! `rollback REPORT`: every table the report changed (even partly) goes back to its recorded
//! `before` state, through the same [`pipeline`](super::pipeline) as `apply` (`--plan-only`
//! stops after the plan).

use super::pipeline::{self, Job};
use super::source::{preselect, selection};
use super::{read_report, CliError};
use crate::cli::{GlobalArgs, RollbackArgs};
use crate::inventory;
use crate::model::DesiredTable;
use crate::report::{self, InventoryRef};
use crate::select::Selection;
use std::path::Path;

/// `rollback`: plan the way back to the report's `before` states, then (unless
/// `--plan-only`) apply it with the guardrails of `apply`.
pub fn run(a: &RollbackArgs, g: &GlobalArgs) -> Result<i32, CliError> {
    let sel = selection(&a.regions, &a.select, None)?;
    let (inventory, tables) = rollback_tables(&a.from, &sel)?;
    pipeline::run(
        g,
        Job {
            command: "rollback",
            inventory,
            tables,
            selection: sel,
            history: &a.select.history,
            guards: (!a.plan_only).then_some(&a.guards),
            detailed_exitcode: false,
        },
    )
}

/// action that succeeded, or that started and may have), each with its recorded `before`.
fn rollback_tables(
    path: &Path,
    sel: &Selection,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    let (report, bytes) = read_report(path)?;
    let tables: Vec<DesiredTable> = report
        .tables
        .into_iter()
        .filter(|t| {
            t.actions.iter().any(|a| {
                a.action.is_mutating()
                    && matches!(
                        a.outcome,
                        report::Outcome::Succeeded | report::Outcome::Started
                    )
            })
        })
        .filter_map(|t| {
            let before = t.before?;
            Some(DesiredTable {
                source: t.source,
                account_id: t.account_id,
                role: t.desired.role_arn.map(|role_arn| crate::model::RoleSpec {
                    role_arn,
                    external_id: t.desired.external_id,
                }),
                region: t.region,
                table: t.table,
                mode: crate::model::DesiredMode::indicative(&before),
                indexes: crate::model::IndexScope::All,
                index_overrides: Default::default(),
                caps: Default::default(),
                index_caps: Default::default(),
                table_class: None,
                restore: Some(Box::new(before)),
            })
        })
        .collect();
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: the report records no change to roll back",
            path.display()
        )));
    }
    let tables = preselect(tables, sel)?;
    Ok((
        InventoryRef {
            path: path.display().to_string(),
            sha256: inventory::sha256_hex(&bytes),
        },
        tables,
    ))
}
