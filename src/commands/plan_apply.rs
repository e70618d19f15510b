//! `plan` and `apply`: an inventory (or the single-table flags), selected, through the
//! [`pipeline`](super::pipeline). `plan` changes nothing; `apply` takes the guardrails and
//! `--resume`.

use super::base::limits;
use super::pipeline::{self, Job};
use super::source::{load_tables, selection};
use super::CliError;
use crate::cli::{ApplyArgs, GlobalArgs, PlanArgs};

/// `plan`: what would change; exit 3 with `--detailed-exitcode` when anything would.
pub fn plan(a: &PlanArgs, g: &GlobalArgs) -> Result<i32, CliError> {
    let sel = selection(&a.single.region, &a.select, None)?;
    let (inventory, tables) = load_tables(&a.inventory, &a.single, &a.select, &sel, &limits(g))?;
    pipeline::run(
        g,
        Job {
            command: "plan",
            inventory,
            tables,
            selection: sel,
            history: &a.select.history,
            guards: None,
            detailed_exitcode: a.detailed_exitcode,
        },
    )
}

/// `apply`: plan, confirm (or `--yes`), change, read back and verify.
pub fn apply(a: &ApplyArgs, g: &GlobalArgs) -> Result<i32, CliError> {
    let sel = selection(&a.single.region, &a.select, a.resume.as_deref())?;
    let (inventory, tables) = load_tables(&a.inventory, &a.single, &a.select, &sel, &limits(g))?;
    pipeline::run(
        g,
        Job {
            command: "apply",
            inventory,
            tables,
            selection: sel,
            history: &a.select.history,
            guards: Some(&a.guards),
            detailed_exitcode: false,
        },
    )
}
