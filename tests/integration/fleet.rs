//! A fleet of 3 accounts (reached by AssumeRole) in 2 regions with mixed starting states:
//! plan changes nothing, apply converges, AWS (read directly) has exactly what the inventory
//! says, and planning again finds nothing to do.

use crate::sim::{grid, SimConfig, SimTable};
use crate::support::*;
use sha2::{Digest, Sha256};

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";

const INVENTORY: &str = "\
# account, role, region, table, mode and thresholds
account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write,indexes
111111111111,fleet-admin,us-east-1,orders,provisioned,5,100,70,2,50,60,all
111111111111,fleet-admin,us-east-1,sessions,on_demand,,,,,,,
222222222222,fleet-admin,eu-west-1,events,provisioned,3,30,50,3,30,50,none
222222222222,fleet-admin,eu-west-1,users,ondemand,,,,,,,
333333333333,fleet-admin,us-east-1,carts,provisioned,1,10,70,1,10,70,
333333333333,fleet-admin,eu-west-1,ledger,provisioned,1,10,45,1,10,70,
";

struct Fleet {
    a: Aws,
    b: Aws,
    c_use1: Aws,
    c_euw1: Aws,
}

async fn seed(endpoint: &str) -> Fleet {
    let f = Fleet {
        a: Aws::new(endpoint, Some(A), "us-east-1").await,
        b: Aws::new(endpoint, Some(B), "eu-west-1").await,
        c_use1: Aws::new(endpoint, Some(C), "us-east-1").await,
        c_euw1: Aws::new(endpoint, Some(C), "eu-west-1").await,
    };
    // A: on-demand with a GSI -> provisioned with scaling on table and GSI.
    f.a.create_table("orders", None, &["by-customer"]).await;
    // A: provisioned with auto scaling -> on-demand (scaling must go).
    f.a.create_table("sessions", Some((5, 5)), &[]).await;
    f.a.scale_table("sessions", 1, 20, 70.0).await;
    // B: provisioned, no scaling, a GSI left alone (indexes = none).
    f.b.create_table("events", Some((3, 3)), &["by-type"]).await;
    // B: already on-demand.
    f.b.create_table("users", None, &[]).await;
    // C us-east-1: already converged.
    f.c_use1.create_table("carts", Some((1, 1)), &[]).await;
    f.c_use1.scale_table("carts", 1, 10, 70.0).await;
    // C eu-west-1: a read policy with another target and a custom name -> updated in place.
    f.c_euw1.create_table("ledger", Some((1, 1)), &[]).await;
    f.c_euw1.scale_table("ledger", 1, 10, 70.0).await;
    f.c_euw1
        .put_policy(
            "DynamoDBReadCapacityUtilization:table/ledger",
            "table/ledger",
            "dynamodb:table:ReadCapacityUnits",
            "DynamoDBReadCapacityUtilization",
            80.0,
        )
        .await;
    f
}

fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_apply_converge_across_accounts_and_regions() {
    let moto = Moto::start();
    let rt = runtime();
    let fleet = rt.block_on(seed(&moto.endpoint));
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "fleet.csv", INVENTORY);
    let inv = inv.to_str().unwrap();

    // --- plan: shows changes, changes nothing.
    let before_a = rt.block_on(fleet.a.targets());
    let plan = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["plan", inv, "--report", "plan.json", "--detailed-exitcode"],
    );
    assert_eq!(plan.code, 3, "drift must give exit 3: {plan:?}");
    let report = plan.report(&dir.path().join("plan.json"));
    assert_eq!(
        statuses(&report),
        [
            ("orders", "would_change"),
            ("sessions", "would_change"),
            ("events", "would_change"),
            ("users", "unchanged"),
            ("carts", "unchanged"),
            ("ledger", "would_change"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        plan.stdout
            .contains("Plan: 4 to change, 2 unchanged, 0 failed, 0 skipped (of 6 tables)."),
        "{plan:?}"
    );
    assert_eq!(
        rt.block_on(fleet.a.billing_mode("orders")),
        "PAY_PER_REQUEST",
        "plan must not change anything"
    );
    assert_eq!(rt.block_on(fleet.a.targets()), before_a);
    let orders = entry(&report, A, "us-east-1", "orders");
    assert!(orders["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["outcome"] == "planned" && a["attempts"] == 0));
    assert_eq!(orders["before"]["billing_mode"], "PAY_PER_REQUEST");
    assert!(orders["after"].is_null());

    // Without --detailed-exitcode, drift is success.
    let plan = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["plan", inv, "--report", "plan.json"],
    );
    assert_eq!(plan.code, 0, "{plan:?}");

    // --- apply.
    let apply = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["apply", inv, "--yes", "--report", "apply.json"],
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    let report = apply.report(&dir.path().join("apply.json"));
    assert_eq!(
        statuses(&report),
        [
            ("orders", "changed"),
            ("sessions", "changed"),
            ("events", "changed"),
            ("users", "unchanged"),
            ("carts", "unchanged"),
            ("ledger", "changed"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );

    // --- AWS, read directly, has exactly what the inventory says.
    rt.block_on(async {
        // orders: provisioned; table and GSI scaled read 5-100@70, write 2-50@60.
        assert_eq!(fleet.a.billing_mode("orders").await, "PROVISIONED");
        let t = fleet
            .a
            .ddb
            .describe_table()
            .table_name("orders")
            .send()
            .await
            .unwrap();
        let gsi = &t.table().unwrap().global_secondary_indexes()[0];
        assert_eq!(
            gsi.provisioned_throughput().unwrap().read_capacity_units(),
            Some(5),
            "GSI got throughput with the switch"
        );
        // sessions: on-demand; its scaling is gone.
        assert_eq!(fleet.a.billing_mode("sessions").await, "PAY_PER_REQUEST");
        let s = |x: &str| x.to_string();
        assert_eq!(
            fleet.a.targets().await,
            vec![
                (
                    s("table/orders"),
                    s("dynamodb:table:ReadCapacityUnits"),
                    5,
                    100
                ),
                (
                    s("table/orders"),
                    s("dynamodb:table:WriteCapacityUnits"),
                    2,
                    50
                ),
                (
                    s("table/orders/index/by-customer"),
                    s("dynamodb:index:ReadCapacityUnits"),
                    5,
                    100
                ),
                (
                    s("table/orders/index/by-customer"),
                    s("dynamodb:index:WriteCapacityUnits"),
                    2,
                    50
                ),
            ]
        );
        let policies: Vec<(String, String, f64)> = fleet
            .a
            .policies()
            .await
            .into_iter()
            .map(|(r, d, _, v)| (r, d, v))
            .collect();
        assert_eq!(
            policies,
            vec![
                (
                    s("table/orders"),
                    s("dynamodb:table:ReadCapacityUnits"),
                    70.0
                ),
                (
                    s("table/orders"),
                    s("dynamodb:table:WriteCapacityUnits"),
                    60.0
                ),
                (
                    s("table/orders/index/by-customer"),
                    s("dynamodb:index:ReadCapacityUnits"),
                    70.0
                ),
                (
                    s("table/orders/index/by-customer"),
                    s("dynamodb:index:WriteCapacityUnits"),
                    60.0
                ),
            ]
        );
        // events: table scaled, GSI left alone (indexes = none).
        assert_eq!(
            fleet.b.targets().await,
            vec![
                (
                    s("table/events"),
                    s("dynamodb:table:ReadCapacityUnits"),
                    3,
                    30
                ),
                (
                    s("table/events"),
                    s("dynamodb:table:WriteCapacityUnits"),
                    3,
                    30
                ),
            ]
        );
        assert_eq!(fleet.b.billing_mode("users").await, "PAY_PER_REQUEST");
        // ledger: the read policy was updated in place (same name, one policy), write untouched.
        assert_eq!(
            fleet.c_euw1.policies().await,
            vec![
                (
                    s("table/ledger"),
                    s("dynamodb:table:ReadCapacityUnits"),
                    s("DynamoDBReadCapacityUtilization:table/ledger"),
                    45.0
                ),
                (
                    s("table/ledger"),
                    s("dynamodb:table:WriteCapacityUnits"),
                    s("DynamoDBWriteCapacityUtilization:table/ledger"),
                    70.0
                ),
            ]
        );
        // The other region of account C is separate: carts untouched.
        assert_eq!(fleet.c_use1.targets().await.len(), 2);
    });

    // --- the report's fields.
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["command"], "apply");
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["inventory"]["path"], inv);
    let sha = Sha256::digest(INVENTORY.as_bytes());
    let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(report["inventory"]["sha256"], sha);
    assert_eq!(
        report["summary"],
        serde_json::json!({"total": 6, "changed": 4, "unchanged": 2, "would_change": 0, "failed": 0, "skipped": 0, "interrupted": 0})
    );
    let sessions = entry(&report, A, "us-east-1", "sessions");
    let ops: Vec<&str> = sessions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        [
            "UpdateTable",
            "WaitForActive",
            "DeleteScalingPolicy",
            "DeregisterScalableTarget",
            "DeleteScalingPolicy",
            "DeregisterScalableTarget"
        ],
        "switch first, then remove auto scaling"
    );
    for a in sessions["actions"].as_array().unwrap() {
        assert_eq!(a["outcome"], "succeeded", "{a}");
        assert!(a["attempts"].as_u64().unwrap() >= 1);
        assert!(a["started_at"].is_string());
    }
    assert_eq!(sessions["actions"][0]["billing_mode"], "PAY_PER_REQUEST");
    assert_eq!(sessions["actions"][3]["target"], "table/sessions");
    assert_eq!(sessions["before"]["billing_mode"], "PROVISIONED");
    assert_eq!(
        sessions["before"]["scalable_targets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(sessions["after"]["billing_mode"], "PAY_PER_REQUEST");
    assert_eq!(sessions["after"]["scalable_targets"], serde_json::json!([]));
    assert_eq!(sessions["after"]["scaling_policies"], serde_json::json!([]));
    assert_eq!(sessions["desired"]["mode"], "on_demand");
    assert_eq!(
        sessions["desired"]["role_arn"],
        format!("arn:aws:iam::{A}:role/fleet-admin")
    );
    assert_eq!(sessions["source"]["line"], 4);
    assert!(sessions["error"].is_null());
    let orders = entry(&report, A, "us-east-1", "orders");
    assert_eq!(
        orders["desired"]["read"],
        serde_json::json!({"min": 5, "max": 100, "target": 70.0})
    );
    assert_eq!(orders["after"]["billing_mode"], "PROVISIONED");
    assert_eq!(
        orders["after"]["scalable_targets"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let carts = entry(&report, C, "us-east-1", "carts");
    assert_eq!(carts["actions"], serde_json::json!([]));
    assert_eq!(carts["before"], carts["after"]);

    // No secret in the report or the logs.
    let text = std::fs::read_to_string(dir.path().join("apply.json")).unwrap();
    for out in [&text, &apply.stderr, &apply.stdout] {
        assert!(!out.contains(BASE_SECRET));
        assert!(!out.to_ascii_lowercase().contains("session_token"));
        assert!(
            !out.contains("FQoGZXIvYXdzE"),
            "a moto session token leaked"
        );
    }
    // Logs are JSON lines by default.
    for line in apply.stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string());
    }

    // --- converged: planning again finds nothing.
    let again = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["plan", inv, "--report", "again.json", "--detailed-exitcode"],
    );
    assert_eq!(again.code, 0, "second plan must be empty: {again:?}");
    let report = again.report(&dir.path().join("again.json"));
    assert_eq!(report["summary"]["unchanged"], 6);
}

#[test]
fn one_failed_table_does_not_stop_the_others() {
    let moto = Moto::start();
    let rt = runtime();
    let a = rt.block_on(async {
        let a = Aws::new(&moto.endpoint, Some(A), "us-east-1").await;
        a.create_table("present", Some((1, 1)), &[]).await;
        a
    });
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.toml",
        r#"
[defaults]
role_name = "fleet-admin"
region = "us-east-1"
mode = "on_demand"

[[tables]]
account_id = "111111111111"
table = "missing"

[[tables]]
account_id = "111111111111"
table = "present"
"#,
    );
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "apply",
            inv.to_str().unwrap(),
            "--yes",
            "--log-format",
            "text",
        ],
    );
    assert_eq!(run.code, 1, "a failed table must give exit 1: {run:?}");
    let report = run.written_report(dir.path());
    let missing = entry(&report, A, "us-east-1", "missing");
    assert_eq!(missing["status"], "failed");
    assert_eq!(missing["error"]["code"], "ResourceNotFoundException");
    assert_eq!(missing["error"]["retryable"], false);
    assert_eq!(
        entry(&report, A, "us-east-1", "present")["status"],
        "changed"
    );
    assert_eq!(rt.block_on(a.billing_mode("present")), "PAY_PER_REQUEST");
    assert!(run.stdout.contains("ResourceNotFoundException"), "{run:?}");
}

