//! What `advise` writes besides its JSON report: the advice inventory ([`inventory_items`],
//! CSV or TOML through `export`), which `plan` and `apply` take as it is, and the summary on
//! stdout ([`summary`]).
//!
//! In the inventory, a table with a recommended change is written with the recommended
//! settings; every other table is written as it is now (as `export` writes it), so `plan` on
//! the file shows exactly the recommended changes. Each table's rows follow a comment with its
//! monthly cost now and recommended, the saving, the confidence and the reason.

use super::report::{AdviceReport, AdviceStatus, TableAdvice};
use crate::cost::recommend::{Advice, Capacity, Settings};
use crate::export::{export_table, ExportRow, Exported};
use crate::model::*;
use std::fmt::Write;

/// The inventory rows (and comments) of every table, in report order.
pub fn inventory_items(report: &AdviceReport, max_units: i64) -> Vec<Exported> {
    let currency = &report.settings.currency;
    let mut items = Vec::new();
    for t in &report.tables {
        items.push(Exported::Note(comment(t, currency)));
        let role = t.role_arn.clone().map(|role_arn| RoleSpec {
            role_arn,
            external_id: t.external_id.clone(),
        });
        match (&t.state, &t.advice) {
            (Some(_), Some(a)) if t.status == AdviceStatus::Recommended => {
                items.extend(recommended_rows(t, role.as_ref(), &a.recommended));
            }
            (Some(state), _) => items.extend(export_table(
                &t.account_id,
                &t.region,
                &t.table,
                role.as_ref(),
                state,
                max_units,
            )),
            (None, _) => {}
        }
    }
    items
}

fn comment(t: &TableAdvice, currency: &str) -> String {
    let place = format!("{} {} {}", t.account_id, t.region, t.table);
    let text = match (&t.advice, &t.error) {
        (Some(a), _) => format!(
            "{place}: {} now {:.2} {currency}/month ({}), recommended {:.2}, saving {:.2}; confidence {}; {}",
            status_word(t.status),
            a.monthly_now,
            if a.options.first().is_some_and(|o| o.measured) { "as billed" } else { "simulated" },
            a.monthly_recommended,
            a.monthly_saving,
            serde_json::to_value(a.confidence)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            why(a, currency)
        ),
        (None, Some(e)) => format!("{place}: not advised: {}: {}", e.code, e.message),
        (None, None) => format!("{place}: {}: {}", status_word(t.status), t.reason),
    };
    match t.owner_note() {
        Some(note) => format!("{text}; {note}"),
        None => text,
    }
}

/// The reason for the advice, with what a reader must also know: throttling seen (when the
/// reason does not say it already) and a reserved capacity discount given up.
pub fn why(a: &Advice, currency: &str) -> String {
    let mut w = a.reason.clone();
    if !w.contains("throttled") {
        for d in a.throttled_dimensions() {
            let _ = write!(w, "; throttled, {d}");
        }
    }
    if a.reserved_discount_given_up > 0.0 {
        let _ = write!(
            w,
            "; gives up {:.2} {currency}/month of reserved capacity discount",
            a.reserved_discount_given_up
        );
    }
    w
}

pub fn status_word(s: AdviceStatus) -> &'static str {
    match s {
        AdviceStatus::Recommended => "recommended",
        AdviceStatus::Unchanged => "unchanged",
        AdviceStatus::InsufficientData => "insufficient_data",
        AdviceStatus::Managed => "managed",
        AdviceStatus::Skipped => "skipped",
        AdviceStatus::Failed => "failed",
    }
}

/// The recommended settings as inventory rows: the table's, and an index row for each GSI
/// whose settings are not the table's.
fn recommended_rows(t: &TableAdvice, role: Option<&RoleSpec>, s: &Settings) -> Vec<Exported> {
    let row = |index: Option<String>, mode: DesiredMode, caps: OnDemandCaps| {
        let table_row = index.is_none();
        Exported::Row(Box::new(ExportRow {
            account_id: t.account_id.clone(),
            role_arn: role.filter(|_| table_row).map(|r| r.role_arn.clone()),
            external_id: role
                .filter(|_| table_row)
                .and_then(|r| r.external_id.clone()),
            region: t.region.clone(),
            table: t.table.clone(),
            indexes: table_row.then_some(IndexScope::All),
            index,
            mode,
            caps,
            table_class: table_row.then_some(s.table_class),
        }))
    };
    match s.mode {
        BillingMode::OnDemand => {
            let mut rows = vec![row(None, DesiredMode::OnDemand, s.caps)];
            for (index, caps) in &s.index_caps {
                // A GSI without caps of its own takes the table's (`indexes = all`).
                if *caps != s.caps && !caps.is_unset() {
                    rows.push(row(Some(index.clone()), DesiredMode::OnDemand, *caps));
                }
            }
            rows
        }
        BillingMode::Provisioned => {
            let scaling = |index: Option<&str>| -> Option<AutoScaling> {
                let side = |side: Side| {
                    s.capacity.iter().find_map(|c| match c.capacity {
                        Capacity::AutoScaled(t)
                            if c.key.index.as_deref() == index && c.key.side == side =>
                        {
                            Some(t)
                        }
                        _ => None,
                    })
                };
                Some(AutoScaling {
                    read: side(Side::Read)?,
                    write: side(Side::Write)?,
                })
            };
            let Some(table) = scaling(None) else {
                return vec![Exported::Note(format!(
                    "{} {} {}: the recommendation has no auto scaling for the table",
                    t.account_id, t.region, t.table
                ))];
            };
            let mut rows = vec![row(
                None,
                DesiredMode::Provisioned(table),
                OnDemandCaps::default(),
            )];
            let mut gsis: Vec<&str> = s
                .capacity
                .iter()
                .filter_map(|c| c.key.index.as_deref())
                .collect();
            gsis.dedup();
            for g in gsis {
                if let Some(own) = scaling(Some(g)).filter(|own| *own != table) {
                    rows.push(row(
                        Some(g.to_string()),
                        DesiredMode::Provisioned(own),
                        OnDemandCaps::default(),
                    ));
                }
            }
            rows
        }
    }
}

