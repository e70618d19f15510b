//! Guardrails and recording, on the simulator: --canary, --max-changes, --max-failures,
//! filters, the journal after kill -9, and --history against the switch limit.

use crate::sim::*;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

fn writes(sim: &Sim) -> u64 {
    let s = sim.stats();
    WRITE_OPERATIONS
        .iter()
        .map(|op| s.by_operation.get(*op).copied().unwrap_or(0))
        .sum()
}

#[test]
fn canary_applies_a_few_tables_across_accounts_then_the_next_run_continues() {
    let fleet = grid(3, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "inv.csv", &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--canary", "2"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("Canary: 2 table(s) applied; 4 more would change"),
        "{run:?}"
    );
    let report = run.written_report(dir.path());
    assert_eq!(report["summary"]["changed"], 2);
    assert_eq!(report["summary"]["would_change"], 4);
    let changed: Vec<&Value> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "changed")
        .collect();
    assert_ne!(
        changed[0]["account_id"], changed[1]["account_id"],
        "the canary spreads over accounts"
    );
    for t in report["tables"].as_array().unwrap() {
        let on_demand = sim
            .table(
                t["account_id"].as_str().unwrap(),
                "us-east-1",
                t["table"].as_str().unwrap(),
            )
            .on_demand;
        assert_eq!(on_demand, t["status"] == "would_change", "{t}");
        if t["status"] == "would_change" {
            assert!(t["actions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["outcome"] == "planned"));
        }
    }

    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert_eq!(report["summary"]["changed"], 4);
    assert_eq!(report["summary"]["unchanged"], 2);
}

#[test]
fn max_changes_refuses_before_any_write() {
    let fleet = grid(2, &["us-east-1"], 3, |_| SimTable::on_demand(&[]));
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "inv.csv", &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--max-changes",
            "5",
            "--report",
            "ddb-fleet-report.json",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr
            .contains("the plan would change 6 tables, more than --max-changes 5"),
        "{run:?}"
    );
    assert_eq!(writes(&sim), 0, "nothing was changed");
    let report = run.written_report(dir.path());
    assert_eq!(report["summary"]["would_change"], 6);
    assert!(
        !dir.path().join("ddb-fleet-report.json.journal").exists(),
        "the journal is folded into the report"
    );

    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--max-changes", "6"],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn max_failures_stops_starting_tables_and_deleting_tables_fail_fast() {
    // One account and region: tables 0-3 are deleted by someone else once the plan has read
    // them (the switch then meets a table being deleted), tables 4-7 stay healthy. With one
    // table at a time and --max-failures 2, the third table must not start.
    let fleet = grid(1, &["us-east-1"], 8, |i| SimTable {
        others: if i < 4 {
            vec![(1, OtherChange::DeleteTable)]
        } else {
            vec![]
        },
        ..SimTable::on_demand(&[])
    });
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--max-failures",
            "2",
            "--concurrency",
            "1",
            "--wait-timeout",
            "1h",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.written_report(dir.path());
    let account = &fleet[0].0;
    for t in ["table-00000", "table-00001"] {
        let e = entry(&report, account, "us-east-1", t);
        assert_eq!(e["status"], "failed");
        // Failed fast: not after the hour-long wait.
        assert_eq!(e["error"]["code"], "TableNotUsable", "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("DELETING"));
    }
    for i in 2..8 {
        let e = entry(&report, account, "us-east-1", &format!("table-{i:05}"));
        assert_eq!(e["status"], "skipped", "{e}");
        assert_eq!(e["skip_reason"], "max_failures");
    }
    // The two switches AWS refused (the table in use), nothing else.
    assert_eq!(writes(&sim), 2);
}

#[test]
fn a_table_being_deleted_is_failed_by_the_plan_not_planned_to_wait() {
    let fleet = grid(1, &["us-east-1"], 2, |i| SimTable {
        status_override: (i == 0).then(|| "DELETING".to_string()),
        ..SimTable::on_demand(&[])
    });
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--report", "plan.json"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.report(&dir.path().join("plan.json"));
    let e = entry(&report, &fleet[0].0, "us-east-1", "table-00000");
    assert_eq!(e["status"], "failed", "{e}");
    assert_eq!(e["error"]["code"], "TableNotUsable", "{e}");
    assert_eq!(e["actions"].as_array().unwrap().len(), 0, "{e}");
    assert_eq!(e["before"]["status"], "DELETING", "{e}");
    let e = entry(&report, &fleet[0].0, "us-east-1", "table-00001");
    assert_eq!(e["status"], "would_change", "{e}");
}

#[test]
fn filters_select_part_of_the_inventory() {
    let fleet = grid(2, &["us-east-1", "eu-west-1"], 3, |_| {
        SimTable::on_demand(&[])
    });
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "inv.csv", &fleet, PROVISIONED);
    let (a0, a1) = (fleet[0].0.clone(), fleet[6].0.clone());
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--account",
            &a1,
            "--region",
            "eu-west-1",
            "--table",
            "other-*",
            "--table",
            "table-0000?2",
            "--table",
            "*2",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    let names: Vec<(String, String, String)> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().into(),
                t["region"].as_str().unwrap().into(),
                t["table"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![(a1.clone(), "eu-west-1".into(), "table-00002".into())]
    );
    assert!(!sim.table(&a1, "eu-west-1", "table-00002").on_demand);
    assert!(sim.table(&a1, "us-east-1", "table-00002").on_demand);
    assert!(sim.table(&a0, "eu-west-1", "table-00002").on_demand);

    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--table", "nothing-*"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("matches none of the inventory's 12 tables"),
        "{run:?}"
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--account", "12"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("--account 12: not a 12-digit AWS account id"),
        "{run:?}"
    );
}