/// Everything rollback restores, read from AWS directly: billing modes, targets, policies.
async fn aws_state(f: &Fleet) -> Vec<String> {
    let mut out = Vec::new();
    for (name, aws, tables) in [
        ("a", &f.a, &["orders", "sessions"][..]),
        ("b", &f.b, &["events", "users"][..]),
        ("c1", &f.c_use1, &["carts"][..]),
        ("c2", &f.c_euw1, &["ledger"][..]),
    ] {
        for t in tables {
            out.push(format!("{name} {t} {}", aws.billing_mode(t).await));
        }
        out.push(format!("{name} targets {:?}", aws.targets().await));
        out.push(format!("{name} policies {:?}", aws.policies().await));
    }
    out
}

#[test]
fn rollback_restores_the_recorded_before_state() {
    let moto = Moto::start();
    let rt = runtime();
    let fleet = rt.block_on(seed(&moto.endpoint));
    let original = rt.block_on(aws_state(&fleet));
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "fleet.csv", INVENTORY);
    let apply = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "apply",
            inv.to_str().unwrap(),
            "--yes",
            "--report",
            "apply.json",
        ],
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_ne!(
        rt.block_on(aws_state(&fleet)),
        original,
        "the apply changed things"
    );

    // The rollback plan changes nothing and lists the four changed tables.
    let plan = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "rollback",
            "apply.json",
            "--plan-only",
            "--report",
            "rb-plan.json",
        ],
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    let report = plan.report(&dir.path().join("rb-plan.json"));
    assert_eq!(report["command"], "rollback");
    assert_eq!(report["summary"]["total"], 4, "only the changed tables");
    assert_eq!(report["summary"]["would_change"], 4);
    assert_eq!(report["tables"][0]["desired"]["restore"], true);
    assert!(plan.stdout.contains("Plan: 4 to change"), "{plan:?}");
    assert_ne!(rt.block_on(aws_state(&fleet)), original);

    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["rollback", "apply.json", "--yes", "--report", "rb.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("rb.json"));
    assert_eq!(report["summary"]["changed"], 4, "{}", report["summary"]);
    assert!(run.stdout.contains("\nRollback: 4 changed"), "{run:?}");
    assert_eq!(
        rt.block_on(aws_state(&fleet)),
        original,
        "AWS is back to the recorded before state"
    );

    // Rolled back: a second rollback finds nothing to do.
    let again = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "rollback",
            "apply.json",
            "--plan-only",
            "--report",
            "rb2.json",
        ],
    );
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        again.report(&dir.path().join("rb2.json"))["summary"]["unchanged"],
        4
    );
}

