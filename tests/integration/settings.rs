//! Maximum on-demand throughput and table class, end to end on the simulator (moto ignores
//! both): apply, read back, re-plan, export, rollback, and AWS's limit of two class changes
//! per 30 days, met up front (from `--history`) and as AWS's refusal.

use crate::sim::*;
use crate::support::*;
use serde_json::Value;

const ACCOUNT: &str = "100000000000";
const REGION: &str = "us-east-1";

const HEADER: &str = "account_id,role_name,region,table,index,mode,min_read,max_read,target_read,min_write,max_write,target_write,max_read_request_units,max_write_request_units,table_class\n";

/// - t-a: provisioned with two GSIs -> on-demand, capped (gs2 with its own write cap), IA;
/// - t-b: on-demand -> a read cap only;
/// - t-c: on-demand -> provisioned, IA;
/// - t-d: IA, changed twice in the last 30 days (DescribeTable shows only the last) -> standard.
fn inventory() -> String {
    let row = |rest: &str| format!("{ACCOUNT},fleet,{REGION},{rest}\n");
    let mut text = HEADER.to_string();
    text.push_str(&row("t-a,,on_demand,,,,,,,100,none,standard_ia"));
    // An index row takes its role from its table's row.
    text.push_str(&format!(
        "{ACCOUNT},,{REGION},t-a,gs2,on_demand,,,,,,,,7,\n"
    ));
    text.push_str(&row("t-b,,on_demand,,,,,,,50,,"));
    text.push_str(&row(
        "t-c,,provisioned,2,20,70,1,10,60,,,STANDARD_INFREQUENT_ACCESS",
    ));
    text.push_str(&row("t-d,,on_demand,,,,,,,,,standard"));
    text
}

fn fleet() -> Vec<(String, String, String, SimTable)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let table = |name: &str, t: SimTable| (ACCOUNT.into(), REGION.into(), name.into(), t);
    let mut d = SimTable::on_demand(&[]);
    d.table_class = "STANDARD_INFREQUENT_ACCESS".into();
    d.class_changes = vec![now - 10.0 * 86_400.0, now - 86_400.0];
    vec![
        table("t-a", SimTable::provisioned(5, &["gs1", "gs2"])),
        table("t-b", SimTable::on_demand(&[])),
        table("t-c", SimTable::on_demand(&[])),
        table("t-d", d),
    ]
}

fn status<'a>(report: &'a Value, table: &str) -> &'a str {
    entry(report, ACCOUNT, REGION, table)["status"]
        .as_str()
        .unwrap()
}

fn class_updates(report: &Value, table: &str) -> usize {
    entry(report, ACCOUNT, REGION, table)["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("table_class").is_some())
        .count()
}

#[test]
fn caps_and_classes_apply_replan_empty_export_and_roll_back_within_the_class_limit() {
    let sim = Sim::start(SimConfig::default(), fleet());
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "inv.csv", &inventory());
    let inv = inv.to_str().unwrap();

    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", inv, "--yes", "--report", "apply.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("apply.json"));
    for t in ["t-a", "t-b", "t-c"] {
        assert_eq!(status(&report, t), "changed", "{t}");
    }
    // AWS's refusal of a third class change is recognised: skipped, untouched, with when.
    let d = entry(&report, ACCOUNT, REGION, "t-d");
    assert_eq!(d["status"], "skipped", "{d}");
    assert_eq!(d["skip_reason"], "table_class_limit");
    assert!(d["next_table_class_change_allowed_at"].is_string(), "{d}");
    assert_eq!(d["error"]["retryable"], true);

    // What the simulator holds now: read back as desired.
    let r = sim.region(ACCOUNT, REGION);
    let a = &r.tables["t-a"];
    assert!(a.on_demand);
    assert_eq!(a.caps, (Some(100), None));
    assert_eq!(
        a.gsis["gs1"].caps,
        (Some(100), None),
        "indexes = all: the table's caps"
    );
    assert_eq!(
        a.gsis["gs2"].caps,
        (Some(100), Some(7)),
        "its own row overrides writes"
    );
    assert_eq!(a.table_class, "STANDARD_INFREQUENT_ACCESS");
    assert_eq!(r.tables["t-b"].caps, (Some(50), None));
    assert!(!r.tables["t-c"].on_demand);
    assert_eq!(r.tables["t-c"].table_class, "STANDARD_INFREQUENT_ACCESS");
    assert_eq!(r.tables["t-d"].table_class, "STANDARD_INFREQUENT_ACCESS");
    // The class change went alone, first: the simulator refuses it with anything else.
    let a_actions = entry(&report, ACCOUNT, REGION, "t-a")["actions"].clone();
    assert!(a_actions[0].get("table_class").is_some(), "{a_actions}");
    assert!(a_actions[0].get("billing_mode").is_none(), "{a_actions}");
    let after = &entry(&report, ACCOUNT, REGION, "t-a")["after"];
    assert_eq!(after["max_read_request_units"], 100);
    assert_eq!(after["max_write_request_units"], "none");
    assert_eq!(after["table_class"], "STANDARD_INFREQUENT_ACCESS");

    // Planning again changes nothing (t-d is still held by the limit).
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", inv, "--report", "plan.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let plan = run.report(&dir.path().join("plan.json"));
    for t in ["t-a", "t-b", "t-c"] {
        assert_eq!(status(&plan, t), "unchanged", "{t}");
    }
    assert_eq!(
        status(&plan, "t-d"),
        "would_change",
        "DescribeTable shows one change only"
    );

    // Export, then plan on the export: nothing to change.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["export", inv, "-o", "snap.toml"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let snap = std::fs::read_to_string(dir.path().join("snap.toml")).unwrap();
    assert!(snap.contains("max_write_request_units = 7"), "{snap}");
    assert!(snap.contains("table_class = \"standard_ia\""), "{snap}");
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "plan",
            "snap.toml",
            "--detailed-exitcode",
            "--report",
            "snap.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");

    // Roll back: the recorded mode, capacities, caps and class.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "rollback",
            "apply.json",
            "--yes",
            "--report",
            "rollback.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let r = sim.region(ACCOUNT, REGION);
    let a = &r.tables["t-a"];
    assert!(!a.on_demand);
    assert_eq!((a.read, a.write), (5, 5));
    assert_eq!(a.table_class, "STANDARD");
    assert_eq!(
        r.tables["t-b"].caps,
        (None, None),
        "the cap it did not have is removed"
    );
    assert!(r.tables["t-c"].on_demand);
    assert_eq!(r.tables["t-c"].table_class, "STANDARD");

    // t-a has changed class twice now: with both reports as history, a third change is
    // skipped before anything is sent.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            inv,
            "--yes",
            "--report",
            "again.json",
            "--history",
            "apply.json",
            "--history",
            "rollback.json",
            "--table",
            "t-a",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let again = run.report(&dir.path().join("again.json"));
    let a = entry(&again, ACCOUNT, REGION, "t-a");
    assert_eq!(a["skip_reason"], "table_class_limit", "{a}");
    assert!(a["next_table_class_change_allowed_at"].is_string());
    assert_eq!(class_updates(&again, "t-a"), 0);
    assert!(
        !sim.region(ACCOUNT, REGION).tables["t-a"].on_demand,
        "left as it was"
    );
}
