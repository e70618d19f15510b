//! Tables that other teams change while ddb-fleet works on them (simulator): GSIs created or
//! deleted between a table's plan and its first UpdateTable. AWS refuses a switch that names a
//! GSI it no longer has, or (to provisioned) leaves one out; `apply` and `rollback` read the
//! table again before switching and plan it again when it changed.

use crate::sim::*;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

/// A table planned less than 2 s before its switch is not read again (the read would be as
/// fresh as the plan's); these tests change tables right after the plan's read, so every
/// table is read again.
const REREAD_ALWAYS: [&str; 2] = ["--reread-after-ms", "0"];

/// How long the other team's GSI creation or deletion takes.
const INDEX_CHANGE: Duration = Duration::from_millis(1200);

/// Starts a simulator holding `fleet` (updates take 300 ms) and applies `mode` to every table:
/// it must succeed. Gives the simulator, the run's directory and its report.
fn applied(
    fleet: &[(String, String, String, SimTable)],
    mode: &str,
) -> (Sim, tempfile::TempDir, Value) {
    let config = SimConfig {
        update_duration: Duration::from_millis(300),
        ..SimConfig::default()
    };
    let (sim, dir, inv) = on_sim(config, fleet, mode);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--report",
            "ddb-fleet-report.json",
            REREAD_ALWAYS[0],
            REREAD_ALWAYS[1],
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    (sim, dir, report)
}

/// The report entry of `table`.
fn table_entry<'a>(report: &'a Value, table: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap()
}

/// The GSIs named by the switch a report entry records.
fn switch_indexes(entry: &Value) -> Vec<String> {
    let switch = entry["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["operation"] == "UpdateTable")
        .unwrap_or_else(|| panic!("no UpdateTable: {entry}"));
    let text = switch.to_string();
    ["old", "fresh", "g1", "late"]
        .into_iter()
        .filter(|g| text.contains(&format!("\"{g}\"")))
        .map(str::to_string)
        .collect()
}

#[test]
fn gsis_created_and_deleted_before_the_switch_make_apply_plan_the_table_again() {
    // Right after the plan's read of each table, another team adds `fresh` and deletes `old`.
    let fleet = grid(1, &["us-east-1"], 3, |_| SimTable {
        others: vec![
            (1, OtherChange::CreateIndex("fresh".into(), 5, INDEX_CHANGE)),
            (1, OtherChange::DeleteIndex("old".into(), INDEX_CHANGE)),
        ],
        ..SimTable::on_demand(&["old"])
    });
    let (sim, _dir, report) = applied(&fleet, PROVISIONED);
    assert!(statuses(&report).iter().all(|s| s == "changed"), "{report}");
    for (account, region, table, _) in &fleet {
        let t = sim.table(account, region, table);
        assert_eq!(t.gsis.keys().collect::<Vec<_>>(), ["fresh"], "{table}");
        // Provisioned, with auto scaling on the table and on the GSI it has now.
        assert_converged_provisioned(&sim, account, region, table);
        let entry = table_entry(&report, table);
        assert_eq!(switch_indexes(entry), ["fresh"], "{entry}");
        let why = entry["replanned"].as_str().unwrap_or_default();
        assert!(
            why.contains("GSI fresh was created") && why.contains("GSI old was deleted"),
            "{entry}"
        );
        // `before` is the state the switch was made from: rollback restores that.
        let before: Vec<&str> = entry["before"]["indexes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(before, ["fresh"], "{entry}");
    }
}

#[test]
fn a_gsi_created_before_a_rollback_switches_back_is_given_capacity() {
    let fleet = grid(1, &["us-east-1"], 3, |_| SimTable::provisioned(7, &["g1"]));
    let (sim, dir, _) = applied(&fleet, ON_DEMAND);
    // Between the rollback's plan and its switch back to provisioned, `late` is added: the
    // switch must carry its throughput, or AWS refuses it.
    for (account, region, table, _) in &fleet {
        sim.with_table(account, region, table, |t| {
            t.others = vec![(
                t.reads + 1,
                OtherChange::CreateIndex("late".into(), 5, INDEX_CHANGE),
            )];
        });
    }
    let rb = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "rollback",
            "ddb-fleet-report.json",
            "--yes",
            "--report",
            "rb.json",
            REREAD_ALWAYS[0],
            REREAD_ALWAYS[1],
        ],
    );
    assert_eq!(rb.code, 0, "{rb:?}");
    let report = rb.report(&dir.path().join("rb.json"));
    assert!(statuses(&report).iter().all(|s| s == "changed"), "{report}");
    for (account, region, table, _) in &fleet {
        let t = sim.table(account, region, table);
        assert!(!t.on_demand, "{table}");
        assert_eq!((t.read, t.write), (7, 7), "{table}: recorded capacity");
        assert_eq!((t.gsis["g1"].read, t.gsis["g1"].write), (7, 7));
        // A GSI the record does not know starts at the table's recorded capacity.
        assert_eq!((t.gsis["late"].read, t.gsis["late"].write), (7, 7));
        let entry = table_entry(&report, table);
        assert_eq!(switch_indexes(entry), ["g1", "late"], "{entry}");
        let why = entry["replanned"].as_str().unwrap_or_default();
        assert!(why.contains("GSI late was created"), "{entry}");
    }
}

#[test]
fn auto_scaling_waits_for_a_gsi_still_being_created() {
    // Already provisioned; one GSI is still being created (backfilling) when the run starts.
    // The plan only adds auto scaling: it must wait for the GSI before registering on it.
    let fleet = grid(1, &["us-east-1"], 2, |_| {
        let mut t = SimTable::provisioned(5, &["g1", "fresh"]);
        t.gsis.get_mut("fresh").unwrap().creating_until =
            Some(std::time::Instant::now() + Duration::from_secs(2));
        t
    });
    let (sim, _dir, report) = applied(&fleet, PROVISIONED);
    assert_eq!(sim.stats().scaling_on_unready_index, 0);
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
        let entry = table_entry(&report, table);
        assert_eq!(entry["actions"][0]["operation"], "WaitForActive", "{entry}");
    }
}
