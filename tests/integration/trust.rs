//! What must never happen on a live organisation: acting on an account other than the one a
//! row names, and sending anything after the operator said stop.

use crate::sim::{grid, Sim, SimConfig, SimTable, CALLER_ACCOUNT};
use crate::support::*;
use std::time::{Duration, Instant};

const MOTO_CALLER: &str = "123456789012"; // moto's default account: the caller's own

/// Regression: a row of account 222222222222 without a role was run with the caller's own
/// credentials: account 123456789012's `orders` was switched, and reported as 222222222222's.
#[test]
fn a_row_without_a_role_for_another_account_is_refused_before_anything_is_read() {
    let moto = Moto::start();
    let rt = runtime();
    let aws = rt.block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "us-east-1").await;
        aws.create_table("orders", Some((5, 5)), &[]).await;
        aws
    });
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,role_name,region,table,mode\n\
         123456789012,,us-east-1,orders,on_demand\n\
         222222222222,,us-east-1,orders,on_demand\n",
    );
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["apply", inv.to_str().unwrap(), "--yes"],
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("inv.csv:3: field `account_id`: account 222222222222 has no role_name or role_arn, and the credentials are account 123456789012's"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("inv.csv:2"), "{run:?}");
    rt.block_on(async { assert_eq!(aws.billing_mode("orders").await, "PROVISIONED") });

    // The same through the flags of the reading commands: the flag is named.
    for command in ["export", "advise"] {
        let out = dir.path().join(format!("{command}.csv"));
        let run = ddb_fleet(
            &moto.endpoint,
            dir.path(),
            &[
                command,
                "--account",
                "222222222222",
                "--region",
                "us-east-1",
                "-o",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, 2, "{command}: {run:?}");
        assert!(
            run.stderr.contains("--account 222222222222 has no --role-name, and the credentials are account 123456789012's"),
            "{command}: {run:?}"
        );
        assert!(!out.exists(), "{command} wrote its output");
    }
    // The caller's own account, named or not, still works.
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "export",
            "--account",
            MOTO_CALLER,
            "--region",
            "us-east-1",
            "-o",
            "mine.csv",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

/// The same refusal against the simulator, which counts what was sent: only the one
/// GetCallerIdentity, no table read.
#[test]
fn the_simulator_sees_nothing_but_who_the_caller_is() {
    let fleet = grid(1, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let sim = Sim::start(SimConfig::default(), fleet);
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        &format!(
            "account_id,role_name,region,table,mode\n{CALLER_ACCOUNT},,us-east-1,table-00000,on_demand\n100000000000,,us-east-1,table-00001,on_demand\n"
        ),
    );
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", inv.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    let ops = sim.stats().by_operation;
    assert_eq!(
        ops.keys().collect::<Vec<_>>(),
        ["GetCallerIdentity"],
        "{ops:?}"
    );
}

/// A role whose session comes back in another account (AssumedRoleUser.Arn) is not used:
/// that account's tables fail with the reason, the others are worked on.
#[test]
fn a_session_in_another_account_is_refused_and_only_that_account_fails() {
    let fleet = grid(2, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let (a, b) = ("100000000000", "100000000001");
    let mut config = SimConfig::default();
    config
        .misdirected_roles
        .insert(format!("arn:aws:iam::{a}:role/fleet"), b.to_string());
    let (sim, dir, inv) = on_sim(config, &fleet, PROVISIONED);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.written_report(dir.path());
    for t in ["table-00000", "table-00001"] {
        let e = entry(&report, a, "us-east-1", t);
        assert_eq!(e["status"], "failed", "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("session in account {b}"))
                && message.contains(&format!("not in account {a}")),
            "{message}"
        );
        assert_eq!(entry(&report, b, "us-east-1", t)["status"], "would_change");
    }
    // Nothing was read with the misdirected credentials: B's tables were read once each.
    let accepted = sim.stats().accepted;
    let reads = accepted
        .get(&(
            b.to_string(),
            "us-east-1".to_string(),
            "dynamodb".to_string(),
        ))
        .copied()
        .unwrap_or(0);
    assert_eq!(reads, 2, "{accepted:?}");
}

/// Regression: 80 tables, 40 to switch, `--max-updating 3`, UPDATING 4-6 s, SIGINT after the
/// first switches: 35 UpdateTable calls were accepted after the signal (tables parked on a
/// permit took it when the tables in flight finished and sent their switch).
#[test]
fn after_a_stop_no_write_is_sent() {
    let fleet = grid(1, &["us-east-1"], 80, |t| {
        if t < 40 {
            SimTable::provisioned(5, &[])
        } else {
            SimTable::on_demand(&[])
        }
    });
    let (sim, dir, inv) = on_sim(
        SimConfig {
            update_duration: Duration::from_secs(4),
            update_duration_max: Some(Duration::from_secs(6)),
            ..SimConfig::default()
        },
        &fleet,
        ON_DEMAND,
    );
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--max-updating", "3"],
    );
    wait_until(|| sim.stats().writes.len() >= 3);
    // Tables are parked on the three permits now.
    std::thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code, 130, "{run:?}");
    let writes = sim.stats().writes;
    // A request already on the wire may land just after the signal; nothing is sent later.
    let late: Vec<_> = writes
        .iter()
        .filter(|(_, at)| *at > signalled + Duration::from_millis(250))
        .collect();
    assert!(
        late.is_empty(),
        "{} writes after the stop: {late:?}",
        late.len()
    );
    let report = run.written_report(dir.path());
    assert_eq!(report["interrupted"], true);
    let recorded = count_actions(&report, |a| {
        a["operation"] == "UpdateTable"
            && (a["outcome"] == "succeeded" || a["outcome"] == "started")
    });
    let sent = writes.iter().filter(|(op, _)| op == "UpdateTable").count();
    assert_eq!(recorded, sent, "every switch sent is recorded");
    assert!(
        report["summary"]["interrupted"].as_u64().unwrap() >= 30,
        "{}",
        report["summary"]
    );
}

