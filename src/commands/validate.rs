//! `validate`: parse and validate an inventory; no AWS call.

use super::args::LimitArgs;
use super::base::limits;
use super::CliError;
use crate::exit_codes;
use crate::inventory;
use std::path::Path;

/// Prints how many tables in how many accounts; invalid input is a [`CliError`] (exit 2).
pub fn run(path: &Path, limits_args: &LimitArgs) -> Result<i32, CliError> {
    let inv = inventory::load(path, &limits(limits_args))?;
    let accounts = inv
        .tables
        .iter()
        .map(|t| t.account_id.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    outln!(
        "{}: valid, {} table{} in {} account{}",
        inv.path,
        inv.tables.len(),
        if inv.tables.len() == 1 { "" } else { "s" },
        accounts,
        if accounts == 1 { "" } else { "s" },
    );
    Ok(exit_codes::SUCCESS)
}
