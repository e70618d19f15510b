//! `advise` a FinOps lead can apply unattended, on the simulator (which serves throttled
//! requests, caps and provisioned capacity from each table's demand) and on moto: throttling
//! counted as demand and never lowering a bound, a cap that throttled raised, the cap floor,
//! history from earlier applies against AWS's class-change limit, GSI storage; then the advice
//! applied and a second sweep recommending nothing.

use crate::html_check::assert_well_formed;
use crate::sim::*;
use crate::support::*;
use serde_json::Value;

const ACCOUNT: &str = "100000000000";
const REGION: &str = "us-east-1";
const GB: i64 = 1 << 30;

fn with(read: Profile, write: Profile, gsi_share: f64, t: SimTable) -> SimTable {
    SimTable {
        usage: Some(SimUsage {
            read,
            write,
            gsi_share,
        }),
        ..t
    }
}

/// - capped: on-demand, reads capped at 100 a second, spiking to 300 each hour;
/// - quiet: on-demand, peaks of 2 reads and 1 write a second;
/// - under: provisioned at 50, reads on a daily cycle of 30 to 90 a second (throttled above
///   50), writes 40 a second;
/// - churned: 2 TB, cold, its class changed twice by this test's first two applies;
/// - big-index: 1 GB, cold, with a 2 TB GSI.
fn fleet() -> Vec<(String, String, String, SimTable)> {
    let row = |name: &str, t| (ACCOUNT.into(), REGION.into(), name.to_string(), t);
    let mut capped = with(
        Profile::Spiky {
            base: 5.0,
            spike: 300.0,
            every: 60,
        },
        Profile::Steady(1.0),
        0.0,
        SimTable::on_demand(&[]),
    );
    capped.caps = (Some(100), None);
    let quiet = with(
        Profile::Spiky {
            base: 0.1,
            spike: 2.0,
            every: 60,
        },
        Profile::Spiky {
            base: 0.1,
            spike: 1.0,
            every: 60,
        },
        0.0,
        SimTable::on_demand(&[]),
    );
    let under = with(
        Profile::Daily {
            base: 60.0,
            amplitude: 0.5,
        },
        Profile::Steady(40.0),
        0.0,
        SimTable::provisioned(50, &[]),
    );
    let mut churned = with(
        Profile::Steady(1.0),
        Profile::Steady(0.2),
        0.0,
        SimTable::on_demand(&[]),
    );
    churned.size_bytes = 2048 * GB;
    let mut big_index = with(
        Profile::Steady(1.0),
        Profile::Steady(0.5),
        1.0,
        SimTable::on_demand(&["idx"]),
    );
    big_index.size_bytes = GB;
    big_index.gsis.get_mut("idx").unwrap().size_bytes = 2048 * GB;
    vec![
        row("capped", capped),
        row("quiet", quiet),
        row("under", under),
        row("churned", churned),
        row("big-index", big_index),
    ]
}

fn advice<'a>(report: &'a Value, table: &str) -> &'a Value {
    &entry(report, ACCOUNT, REGION, table)["advice"]
}

fn dimension<'a>(a: &'a Value, side: &str) -> &'a Value {
    a["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["side"] == side && d.get("index").is_none())
        .unwrap()
}

