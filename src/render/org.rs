//! The organisation's accounts after a run's tables ([`write`]): how many were found, worked
//! on, skipped and failed; then only the accounts that need a reader's eye (skipped, failed,
//! or worked on with a part that failed), by name and OU path with why, and the regions
//! passed over, each once with how many accounts. At thousands of accounts the worked-on
//! ones are not listed: the report has every account.

use crate::report::{AccountReport, AccountStatus, OrgReport};
use std::collections::BTreeMap;

/// Writes the organisation's section.
pub fn write(out: &mut impl std::io::Write, org: &OrgReport) -> std::io::Result<()> {
    writeln!(out, "\nOrganisation: {}", org.line())?;
    for a in &org.accounts {
        let why = a.reason.as_deref().unwrap_or_default();
        let what = match a.status {
            AccountStatus::WorkedOn if a.reason.is_none() => continue,
            AccountStatus::WorkedOn => format!("worked on, but: {why}"),
            AccountStatus::Skipped => format!("skipped: {why}"),
            AccountStatus::Failed => format!("failed: {why}"),
        };
        let management = if a.management {
            ", management account"
        } else {
            ""
        };
        writeln!(
            out,
            "  {} {} ({}{management}): {what}",
            a.account_id, a.name, a.ou_path
        )?;
    }
    for ((region, note), accounts) in skipped_regions(&org.accounts) {
        let which = match accounts.as_slice() {
            [one] => format!("in {one}"),
            many => format!("in {} accounts", many.len()),
        };
        writeln!(out, "  region {region} skipped {which}: {note}")?;
    }
    Ok(())
}

/// Each (region, note) of the accounts' skipped regions, with the accounts it was noted in.
fn skipped_regions(accounts: &[AccountReport]) -> BTreeMap<(&str, &str), Vec<&str>> {
    let mut by_note: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for a in accounts {
        for r in &a.skipped_regions {
            let name = if a.name.is_empty() {
                &a.account_id
            } else {
                &a.name
            };
            by_note
                .entry((r.region.as_str(), r.note.as_str()))
                .or_default()
                .push(name);
        }
    }
    by_note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RegionNote;

    fn account(id: &str, status: AccountStatus, reason: Option<&str>) -> AccountReport {
        AccountReport {
            account_id: id.into(),
            name: format!("n{id}"),
            ou_path: "Root/x".into(),
            state: "ACTIVE".into(),
            status,
            reason: reason.map(str::to_string),
            management: false,
            regions: Vec::new(),
            skipped_regions: vec![RegionNote {
                region: "ap-east-1".into(),
                note: "not enabled in this account (DescribeRegions)".into(),
            }],
        }
    }

    /// Regression: one line per account on every plan (2,000 lines at 2,000 accounts). The
    /// accounts worked on are counted, not listed; a region skipped in many is one line.
    #[test]
    fn only_accounts_that_need_a_look_are_listed() {
        let mut accounts: Vec<AccountReport> = (0..2000)
            .map(|i| {
                account(
                    &format!("{:012}", 100_000_000_000u64 + i),
                    AccountStatus::WorkedOn,
                    None,
                )
            })
            .collect();
        accounts.push(account(
            "900000000000",
            AccountStatus::Failed,
            Some("AssumeRoleFailed: no"),
        ));
        let mut m = account(
            "900000000001",
            AccountStatus::Skipped,
            Some("excluded (--exclude-account)"),
        );
        m.management = true;
        accounts.push(m);
        let mut out = Vec::new();
        write(&mut out, &OrgReport::of(accounts)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\nOrganisation: 2002 accounts found: 2000 worked on, 1 skipped, 1 failed\n\
             \x20 900000000000 n900000000000 (Root/x): failed: AssumeRoleFailed: no\n\
             \x20 900000000001 n900000000001 (Root/x, management account): skipped: excluded (--exclude-account)\n\
             \x20 region ap-east-1 skipped in 2002 accounts: not enabled in this account (DescribeRegions)\n"
        );
    }
}
