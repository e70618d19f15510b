//! Human-readable rendering of a run's tables. By default [`grouped`]: the changes grouped by
//! what they do, every table that needs a look on its own line, the counts by account. With
//! `--all-tables` ([`write`]): an aligned table of every row (with the inventory line it came
//! from), then the steps for each table that changes (or would change). Both end with the
//! one-line summary.

pub mod grouped;
pub mod org;

use crate::model::{DesiredMode, Owner};
use crate::report::{Outcome, Summary, TableReport, TableStatus};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Each account's tables counted by status: `2 unchanged, 1 would_change`, by account id.
pub(crate) fn counts_by_account(
    tables: &[TableReport],
) -> std::collections::BTreeMap<&str, String> {
    let mut by: std::collections::BTreeMap<&str, std::collections::BTreeMap<&str, usize>> =
        Default::default();
    for t in tables {
        *by.entry(t.account_id.as_str())
            .or_default()
            .entry(status_word(t.status))
            .or_default() += 1;
    }
    by.into_iter()
        .map(|(account, counts)| {
            let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
            (account, counts.join(", "))
        })
        .collect()
}

pub(crate) fn status_word(s: TableStatus) -> &'static str {
    match s {
        TableStatus::Changed => "changed",
        TableStatus::Unchanged => "unchanged",
        TableStatus::WouldChange => "would_change",
        TableStatus::Failed => "failed",
        TableStatus::Skipped => "skipped",
        TableStatus::Interrupted => "interrupted",
    }
}

/// One side's thresholds: `r2-20@70%`; a scalable target without a policy `r2-20 no policy`;
/// a fixed capacity (no auto scaling: min = max, no policy) `r5 fixed`.
fn side(label: char, t: &crate::model::Thresholds) -> String {
    match (t.target > 0.0, t.min == t.max) {
        (true, _) => format!("{label}{}-{}@{}%", t.min, t.max, t.target),
        (false, true) => format!("{label}{} fixed", t.min),
        (false, false) => format!("{label}{}-{} no policy", t.min, t.max),
    }
}

/// Both sides: `r2-20@70% w1-10@60%`.
fn sides(a: &crate::model::AutoScaling) -> String {
    format!("{} {}", side('r', &a.read), side('w', &a.write))
}

/// The one-line rendering of what a row asks for (a rollback row: the state it goes back to),
/// after the mode the table had when it was read if that differs.
pub(crate) fn mode_column(t: &TableReport) -> String {
    let mut desired = match t.desired.mode {
        DesiredMode::OnDemand => "on_demand".to_string(),
        DesiredMode::Provisioned(a) => format!("provisioned {}", sides(&a)),
    };
    for (index, a) in &t.desired.index_overrides {
        desired.push_str(&format!(", index {index} {}", sides(a)));
    }
    if !t.desired.caps.is_unset() {
        desired.push_str(&format!(" caps: {}", t.desired.caps));
    }
    for (index, caps) in &t.desired.index_caps {
        desired.push_str(&format!(", index {index} caps: {caps}"));
    }
    if let Some(c) = t.desired.table_class {
        desired.push_str(&format!(", class {c}"));
    }
    match &t.before {
        Some(b) if b.billing_mode == t.desired.mode.billing_mode() => desired,
        Some(b) => format!("{} -> {desired}", b.billing_mode),
        None => format!("? -> {desired}"),
    }
}

fn detail_column(t: &TableReport) -> String {
    if let Some(e) = &t.error {
        return format!("{}: {}", e.code, e.message);
    }
    let n = t.actions.iter().filter(|a| a.action.is_mutating()).count();
    let changes = match n {
        0 => "-".into(),
        1 => "1 change".into(),
        n => format!("{n} changes"),
    };
    match owner_note(t) {
        Some(note) => format!("{changes} ({note})"),
        None => changes,
    }
}

/// What a table that changes (or would) must show of its owner: a stack or a named tag that
/// manages it (changed because of `--include-managed`), or why its owner is not known.
/// `None` for a table no one is known to manage.
pub(crate) fn owner_note(t: &TableReport) -> Option<String> {
    match t.before.as_ref()?.owner.as_ref()? {
        o @ (Owner::Stack(_) | Owner::Tag(_)) => Some(format!("managed by {o}: --include-managed")),
        Owner::Unknown(why) => Some(format!("owner not known: {why}")),
        Owner::None => None,
    }
}