/// Changes `churned`'s class with `apply`, recording the run as `report`.
fn change_class(sim: &Sim, dir: &std::path::Path, class: &str, report: &str) {
    let inv = write(
        dir,
        &format!("{report}.csv"),
        &format!("account_id,role_name,region,table,mode,table_class\n{ACCOUNT},fleet,{REGION},churned,on_demand,{class}\n"),
    );
    let run = ddb_fleet(
        &sim.endpoint,
        dir,
        &["apply", inv.to_str().unwrap(), "--yes", "--report", report],
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn throttling_caps_history_and_gsi_storage_and_a_second_sweep_recommends_nothing() {
    let sim = Sim::start(SimConfig::default(), fleet());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from("account_id,role_name,region,table,mode\n");
    for (_, _, name, _) in fleet() {
        text.push_str(&format!("{ACCOUNT},fleet,{REGION},{name},on_demand\n"));
    }
    let inv = write(d, "inv.csv", &text);
    let inv = inv.to_str().unwrap();
    // Two class changes this month, recorded by two applies.
    change_class(&sim, d, "standard_ia", "h1.json");
    // Times are recorded to the second (RFC 3339): two changes in one second are one. On AWS a
    // class change keeps the table UPDATING for minutes; here it takes milliseconds.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    change_class(&sim, d, "standard", "h2.json");
    assert_eq!(sim.table(ACCOUNT, REGION, "churned").class_changes.len(), 2);

    // DescribeTable shows only the last change: without the history, a third is advised,
    // which AWS would refuse.
    let run = ddb_fleet(
        &sim.endpoint,
        d,
        &[
            "advise",
            inv,
            "--table",
            "churned",
            "--report",
            "blind.json",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let blind = run.report(&d.join("blind.json"));
    assert_eq!(
        advice(&blind, "churned")["recommended"]["table_class"],
        "STANDARD_INFREQUENT_ACCESS"
    );

    let history = ["--history", "h1.json", "--history", "h2.json"];
    let mut args = vec![
        "advise",
        inv,
        "--cap-on-demand",
        "2",
        "-o",
        "advice.csv",
        "--html",
        "advice.html",
        "--report",
        "advice.json",
    ];
    args.extend(history);
    let run = ddb_fleet(&sim.endpoint, d, &args);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&d.join("advice.json"));

    // The cap that throttled: raised to 2 x (what was served + what was throttled), 600.
    let capped = advice(&report, "capped");
    let reads = dimension(capped, "read");
    assert!(
        reads["throttling"]["cap_events"].as_f64().unwrap() > 0.0,
        "{reads}"
    );
    assert_eq!(
        capped["recommended"]["max_read_request_units"], 600,
        "{capped}"
    );
    assert!(capped["reason"]
        .as_str()
        .unwrap()
        .contains("raises the maximum"));
    // The quiet table: the floor, not 2 x its peaks.
    let quiet = &advice(&report, "quiet")["recommended"];
    assert_eq!(quiet["max_read_request_units"], 100, "{quiet}");
    assert_eq!(quiet["max_write_request_units"], 100, "{quiet}");
    // The throttled provisioned table: its demand seen, never "the cheapest as it is".
    let under = advice(&report, "under");
    let reads = dimension(under, "read");
    assert!(
        reads["throttling"]["events"].as_f64().unwrap() > 0.0,
        "{reads}"
    );
    assert!(
        reads["demand_peak_per_second"].as_f64().unwrap() > 85.0,
        "{reads}"
    );
    assert!(reads["usage"]["peak_per_second"].as_f64().unwrap() <= 50.0 + 1e-9);
    assert_ne!(under["reason"], "already the cheapest option");
    assert!(
        under["reason"].as_str().unwrap().contains("throttled"),
        "{under}"
    );
    assert_ne!(under["confidence"], "high");
    if let Some(t) = reads.get("provisioned") {
        assert!(
            t["min"].as_i64().unwrap() >= 50 && t["max"].as_i64().unwrap() >= 50,
            "{t}"
        );
    }
    // Cost now as billed: the capacity CloudWatch reported in force.
    assert_eq!(reads["measured_capacity"], 50.0);
    assert_eq!(under["options"][0]["measured"], true);
    // History: the class stays, and the note says until when.
    let churned = advice(&report, "churned");
    assert_eq!(
        churned["recommended"]["table_class"], "STANDARD",
        "{churned}"
    );
    assert!(
        churned["notes"]
            .to_string()
            .contains("the class stays until"),
        "{churned}"
    );
    // GSI storage counts: the 1 GB table with a 2 TB index goes Standard-IA.
    assert_eq!(
        advice(&report, "big-index")["recommended"]["table_class"],
        "STANDARD_INFREQUENT_ACCESS"
    );
    assert_eq!(report["summary"]["throttled"], 2);
    assert!(report["settings"]["commitments"]
        .as_str()
        .unwrap()
        .contains("list prices"));
    assert!(run.stdout.contains("Prices: list prices"), "{}", run.stdout);
    assert!(run.stdout.contains("2 tables throttled"), "{}", run.stdout);
    // Throttling is in the inventory's comments and on the page.
    let csv = std::fs::read_to_string(d.join("advice.csv")).unwrap();
    let comment = csv.lines().find(|l| l.contains(" under:")).unwrap();
    assert!(comment.contains("requests throttled"), "{comment}");
    let page = std::fs::read_to_string(d.join("advice.html")).unwrap();
    assert_well_formed(&page);
    assert!(page.contains("Throttled in the window"));
    assert!(page.contains("requests throttled"));

    // Applied, then advised again: nothing more to recommend.
    let run = ddb_fleet(
        &sim.endpoint,
        d,
        &["apply", "advice.csv", "--yes", "--report", "apply.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(sim.table(ACCOUNT, REGION, "capped").caps.0, Some(600));
    assert_eq!(
        sim.table(ACCOUNT, REGION, "quiet").caps,
        (Some(100), Some(100))
    );
    assert_eq!(
        sim.table(ACCOUNT, REGION, "big-index").table_class,
        "STANDARD_INFREQUENT_ACCESS"
    );
    let mut args = vec![
        "advise",
        inv,
        "--cap-on-demand",
        "2",
        "--report",
        "again.json",
    ];
    args.extend(history);
    args.extend(["--history", "apply.json"]);
    let run = ddb_fleet(&sim.endpoint, d, &args);
    assert_eq!(run.code, 0, "{run:?}");
    let again = run.report(&d.join("again.json"));
    assert_eq!(again["summary"]["recommended"], 0, "{}", again["tables"]);
    // The raised cap no longer throttles: only the under-provisioned table still does.
    assert_eq!(again["summary"]["throttled"], 1);
}

/// The same rules against moto's CloudWatch (PutMetricData, then ddb-fleet's GetMetricData
/// over rpc-v2-cbor): a provisioned table at 100 read units, consuming all 100 and throttled
/// 20 more a second, is seen asking for 120, priced as billed from its provisioned capacity,
/// and keeps its bounds.
#[test]
fn moto_cloudwatch_throttled_table_keeps_its_bounds_and_is_priced_as_billed() {
    let moto = Moto::start();
    runtime().block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "us-east-1").await;
        aws.create_table("hot", Some((100, 100)), &[]).await;
        for (metric, value) in [
            ("ConsumedReadCapacityUnits", 100.0 * 60.0),
            ("ReadThrottleEvents", 20.0 * 60.0),
            ("ConsumedWriteCapacityUnits", 10.0 * 60.0),
            ("ProvisionedReadCapacityUnits", 100.0),
            ("ProvisionedWriteCapacityUnits", 100.0),
        ] {
            aws.metric("hot", metric, value, -30..5).await;
        }
    });
    let a = &advise_moto_table(&moto.endpoint, "0", "hot");
    let reads = dimension(a, "read");
    assert!(reads["throttling"]["events"].as_f64().unwrap() > 0.0, "{a}");
    assert!(
        (reads["demand_peak_per_second"].as_f64().unwrap() - 120.0).abs() < 1e-6,
        "{reads}"
    );
    assert_eq!(reads["measured_capacity"], 100.0, "{reads}");
    assert_eq!(a["options"][0]["measured"], true);
    assert_ne!(a["reason"], "already the cheapest option");
    assert!(
        a["notes"]
            .to_string()
            .contains("throttled, reads of the table"),
        "{a}"
    );
    if let Some(t) = reads.get("provisioned") {
        assert!(
            t["min"].as_i64().unwrap() >= 100 && t["max"].as_i64().unwrap() >= 100,
            "{t}"
        );
    }
    assert!(dimension(a, "write").get("throttling").is_none());
}
