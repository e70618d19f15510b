//! Operating the fleet: discovery by pattern, sharding and report merge, resume, and the
//! small commands (iam-policy, completions).

use crate::sim::*;
use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;

const HEADER: &str = "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n";

fn keys(report: &Value) -> BTreeSet<(String, String, String)> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().to_string(),
                t["region"].as_str().unwrap().to_string(),
                t["table"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn patterns_expand_through_list_tables_and_explicit_rows_win() {
    let account = "123456789012";
    let mut fleet: Vec<_> = (0..130)
        .map(|i| {
            (
                account.to_string(),
                "us-east-1".to_string(),
                format!("orders-{i:03}"),
                SimTable::on_demand(&[]),
            )
        })
        .collect();
    fleet.push((
        account.into(),
        "us-east-1".into(),
        "users".into(),
        SimTable::provisioned(5, &[]),
    ));
    let sim = Sim::start(SimConfig::default(), fleet);
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        &format!(
            "{HEADER}{account},fleet,us-east-1,orders-*,provisioned,2,20,70,1,10,60\n{account},fleet,us-east-1,orders-005,on_demand,,,,,,\n{account},fleet,us-east-1,*,on_demand,,,,,,\n"
        ),
    );
    let inv = inv.to_str().unwrap();
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", inv]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert_eq!(report["summary"]["total"], 131, "every table once");
    assert!(sim.stats().by_operation["ListTables"] >= 2, "paginated");
    let e = |t: &str| entry(&report, account, "us-east-1", t).clone();
    assert_eq!(
        e("orders-005")["desired"]["mode"],
        "on_demand",
        "the explicit row wins"
    );
    assert_eq!(e("orders-005")["source"]["line"], 3);
    assert_eq!(
        e("orders-129")["desired"]["mode"],
        "provisioned",
        "the first pattern wins"
    );
    assert_eq!(e("orders-129")["source"]["line"], 2);
    assert_eq!(e("users")["desired"]["mode"], "on_demand");
    assert_eq!(e("users")["source"]["line"], 4);
    assert_eq!(e("users")["status"], "would_change");

    // Filters apply to the expanded tables.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", inv, "--yes", "--table", "orders-01?"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.written_report(dir.path());
    assert_eq!(report["summary"]["changed"], 10);
    assert!(!sim.table(account, "us-east-1", "orders-012").on_demand);
    assert!(sim.table(account, "us-east-1", "orders-020").on_demand);
}

#[test]
fn shards_are_disjoint_cover_the_fleet_and_merge_to_the_unsharded_summary() {
    let fleet = grid(3, &["us-east-1", "eu-west-1"], 10, |i| {
        if i % 3 == 0 {
            SimTable::provisioned(5, &[])
        } else {
            SimTable::on_demand(&[])
        }
    });
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEADER.to_string();
    for (a, r, t, _) in &fleet {
        text.push_str(&format!("{a},fleet,{r},{t},on_demand,,,,,,\n"));
    }
    let inv = write(dir.path(), "inv.csv", &text);
    let inv = inv.to_str().unwrap();
    let whole = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", inv, "--report", "whole.json"],
    );
    assert_eq!(whole.code, 0, "{whole:?}");
    let whole = whole.report(&dir.path().join("whole.json"));

    let mut union = BTreeSet::new();
    let mut parts = Vec::new();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let name = format!("shard-{k}.json");
        let run = ddb_fleet(
            &sim.endpoint,
            dir.path(),
            &["plan", inv, "--shard", &shard, "--report", &name],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let r = run.report(&dir.path().join(&name));
        let ks = keys(&r);
        assert!(
            !ks.is_empty() && ks.len() < 60,
            "shard {k} has {} tables",
            ks.len()
        );
        assert!(union.is_disjoint(&ks), "shards overlap");
        union.extend(ks);
        parts.push(name);
    }
    assert_eq!(union, keys(&whole), "the shards cover the fleet");

    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["-o", "all.json"]);
    let run = ddb_fleet(&sim.endpoint, dir.path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let merged = run.report(&dir.path().join("all.json"));
    assert_eq!(merged["summary"], whole["summary"]);
    assert_eq!(keys(&merged), keys(&whole));

    // Overlapping reports are refused: the same shard twice.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["report", "merge", &parts[0], &parts[0], "-o", "bad.json"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("shard 0/3 is there twice"), "{run:?}");
    let run = ddb_fleet(&sim.endpoint, dir.path(), &["plan", inv, "--shard", "3/3"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("K must be from 0 to N-1"), "{run:?}");
}

#[test]
fn resume_acts_only_on_what_the_report_left_undone() {
    let fleet = grid(2, &["us-east-1"], 3, |_| SimTable::on_demand(&[]));
    let denied = fleet[0].0.clone();
    let sim = Sim::start(
        SimConfig {
            denied_accounts: [denied.clone()].into(),
            ..SimConfig::default()
        },
        fleet.clone(),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEADER.to_string();
    for (a, r, t, _) in &fleet {
        text.push_str(&format!("{a},fleet,{r},{t},provisioned,2,20,70,1,10,60\n"));
    }
    let inv = write(dir.path(), "inv.csv", &text);
    let inv = inv.to_str().unwrap();
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", inv, "--yes", "--report", "first.json"],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let first = run.report(&dir.path().join("first.json"));
    assert_eq!(first["summary"]["failed"], 3);
    assert_eq!(first["summary"]["changed"], 3);

    // The permissions are fixed; resume touches only the failed tables.
    sim.allow_account(&denied);
    let describes = sim.stats().by_operation["DescribeTable"];
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "apply",
            inv,
            "--yes",
            "--resume",
            "first.json",
            "--report",
            "second.json",
            "--reread-after-ms",
            "0",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let second = run.report(&dir.path().join("second.json"));
    let resumed: BTreeSet<String> = keys(&second).into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(
        resumed,
        [denied.clone()].into(),
        "only the failed account's tables"
    );
    assert_eq!(second["summary"]["changed"], 3);
    // 3 reads, 3 reads right before the switch, 3 waits and 3 read-backs: the other
    // account's tables were not even read.
    assert_eq!(sim.stats().by_operation["DescribeTable"] - describes, 12);
    for (a, r, t, _) in &fleet {
        assert!(!sim.table(a, r, t).on_demand);
    }

    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", inv, "--yes", "--resume", "second.json"],
    );
    assert_eq!(run.code, 2, "nothing left to do is said clearly: {run:?}");
    assert!(run.stderr.contains("matches none"), "{run:?}");
}

#[test]
fn iam_policy_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let inv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories/example.toml");
    let run = ddb_fleet(
        "http://127.0.0.1:9",
        dir.path(),
        &["iam-policy", inv.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let roles = v["caller"]["Statement"][0]["Resource"].as_array().unwrap();
    assert_eq!(roles.len(), 4);
    assert!(roles.contains(&Value::from(
        "arn:aws:iam::333333333333:role/platform/ddb-fleet-admin"
    )));
    for shell in ["bash", "zsh", "fish"] {
        let run = ddb_fleet("http://127.0.0.1:9", dir.path(), &["completions", shell]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.contains("ddb-fleet") && run.stdout.contains("apply"),
            "{shell}"
        );
    }
}
