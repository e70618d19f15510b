//! `iam-policy`: the IAM policies ddb-fleet needs, as JSON (see [`crate::iam`]).

use super::args::LimitArgs;
use super::base::limits;
use super::CliError;
use crate::exit_codes;
use crate::iam::Uses;
use crate::inventory;
use crate::org::{Scope, ALL_REGIONS};
use std::path::PathBuf;

/// Prints the target roles' policies and the caller's, on the inventory's roles if given.
/// Without an inventory, with what `--organization`, `--ou` and `--region all` need; with one,
/// with what its rows need (rows for many accounts, `*` regions).
pub fn run(inventory: Option<&PathBuf>, limits_args: &LimitArgs) -> Result<i32, CliError> {
    let tables = match inventory {
        Some(path) => inventory::load(path, &limits(limits_args))?.tables,
        None => vec![],
    };
    let uses = Uses {
        organization: inventory.is_none()
            || tables
                .iter()
                .any(|t| Scope::of(&t.account_id).needs_directory()),
        regions: inventory.is_none() || tables.iter().any(|t| t.region == ALL_REGIONS),
    };
    let mut roles: Vec<String> = tables
        .into_iter()
        .filter_map(|t| t.role.map(|r| r.role_arn))
        .collect();
    roles.sort();
    roles.dedup();
    let text = serde_json::to_string_pretty(&crate::iam::policies(&roles, uses))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    outln!("{text}");
    Ok(exit_codes::SUCCESS)
}
