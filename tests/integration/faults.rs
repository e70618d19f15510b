//! Fault tests on the simulator (tests/sim): what moto cannot show. Throttling storms, tables
//! that stay UPDATING, injected 500s and dropped connections, the on-demand switch limit,
//! accounts that deny everything, roles that cannot be assumed, global tables, interruption.

use crate::sim::*;
use crate::support::*;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn throttling_storm_ends_with_every_table_done_and_backs_off() {
    let quota = 10;
    let fleet = grid(2, &["us-east-1"], 6, |i| {
        SimTable::on_demand(if i % 2 == 0 { &["g1"] } else { &[] })
    });
    let (sim, dir, inv) = on_sim(
        SimConfig {
            quota_per_sec: Some(quota),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    // Our limits far above the simulator's quota: a storm of ThrottlingException.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--dynamodb-rps",
            "200",
            "--autoscaling-rps",
            "200",
            "--max-attempts",
            "30",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert!(
        statuses(&report).iter().all(|s| s == "changed"),
        "{:?}",
        statuses(&report)
    );
    let stats = sim.stats();
    assert!(stats.throttled > 10, "the storm happened: {stats:?}");
    // Backing off, not hammering: about one refusal per accepted request (measured 0.8 to
    // 1.2); retrying at once, a throttled call is refused again and again within the second
    // (and, as the exit code shows, runs out of attempts).
    let accepted: u64 = stats.accepted.values().sum();
    assert!(
        stats.throttled < 3 * accepted,
        "{} throttled for {accepted} accepted",
        stats.throttled
    );
    // Retries are recorded per action.
    let retried = count_actions(&report, |a| a["attempts"].as_u64().unwrap() > 1);
    assert!(retried > 0);
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }
}

#[test]
fn our_rate_limits_hold_per_account_region_and_service() {
    let fleet = grid(2, &["us-east-1", "eu-west-1"], 5, |_| {
        SimTable::on_demand(&["g1"])
    });
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--dynamodb-rps",
            "8",
            "--autoscaling-rps",
            "6",
            "--concurrency",
            "64",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let stats = sim.stats();
    assert_eq!(stats.throttled, 0);
    let mut seen = HashSet::new();
    for ((account, region, service), max) in &stats.max_accepted_per_window {
        let limit = match service.as_str() {
            "dynamodb" | DYNAMODB_MUTATING => 8,
            "autoscaling" => 6,
            _ => continue,
        };
        // Evenly paced: at most one more than the rate fits in a one-second window.
        assert!(
            *max <= limit + 1,
            "{account} {region} {service}: {max} in one second"
        );
        seen.insert((account.clone(), region.clone(), service.clone()));
    }
    assert_eq!(
        seen.len(),
        4 * 3,
        "every account and region was limited separately, on each quota: {seen:?}"
    );
}

/// The simulator counts DynamoDB's control-plane reads and its mutating calls against
/// separate quotas, as AWS does (AWS-RULES.md: 2,500/s each per account and region).
#[test]
fn simulator_counts_dynamodb_reads_and_changes_apart() {
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable::on_demand(&[]));
    let (account, region, table, _) = fleet[0].clone();
    let sim = Sim::start(
        SimConfig {
            quota_per_sec: Some(1),
            ..SimConfig::default()
        },
        fleet,
    );
    runtime().block_on(async {
        let aws = Aws::new(&sim.endpoint, Some(&account), &region).await;
        let throughput = aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
            .read_capacity_units(5)
            .write_capacity_units(5)
            .build()
            .unwrap();
        aws.ddb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        // This second's read is used: a change still goes through at once.
        let update = aws.ddb.update_table().table_name(&table);
        let update = update.billing_mode(aws_sdk_dynamodb::types::BillingMode::Provisioned);
        update
            .provisioned_throughput(throughput)
            .send()
            .await
            .unwrap();
        assert_eq!(
            sim.stats().throttled,
            0,
            "the change was counted with the read"
        );
        // A second read in the same second is refused (the SDK's own retries may or may not
        // outlast the second: its answer is not the point).
        let _ = aws.ddb.describe_table().table_name(&table).send().await;
        assert!(sim.stats().throttled >= 1, "the reads' quota held");
    });
    let stats = sim.stats();
    let key = |quota: &str| (account.clone(), region.clone(), quota.to_string());
    assert_eq!(
        stats.accepted[&key(DYNAMODB_MUTATING)],
        1,
        "{:?}",
        stats.accepted
    );
    assert!(
        stats.accepted[&key("dynamodb")] >= 1,
        "{:?}",
        stats.accepted
    );
}

