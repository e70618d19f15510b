//! The rendering that reads at 10,000 tables ([`write`]): tables grouped by what changes
//! (their billing mode, before and after, and the writes they need: not their thresholds,
//! which a rollback takes from each table's own record), each group a line with a few
//! example names;
//! then every table that failed, was skipped or interrupted on its own line with its reason;
//! then the counts by account and the summary. The report keeps everything, and
//! `--all-tables` prints every table and every step ([`super::write`]).

use super::{plural, status_word, summary_line};
use crate::report::{Outcome, TableReport, TableStatus};
use std::collections::BTreeMap;

/// Example names shown per group.
const EXAMPLES: usize = 3;

/// The writes a table's plan makes, in order, counted: `UpdateTable, 2 RegisterScalableTarget`.
fn writes(t: &TableReport) -> String {
    let mut ops: Vec<(&str, usize)> = Vec::new();
    for a in t.actions.iter().filter(|a| a.action.is_mutating()) {
        let op = a.action.operation();
        match ops.iter_mut().find(|(o, _)| *o == op) {
            Some((_, n)) => *n += 1,
            None => ops.push((op, 1)),
        }
    }
    let ops: Vec<String> = ops
        .into_iter()
        .map(|(op, n)| {
            if n == 1 {
                op.to_string()
            } else {
                format!("{n} {op}")
            }
        })
        .collect();
    ops.join(", ")
}

/// The billing mode a table goes to, after the one it has if that differs:
/// `on_demand -> provisioned`, `provisioned`.
fn transition(t: &TableReport) -> String {
    let to = t.desired.mode.billing_mode();
    match &t.before {
        Some(b) if b.billing_mode != to => format!("{} -> {to}", b.billing_mode),
        _ => to.to_string(),
    }
}

/// Whether a table is one a person must look at: it did not end as planned.
fn needs_a_look(t: &TableReport) -> bool {
    matches!(
        t.status,
        TableStatus::Failed | TableStatus::Skipped | TableStatus::Interrupted
    )
}

/// The grouped rendering, as text (for the confirmation prompt).
pub fn render(command: &str, tables: &[TableReport]) -> String {
    super::in_memory(|out| write(out, command, tables))
}

/// Writes the grouped rendering of a run's tables (`command`: `plan`, `apply`, `rollback`).
pub fn write(
    out: &mut impl std::io::Write,
    command: &str,
    tables: &[TableReport],
) -> std::io::Result<()> {
    write_groups(out, tables)?;
    write_owners(out, tables)?;
    write_exceptions(out, tables)?;
    write_accounts(out, tables)?;
    summary_line(out, command, tables)
}

/// The tables that change (or would, or did), by status, mode and writes.
fn write_groups(out: &mut impl std::io::Write, tables: &[TableReport]) -> std::io::Result<()> {
    let mut groups: BTreeMap<(&str, String, String), Vec<&TableReport>> = BTreeMap::new();
    for t in tables.iter().filter(|t| !needs_a_look(t)) {
        let w = writes(t);
        if w.is_empty() {
            continue;
        }
        groups
            .entry((status_word(t.status), transition(t), w))
            .or_default()
            .push(t);
    }
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "Changes, grouped by what they do:")?;
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    for ((status, mode, writes), members) in groups {
        writeln!(
            out,
            "  {} {status}: {mode}: {writes}",
            plural(members.len(), "table")
        )?;
        let names: Vec<String> = members
            .iter()
            .take(EXAMPLES)
            .map(|t| format!("{} {} {}", t.account_id, t.region, t.table))
            .collect();
        let more = members.len().saturating_sub(EXAMPLES);
        let more = match more {
            0 => String::new(),
            n => format!(", and {n} more (see the report)"),
        };
        writeln!(out, "    e.g. {}{more}", names.join(", "))?;
    }
    Ok(())
}

/// Of the tables that change, those a stack or a named tag manages (`--include-managed`) and
/// those whose owner could not be read: how many, a few names, and the first one's reason.
fn write_owners(out: &mut impl std::io::Write, tables: &[TableReport]) -> std::io::Result<()> {
    let mut kinds: BTreeMap<bool, Vec<(&TableReport, String)>> = BTreeMap::new();
    for t in tables
        .iter()
        .filter(|t| !needs_a_look(t) && !writes(t).is_empty())
    {
        if let Some(note) = super::owner_note(t) {
            let managed = t.before.as_ref().and_then(|b| b.owner.as_ref());
            let managed = managed.is_some_and(crate::model::Owner::is_managed);
            kinds.entry(managed).or_default().push((t, note));
        }
    }
    for (managed, members) in kinds.iter().rev() {
        let what = if *managed {
            "managed by a stack or a --managed-tag, changed all the same (--include-managed)"
        } else {
            "whose owner could not be read (not checked for a stack or a --managed-tag)"
        };
        writeln!(out, "  of which {} {what}", plural(members.len(), "table"))?;
        let names: Vec<String> = members
            .iter()
            .take(EXAMPLES)
            .map(|(t, _)| format!("{} {} {}", t.account_id, t.region, t.table))
            .collect();
        writeln!(out, "    e.g. {}; {}", names.join(", "), members[0].1)?;
    }
    Ok(())
}

