//! The organisation's accounts after a run's tables ([`write`]): how many were found, worked
//! on, skipped and failed, and each account by name and OU path with its tables' counts, or
//! why it was not worked on.

use super::status_word;
use crate::report::{AccountStatus, OrgReport, TableReport};
use std::collections::BTreeMap;

/// Writes the organisation's section.
pub fn write(
    out: &mut impl std::io::Write,
    org: &OrgReport,
    tables: &[TableReport],
) -> std::io::Result<()> {
    let mut counts: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for t in tables {
        *counts
            .entry(t.account_id.as_str())
            .or_default()
            .entry(status_word(t.status))
            .or_default() += 1;
    }
    writeln!(out, "\nOrganisation: {}", org.line())?;
    for a in &org.accounts {
        let what = match (a.status, counts.get(a.account_id.as_str())) {
            (AccountStatus::WorkedOn, Some(c)) => c
                .iter()
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
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