#[test]
fn updating_tables_are_waited_for() {
    let fleet = grid(1, &["us-east-1"], 3, |i| {
        SimTable::on_demand(if i == 0 { &["g1", "g2"] } else { &[] })
    });
    let sim = Sim::start(
        SimConfig {
            // Long enough that the first poll after a switch comes before it ends even on a
            // loaded machine (400 ms was not, with the whole suite running).
            update_duration: Duration::from_millis(1500),
            ..SimConfig::default()
        },
        fleet.clone(),
    );
    let account = &fleet[0].0;
    // One table is mid-update when the run starts.
    sim.with_table(account, "us-east-1", "table-00001", |t| {
        t.updating_until = Some(std::time::Instant::now() + Duration::from_secs(3))
    });
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "fleet.csv", &fleet, PROVISIONED);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert!(statuses(&report).iter().all(|s| s == "changed"));
    let busy = entry(&report, account, "us-east-1", "table-00001");
    assert_eq!(
        busy["actions"][0]["operation"], "WaitForActive",
        "planned a wait before the switch"
    );
    assert!(
        busy["actions"][0]["attempts"].as_u64().unwrap() > 1,
        "polled until ACTIVE"
    );
    let t0 = entry(&report, account, "us-east-1", "table-00000");
    assert_eq!(t0["actions"][1]["operation"], "WaitForActive");
    assert!(
        t0["actions"][1]["attempts"].as_u64().unwrap() > 1,
        "waited for the switch to finish"
    );
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }

    // A table that never becomes ACTIVE is skipped after --wait-timeout, untouched.
    let fleet = grid(1, &["us-east-1"], 1, |_| SimTable {
        status_override: Some("CREATING".into()),
        ..SimTable::on_demand(&[])
    });
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let inv = sim_inventory(dir.path(), "fleet.csv", &fleet, PROVISIONED);
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--wait-timeout", "1s"],
    );
    assert_eq!(run.code, 0, "a skip is not a failure: {run:?}");
    let report = run.written_report(dir.path());
    let t = &report["tables"][0];
    assert_eq!(t["status"], "skipped");
    assert_eq!(t["skip_reason"], "not_active");
    assert_eq!(t["error"]["code"], "WaitTimeout");
    assert!(sim.table(&fleet[0].0, "us-east-1", "table-00000").on_demand);
}

#[test]
fn injected_errors_and_dropped_connections_are_retried() {
    let fleet = grid(2, &["us-east-1"], 8, |i| {
        SimTable::on_demand(if i % 3 == 0 { &["g1"] } else { &[] })
    });
    let (sim, dir, inv) = on_sim(
        SimConfig {
            error_rate: 0.08,
            drop_rate: 0.04,
            seed: 42,
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--max-attempts", "12"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let stats = sim.stats();
    assert!(stats.injected_errors > 0 && stats.dropped > 0, "{stats:?}");
    let report = run.written_report(dir.path());
    assert!(statuses(&report).iter().all(|s| s == "changed"));
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }
}

/// A switch whose answer was lost (carried out, connection closed) was sent again
/// after the retry met the UPDATING table; AWS refused the repeat and the table was reported
/// failed although it had changed.
#[test]
fn a_switch_whose_answer_was_lost_is_read_not_sent_again() {
    // 24 switches with 30 % of answers lost: that none is lost has odds of 0.7^24 (2 in 10,000;
    // with 12 tables, 1.4 %, and it happened).
    let fleet = grid(1, &["us-east-1"], 24, |i| {
        SimTable::on_demand(if i % 2 == 0 { &["g1"] } else { &[] })
    });
    let (sim, dir, inv) = on_sim(
        SimConfig {
            drop_after_rate: 0.3,
            update_duration: Duration::from_millis(300),
            seed: 7,
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    // Enough attempts that no write fails 12 times in a row (0.3^12): every failure left is
    // the repeat of a write that had landed.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--max-attempts",
            "12",
            "--report",
            "ddb-fleet-report.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(sim.stats().dropped_after > 0);
    let report = run.written_report(dir.path());
    assert!(statuses(&report).iter().all(|s| s == "changed"), "{report}");
    let confirmed = count_actions(&report, |a| {
        a["operation"] == "UpdateTable" && a["confirmed_by_reading"] == true
    });
    assert!(
        confirmed > 0,
        "no switch was confirmed by reading: {report}"
    );
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }
    // Rollback through the same faults: back to on-demand, every table restored.
    let rb = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "rollback",
            "ddb-fleet-report.json",
            "--yes",
            "--max-attempts",
            "12",
            "--report",
            "rb.json",
        ],
    );
    assert_eq!(rb.code, 0, "{rb:?}");
    let rb_report = rb.report(&dir.path().join("rb.json"));
    assert!(
        statuses(&rb_report).iter().all(|s| s == "changed"),
        "{rb_report}"
    );
    for (account, region, table, _) in &fleet {
        assert!(sim.table(account, region, table).on_demand, "{table}");
    }
}