fn outcome_mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Planned => "",
        Outcome::Started => " [started, outcome unknown]",
        Outcome::Succeeded => " [done]",
        Outcome::AlreadyAbsent => " [already absent]",
        Outcome::Failed => " [FAILED]",
        Outcome::NotAttempted => " [not attempted]",
    }
}

/// Why a switch to provisioned starts where it does: the recent peak / target, or `min`.
fn starting_capacity_note(t: &TableReport, a: &crate::report::ActionRecord) -> String {
    let switch = a.action.switches_to() == Some(crate::model::BillingMode::Provisioned)
        && !t.desired.restore;
    match (&t.before, switch) {
        (Some(b), true) if !b.recent_peaks.is_empty() => {
            " (starting capacity: the last 30 minutes' peak / target, within min and max)".into()
        }
        (Some(b), true) => match &b.recent_peaks_error {
            Some(e) => format!(" (starting at min: the recent consumption could not be read: {e})"),
            None => String::new(),
        },
        _ => String::new(),
    }
}

/// One table's row: borrowed where the report has the text.
fn row(t: &TableReport) -> [Cow<'_, str>; 7] {
    [
        Cow::Borrowed(status_word(t.status)),
        Cow::Borrowed(t.account_id.as_str()),
        Cow::Borrowed(t.region.as_str()),
        Cow::Borrowed(t.table.as_str()),
        // The inventory row the table came from (a pattern's, a `*` row's, ...).
        match t.source.line {
            0 => Cow::Borrowed("-"),
            n => Cow::Owned(n.to_string()),
        },
        Cow::Owned(mode_column(t)),
        Cow::Owned(detail_column(t)),
    ]
}

/// Renders the tables of a run, in inventory order.
pub fn render(command: &str, tables: &[TableReport]) -> String {
    in_memory(|out| write(out, command, tables))
}

/// What a writer of text writes, as a string.
pub(crate) fn in_memory(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("the rendering is UTF-8")
}

/// Writes the rendering of a run's tables to `out` as it goes: at 10,000 tables the text is
/// megabytes, and holding it whole would be a fleet run's largest allocation at its end.
pub fn write(
    out: &mut impl std::io::Write,
    command: &str,
    tables: &[TableReport],
) -> std::io::Result<()> {
    let header = [
        "STATUS", "ACCOUNT", "REGION", "TABLE", "LINE", "MODE", "DETAIL",
    ];
    // The rows are made twice (to size the columns, then to write them) rather than kept.
    let mut widths = header.map(str::len);
    for t in tables {
        for (w, c) in widths.iter_mut().zip(row(t).iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |out: &mut dyn std::io::Write, cells: &[&str]| -> std::io::Result<()> {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{:<w$}  ", c, w = widths[i]);
            }
        }
        writeln!(out, "{}", l.trim_end())
    };
    line(out, &header)?;
    for t in tables {
        let r = row(t);
        line(out, &r.each_ref().map(|c| c.as_ref()))?;
    }

    let mut changing = tables
        .iter()
        .filter(|t| t.actions.iter().any(|a| a.action.is_mutating()))
        .peekable();
    if changing.peek().is_some() {
        writeln!(out, "\nSteps:")?;
        for t in changing {
            writeln!(out, "  {} {} {}", t.account_id, t.region, t.table)?;
            for (k, a) in t.actions.iter().enumerate() {
                writeln!(
                    out,
                    "    {}. {}{}{}",
                    k + 1,
                    a.action.describe(),
                    starting_capacity_note(t, a),
                    outcome_mark(a.outcome)
                )?;
            }
        }
    }

    summary_line(out, command, tables)
}

/// The one-line summary: `Plan: 3 to change, 1 unchanged, ... (of 4 tables).`
pub(crate) fn summary_line(
    out: &mut impl std::io::Write,
    command: &str,
    tables: &[TableReport],
) -> std::io::Result<()> {
    let s = Summary::of(tables);
    let title = match command {
        "plan" => "Plan",
        "rollback" => "Rollback",
        _ => "Apply",
    };
    write!(out, "\n{title}: ")?;
    let mut parts = Vec::new();
    if command == "plan" {
        parts.push(format!("{} to change", s.would_change));
    } else {
        parts.push(format!("{} changed", s.changed));
        if s.would_change > 0 {
            parts.push(format!("{} not applied", s.would_change));
        }
    }
    parts.push(format!("{} unchanged", s.unchanged));
    parts.push(format!("{} failed", s.failed));
    parts.push(format!("{} skipped", s.skipped));
    if s.interrupted > 0 {
        parts.push(format!("{} interrupted", s.interrupted));
    }
    writeln!(
        out,
        "{} (of {}).",
        parts.join(", "),
        plural(s.total, "table")
    )
}

