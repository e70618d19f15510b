//! The organisation's accounts after a run's tables ([`write`]): how many were found, worked
//! on, skipped and failed, and each account by name and OU path with its tables' counts, or
//! why it was not worked on.

use crate::report::{AccountStatus, OrgReport, TableReport};

/// Writes the organisation's section.
pub fn write(
    out: &mut impl std::io::Write,
    org: &OrgReport,
    tables: &[TableReport],
) -> std::io::Result<()> {
    let counts = super::counts_by_account(tables);
    writeln!(out, "\nOrganisation: {}", org.line())?;
    for a in &org.accounts {
        let what = match (a.status, counts.get(a.account_id.as_str())) {
            (AccountStatus::WorkedOn, Some(c)) => c.clone(),
            (AccountStatus::WorkedOn, None) => "no table".to_string(),
            (AccountStatus::Skipped, _) => {
                format!("skipped: {}", a.reason.as_deref().unwrap_or_default())
            }
            (AccountStatus::Failed, _) => {
                format!("failed: {}", a.reason.as_deref().unwrap_or_default())
            }
        };
        writeln!(out, "  {} {} ({}): {what}", a.account_id, a.name, a.ou_path)?;
        for r in &a.skipped_regions {
            writeln!(out, "    region {} skipped: {}", r.region, r.note)?;
        }
    }
    Ok(())
}
