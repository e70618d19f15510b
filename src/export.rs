//! `ddb-fleet export`: tables' current state written as an inventory that `plan` reports as
//! unchanged ([`export_table`], [`to_csv`], [`to_toml`]): an audit snapshot, and the starting
//! point of a migration.
//!
//! What an inventory cannot say is not guessed: a provisioned table without complete auto
//! scaling (a target and one target-tracking policy for reads and for writes) is written as a
//! comment saying why, so that `plan` on the export still changes nothing.

use crate::inventory::TARGET_RANGE;
use crate::model::*;

/// One inventory row of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub account_id: String,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub region: String,
    pub table: String,
    /// Set for a GSI's own thresholds (an `index` row).
    pub index: Option<String>,
    pub mode: DesiredMode,
    pub indexes: Option<IndexScope>,
    /// Maximum on-demand throughput (on-demand tables and their index rows).
    pub caps: OnDemandCaps,
    /// The table class (table rows).
    pub table_class: Option<TableClass>,
}

/// What an export says about one table.
#[derive(Debug, Clone, PartialEq)]
pub enum Exported {
    Row(Box<ExportRow>),
    /// Written as a comment: the table is not in the export, and why.
    Note(String),
}

/// Thresholds of one key pair (read, write) if both sides have a target and exactly one
/// target-tracking policy on the predefined metric, within what an inventory accepts.
fn scaling_of(o: &ObservedTable, index: Option<&str>, max_units: i64) -> Option<AutoScaling> {
    let side = |side: Side| -> Option<Thresholds> {
        let key = ScalingKey {
            index: index.map(str::to_string),
            side,
        };
        let t = o.target(&key)?;
        let mut policies = o
            .scaling_policies
            .iter()
            .filter(|p| p.is_managed_kind(&key));
        let p = policies.next()?;
        if policies.next().is_some() {
            return None;
        }
        let target = p.target_value?;
        let (lo, hi) = TARGET_RANGE;
        let ok = (lo..=hi).contains(&target) && t.min >= 1 && t.max <= max_units && t.min <= t.max;
        ok.then_some(Thresholds {
            min: t.min,
            max: t.max,
            target,
        })
    };
    Some(AutoScaling {
        read: side(Side::Read)?,
        write: side(Side::Write)?,
    })
}

fn has_any_scaling(o: &ObservedTable, index: Option<&str>) -> bool {
    let mine = |k: &ScalingKey| k.index.as_deref() == index;
    o.scalable_targets.iter().any(|t| mine(&t.key))
        || o.scaling_policies.iter().any(|p| mine(&p.key))
}

/// The rows (or the note) that describe `o` exactly: mode, auto scaling, maximum on-demand
/// throughput and table class.
pub fn export_table(
    account_id: &str,
    region: &str,
    table: &str,
    role: Option<&RoleSpec>,
    o: &ObservedTable,
    max_units: i64,
) -> Vec<Exported> {
    let row = |index: Option<String>, mode: DesiredMode, indexes: Option<IndexScope>| {
        // An index row takes its role and class from its table's row.
        let (role, table_class) = match index {
            None => (role, o.table_class),
            Some(_) => (None, None),
        };
        Exported::Row(Box::new(ExportRow {
            account_id: account_id.into(),
            role_arn: role.map(|r| r.role_arn.clone()),
            external_id: role.and_then(|r| r.external_id.clone()),
            region: region.into(),
            table: table.into(),
            index,
            mode,
            indexes,
            caps: OnDemandCaps::default(),
            table_class,
        }))
    };
    let where_ = format!("{account_id} {region} {table}");
    match o.billing_mode {
        BillingMode::OnDemand => export_on_demand(o, &where_, row),
        BillingMode::Provisioned => export_provisioned(o, &where_, max_units, row),
    }
}