#[test]
fn after_kill_9_the_journal_records_every_write_that_reached_aws() {
    let fleet = grid(2, &["us-east-1"], 12, |i| {
        SimTable::on_demand(if i % 2 == 0 { &["g1"] } else { &[] })
    });
    let sim = Sim::start(
        SimConfig {
            latency: Duration::from_millis(30),
            ..SimConfig::default()
        },
        fleet.clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "inv.csv", &fleet, PROVISIONED);
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--concurrency",
            "4",
            "--report",
            "ddb-fleet-report.json",
        ],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while writes(&sim) < 25 {
        assert!(std::time::Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    signal(&child, "KILL");
    let run = finish(child);
    assert_eq!(run.code, -1, "killed by a signal");
    assert!(
        !dir.path().join("ddb-fleet-report.json").exists(),
        "no chance to write the report"
    );
    let sent = writes(&sim);

    let journal =
        std::fs::read_to_string(dir.path().join("ddb-fleet-report.json.journal")).unwrap();
    let lines: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["event"], "run_started");
    let started: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "action_started" && l["operation"] != "WaitForActive")
        .collect();
    assert!(
        started.len() as u64 >= sent,
        "{} intents recorded for {sent} writes sent",
        started.len()
    );
    let intents: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "action_started")
        .collect();
    for l in lines.iter().filter(|l| l["event"] == "action_finished") {
        let has_intent = intents.iter().any(|s| {
            s["account_id"] == l["account_id"] && s["table"] == l["table"] && s["step"] == l["step"]
        });
        assert!(has_intent, "an outcome without its intent: {l}");
        assert!(
            l["outcome"] == "succeeded" || l["outcome"] == "already_absent",
            "{l}"
        );
    }
    // Each recorded UpdateTable names its table and parameters.
    let update = started
        .iter()
        .find(|l| l["operation"] == "UpdateTable")
        .unwrap();
    assert_eq!(update["billing_mode"], "PROVISIONED");
    assert!(update["target"].as_str().unwrap().starts_with("table-"));
    for secret in ["simsecret", "simtoken", BASE_SECRET] {
        assert!(!journal.contains(secret), "a secret in the journal");
    }

    // The journal becomes a report, and --resume finishes the job.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "report",
            "recover",
            "ddb-fleet-report.json.journal",
            "-o",
            "recovered.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let recovered = run.report(&dir.path().join("recovered.json"));
    assert_eq!(recovered["summary"]["total"], 24, "every planned table");
    assert_eq!(recovered["interrupted"], true);
    let unfinished = recovered["summary"]["interrupted"].as_u64().unwrap();
    assert!(unfinished > 0, "{}", recovered["summary"]);
    let started = count_actions(&recovered, |a| a["outcome"] != "not_attempted");
    assert!(started > 0, "what was done is in the recovered report");
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--resume",
            "recovered.json",
            "--report",
            "resumed.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let resumed = run.report(&dir.path().join("resumed.json"));
    assert!(resumed["summary"]["total"].as_u64().unwrap() >= unfinished);
    for (a, r, t, _) in &fleet {
        let table = sim.table(a, r, t);
        assert!(!table.on_demand, "{t} converged after the resume");
    }
}

#[test]
fn history_from_earlier_runs_counts_against_the_switch_limit() {
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable::provisioned(5, &[]));
    // Each switch keeps the table UPDATING a while, as AWS's do, and apply waits for it: two
    // switches never land in the same second (history counts switches to the second; runs of
    // half a second each once put two in one and counted three of four).
    let config = SimConfig {
        update_duration: Duration::from_millis(1100),
        ..SimConfig::default()
    };
    let sim = Sim::start(config, fleet.clone());
    let dir = tempfile::tempdir().unwrap();
    let to_demand = sim_inventory(dir.path(), "demand.csv", &fleet, ON_DEMAND);
    let to_prov = sim_inventory(dir.path(), "prov.csv", &fleet, PROVISIONED);
    let mut reports = Vec::new();
    for n in 0..4 {
        let r = format!("r{n}.json");
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &["apply", &to_demand, "--yes", "--report", &r],
        );
        assert_eq!(run.code, 0, "{run:?}");
        reports.push(r);
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &["apply", &to_prov, "--yes", "--report", "p.json"],
        );
        assert_eq!(run.code, 0, "{run:?}");
    }
    let updates_before = sim.stats().by_operation["UpdateTable"];
    let mut args = vec!["apply", &to_demand, "--yes", "--report", "fifth.json"];
    for r in &reports {
        args.extend(["--history", r.as_str()]);
    }
    let run = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("fifth.json"));
    let t = &report["tables"][0];
    assert_eq!(t["status"], "skipped");
    assert_eq!(t["skip_reason"], "switch_limit");
    assert!(t["next_switch_allowed_at"].is_string());
    assert_eq!(
        t["before"]["recent_switches_to_on_demand"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        sim.stats().by_operation["UpdateTable"],
        updates_before,
        "known up front: no call made"
    );

    // Without the history only the last switch is visible: AWS's refusal is the answer.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &to_demand, "--yes", "--report", "sixth.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("sixth.json"));
    assert_eq!(report["tables"][0]["skip_reason"], "switch_limit");
    assert_eq!(sim.stats().by_operation["UpdateTable"], updates_before + 1);
    assert!(!sim.table(&fleet[0].0, "us-east-1", "table-00000").on_demand);
}