/// Reading stops too: a stop during a long read ends the run with the unread tables
/// `interrupted`, and no more reads are sent.
#[test]
fn a_stop_while_reading_ends_the_reads() {
    let fleet = grid(1, &["us-east-1"], 200, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            quota_per_sec: Some(10),
            ..SimConfig::default()
        },
        &fleet,
        ON_DEMAND,
    );
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--dynamodb-rps", "10"],
    );
    let described = || {
        sim.stats()
            .by_operation
            .get("DescribeTable")
            .copied()
            .unwrap_or(0)
    };
    wait_until(|| described() >= 10);
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(250));
    let after_signal = described();
    let run = finish(child);
    assert_eq!(run.code, 130, "{run:?}");
    assert_eq!(described(), after_signal, "reads went on after the stop");
    let report = run.written_report(dir.path());
    let interrupted = report["summary"]["interrupted"].as_u64().unwrap();
    assert!(interrupted >= 150, "{}", report["summary"]);
    assert!(
        statuses(&report)
            .iter()
            .all(|s| s == "unchanged" || s == "interrupted"),
        "{:?}",
        statuses(&report)
    );
}

/// Regression: `--max-updating` was counted per (account, role, region): rows of one account
/// reached through two roles had twice the bound. AWS counts operations per account and
/// region.
#[test]
fn max_updating_counts_per_account_and_region_whatever_the_role() {
    let fleet = grid(1, &["us-east-1"], 6, |_| SimTable::on_demand(&[]));
    let sim = Sim::start(
        SimConfig {
            update_duration: Duration::from_millis(800),
            ..SimConfig::default()
        },
        fleet.clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n",
    );
    for (n, (account, region, table, _)) in fleet.iter().enumerate() {
        let role = if n % 2 == 0 { "fleet" } else { "other" };
        text.push_str(&format!(
            "{account},{role},{region},{table},{PROVISIONED}\n"
        ));
    }
    let inv = write(dir.path(), "inv.csv", &text);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            inv.to_str().unwrap(),
            "--yes",
            "--max-updating",
            "1",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let (account, region, _, _) = &fleet[0];
    let seen = sim.stats().max_updating[&(account.clone(), region.clone())];
    assert_eq!(seen, 1, "tables UPDATING at once in one account and region");
}

/// Regression: a table whose wait for ACTIVE failed (here: `--wait-timeout` 1 s, UPDATING
/// 1.5 s) gave its UPDATING permit back although it was still UPDATING, and the next table of
/// the account was switched beside it, over `--max-updating`. The permit now goes back when
/// the table is seen ACTIVE (within one more `--wait-timeout`).
#[test]
fn a_table_not_seen_active_keeps_its_updating_permit() {
    let fleet = grid(1, &["us-east-1"], 3, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            update_duration: Duration::from_millis(1_500),
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
            "--max-updating",
            "1",
            "--wait-timeout",
            "1s",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let (account, region, _, _) = &fleet[0];
    let seen = sim.stats().max_updating[&(account.clone(), region.clone())];
    assert_eq!(seen, 1, "tables UPDATING at once in one account and region");
}