/// An on-demand table: its row with its caps, and an index row for each GSI whose caps are
/// not the table's (or every GSI, when the GSIs are not managed with the table).
fn export_on_demand(
    o: &ObservedTable,
    where_: &str,
    row: impl Fn(Option<String>, DesiredMode, Option<IndexScope>) -> Exported,
) -> Vec<Exported> {
    let with_caps = |item: Exported, caps: OnDemandCaps| match item {
        Exported::Row(r) => Exported::Row(Box::new(ExportRow { caps, ..*r })),
        note => note,
    };
    let mut out = Vec::new();
    if has_any_scaling(o, None) {
        out.push(Exported::Note(format!("{where_}: on-demand, but auto scaling is still registered on the table: plan will remove it")));
    }
    // Leftover GSI auto scaling is left as it is (`indexes = none`), as plan would.
    let gsi_leftovers = o.indexes.iter().any(|i| has_any_scaling(o, Some(&i.name)));
    let scope = if gsi_leftovers && !has_any_scaling(o, None) {
        IndexScope::None
    } else {
        IndexScope::All
    };
    out.push(with_caps(
        row(None, DesiredMode::OnDemand, Some(scope)),
        o.caps,
    ));
    for i in &o.indexes {
        if scope == IndexScope::None || i.caps != o.caps {
            out.push(with_caps(
                row(Some(i.name.clone()), DesiredMode::OnDemand, None),
                i.caps,
            ));
        }
    }
    out
}

/// A provisioned table with complete auto scaling: its row, and index rows for GSIs whose
/// auto scaling is not the table's. Without complete auto scaling: a note.
fn export_provisioned(
    o: &ObservedTable,
    where_: &str,
    max_units: i64,
    row: impl Fn(Option<String>, DesiredMode, Option<IndexScope>) -> Exported,
) -> Vec<Exported> {
    let Some(table_scaling) = scaling_of(o, None, max_units) else {
        return vec![Exported::Note(format!(
            "not exported: {where_} is provisioned ({} RCU / {} WCU) without complete auto scaling (a target and one target-tracking policy for reads and for writes, target 20-90%); ddb-fleet manages provisioned tables with auto scaling",
            o.read_capacity, o.write_capacity
        ))];
    };
    let gsis: Vec<(&str, Option<AutoScaling>)> = o
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), scaling_of(o, Some(&i.name), max_units)))
        .collect();
    if gsis.iter().all(|(_, s)| *s == Some(table_scaling)) {
        return vec![row(
            None,
            DesiredMode::Provisioned(table_scaling),
            Some(IndexScope::All),
        )];
    }
    let mut out = vec![row(
        None,
        DesiredMode::Provisioned(table_scaling),
        Some(IndexScope::None),
    )];
    for (name, s) in gsis {
        if let Some(s) = s {
            out.push(row(
                Some(name.to_string()),
                DesiredMode::Provisioned(s),
                None,
            ));
        }
    }
    out
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn mode_word(m: &DesiredMode) -> &'static str {
    match m {
        DesiredMode::OnDemand => "on_demand",
        DesiredMode::Provisioned(_) => "provisioned",
    }
}

fn scope_word(s: IndexScope) -> &'static str {
    match s {
        IndexScope::All => "all",
        IndexScope::None => "none",
    }
}

const COLUMNS: [&str; 17] = [
    "account_id",
    "role_arn",
    "external_id",
    "region",
    "table",
    "index",
    "mode",
    "min_read",
    "max_read",
    "target_read",
    "min_write",
    "max_write",
    "target_write",
    "indexes",
    "max_read_request_units",
    "max_write_request_units",
    "table_class",
];

/// The export as CSV: a header comment, the notes as comments, then one row per table or index.
pub fn to_csv(header: &str, items: &[Exported]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&csv_line(&COLUMNS.map(str::to_string)));
    // Each note stands above the rows that follow it (comments are skipped when read).
    for item in items {
        match item {
            Exported::Note(n) => out.push_str(&format!("# {}\n", n.replace('\n', " "))),
            Exported::Row(r) => out.push_str(&csv_line(&csv_record(r))),
        }
    }
    out
}

/// One CSV line, quoted as needed.
fn csv_line(record: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(record);
    String::from_utf8_lossy(&w.into_inner().unwrap_or_default()).into_owned()
}