/// The CSV export's rows, exactly: each table's mode and thresholds as applied (the
/// inventory's), the GSI whose policy was changed by hand in a row of its own at 40 %.
fn assert_exported_rows(text: &str) {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let row = |table: &str, index: &str| -> Vec<String> {
        let r = rows
            .iter()
            .find(|r| &r[4] == table && &r[5] == index)
            .unwrap_or_else(|| panic!("no row for {table} {index}:\n{text}"));
        (6..=12).map(|i| r[i].to_string()).collect()
    };
    let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        row("orders", ""),
        want(&["provisioned", "5", "100", "70", "2", "50", "60"])
    );
    assert_eq!(
        row("orders", "by-customer"),
        want(&["provisioned", "5", "100", "40", "2", "50", "60"])
    );
    assert_eq!(
        row("sessions", ""),
        want(&["on_demand", "", "", "", "", "", ""])
    );
    assert_eq!(
        row("carts", ""),
        want(&["provisioned", "1", "10", "70", "1", "10", "70"])
    );
    assert_eq!(
        row("ledger", ""),
        want(&["provisioned", "1", "10", "45", "1", "10", "70"])
    );
}

#[test]
fn export_then_plan_reports_no_change() {
    let moto = Moto::start();
    let rt = runtime();
    let fleet = rt.block_on(seed(&moto.endpoint));
    let dir = tempfile::tempdir().unwrap();
    // Make one GSI's auto scaling differ from its table's.
    let inv = write(dir.path(), "fleet.csv", INVENTORY);
    let apply = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["apply", inv.to_str().unwrap(), "--yes"],
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    rt.block_on(fleet.a.put_policy(
        "DynamoDBReadCapacityUtilization:table/orders/index/by-customer",
        "table/orders/index/by-customer",
        "dynamodb:index:ReadCapacityUnits",
        "DynamoDBReadCapacityUtilization",
        40.0,
    ));

    for out in ["export.csv", "export.toml"] {
        let run = ddb_fleet(
            &moto.endpoint,
            dir.path(),
            &[
                "export",
                "--account",
                A,
                "--account",
                B,
                "--account",
                C,
                "--region",
                "us-east-1",
                "--region",
                "eu-west-1",
                "--role-name",
                "fleet-admin",
                "-o",
                out,
            ],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let text = std::fs::read_to_string(dir.path().join(out)).unwrap();
        // `events` keeps its GSI alone (indexes = none) and has no such problem; every table is
        // either a row or a note.
        for t in ["orders", "sessions", "events", "users", "carts", "ledger"] {
            assert!(text.contains(t), "{t} missing from {out}:\n{text}");
        }
        assert!(
            text.contains("by-customer"),
            "the differing GSI has its own row:\n{text}"
        );
        if out.ends_with(".csv") {
            assert_exported_rows(&text);
        }
        let plan = ddb_fleet(
            &moto.endpoint,
            dir.path(),
            &["plan", out, "--detailed-exitcode", "--report", "p.json"],
        );
        assert_eq!(
            plan.code, 0,
            "plan on the export must find nothing to do: {plan:?}\n{text}"
        );
        let report = plan.report(&dir.path().join("p.json"));
        assert_eq!(
            report["summary"]["total"], report["summary"]["unchanged"],
            "{}",
            report["summary"]
        );
        assert!(report["summary"]["total"].as_u64().unwrap() >= 6);
    }

    // Provisioned without auto scaling: a note, not a guess.
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "export",
            "--account",
            B,
            "--region",
            "eu-west-1",
            "--role-name",
            "fleet-admin",
            "--table",
            "ev*",
            "-o",
            "ev.csv",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(dir.path().join("ev.csv")).unwrap();
    assert!(text.contains("events"));
}

/// moto (>= 5.2.6) serves CloudWatch as AWS does: a second implementation beside the
/// simulator's. A busy on-demand table switched to provisioned starts at its last half hour's
/// peak / target, read from moto's CloudWatch.
#[test]
fn moto_cloudwatch_gives_a_switch_its_starting_capacity() {
    let moto = Moto::start();
    let rt = runtime();
    rt.block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "us-east-1").await;
        aws.create_table("busy", None, &[]).await;
        aws.consumed("busy", "ConsumedReadCapacityUnits", 140.0, 30)
            .await;
        aws.consumed("busy", "ConsumedWriteCapacityUnits", 35.0, 30)
            .await;
    });
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n123456789012,,us-east-1,busy,provisioned,5,1000,70,5,500,70\n",
    );
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["apply", inv.to_str().unwrap(), "--yes"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    let switch = &entry(&report, "123456789012", "us-east-1", "busy")["actions"][0];
    // 140 reads/s at 70 % -> 200; 35 writes/s at 70 % -> 50.
    assert_eq!(switch["provisioned_throughput"]["read"], 200, "{switch}");
    assert_eq!(switch["provisioned_throughput"]["write"], 50, "{switch}");
}

