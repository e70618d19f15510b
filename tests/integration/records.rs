//! No record is ever lost: a journal an earlier run left is kept, two runs never write one
//! report, and a write whose intent cannot be put on disk is not sent.

use crate::sim::{grid, SimConfig, SimTable};
use crate::support::*;
use std::time::Duration;

/// Regression: a rerun of a killed command (a Kubernetes Job retries the same command)
/// truncated the journal, the only record of the killed run's writes in flight.
#[test]
fn a_journal_left_by_a_killed_run_is_kept_and_can_be_recovered() {
    let fleet = grid(1, &["us-east-1"], 20, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            latency: Duration::from_millis(100),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let args = [
        "apply",
        inv.as_str(),
        "--yes",
        "--report",
        "run.json",
        "--concurrency",
        "2",
    ];
    let child = spawn_ddb_fleet(&sim.endpoint, dir.path(), &args);
    wait_until(|| sim.stats().writes.len() >= 3);
    signal(&child, "KILL");
    let _ = finish(child);
    let journal = dir.path().join("run.json.journal");
    let killed = std::fs::read(&journal).unwrap();
    assert!(!killed.is_empty());

    let run = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("run.json"));
    let kept = report["earlier_journal"]
        .as_str()
        .unwrap_or_else(|| panic!("{report}"));
    assert!(run.stderr.contains(kept), "{run:?}");
    assert_eq!(
        std::fs::read(dir.path().join(kept)).unwrap(),
        killed,
        "the killed run's journal changed"
    );
    assert!(
        !journal.exists(),
        "the new run's journal is removed with its report"
    );
    let recovered = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["report", "recover", kept, "-o", "recovered.json"],
    );
    assert_eq!(recovered.code, 0, "{recovered:?}");
    let r = recovered.report(&dir.path().join("recovered.json"));
    assert_eq!(r["summary"]["total"], 20);
}

/// Two runs with the same report path at the same time: the second refuses, the first is
/// not disturbed.
#[test]
fn a_second_run_on_the_same_report_refuses_to_start() {
    let fleet = grid(1, &["us-east-1"], 6, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            update_duration: Duration::from_secs(3),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let args = ["apply", inv.as_str(), "--yes", "--report", "run.json"];
    let first = spawn_ddb_fleet(&sim.endpoint, dir.path(), &args);
    wait_until(|| !sim.stats().writes.is_empty());
    let second = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(second.code, 2, "{second:?}");
    assert!(
        second
            .stderr
            .contains("another ddb-fleet run is writing the report"),
        "{second:?}"
    );
    let first = finish(first);
    assert_eq!(first.code, 0, "{first:?}");
    let report = first.report(&dir.path().join("run.json"));
    assert_eq!(report["summary"]["changed"], 6);
    assert!(report["earlier_journal"].is_null(), "{report}");
    // Once the first is done, the path is free again.
    let third = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(third.code, 0, "{third:?}");
}

/// Regression: a journal write that failed (a full disk) was logged and the UpdateTable sent
/// anyway. Now the write is not sent and the table fails, saying why.
#[test]
fn a_write_whose_intent_cannot_be_journalled_is_not_sent() {
    let fleet = grid(1, &["us-east-1"], 4, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let run = ddb_fleet_on_a_small_disk(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--report", "run.json"],
        2_000,
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert!(sim.stats().writes.is_empty(), "{:?}", sim.stats().writes);
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("JournalWriteFailed") && l.contains("the change was not sent"))
        .collect();
    assert_eq!(failed.len(), 4, "{run:?}");
}

/// Regression: every command wrote `ddb-fleet-report.json` by default, so `rollback
/// ddb-fleet-report.json --plan-only` replaced the apply report it had just read, and the real
/// rollback then found nothing to roll back. Each run now writes its own report, and no run
/// writes over one of its inputs.
#[test]
fn an_apply_report_is_never_replaced_by_another_runs_report() {
    let fleet = grid(1, &["us-east-1"], 3, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let apply = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    let applied = apply.report_path(dir.path());
    assert!(
        applied
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("ddb-fleet-apply-"),
        "{applied:?}"
    );
    let bytes = std::fs::read(&applied).unwrap();
    let name = applied.file_name().unwrap().to_str().unwrap();

    let preview = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["rollback", name, "--plan-only"],
    );
    assert_eq!(preview.code, 0, "{preview:?}");
    assert_ne!(preview.report_path(dir.path()), applied);
    let plan = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert_eq!(
        std::fs::read(&applied).unwrap(),
        bytes,
        "the apply report changed"
    );

    // Named explicitly, an input is still never written over: by its name or another path.
    let absolute = applied.to_str().unwrap();
    for report in [name, absolute] {
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &["rollback", name, "--yes", "--report", report],
        );
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains("is the report of this run"), "{run:?}");
    }
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv, "--report", &inv]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("is the inventory of this run"),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&applied).unwrap(), bytes);

    // `report merge` and `report recover` never write their -o over an input either.
    let merge = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["report", "merge", name, "-o", name],
    );
    assert_eq!(merge.code, 2, "{merge:?}");
    assert!(
        merge.stderr.contains("is a report of this run"),
        "{merge:?}"
    );
    assert_eq!(std::fs::read(&applied).unwrap(), bytes);

    let rollback = ddb_fleet(&sim.endpoint, dir.path(), &["rollback", name, "--yes"]);
    assert_eq!(rollback.code, 0, "{rollback:?}");
    let report = rollback.written_report(dir.path());
    assert_eq!(report["summary"]["changed"], 3, "{report}");
}

/// `export` and `advise` never write their output over the inventory they read.
#[test]
fn an_output_is_never_the_inventory() {
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, ON_DEMAND);
    let before = std::fs::read(&inv).unwrap();
    for command in ["export", "advise"] {
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &[command, &inv, "-o", "fleet.csv"],
        );
        assert_eq!(run.code, 2, "{command}: {run:?}");
        assert!(
            run.stderr
                .contains("-o fleet.csv is the inventory of this run"),
            "{run:?}"
        );
    }
    assert_eq!(std::fs::read(&inv).unwrap(), before);
}

/// Regression: an UpdateTable whose answer was lost, sent once (`--max-attempts 1`) or refused
/// when sent again, and whose landing reading could not decide (here the table stays UPDATING
/// past `--wait-timeout`) was recorded `failed` with `after` equal to `before`: rollback
/// ignored it and `--history` did not count it, though AWS had switched the table. It is
/// `started` (may have happened), and the table's `after` is what AWS has.
#[test]
fn a_write_whose_answer_was_lost_and_cannot_be_decided_is_recorded_started() {
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            drop_after_rate: 1.0,
            update_duration: Duration::from_secs(4),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--max-attempts",
            "1",
            "--wait-timeout",
            "1s",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.written_report(dir.path());
    let t = &report["tables"][0];
    let update = &t["actions"][0];
    assert_eq!(update["operation"], "UpdateTable", "{t}");
    assert_eq!(update["outcome"], "started", "{t}");
    assert!(
        update["error"]["message"]
            .as_str()
            .unwrap()
            .contains("it may have"),
        "{update}"
    );
    assert_eq!(t["after"]["billing_mode"], "PROVISIONED", "{t}");
    assert_eq!(sim.stats().by_operation["UpdateTable"], 1);
    // rollback counts it: the table is switched back.
    let name = run.report_path(dir.path());
    let rb = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["rollback", name.to_str().unwrap(), "--plan-only"],
    );
    assert_eq!(rb.code, 0, "{rb:?}");
    assert_eq!(
        rb.written_report(dir.path())["summary"]["would_change"],
        1,
        "{rb:?}"
    );
}
