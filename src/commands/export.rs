//! `export`: tables' current state (an inventory's, or every table of `--account` x
//! `--region`) written as an inventory that `plan` reports as unchanged. Exit 1 if a table
//! could not be read.

use super::args::{DiscoveryArgs, GlobalArgs};
use super::base::{self, limits};
use super::identity;
use super::source::{rows_to_read_from, Discovery};
use super::{refuse_overwriting, report_dir_exists, CliError};
use crate::events::Sinks;
use crate::exit_codes;
use crate::export::{self, Exported};
use crate::inventory::Limits;
use crate::model::{DesiredTable, RoleSpec};
use crate::progress::{ProgressSink, SuspendingWriter};
use crate::render::plural;
use crate::report::{self, AccountStatus, OrgReport, TableReport};
use crate::runner::{self, Ledger};
use crate::select::Selection;
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub discover: DiscoveryArgs,
    /// The inventory to write: .csv or .toml.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `export`: read, then write the inventory (CSV or TOML, by the output's extension).
pub fn run(a: &ExportArgs) -> Result<i32, CliError> {
    let g = &a.global;
    let limits = limits(&g.limits);
    let toml = match a.output.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        Some(e) if e.eq_ignore_ascii_case("toml") => true,
        _ => {
            return Err(CliError::Usage(format!(
                "-o {}: name the file *.csv or *.toml",
                a.output.display()
            )))
        }
    };
    if !report_dir_exists(&a.output) {
        return Err(CliError::Usage(format!(
            "the output's directory does not exist: {}",
            a.output.display()
        )));
    }
    if let Some(inventory) = &a.discover.inventory {
        refuse_overwriting(&a.output, "-o", &[(inventory, "the inventory")])?;
    }
    let sel = a.discover.selection(None).map_err(CliError::Usage)?;
    let (source, rows) = rows_to_read(a, &sel, &limits)?;
    let (read, org) = read_tables(g, rows, &sel)?;
    let (mut items, tables, failed) = exported(read, &limits);
    items.extend(account_notes(org.as_ref()));
    if let Some(o) = &org {
        outln!("{}", o.line());
    }
    if items.is_empty() && failed == 0 {
        // An inventory with no row is one `validate` refuses: write none, and say so.
        eprintln!(
            "export found no table in {source} (no table matches the accounts, regions and --table given): nothing was written"
        );
        return Ok(exit_codes::FAILURES);
    }
    let notes = items
        .iter()
        .filter(|i| matches!(i, Exported::Note(_)))
        .count();
    let header = format!(
        "ddb-fleet {} export of {source}, {}\nplan on this file reports every listed table unchanged; comments say what could not be exported",
        env!("CARGO_PKG_VERSION"),
        report::now_rfc3339()
    );
    let text = if toml {
        export::to_toml(&header, &items)
    } else {
        export::to_csv(&header, &items)
    };
    report::write_bytes_atomic(&a.output, text.trim_end().as_bytes())
        .map_err(CliError::writing(&a.output))?;
    outln!(
        "{}: {} read, {} in comments, {failed} could not be read",
        a.output.display(),
        plural(tables, "table"),
        plural(notes, "note")
    );
    Ok(if failed > 0 {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

/// The rows to read: the inventory's (selected), or every table (or those of `--table`) of
/// each `--account` x `--region`.
fn rows_to_read(
    a: &ExportArgs,
    sel: &Selection,
    limits: &Limits,
) -> Result<(String, Vec<DesiredTable>), CliError> {
    let (source, rows) = rows_to_read_from(
        a.discover.inventory.as_deref(),
        &Discovery::of(&a.discover, "export"),
        sel,
        limits,
    )?;
    Ok((source.path, rows))
}

/// Expands the patterns and reads every table, as `plan` would, with a progress bar.
fn read_tables(
    g: &GlobalArgs,
    mut rows: Vec<DesiredTable>,
    sel: &Selection,
) -> Result<(Vec<TableReport>, Option<OrgReport>), CliError> {
    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    base::init_logging(g, SuspendingWriter::new(progress.bar()));
    let ledger = Ledger::default();
    let org = base::new_runtime()?.block_on(async {
        let (factory, _) = identity::connect(g, &mut rows, Default::default()).await?;
        let (rows, org) = base::expand_selected(&factory, rows, g, sel).await?;
        let opts = base::run_options(g, rows.iter().map(|(t, _)| t));
        ledger.init(rows.iter().map(|(t, _)| t));
        let sinks = Sinks(vec![Box::new(progress.clone())]);
        runner::observe_and_plan(&factory, rows, &opts, &sinks, &ledger, true, None).await;
        Ok::<_, CliError>(org)
    })?;
    progress.finish();
    Ok((ledger.take(), org))
}

/// A note for each account of the organisation that was skipped (not ACTIVE, excluded). A
/// failed account has its note already: its failed entry's, with the error.
fn account_notes(org: Option<&OrgReport>) -> Vec<Exported> {
    org.iter()
        .flat_map(|o| &o.accounts)
        .filter(|a| a.status == AccountStatus::Skipped)
        .map(|a| {
            Exported::Note(format!(
                "not exported: account {} ({}, {}) skipped: {}",
                a.account_id,
                a.name,
                a.ou_path,
                a.reason.as_deref().unwrap_or_default()
            ))
        })
        .collect()
}

/// The export's rows and notes, how many tables were read and how many could not be.
fn exported(read: Vec<TableReport>, limits: &Limits) -> (Vec<Exported>, usize, usize) {
    let mut items = Vec::new();
    let (mut tables, mut failed) = (0, 0);
    for t in read {
        match (&t.before, &t.error) {
            (Some(before), _) => {
                tables += 1;
                let role = t.desired.role_arn.clone().map(|role_arn| RoleSpec {
                    role_arn,
                    external_id: t.desired.external_id.clone(),
                });
                items.extend(export::export_table(
                    &t.account_id,
                    &t.region,
                    &t.table,
                    role.as_ref(),
                    before,
                    limits.max_capacity_units,
                ));
            }
            (None, e) => {
                failed += 1;
                let why = e
                    .as_ref()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .unwrap_or_default();
                items.push(Exported::Note(format!(
                    "not exported: {} {} {} could not be read: {why}",
                    t.account_id, t.region, t.table
                )));
            }
        }
    }
    (items, tables, failed)
}