/// What `apply` is about to do, by account and operation, for the confirmation prompt.
pub fn change_summary(tables: &[TableReport]) -> String {
    use std::collections::BTreeMap;
    let mut by_account: BTreeMap<&str, (usize, BTreeMap<&str, usize>)> = BTreeMap::new();
    for t in tables {
        let writes: Vec<&str> = t
            .actions
            .iter()
            .filter(|a| a.action.is_mutating())
            .map(|a| a.action.operation())
            .collect();
        if writes.is_empty() || t.status != TableStatus::WouldChange {
            continue;
        }
        let entry = by_account.entry(t.account_id.as_str()).or_default();
        entry.0 += 1;
        for op in writes {
            *entry.1.entry(op).or_default() += 1;
        }
    }
    let total: usize = by_account.values().map(|(n, _)| n).sum();
    let mut out = format!(
        "{total} table{} to change in {} account{}:\n",
        if total == 1 { "" } else { "s" },
        by_account.len(),
        if by_account.len() == 1 { "" } else { "s" }
    );
    for (account, (n, ops)) in &by_account {
        let ops: Vec<String> = ops.iter().map(|(op, k)| format!("{op} {k}")).collect();
        let _ = writeln!(
            out,
            "  {account}: {n} table{}: {}",
            if *n == 1 { "" } else { "s" },
            ops.join(", ")
        );
    }
    out
}

