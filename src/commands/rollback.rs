//! `rollback REPORT...`: every table the reports changed (even partly) goes back to its
//! recorded `before` state (of the earliest report that changed it: a canary's, then the
//! run that finished the migration), through the same [`pipeline`](super::pipeline) as
//! `apply` (`--plan-only` stops after the plan).

use super::args::{GlobalArgs, Guards, RenderArgs, ReportArgs, SelectArgs};
use super::pipeline::{self, Job};
use super::source::{preselect, selection};
use super::{read_report, CliError};
use crate::inventory;
use crate::model::{DesiredTable, ObservedTable, TARGET_TRACKING};
use crate::report::{self, InventoryRef};
use crate::select::Selection;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The reports of the `apply` runs to undo (a canary's and the rest's, say): every table
    /// they changed (even partly) goes back to the state recorded before the earliest run
    /// that changed it.
    #[arg(value_name = "REPORT", required = true)]
    pub from: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only tables in this region (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    #[command(flatten)]
    pub guards: Guards,
    /// Show what the rollback would change, and change nothing.
    #[arg(long)]
    pub plan_only: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `rollback`: plan the way back to the report's `before` states, then (unless
/// `--plan-only`) apply it with the guardrails of `apply`.
pub fn run(a: &RollbackArgs) -> Result<i32, CliError> {
    let g = &a.global;
    let sel = selection(&a.regions, &a.select, None)?;
    let (inventory, tables) = rollback_tables(&a.from, &sel)?;
    pipeline::run(
        g,
        Job {
            command: "rollback",
            inventory,
            tables,
            selection: sel,
            report: &a.report,
            all_tables: a.render.all_tables,
            history: &a.select.history,
            earlier_reports: &a.from,
            guards: (!a.plan_only).then_some(&a.guards),
            detailed_exitcode: false,
            // A rollback puts back what the owner had: managed tables are not skipped.
            ownership: Default::default(),
        },
    )
}

/// action that succeeded, or that started and may have), each with its recorded `before`;
/// a table several reports changed, with the `before` of the earliest run.
fn rollback_tables(
    paths: &[PathBuf],
    sel: &Selection,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    let mut reports = Vec::new();
    let mut all_bytes = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::Usage(format!("{}: cannot read: {e}", path.display())))?;
        if super::advise::is_advice(&bytes) {
            return Err(CliError::Usage(format!(
                "{} is an advise report: advise changes nothing, so there is nothing to roll back; give the report of the apply that made the changes",
                path.display()
            )));
        }
        let (report, bytes) = read_report(path)?;
        all_bytes.extend_from_slice(&bytes);
        reports.push((path, report));
    }
    reports.sort_by(|a, b| a.1.started_at.cmp(&b.1.started_at));
    let mut seen = std::collections::HashSet::new();
    let changed: Vec<report::TableReport> = reports
        .into_iter()
        .flat_map(|(_, r)| r.tables)
        .filter(|t| {
            t.actions.iter().any(|a| {
                a.action.is_mutating()
                    && matches!(
                        a.outcome,
                        report::Outcome::Succeeded | report::Outcome::Started
                    )
            })
        })
        .filter(|t| seen.insert((t.account_id.clone(), t.region.clone(), t.table.clone())))
        .collect();
    let label = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let tables = restorations(changed);
    finish_tables(tables, &label, &all_bytes, sel)
}

/// The rows that put each table back to its recorded `before`.
fn restorations(changed: Vec<report::TableReport>) -> Vec<DesiredTable> {
    changed
        .into_iter()
        .filter_map(|t| {
            let before = t.before?;
            let caps = match before.billing_mode {
                crate::model::BillingMode::OnDemand => before.caps,
                crate::model::BillingMode::Provisioned => Default::default(),
            };
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
                caps,
                index_caps: Default::default(),
                table_class: before.table_class,
                restore: Some(Box::new(before)),
            })
        })
        .collect()
}

/// Checks the rows (before any AWS call) and selects them.
fn finish_tables(
    tables: Vec<DesiredTable>,
    label: &str,
    bytes: &[u8],
    sel: &Selection,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "{label}: the report records no change to roll back"
        )));
    }
    for t in &tables {
        if let Some(why) = t.restore.as_deref().and_then(unrestorable) {
            return Err(CliError::Usage(format!(
                "{label}: {} {} {}: {why}; nothing was changed",
                t.account_id, t.region, t.table
            )));
        }
    }
    let tables = preselect(tables, sel)?;
    Ok((
        InventoryRef {
            path: label.to_string(),
            sha256: inventory::sha256_hex(bytes),
        },
        tables,
    ))
}

/// Why a recorded state cannot be put back as it is, if it cannot: values AWS could not
/// have reported (a report edited by hand, or damaged). Checked before any AWS call.
fn unrestorable(before: &ObservedTable) -> Option<String> {
    let units = 1..=i64::from(i32::MAX);
    for t in &before.scalable_targets {
        if !units.contains(&t.min) || !units.contains(&t.max) || t.min > t.max {
            return Some(format!(
                "the recorded scalable target {} has min {} and max {}, which AWS does not accept",
                t.key.label(),
                t.min,
                t.max
            ));
        }
    }
    for p in &before.scaling_policies {
        if p.policy_type == TARGET_TRACKING && p.metric.is_some() && p.target_value.is_none() {
            return Some(format!(
                "the recorded target-tracking policy {} ({}) has no target value to restore",
                p.key.label(),
                p.name
            ));
        }
    }
    let capacities = [before.read_capacity, before.write_capacity]
        .into_iter()
        .chain(
            before
                .indexes
                .iter()
                .flat_map(|i| [i.read_capacity, i.write_capacity]),
        );
    for c in capacities {
        if !(0..=MAX_RESTORABLE_UNITS).contains(&c) {
            return Some(format!("a recorded capacity of {c} units is out of range"));
        }
    }
    None
}

/// The largest capacity a report may record: AWS's largest per-table quota is far below it,
/// and the SDK's auto scaling calls take 32-bit values.
const MAX_RESTORABLE_UNITS: i64 = i32::MAX as i64;