/// Every table that failed, was skipped or was interrupted, with its reason.
fn write_exceptions(out: &mut impl std::io::Write, tables: &[TableReport]) -> std::io::Result<()> {
    let mut first = true;
    for t in tables.iter().filter(|t| needs_a_look(t)) {
        if std::mem::take(&mut first) {
            writeln!(out, "\nFailed, skipped or interrupted:")?;
        }
        let why = match (&t.error, t.skip_reason) {
            (Some(e), _) => format!("{}: {}", e.code, e.message),
            (None, Some(r)) => serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            (None, None) => {
                let done = t.actions.iter().any(|a| {
                    a.action.is_mutating()
                        && matches!(a.outcome, Outcome::Succeeded | Outcome::Started)
                });
                match (done, t.before.is_some()) {
                    (true, _) => "stopped half done: some of its changes were made".into(),
                    (false, true) => "stopped before its first change".into(),
                    (false, false) => "stopped before it was read".into(),
                }
            }
        };
        writeln!(
            out,
            "  {:<11}  {} {} {}  {why}",
            status_word(t.status),
            t.account_id,
            t.region,
            t.table
        )?;
    }
    Ok(())
}

/// The counts of each account, by status.
fn write_accounts(out: &mut impl std::io::Write, tables: &[TableReport]) -> std::io::Result<()> {
    let by_account = super::counts_by_account(tables);
    if by_account.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nBy account:")?;
    // An organisation's hundreds of accounts: those with a table to look at, then a count.
    let many = by_account.len() > ACCOUNTS_LISTED;
    let needs_look = |counts: &str| {
        ["failed", "skipped", "interrupted"]
            .iter()
            .any(|w| counts.contains(w))
    };
    let mut quiet = 0;
    for (account, counts) in by_account {
        if many && !needs_look(&counts) {
            quiet += 1;
            continue;
        }
        writeln!(out, "  {account}: {counts}")?;
    }
    if quiet > 0 {
        writeln!(
            out,
            "  {} with no table failed, skipped or interrupted (each account's counts are in the report)",
            super::plural(quiet, "more account")
        )?;
    }
    Ok(())
}

/// Up to this many accounts, each has its line; beyond, only those with a table to look at.
const ACCOUNTS_LISTED: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        AutoScaling, BillingMode, DesiredMode, DesiredTable, ObservedTable, Thresholds,
    };
    use crate::planner::plan_table;
    use crate::report::ActionRecord;

    /// A table planned from on-demand to provisioned at `min`..`max`.
    fn to_provisioned(name: &str, min: i64, max: i64) -> TableReport {
        let t = Thresholds {
            min,
            max,
            target: 70.0,
        };
        let d = DesiredTable {
            mode: DesiredMode::Provisioned(AutoScaling { read: t, write: t }),
            ..DesiredTable::on_demand(name)
        };
        let before = ObservedTable::active(BillingMode::OnDemand, 0, &[]);
        let plan = plan_table(&d, &before);
        TableReport {
            actions: plan
                .actions
                .iter()
                .map(|a| ActionRecord::unsent(a, name, Outcome::Planned))
                .collect(),
            before: Some(before),
            ..TableReport::unstarted(&d, TableStatus::WouldChange)
        }
    }

    /// Regression (review): groups were keyed by each table's thresholds, so a rollback,
    /// whose thresholds come from each table's own record, printed a group per table.
    #[test]
    fn tables_with_their_own_thresholds_share_a_group() {
        let tables: Vec<TableReport> = (0..50)
            .map(|n| to_provisioned(&format!("t{n:03}"), n + 1, 100 + n))
            .collect();
        let text = render("plan", &tables);
        assert_eq!(text.matches(" tables would_change: ").count(), 1, "{text}");
        assert!(
            text.contains("50 tables would_change: on_demand -> provisioned: UpdateTable"),
            "{text}"
        );
        assert!(text.contains("and 47 more (see the report)"), "{text}");
    }

    #[test]
    fn an_organisations_accounts_are_counted_and_only_those_to_look_at_listed() {
        let mut tables: Vec<TableReport> = (0..30)
            .map(|n| TableReport {
                account_id: format!("{:012}", 100 + n),
                ..to_provisioned(&format!("t{n:03}"), 1, 100)
            })
            .collect();
        tables[7].status = TableStatus::Failed;
        let text = render("plan", &tables);
        let by_account = text.split("By account:").nth(1).unwrap();
        assert!(by_account.contains("  000000000107: 1 failed"), "{text}");
        assert!(!by_account.contains("000000000108"), "{text}");
        assert!(
            by_account.contains("29 more accounts with no table failed, skipped or interrupted"),
            "{text}"
        );
        // A few accounts: each has its line.
        let text = render("plan", &tables[..5]);
        assert_eq!(
            text.split("By account:")
                .nth(1)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("  0"))
                .count(),
            5
        );
    }
}
