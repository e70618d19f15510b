//! `iam-policy`: the IAM policies ddb-fleet needs, as JSON (see [`crate::iam`]).

use super::args::LimitArgs;
use super::base::limits;
use super::CliError;
use crate::exit_codes;
use crate::inventory;
use std::path::PathBuf;

/// Prints the target roles' policies and the caller's, on the inventory's roles if given.
pub fn run(inventory: Option<&PathBuf>, limits_args: &LimitArgs) -> Result<i32, CliError> {
    let mut roles: Vec<String> = match inventory {
        Some(path) => inventory::load(path, &limits(limits_args))?
            .tables
            .into_iter()
            .filter_map(|t| t.role.map(|r| r.role_arn))
            .collect(),
        None => vec![],
    };
    roles.sort();
    roles.dedup();
    let text = serde_json::to_string_pretty(&crate::iam::policies(&roles))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    outln!("{text}");
    Ok(exit_codes::SUCCESS)
}