/// Accounts listed in the summary's savings by account: those that save most.
const ACCOUNTS_SHOWN: usize = 20;

/// The summary printed on stdout: totals, savings by account, the tables that save most.
pub fn summary(report: &AdviceReport, top: usize) -> String {
    let s = &report.summary;
    let cur = &report.settings.currency;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Advice for {} in {} ({} days of {}-second data; prices: {}, {}).",
        crate::render::plural(s.tables, "table"),
        crate::render::plural(report.accounts.len(), "account"),
        report.settings.days,
        report.settings.period,
        report.settings.currency,
        report.settings.prices_date
    );
    let pct = s.saving_percent();
    let _ = writeln!(
        out,
        "Monthly cost now {:.2} {cur}, recommended {:.2} {cur}: saving {:.2} {cur} ({pct:.1} %).",
        s.monthly_now, s.monthly_recommended, s.monthly_saving
    );
    let _ = writeln!(
        out,
        "{} to change, {} unchanged, {} with too little data, {} skipped, {} failed.",
        s.recommended, s.unchanged, s.insufficient_data, s.skipped, s.failed
    );
    let _ = writeln!(out, "Prices: {}.", report.settings.commitments);
    if s.throttled > 0 {
        let _ = writeln!(
            out,
            "{} throttled in the window: their demand counts the throttled requests, and their bounds are not lowered.",
            crate::render::plural(s.throttled, "table")
        );
    }
    if s.reserved_discount_given_up > 0.0 {
        let _ = writeln!(
            out,
            "The recommendations give up {:.2} {cur} a month of reserved capacity discount (counted in the saving).",
            s.reserved_discount_given_up
        );
    }
    if s.managed > 0 {
        let _ = writeln!(
            out,
            "{} managed by a CloudFormation stack or a --managed-tag: their changes (saving {:.2} {cur} a month) are not in the inventory, as the owner's next update would revert them; make them there, or pass --include-managed.",
            crate::render::plural(s.managed, "table"),
            s.monthly_saving_managed
        );
    }
    if s.owner_unknown > 0 {
        let _ = writeln!(
            out,
            "{} to change could not have their tags read (see each table's reason): they were not checked for a stack or a --managed-tag; grant dynamodb:ListTagsOfResource.",
            crate::render::plural(s.owner_unknown, "table"),
        );
    }
    let _ = writeln!(out, "\nSavings by account ({cur} a month):");
    let named = report.accounts.iter().any(|a| a.name.is_some());
    let _ = writeln!(
        out,
        "  {:<14} {:>12} {:>12} {:>12} {:>8}{}",
        "ACCOUNT",
        "NOW",
        "RECOMMENDED",
        "SAVING",
        "CHANGES",
        if named { "  NAME" } else { "" }
    );
    // The accounts that save most: an organisation's hundreds are in the report and the page.
    let mut accounts: Vec<&super::report::AccountTotals> = report.accounts.iter().collect();
    accounts.sort_by(|a, b| b.monthly_saving.total_cmp(&a.monthly_saving));
    for a in accounts.iter().take(ACCOUNTS_SHOWN) {
        let _ = writeln!(
            out,
            "  {:<14} {:>12.2} {:>12.2} {:>12.2} {:>8}{}",
            a.account_id,
            a.monthly_now,
            a.monthly_recommended,
            a.monthly_saving,
            a.recommended,
            a.name
                .as_deref()
                .map_or(String::new(), |n| format!("  {n}"))
        );
    }
    if accounts.len() > ACCOUNTS_SHOWN {
        let rest = &accounts[ACCOUNTS_SHOWN..];
        let _ = writeln!(
            out,
            "  {} not listed, saving {:.2} {cur} a month (every account is in the report and on the page)",
            crate::render::plural(rest.len(), "account"),
            rest.iter().map(|a| a.monthly_saving).sum::<f64>()
        );
    }
    if let Some(o) = &report.organization {
        let _ = writeln!(out, "{}", o.line());
        for a in o
            .accounts
            .iter()
            .filter(|a| a.status != crate::report::AccountStatus::WorkedOn)
        {
            let _ = writeln!(
                out,
                "  {} {} ({}): {}",
                a.account_id,
                a.name,
                a.ou_path,
                a.reason.as_deref().unwrap_or_default()
            );
        }
    }
    let mut best: Vec<&TableAdvice> = report
        .tables
        .iter()
        .filter(|t| t.status == AdviceStatus::Recommended)
        .collect();
    best.sort_by(|a, b| {
        let saving = |t: &TableAdvice| t.advice.as_ref().map_or(0.0, |a| a.monthly_saving);
        saving(b).total_cmp(&saving(a))
    });
    if !best.is_empty() {
        let _ = writeln!(out, "\nTop tables by saving:");
        for t in best.iter().take(top) {
            let Some(a) = &t.advice else { continue };
            let _ = writeln!(
                out,
                "  {:>10.2} {cur}/month  {} {} {}: {}",
                a.monthly_saving, t.account_id, t.region, t.table, a.reason
            );
        }
    }
    let cw = &report.cloudwatch;
    let _ = writeln!(
        out,
        "\nCloudWatch: {} GetMetricData calls, {} metrics requested (billed per 1,000), {} datapoints.",
        cw.calls, cw.metrics_requested, cw.datapoints
    );
    out
}