#[test]
fn switch_limit_skips_the_table_and_leaves_it_whole() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let fleet = grid(1, &["us-east-1"], 2, |i| SimTable {
        switches_to_on_demand: if i == 0 {
            vec![now - 7200.0, now - 5400.0, now - 3600.0, now - 1800.0]
        } else {
            vec![]
        },
        ..SimTable::provisioned(5, &["g1"])
    });
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let account = fleet[0].0.clone();
    for t in ["table-00000", "table-00001"] {
        for (rid, kind) in [
            (format!("table/{t}"), "table"),
            (format!("table/{t}/index/g1"), "index"),
        ] {
            for side in ["Read", "Write"] {
                let target = SimTarget {
                    resource_id: rid.clone(),
                    dimension: format!("dynamodb:{kind}:{side}CapacityUnits"),
                    min: 1,
                    max: 10,
                };
                sim.add_scaling(&account, "us-east-1", target, 70.0);
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "fleet.csv", &fleet, ON_DEMAND);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    let limited = entry(&report, &account, "us-east-1", "table-00000");
    assert_eq!(limited["status"], "skipped");
    assert_eq!(limited["skip_reason"], "switch_limit");
    assert_eq!(limited["error"]["code"], "LimitExceededException");
    assert!(limited["next_switch_allowed_at"].is_string(), "{limited}");
    // Regression: AWS's refusal was reported `retryable: false`, so `--resume` left the table
    // out although the next day's run can switch it.
    assert_eq!(limited["error"]["retryable"], true, "{limited}");
    assert_eq!(
        limited["actions"][0]["attempts"], 1,
        "the switch limit is never retried"
    );
    assert_eq!(limited["actions"][1]["outcome"], "not_attempted");
    // Never half-configured: still provisioned, every target and policy still there.
    let r = sim.region(&account, "us-east-1");
    assert!(!r.tables["table-00000"].on_demand);
    assert_eq!(
        r.targets
            .iter()
            .filter(|t| t.resource_id.contains("table-00000"))
            .count(),
        4
    );
    assert_eq!(
        r.policies
            .iter()
            .filter(|p| p.resource_id.contains("table-00000"))
            .count(),
        4
    );
    // The other table went on-demand and lost its auto scaling.
    assert_eq!(
        entry(&report, &account, "us-east-1", "table-00001")["status"],
        "changed"
    );
    assert!(r.tables["table-00001"].on_demand);
    assert!(!r
        .targets
        .iter()
        .any(|t| t.resource_id.contains("table-00001")));
    assert!(!r
        .policies
        .iter()
        .any(|p| p.resource_id.contains("table-00001")));
}

#[test]
fn denied_accounts_and_unassumable_roles_fail_alone() {
    let fleet = grid(3, &["us-east-1"], 2, |_| SimTable::on_demand(&[]));
    let (denied, unassumable, fine) = (fleet[0].0.clone(), fleet[2].0.clone(), fleet[4].0.clone());
    let (sim, dir, inv) = on_sim(
        SimConfig {
            denied_accounts: [denied.clone()].into(),
            unassumable_roles: [format!("arn:aws:iam::{unassumable}:role/fleet")].into(),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.written_report(dir.path());
    for t in ["table-00000", "table-00001"] {
        let d = entry(&report, &denied, "us-east-1", t);
        assert_eq!(d["status"], "failed");
        assert_eq!(d["error"]["code"], "AccessDeniedException");
        let u = entry(&report, &unassumable, "us-east-1", t);
        assert_eq!(u["status"], "failed");
        assert_eq!(u["error"]["code"], "AssumeRoleFailed");
        assert!(
            u["error"]["message"]
                .as_str()
                .unwrap()
                .contains("AccessDenied"),
            "{u}"
        );
        assert_eq!(entry(&report, &fine, "us-east-1", t)["status"], "changed");
        assert_converged_provisioned(&sim, &fine, "us-east-1", t);
    }
    assert_eq!(
        sim.stats().by_operation.get("AssumeRole").copied(),
        Some(3),
        "one AssumeRole per role, failures included"
    );
    // Error paths carry AWS's messages and the SDK's context: never the credentials.
    let text = std::fs::read_to_string(run.report_path(dir.path())).unwrap();
    for out in [&text, &run.stderr, &run.stdout] {
        for secret in ["simsecret", "simtoken", BASE_SECRET] {
            assert!(!out.contains(secret), "{secret} leaked");
        }
    }
}

#[test]
fn global_tables_are_skipped_untouched() {
    let fleet = grid(1, &["us-east-1"], 2, |i| SimTable {
        replicas: if i == 0 {
            vec!["eu-west-1".into()]
        } else {
            vec![]
        },
        ..SimTable::on_demand(&[])
    });
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    let g = &report["tables"][0];
    assert_eq!(g["status"], "skipped");
    assert_eq!(g["skip_reason"], "global_table");
    assert_eq!(g["actions"], serde_json::json!([]));
    assert!(sim.table(&fleet[0].0, "us-east-1", "table-00000").on_demand);
    assert_eq!(report["tables"][1]["status"], "changed");
}

/// Every table's report entry agrees with the simulator: billing mode and auto scaling.
fn assert_report_matches_sim(report: &Value, sim: &Sim) {
    for t in report["tables"].as_array().unwrap() {
        let (account, region, name) = (
            t["account_id"].as_str().unwrap(),
            t["region"].as_str().unwrap(),
            t["table"].as_str().unwrap(),
        );
        let r = sim.region(account, region);
        if t["after"].is_null() && t["before"].is_null() {
            // Not read before the stop: nothing was sent to it.
            assert_eq!(t["status"], "interrupted", "{name}");
            assert!(t["actions"].as_array().unwrap().is_empty(), "{name}");
            continue;
        }
        let state = if t["after"].is_object() {
            &t["after"]
        } else {
            &t["before"]
        };
        let mode = if r.tables[name].on_demand {
            "PAY_PER_REQUEST"
        } else {
            "PROVISIONED"
        };
        assert_eq!(state["billing_mode"], mode, "{name}: {}", t["status"]);
        let targets = r
            .targets
            .iter()
            .filter(|x| {
                x.resource_id == format!("table/{name}")
                    || x.resource_id.starts_with(&format!("table/{name}/"))
            })
            .count();
        assert_eq!(
            state["scalable_targets"].as_array().unwrap().len(),
            targets,
            "{name}: {}",
            t["status"]
        );
        let done = t["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["outcome"] == "succeeded");
        match t["status"].as_str().unwrap() {
            "changed" => assert_converged_provisioned(sim, account, region, name),
            "interrupted" if !done => assert!(r.tables[name].on_demand, "{name} untouched"),
            "interrupted" => assert!(t["after"].is_object(), "{name}: what was done is read back"),
            other => panic!("{name}: unexpected status {other}"),
        }
    }
}

#[test]
fn interruption_stops_at_a_consistent_point_and_the_report_matches_aws() {
    let fleet = grid(2, &["us-east-1"], 15, |i| {
        SimTable::on_demand(if i % 2 == 0 { &["g1"] } else { &[] })
    });
    let (sim, dir, inv) = on_sim(
        SimConfig {
            latency: Duration::from_millis(40),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--concurrency", "3"],
    );
    // Wait until at least two tables are fully converged in AWS, then interrupt once.
    let converged = || {
        fleet
            .iter()
            .filter(|(a, r, t, _)| {
                let region = sim.region(a, r);
                let table = &region.tables[t];
                let mine = |rid: &str| {
                    rid == format!("table/{t}") || rid.starts_with(&format!("table/{t}/"))
                };
                let policies = region
                    .policies
                    .iter()
                    .filter(|p| mine(&p.resource_id))
                    .count();
                !table.on_demand && policies == 2 * (1 + table.gsis.len())
            })
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while converged() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code, 130, "{run:?}");
    let report = run.written_report(dir.path());
    assert_eq!(report["interrupted"], true);
    let s = statuses(&report);
    assert!(s.iter().any(|x| x == "changed"), "{s:?}");
    assert!(s.iter().any(|x| x == "interrupted"), "{s:?}");
    assert_eq!(report["summary"]["total"], 30);
    assert_report_matches_sim(&report, &sim);

    // A second run resumes: already-converged tables are unchanged, the rest are changed.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--report", "second.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    for (account, region, table, _) in &fleet {
        assert_converged_provisioned(&sim, account, region, table);
    }
}

#[test]
fn a_second_interrupt_exits_at_once_and_still_writes_the_report() {
    let fleet = grid(1, &["us-east-1"], 20, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            latency: Duration::from_millis(150),
            ..SimConfig::default()
        },
        &fleet,
        PROVISIONED,
    );
    let child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--concurrency",
            "2",
            "--report",
            "run.json",
        ],
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim
        .stats()
        .by_operation
        .get("UpdateTable")
        .copied()
        .unwrap_or(0)
        < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run made no progress"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(30));
    signal(&child, "INT");
    let run = finish(child);
    assert_eq!(run.code, 130, "{run:?}");
    let report = run.report(&dir.path().join("run.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["summary"]["total"], 20);
    // Every write that reached AWS is in the report, as done or as started.
    let recorded = count_actions(&report, |a| {
        a["operation"] == "UpdateTable"
            && (a["outcome"] == "succeeded" || a["outcome"] == "started")
    }) as u64;
    assert!(
        recorded >= sim.stats().by_operation["UpdateTable"],
        "{recorded} recorded"
    );
    // The second signal did not wait for the calls in flight (one signal lets each finish):
    // a write in flight is recorded as started, not as done; the first signal ends every wait
    // at once, so what is in flight then is most often the read-back of a switched table,
    // which never came.
    let in_flight = count_actions(&report, |a| a["outcome"] == "started");
    let unread = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| {
            t["after"].is_null()
                && t["actions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["operation"] == "UpdateTable" && a["outcome"] == "succeeded")
        })
        .count();
    assert!(in_flight + unread > 0, "nothing was cut short: {report}");
}

/// Regression: AWS counts AssumeRole against the calling account, and a throttled AssumeRole
/// used to fail every table of that account for the whole run.
#[test]
fn throttled_assume_role_is_retried_and_sts_is_limited_per_caller() {
    let fleet = grid(12, &["us-east-1"], 1, |_| SimTable::on_demand(&[]));
    let (sim, dir, inv) = on_sim(
        SimConfig {
            quota_per_sec: Some(3),
            ..SimConfig::default()
        },
        &fleet,
        ON_DEMAND,
    );
    // STS allowed far above the simulator's quota: AssumeRole gets throttled.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "plan",
            &inv,
            "--sts-rps",
            "100",
            "--max-attempts",
            "20",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(
        run.code, 0,
        "every account's role was assumed in the end: {run:?}"
    );
    let stats = sim.stats();
    assert!(
        stats.by_operation["AssumeRole"] > 12,
        "throttled AssumeRole calls were retried: {stats:?}"
    );

    // Our own STS limit holds for the whole run, across accounts.
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv, "--sts-rps", "4"]);
    assert_eq!(run.code, 0, "{run:?}");
    let stats = sim.stats();
    assert_eq!(stats.by_operation["AssumeRole"], 12);
    let sts_max = stats
        .max_accepted_per_window
        .iter()
        .filter(|((_, _, service), _)| service == "sts")
        .map(|(_, n)| *n)
        .max()
        .unwrap();
    assert!(sts_max <= 5, "{sts_max} AssumeRole calls in one second");
}

/// Calls of each operation the simulator received since `before`.
fn calls_since(before: &SimStats, sim: &Sim) -> std::collections::BTreeMap<String, u64> {
    sim.stats()
        .by_operation
        .into_iter()
        .map(|(op, n)| {
            let n = n - before.by_operation.get(&op).copied().unwrap_or(0);
            (op, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn auto_scaling_reads_are_batched_and_paged_as_aws_pages_them() {
    // 12 tables, half with one GSI: 18 resources, 36 policies once provisioned. AWS pages
    // DescribeScalingPolicies by at most 10 (the simulator refuses a larger MaxResults).
    let fleet = grid(1, &["us-east-1"], 12, |i| {
        SimTable::on_demand(if i % 2 == 0 { &["g1"] } else { &[] })
    });
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, PROVISIONED);

    // On-demand tables have no scalable targets, so no policy can exist: no policy reads.
    // Plan reads the targets of up to 16 tables at a time: one call for the 12.
    let before = sim.stats();
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv]);
    assert_eq!(run.code, 0, "{run:?}");
    let calls = calls_since(&before, &sim);
    assert_eq!(calls.get("DescribeScalableTargets"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DescribeScalingPolicies"), None, "{calls:?}");

    let before = sim.stats();
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", &inv, "--yes", "--autoscaling-rps", "100"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // Apply plans each table soon after it is described: how many tables a batch holds
    // depends on timing, but each batch reads the targets once and the recent peaks once
    // (every table switches to provisioned). Then one read-back: the targets once more, and
    // the namespace's 36 policies in four pages, not one read per table.
    let calls = calls_since(&before, &sim);
    let batches = calls.get("GetMetricData").copied().unwrap_or(0);
    assert!((1..=12).contains(&batches), "{calls:?}");
    assert_eq!(
        calls.get("DescribeScalableTargets"),
        Some(&(batches + 1)),
        "{calls:?}"
    );
    assert_eq!(calls.get("DescribeScalingPolicies"), Some(&4), "{calls:?}");
    let report = run.written_report(dir.path());
    for t in report["tables"].as_array().unwrap() {
        assert_eq!(t["status"], "changed", "{t}");
        let after = &t["after"];
        let gsis = if t["table"]
            .as_str()
            .unwrap()
            .ends_with(['0', '2', '4', '6', '8'])
        {
            1
        } else {
            0
        };
        assert_eq!(
            after["scaling_policies"].as_array().unwrap().len(),
            2 * (1 + gsis),
            "the read-back gives each table its own policies: {t}"
        );
    }

    // Converged: every policy is seen, over four pages of the namespace, for the one batch.
    let before = sim.stats();
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--detailed-exitcode"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let calls = calls_since(&before, &sim);
    assert_eq!(calls.get("DescribeScalableTargets"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DescribeScalingPolicies"), Some(&4), "{calls:?}");
}

/// Regression: an unreachable endpoint printed the SDK's debug dump (hundreds of characters
/// of `DispatchFailure(DispatchFailure { source: ConnectorError { ...`) in the plan's table.
/// STS answers (the simulator), DynamoDB does not: the table's line is one readable line, the
/// chain is in the report.
#[test]
fn an_unreachable_endpoint_is_one_readable_line_with_the_chain_in_the_report() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sts = Sim::start(SimConfig::default(), Vec::new());
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,role_name,region,table,mode\n111111111111,ops,us-east-1,t01,on_demand\n",
    );
    let run = ddb_fleet_with(
        &endpoint,
        dir.path(),
        &["plan", inv.to_str().unwrap(), "--max-attempts", "1"],
        &[("AWS_ENDPOINT_URL_STS", &sts.endpoint)],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("t01"))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(
        line.contains("ConnectionError: no answer: connection refused"),
        "{line}"
    );
    assert!(line.len() < 200, "{} characters: {line}", line.len());
    assert!(!line.contains("DispatchFailure"), "{line}");
    let report = run.written_report(dir.path());
    let error = &entry(&report, "111111111111", "us-east-1", "t01")["error"];
    assert!(
        error["detail"].as_str().unwrap().len() > error["message"].as_str().unwrap().len(),
        "{error}"
    );
}

/// With nowhere to ask who the caller is, the run says so in one line and reads nothing.
#[test]
fn an_unreachable_sts_is_one_line_before_anything_is_read() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,role_name,region,table,mode\n111111111111,ops,us-east-1,t01,on_demand\n",
    );
    let run = ddb_fleet(
        &endpoint,
        dir.path(),
        &["plan", inv.to_str().unwrap(), "--max-attempts", "1"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{run:?}");
    assert!(
        errors[0].contains("STS GetCallerIdentity") && errors[0].contains("connection refused"),
        "{run:?}"
    );
    assert!(errors[0].len() < 300, "{}", errors[0]);
    assert!(!run.stderr.contains("DispatchFailure"), "{run:?}");
}

/// A busy on-demand table switched to provisioned starts at its recent peak / target, not at
/// `min` (it would throttle while auto scaling catches up); without CloudWatch, at `min`, with
/// the reason in the report and the plan, and no failure.
#[test]
fn a_busy_table_switched_to_provisioned_starts_at_its_recent_peak() {
    let busy = SimTable {
        usage: Some(SimUsage {
            read: Profile::Steady(100.0),
            write: Profile::Steady(3000.0),
            gsi_share: 0.5,
        }),
        ..SimTable::on_demand(&["by-day"])
    };
    let fleet = grid(2, &["us-east-1"], 1, |_| busy.clone());
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let denied = fleet[1].0.clone();
    sim.deny_metrics(&denied);
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(
        dir.path(),
        "fleet.csv",
        &fleet,
        "provisioned,5,10000,70,5,10000,70",
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", &inv, "--report", "plan.json", "--all-tables"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("starting capacity: the last 30 minutes' peak / target"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("starting at min: the recent consumption could not be read"),
        "{}",
        run.stdout
    );
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["apply", &inv, "--yes"]);
    assert_eq!(run.code, 0, "{run:?}");
    let t = sim.table(&fleet[0].0, "us-east-1", "table-00000");
    // 3,000 writes/s (+-3 %) at a 70 % target: about 4,300; the GSI half of it.
    assert!((4100..=4500).contains(&t.write), "{}", t.write);
    assert!((140..=160).contains(&t.read), "{}", t.read);
    assert!(
        (2050..=2250).contains(&t.gsis["by-day"].write),
        "{}",
        t.gsis["by-day"].write
    );
    let t = sim.table(&denied, "us-east-1", "table-00000");
    assert_eq!((t.read, t.write), (5, 5), "no CloudWatch: min");
    let report = run.written_report(dir.path());
    let e = entry(&report, &denied, "us-east-1", "table-00000");
    assert_eq!(e["status"], "changed");
    assert!(
        e["before"]["recent_peaks_error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{e}"
    );
}

/// Regression: the README's demo printed eight lines of up to 2,000 characters, the `Debug` of
/// an SDK error with the raw HTTP response, in WARN lines and in the plan's steps. Through
/// every fault the simulator makes, whatever a person reads is one line per error, without a
/// `Debug` dump, and no line is long.
#[test]
fn through_every_fault_what_a_person_reads_has_no_sdk_dump() {
    let fleet = grid(4, &["us-east-1"], 6, |t| match t % 2 {
        0 => SimTable::on_demand(&["g1"]),
        _ => SimTable::provisioned(5, &[]),
    });
    let accounts: Vec<String> = (0..4)
        .map(|a| format!("{}", 100_000_000_000u64 + a))
        .collect();
    let mut config = SimConfig {
        error_rate: 0.2,
        drop_rate: 0.05,
        drop_after_rate: 0.05,
        ..SimConfig::default()
    };
    config.denied_accounts.insert(accounts[0].clone());
    config
        .unassumable_roles
        .insert(format!("arn:aws:iam::{}:role/fleet", accounts[1]));
    let (sim, dir, inv) = on_sim(config, &fleet, PROVISIONED);
    // CloudWatch answered by something that is not AWS: an HTML page (as moto 5.2.1 did).
    let html = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let html_endpoint = format!("http://{}", html.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in html.incoming().take(200) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = format!(
                "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>{}</body></html>",
                "x".repeat(3000)
            );
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let run = ddb_fleet_with(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            &inv,
            "--yes",
            "--max-attempts",
            "2",
            "--log-format",
            "text",
        ],
        &[("AWS_ENDPOINT_URL_CLOUDWATCH", &html_endpoint)],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = std::fs::read_to_string(run.report_path(dir.path())).unwrap();
    let messages: Vec<String> = serde_json::from_str::<Value>(&report).unwrap()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["error"]["message"].as_str().map(str::to_string))
        .collect();
    assert!(!messages.is_empty());
    assert!(
        run.stdout.contains("HTTP 404: <!DOCTYPE html>")
            || run.stderr.contains("HTTP 404: <!DOCTYPE html>"),
        "CloudWatch's page is said as its status and the start of its body: {run:?}"
    );
    let dumps = [
        "DispatchFailure(",
        "ConnectorError",
        "{ source:",
        "Some(",
        "kind: ",
        "headers:",
    ];
    for line in run
        .stdout
        .lines()
        .chain(run.stderr.lines())
        .chain(messages.iter().map(String::as_str))
    {
        assert!(
            line.chars().count() <= 500,
            "a line of {} characters: {line}",
            line.chars().count()
        );
        for d in dumps {
            assert!(!line.contains(d), "a Debug dump ({d}): {line}");
        }
    }
}