/// A count and its noun, singular or plural: "1 table", "3 tables", "1 report".
pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use crate::planner::plan_table;
    use crate::report::{ActionRecord, ErrorReport};

    fn report(desired: DesiredTable, before: Option<ObservedTable>) -> TableReport {
        let plan = before
            .as_ref()
            .map(|b| plan_table(&desired, b))
            .unwrap_or_default();
        let status = if plan.changes_anything() {
            TableStatus::WouldChange
        } else {
            TableStatus::Unchanged
        };
        TableReport {
            actions: plan
                .actions
                .iter()
                .map(|a| ActionRecord::unsent(a, &desired.table, Outcome::Planned))
                .collect(),
            before,
            ..TableReport::unstarted(&desired, status)
        }
    }

    #[test]
    fn plan_rendering() {
        let desired = |table: &str, mode| DesiredTable {
            mode,
            ..DesiredTable::on_demand(table)
        };
        let observed = |mode, gsis: &[&str]| ObservedTable::active(mode, 0, gsis);
        let scaling = DesiredMode::Provisioned(AutoScaling {
            read: Thresholds {
                min: 5,
                max: 100,
                target: 70.0,
            },
            write: Thresholds {
                min: 2,
                max: 50,
                target: 60.0,
            },
        });
        let mut missing = report(desired("ghost", DesiredMode::OnDemand), None);
        missing.status = TableStatus::Failed;
        missing.error = Some(ErrorReport {
            code: "ResourceNotFoundException".into(),
            message: "table ghost does not exist".into(),
            retryable: false,
            detail: None,
        });
        let tables = vec![
            report(
                desired("orders", scaling),
                Some(observed(BillingMode::OnDemand, &["by-customer"])),
            ),
            report(
                desired("sessions", DesiredMode::OnDemand),
                Some(observed(BillingMode::OnDemand, &[])),
            ),
            missing,
        ];
        insta::assert_snapshot!(render("plan", &tables));
        // Regression: the confirmation preview of an apply showed every step "not attempted".
        let mut preview = tables.clone();
        for t in &mut preview {
            for a in &mut t.actions {
                a.outcome = Outcome::NotAttempted;
            }
            if t.status == TableStatus::WouldChange {
                t.status = TableStatus::Interrupted;
            }
            t.mark_not_applied();
        }
        assert_eq!(render("plan", &preview), render("plan", &tables));
        assert!(render("apply", &preview).contains("Apply: 0 changed, 1 not applied, 1 unchanged"));
        // Regression: a rollback's summary line was titled "Apply".
        assert!(render("rollback", &preview).contains("\nRollback: 0 changed, 1 not applied"));
        assert_eq!(
            change_summary(&tables),
            "1 table to change in 1 account:\n  111111111111: 1 table: PutScalingPolicy 4, RegisterScalableTarget 4, UpdateTable 1\n"
        );
    }

    /// The one-line rendering of every state the planner can observe, as a rollback row
    /// shows it (the state to go back to) and as inventory rows ask for it. Regressions:
    /// caps of "none" rendered as `max noner/nonew`; a scalable target without a policy as
    /// `r2-20@0%`.
    #[test]
    fn one_line_renderings_of_every_state() {
        use crate::model::{AutoScaling, Cap, OnDemandCaps, TableClass, Thresholds};
        let on_demand = ObservedTable::active(BillingMode::OnDemand, 0, &[]);
        let mut capped = on_demand.clone();
        capped.caps = OnDemandCaps {
            read: Some(Cap::Max(100)),
            write: Some(Cap::Unlimited),
        };
        let fixed = ObservedTable::active(BillingMode::Provisioned, 5, &[]);
        let mut full = fixed.clone();
        full.scale(None, 2, 20, 70.0, "p");
        let mut partial = fixed.clone();
        partial.scale(None, 2, 20, 70.0, "p");
        partial
            .scalable_targets
            .retain(|t| t.key.side == Side::Read);
        partial
            .scaling_policies
            .retain(|p| p.key.side == Side::Read);
        let mut no_policy = full.clone();
        no_policy
            .scaling_policies
            .retain(|p| p.key.side == Side::Read);
        let mut ia = full.clone();
        ia.table_class = Some(TableClass::StandardInfrequentAccess);
        let states = [
            ("on-demand", on_demand.clone()),
            ("on-demand, capped", capped.clone()),
            ("provisioned, no auto scaling", fixed.clone()),
            ("provisioned, full auto scaling", full.clone()),
            ("provisioned, read auto scaling only", partial),
            ("provisioned, a target without a policy", no_policy),
            ("provisioned, standard_ia", ia),
        ];
        let mut lines = Vec::new();
        for (what, state) in &states {
            // A rollback row from the other billing mode back to `state`.
            let now = match state.billing_mode {
                BillingMode::OnDemand => fixed.clone(),
                BillingMode::Provisioned => on_demand.clone(),
            };
            let d = DesiredTable {
                mode: DesiredMode::indicative(state),
                caps: match state.billing_mode {
                    BillingMode::OnDemand => state.caps,
                    BillingMode::Provisioned => OnDemandCaps::default(),
                },
                table_class: state.table_class,
                ..DesiredTable::on_demand("t")
            };
            let t = report(d, Some(now));
            lines.push(format!("rollback to {what}: {}", mode_column(&t)));
        }
        // Inventory rows: GSIs with their own settings, caps per GSI, both classes.
        let scaling = |min, max, target| Thresholds { min, max, target };
        let both = AutoScaling {
            read: scaling(2, 20, 70.0),
            write: scaling(1, 10, 60.0),
        };
        let mut gsi_own = DesiredTable {
            mode: DesiredMode::Provisioned(both),
            table_class: Some(TableClass::Standard),
            ..DesiredTable::on_demand("t")
        };
        gsi_own.index_overrides.insert(
            "by-date".into(),
            AutoScaling {
                read: scaling(1, 5, 50.0),
                write: scaling(1, 5, 50.0),
            },
        );
        let with_gsi = ObservedTable::active(BillingMode::OnDemand, 0, &["by-date"]);
        lines.push(format!(
            "row, GSI with its own: {}",
            mode_column(&report(gsi_own, Some(with_gsi.clone())))
        ));
        let mut capped_gsi = DesiredTable {
            caps: capped.caps,
            table_class: Some(TableClass::StandardInfrequentAccess),
            ..DesiredTable::on_demand("t")
        };
        capped_gsi.index_caps.insert(
            "by-date".into(),
            OnDemandCaps {
                read: None,
                write: Some(Cap::Max(50)),
            },
        );
        lines.push(format!(
            "row, on-demand capped, GSI capped: {}",
            mode_column(&report(capped_gsi, Some(with_gsi)))
        ));
        let text = lines.join("\n");
        assert!(!text.contains("none") && !text.contains("@0%"), "{text}");
        insta::assert_snapshot!("one_line_renderings", text);
    }

    /// Regression: "(of 1 tables)".
    #[test]
    fn counts_are_singular_or_plural() {
        let one = report(DesiredTable::on_demand("t"), None);
        let mut out = Vec::new();
        summary_line(&mut out, "plan", std::slice::from_ref(&one)).unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("(of 1 table).\n"));
        assert_eq!(plural(2, "report"), "2 reports");
    }
}
