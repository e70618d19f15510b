//! `plan` and `apply`: an inventory (or the single-table flags), selected, through the
//! [`pipeline`](super::pipeline). `plan` changes nothing; `apply` takes the guardrails and
//! `--resume`.

use super::args::{
    GlobalArgs, Guards, OwnershipArgs, RenderArgs, ReportArgs, SelectArgs, SingleTableArgs,
};
use super::base::limits;
use super::pipeline::{self, Job};
use super::source::{load_tables, selection};
use super::CliError;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inventory file (.csv or .toml); or use the single-table flags.
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub single: SingleTableArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Exit 3 when any table would change (and none failed), as `terraform plan -detailed-exitcode`.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Inventory file (.csv or .toml); or use the single-table flags.
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub single: SingleTableArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub guards: Guards,
    /// Act only on the tables this earlier report left undone: failed, interrupted, not
    /// applied, or skipped for a reason that may pass.
    #[arg(long, value_name = "REPORT")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// `plan`: what would change; exit 3 with `--detailed-exitcode` when anything would.
pub fn plan(a: &PlanArgs) -> Result<i32, CliError> {
    let g = &a.global;
    let sel = selection(&a.single.region, &a.select, None)?;
    let (inventory, tables) =
        load_tables(&a.inventory, &a.single, &a.select, &sel, &limits(&g.limits))?;
    pipeline::run(
        g,
        Job {
            command: "plan",
            inventory,
            tables,
            selection: sel,
            report: &a.report,
            all_tables: a.render.all_tables,
            history: &a.select.history,
            earlier_reports: &[],
            guards: None,
            detailed_exitcode: a.detailed_exitcode,
            ownership: a.ownership.ownership(),
        },
    )
}

/// `apply`: plan, confirm (or `--yes`), change, read back and verify.
pub fn apply(a: &ApplyArgs) -> Result<i32, CliError> {
    let g = &a.global;
    let sel = selection(&a.single.region, &a.select, a.resume.as_deref())?;
    let (inventory, tables) =
        load_tables(&a.inventory, &a.single, &a.select, &sel, &limits(&g.limits))?;
    pipeline::run(
        g,
        Job {
            command: "apply",
            inventory,
            tables,
            selection: sel,
            report: &a.report,
            all_tables: a.render.all_tables,
            history: &a.select.history,
            earlier_reports: a.resume.as_slice(),
            guards: Some(&a.guards),
            detailed_exitcode: false,
            ownership: a.ownership.ownership(),
        },
    )
}
