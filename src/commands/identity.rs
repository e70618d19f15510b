//! Who a run acts as, learnt before its first table is read ([`connect`]): the clients are
//! built, STS GetCallerIdentity says whose the base credentials are (once per run), and every
//! row is checked against it. A row without a role uses the caller's own credentials, so it
//! must name the caller's account: otherwise the run would read and change another account's
//! tables under a label that is not theirs. That is an input error, found before any table is
//! read ([`check_accounts`], pure).

use super::args::GlobalArgs;
use super::base;
use super::CliError;
use crate::aws::{CallerIdentity, ClientFactory};
use crate::cancel::Cancel;
use crate::inventory::{InventoryError, InventoryErrors};
use crate::model::DesiredTable;
use std::sync::Arc;

/// Where rows built from the command line (`--account`, the single-table flags) come from.
pub const COMMAND_LINE: &str = "(command line)";

/// The run's clients, stopping on `stop`, and who they act as; the rows' accounts checked
/// (and filled in where a row has none: the single-table flags name no account).
/// AWS calls: STS GetCallerIdentity.
pub async fn connect(
    g: &GlobalArgs,
    rows: &mut [DesiredTable],
    stop: Arc<Cancel>,
) -> Result<(ClientFactory, CallerIdentity), CliError> {
    if let Some(p) = &g.profile {
        crate::aws::profile::check(p).map_err(CliError::Usage)?;
    }
    let factory = ClientFactory::new(base::aws_settings(g))
        .await
        .stopping_on(stop);
    let region = rows
        .iter()
        .map(|r| r.region.as_str())
        .find(|r| *r != crate::org::ALL_REGIONS)
        .unwrap_or("us-east-1");
    let caller = factory.caller_identity(region).await.map_err(|e| {
        // No provider of the SDK's chain found any: one line, the places it looked.
        let none = e.code == "NoCredentials"
            || (e.code == "CredentialsError" && e.message.contains("no credentials found"));
        match none {
            true => CliError::Usage(crate::aws::AwsError::no_credentials().message),
            false => CliError::Aws(format!(
                "cannot learn whose the credentials are (STS GetCallerIdentity): {}",
                e.message.lines().next().unwrap_or_default()
            )),
        }
    })?;
    let profile = g
        .profile
        .as_deref()
        .map_or(String::new(), |p| format!(", profile {p}"));
    tracing::info!(
        account = %caller.account,
        arn = %caller.arn,
        "running as {} (account {}{profile})",
        caller.arn,
        caller.account
    );
    check_accounts(rows, &caller.account)?;
    // A role named by its name was written in the commercial partition: the caller's is the
    // organisation's (China, GovCloud, the European Sovereign Cloud have their own ARNs).
    let partition = factory.partition();
    for role in rows.iter_mut().filter_map(|r| r.role.as_mut()) {
        role.role_arn = partition.arn(&role.role_arn);
    }
    Ok((factory, caller))
}

/// Fills in the caller's account on rows that name none, and refuses rows that would use the
/// caller's own credentials (no role) in another account: every such row of an inventory is
/// named by file, line and field; a command-line row by its flag.
pub fn check_accounts(rows: &mut [DesiredTable], caller: &str) -> Result<(), CliError> {
    let mut errors = Vec::new();
    let mut flags = std::collections::BTreeSet::new();
    for row in rows.iter_mut().filter(|r| r.role.is_none()) {
        if row.account_id.is_empty() {
            row.account_id = caller.to_string();
        } else if row.account_id != caller {
            if row.source.file == COMMAND_LINE {
                flags.insert(row.account_id.clone());
                continue;
            }
            errors.push(InventoryError::at(
                &row.source,
                "account_id",
                format!(
                    "account {} has no role_name or role_arn, and the credentials are account {caller}'s",
                    row.account_id
                ),
                Some(format!(
                    "add a role_name (or role_arn) to assume in {}, or run with that account's credentials",
                    row.account_id
                )),
            ));
        }
    }
    if let Some(first) = flags.first() {
        return Err(CliError::Usage(format!(
            "--account {first} has no --role-name, and the credentials are account {caller}'s: give --role-name to assume a role in each account, or run with that account's credentials"
        )));
    }
    errors.dedup_by(|a, b| (&a.file, a.line) == (&b.file, b.line));
    match errors.is_empty() {
        true => Ok(()),
        false => Err(CliError::Inventory(InventoryErrors(errors))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoleSpec, Source};

    fn row(file: &str, line: u64, account: &str, role: bool) -> DesiredTable {
        DesiredTable {
            source: Source {
                file: file.into(),
                line,
            },
            account_id: account.into(),
            role: role.then(|| RoleSpec {
                role_arn: format!("arn:aws:iam::{account}:role/r"),
                external_id: None,
            }),
            region: "us-east-1".into(),
            ..DesiredTable::on_demand("orders")
        }
    }

    const CALLER: &str = "123456789012";

    /// Regression: a row of account 222222222222 with no role was run with the caller's
    /// credentials, and account 123456789012's `orders` was switched.
    #[test]
    fn a_row_without_a_role_in_another_account_is_an_input_error() {
        let mut rows = vec![
            row("inv.csv", 2, CALLER, false),
            row("inv.csv", 3, "222222222222", false),
            row("inv.csv", 4, "333333333333", true),
        ];
        let e = check_accounts(&mut rows, CALLER).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("inv.csv:3: field `account_id`: account 222222222222 has no role_name or role_arn, and the credentials are account 123456789012's"),
            "{text}"
        );
        assert!(
            !text.contains("inv.csv:2") && !text.contains("inv.csv:4"),
            "{text}"
        );
        assert_eq!(e.exit_code(), crate::exit_codes::INVALID_INPUT);
    }

    #[test]
    fn a_flag_account_without_a_role_name_names_the_flag() {
        let mut rows = vec![row(COMMAND_LINE, 0, "222222222222", false)];
        let text = check_accounts(&mut rows, CALLER).unwrap_err().to_string();
        assert!(
            text.starts_with("--account 222222222222 has no --role-name"),
            "{text}"
        );
        assert!(!text.contains("invalid inventory"), "{text}");
    }

    #[test]
    fn rows_without_an_account_get_the_callers() {
        let mut rows = vec![
            row(COMMAND_LINE, 0, "", false),
            row("inv.csv", 5, "", false),
        ];
        check_accounts(&mut rows, CALLER).unwrap();
        assert!(rows.iter().all(|r| r.account_id == CALLER));
    }
}