/// A small `advise` against moto's CloudWatch whose answer is plain: a provisioned table at
/// 100 units that consumes nothing is advised on-demand (moto's tables are all new: the
/// window is as long as the table is old, so no minimum of days is asked).
#[test]
fn moto_cloudwatch_advises_an_idle_provisioned_table_on_demand() {
    let moto = Moto::start();
    let rt = runtime();
    rt.block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "us-east-1").await;
        aws.create_table("idle", Some((100, 100)), &[]).await;
        aws.consumed("idle", "ConsumedReadCapacityUnits", 0.0, 1440)
            .await;
        aws.consumed("idle", "ConsumedWriteCapacityUnits", 0.0, 1440)
            .await;
    });
    let advice = &advise_moto_table(&moto.endpoint, "0.5", "idle");
    for d in advice["dimensions"].as_array().unwrap() {
        assert_eq!(d["usage"]["idle"], true, "{d}");
        assert_eq!(d["usage"]["total_units"], 0.0, "{d}");
    }
    // On-demand costs nothing for no traffic: the cheapest option by far. (moto's table is
    // minutes old, so the advice is `insufficient_data`: a day of history cannot be older
    // than the table.)
    let options = advice["options"].as_array().unwrap();
    let cheapest = options
        .iter()
        .min_by(|a, b| {
            a["monthly"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["monthly"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(cheapest["mode"], "PAY_PER_REQUEST", "{advice}");
    assert!(advice["monthly_now"].as_f64().unwrap() > 50.0, "{advice}");
}

/// Regression: `plan` of 400 tables printed 2,206 lines (a line per table, then every step).
/// By default the changes are grouped by what they do, every table that needs a look has its
/// own line with the reason, and the counts go by account; `--all-tables` prints everything.
#[test]
fn a_plan_of_400_mixed_tables_reads_in_a_screenful_or_two() {
    let fleet = grid(4, &["us-east-1", "eu-west-1"], 50, |t| match t % 4 {
        0 => SimTable::on_demand(&[]),
        1 => SimTable::on_demand(&["g1"]),
        2 => SimTable::provisioned(5, &[]),
        _ => SimTable::provisioned(5, &["g1", "g2"]),
    });
    let denied = fleet[0].0.clone();
    let mut config = SimConfig::default();
    config.denied_accounts.insert(denied.clone());
    let (sim, dir, inv) = on_sim(config, &fleet, PROVISIONED);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines = run.stdout.lines().count();
    assert!(lines <= 150, "{lines} lines:\n{}", run.stdout);
    assert!(
        run.stdout.contains("Changes, grouped by what they do:"),
        "{}",
        run.stdout
    );
    // Each of the denied account's 100 tables is on a line of its own, with the reason.
    let denied_lines = run
        .stdout
        .lines()
        .filter(|l| l.contains(&denied) && l.contains("AccessDeniedException"))
        .count();
    assert_eq!(denied_lines, 100, "{}", run.stdout);
    assert!(run.stdout.contains("\nBy account:\n"), "{}", run.stdout);
    let all = ddb_fleet(&sim.endpoint, dir.path(), &["plan", &inv, "--all-tables"]);
    assert!(all.stdout.lines().count() > 1_000, "every table and step");
}