fn csv_record(r: &ExportRow) -> Vec<String> {
    let (mut t, mut s) = (vec![String::new(); 3], vec![String::new(); 3]);
    if let DesiredMode::Provisioned(a) = &r.mode {
        t = vec![
            a.read.min.to_string(),
            a.read.max.to_string(),
            number(a.read.target),
        ];
        s = vec![
            a.write.min.to_string(),
            a.write.max.to_string(),
            number(a.write.target),
        ];
    }
    let mut record = vec![
        r.account_id.clone(),
        r.role_arn.clone().unwrap_or_default(),
        r.external_id.clone().unwrap_or_default(),
        r.region.clone(),
        r.table.clone(),
        r.index.clone().unwrap_or_default(),
        mode_word(&r.mode).to_string(),
    ];
    record.extend(t);
    record.extend(s);
    record.push(r.indexes.map(scope_word).unwrap_or_default().to_string());
    for cap in [r.caps.read, r.caps.write] {
        record.push(cap.map(|c| c.to_string()).unwrap_or_default());
    }
    record.push(
        r.table_class
            .map(|c| c.as_inventory_str().to_string())
            .unwrap_or_default(),
    );
    record
}

/// The export as TOML: `[[tables]]` entries (no `[defaults]`), notes as comments.
pub fn to_toml(header: &str, items: &[Exported]) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(&format!("# {line}\n"));
    }
    for item in items {
        match item {
            Exported::Note(n) => out.push_str(&format!("\n# {}\n", n.replace('\n', " "))),
            Exported::Row(r) => {
                out.push_str("\n[[tables]]\n");
                out.push_str(&format!("account_id = {}\n", q(&r.account_id)));
                if let Some(a) = &r.role_arn {
                    out.push_str(&format!("role_arn = {}\n", q(a)));
                }
                if let Some(e) = &r.external_id {
                    out.push_str(&format!("external_id = {}\n", q(e)));
                }
                out.push_str(&format!(
                    "region = {}\ntable = {}\n",
                    q(&r.region),
                    q(&r.table)
                ));
                if let Some(i) = &r.index {
                    out.push_str(&format!("index = {}\n", q(i)));
                }
                out.push_str(&format!("mode = {}\n", q(mode_word(&r.mode))));
                if let DesiredMode::Provisioned(a) = &r.mode {
                    for (side, t) in [("read", a.read), ("write", a.write)] {
                        out.push_str(&format!(
                            "min_{side} = {}\nmax_{side} = {}\ntarget_{side} = {}\n",
                            t.min,
                            t.max,
                            number(t.target)
                        ));
                    }
                }
                if let Some(s) = r.indexes {
                    out.push_str(&format!("indexes = {}\n", q(scope_word(s))));
                }
                for (field, cap) in [
                    ("max_read_request_units", r.caps.read),
                    ("max_write_request_units", r.caps.write),
                ] {
                    match cap {
                        Some(Cap::Max(n)) => out.push_str(&format!("{field} = {n}\n")),
                        Some(Cap::Unlimited) => out.push_str(&format!("{field} = \"none\"\n")),
                        None => {}
                    }
                }
                if let Some(c) = r.table_class {
                    out.push_str(&format!("table_class = {}\n", q(c.as_inventory_str())));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{parse_bytes, Format, Limits};
    use crate::planner::plan_table;

    fn observed(mode: BillingMode, gsis: &[&str]) -> ObservedTable {
        ObservedTable::active(mode, 5, gsis)
    }

    /// Export, write, parse back, plan: nothing to do.
    fn round_trip(o: &ObservedTable) -> Vec<Exported> {
        let role = RoleSpec {
            role_arn: "arn:aws:iam::111111111111:role/r".into(),
            external_id: Some("ext-1".into()),
        };
        let items = export_table("111111111111", "us-east-1", "t01", Some(&role), o, 40_000);
        if !items.iter().any(|i| matches!(i, Exported::Row(_))) {
            return items;
        }
        for (format, text) in [
            (Format::Csv, to_csv("h", &items)),
            (Format::Toml, to_toml("h", &items)),
        ] {
            let rows = parse_bytes("x", text.as_bytes(), format, &Limits::default())
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            for d in &rows {
                let plan = plan_table(d, o);
                assert!(
                    plan.actions.is_empty(),
                    "{format:?}: {:?}\n{text}",
                    plan.actions
                );
            }
        }
        items
    }

    #[test]
    fn exports_plan_as_unchanged() {
        round_trip(&observed(BillingMode::OnDemand, &["gs1"]));
        let mut o = observed(BillingMode::Provisioned, &["gs1", "gs2"]);
        o.scale(None, 5, 100, 70.0, "p");
        o.scale(Some("gs1"), 5, 100, 70.0, "p");
        o.scale(Some("gs2"), 5, 100, 70.0, "p");
        let items = round_trip(&o);
        assert_eq!(items.len(), 1, "GSIs like the table: indexes = all");

        // GSIs that differ from the table get their own rows.
        let mut o = observed(BillingMode::Provisioned, &["gs1", "gs2"]);
        o.scale(None, 5, 100, 70.0, "p");
        o.scale(Some("gs1"), 1, 9, 45.5, "p");
        let items = round_trip(&o);
        assert_eq!(items.len(), 2);
        match &items[1] {
            Exported::Row(r) => assert_eq!(r.index.as_deref(), Some("gs1")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_an_inventory_cannot_say_becomes_a_note() {
        let o = observed(BillingMode::Provisioned, &[]);
        let items = round_trip(&o);
        assert!(
            matches!(&items[..], [Exported::Note(n)] if n.contains("without complete auto scaling"))
        );
        let mut o = observed(BillingMode::Provisioned, &[]);
        o.scale(None, 5, 100, 95.0, "p"); // outside what DynamoDB auto scaling accepts
        assert!(matches!(&round_trip(&o)[..], [Exported::Note(_)]));
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::inventory::{parse_bytes, Format, Limits};
    use crate::planner::plan_table;

    fn caps(read: Cap, write: Cap) -> OnDemandCaps {
        OnDemandCaps {
            read: Some(read),
            write: Some(write),
        }
    }

    /// Export, write, parse back, plan: nothing to do, and the rows state every setting.
    fn round_trip(o: &ObservedTable) -> Vec<DesiredTable> {
        let items = export_table("111111111111", "us-east-1", "t01", None, o, 40_000);
        let mut parsed = Vec::new();
        for (format, text) in [
            (Format::Csv, to_csv("h", &items)),
            (Format::Toml, to_toml("h", &items)),
        ] {
            let rows = parse_bytes("x", text.as_bytes(), format, &Limits::default())
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            for d in &rows {
                let plan = plan_table(d, o);
                assert!(
                    plan.actions.is_empty(),
                    "{format:?}: {:?}\n{text}",
                    plan.actions
                );
            }
            parsed = rows;
        }
        parsed
    }

    #[test]
    fn caps_and_class_are_exported_exactly() {
        let mut o = ObservedTable::active(BillingMode::OnDemand, 0, &["gs1", "gs2"]);
        o.caps = caps(Cap::Max(300), Cap::Unlimited);
        o.indexes[0].caps = caps(Cap::Max(300), Cap::Unlimited);
        o.indexes[1].caps = caps(Cap::Max(20), Cap::Max(10));
        o.table_class = Some(TableClass::StandardInfrequentAccess);
        let rows = round_trip(&o);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].caps, o.caps);
        assert_eq!(
            rows[0].table_class,
            Some(TableClass::StandardInfrequentAccess)
        );
        // Only the GSI whose caps differ from the table's has its own row.
        assert_eq!(rows[0].index_caps.len(), 1);
        assert_eq!(rows[0].index_caps["gs2"], o.indexes[1].caps);

        // A provisioned table: its class, no caps (refused on provisioned rows).
        let mut o = ObservedTable::active(BillingMode::Provisioned, 5, &[]);
        o.caps = caps(Cap::Max(3), Cap::Max(3));
        o.scale(None, 1, 10, 70.0, "p");
        let rows = round_trip(&o);
        assert!(rows[0].caps.is_unset());
        assert_eq!(rows[0].table_class, Some(TableClass::Standard));
    }
}
