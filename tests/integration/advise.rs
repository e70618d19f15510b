//! `advise` on the simulator (it serves CloudWatch's rpc-v2-cbor GetMetricData from usage
//! profiles): clear cases decided right, the advice inventory applied, a second sweep
//! recommending nothing; the HTML page parsed; bad flags refused before any AWS call; and
//! `AWS_ENDPOINT_URL_CLOUDWATCH` beside `AWS_ENDPOINT_URL` (DynamoDB on moto).

use crate::html_check::assert_well_formed;
use crate::sim::cbor::{decode, Cbor};
use crate::sim::*;
use crate::support::*;
use serde_json::Value;
use std::time::Duration;

const ACCOUNT: &str = "100000000000";
const REGION: &str = "us-east-1";
const GB: i64 = 1 << 30;

fn table(usage: SimUsage, t: SimTable) -> SimTable {
    SimTable {
        usage: Some(usage),
        ..t
    }
}

fn usage(read: Profile, write: Profile) -> SimUsage {
    SimUsage {
        read,
        write,
        gsi_share: 0.3,
    }
}

/// The clear cases of the issue, one table each.
fn fleet() -> Vec<(String, String, String, SimTable)> {
    let row =
        |name: &str, t: SimTable| (ACCOUNT.to_string(), REGION.to_string(), name.to_string(), t);
    let mut global = SimTable::on_demand(&[]);
    global.replicas = vec!["eu-west-1".into()];
    let mut cold = table(
        usage(Profile::Steady(1.0), Profile::Steady(0.2)),
        SimTable::on_demand(&[]),
    );
    cold.size_bytes = 500 * GB;
    let mut new = table(
        usage(Profile::Steady(2000.0), Profile::Steady(500.0)),
        SimTable::on_demand(&[]),
    );
    new.age = Duration::from_secs(3 * 86_400);
    vec![
        row(
            "steady",
            table(
                usage(Profile::Steady(2000.0), Profile::Steady(500.0)),
                SimTable::on_demand(&["by-day"]),
            ),
        ),
        row(
            "spiky",
            table(
                usage(
                    Profile::Spiky {
                        base: 1.0,
                        spike: 2500.0,
                        every: 180,
                    },
                    Profile::Spiky {
                        base: 1.0,
                        spike: 2000.0,
                        every: 240,
                    },
                ),
                SimTable::provisioned(3000, &[]),
            ),
        ),
        row(
            "idle",
            table(
                usage(Profile::Idle, Profile::Idle),
                SimTable::provisioned(50, &["by-x"]),
            ),
        ),
        row("cold", cold),
        row("new", new),
        row("global", global),
    ]
}

fn inventory(dir: &std::path::Path) -> String {
    let mut text = String::from("account_id,role_name,region,table,mode\n");
    for (account, region, name, _) in fleet() {
        text.push_str(&format!("{account},fleet,{region},{name},on_demand\n"));
    }
    write(dir, "inv.csv", &text).to_str().unwrap().to_string()
}

fn status<'a>(report: &'a Value, table: &str) -> &'a str {
    entry(report, ACCOUNT, REGION, table)["status"]
        .as_str()
        .unwrap()
}

fn recommended<'a>(report: &'a Value, table: &str) -> &'a Value {
    &entry(report, ACCOUNT, REGION, table)["advice"]["recommended"]
}

#[test]
fn advise_decides_clear_cases_and_a_second_sweep_after_apply_recommends_nothing() {
    let sim = Sim::start(SimConfig::default(), fleet());
    let dir = tempfile::tempdir().unwrap();
    let inv = inventory(dir.path());
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "advise",
            &inv,
            "-o",
            "advice.csv",
            "--html",
            "advice.html",
            "--report",
            "advice.json",
            "--cap-on-demand",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("advice.json"));
    assert_eq!(report["command"], "advise");
    assert_eq!(report["schema_version"], 1);

    assert_eq!(
        status(&report, "steady"),
        "recommended",
        "{}",
        entry(&report, ACCOUNT, REGION, "steady")
    );
    assert_eq!(recommended(&report, "steady")["mode"], "PROVISIONED");
    assert_eq!(recommended(&report, "spiky")["mode"], "PAY_PER_REQUEST");
    assert_eq!(status(&report, "spiky"), "recommended");
    assert_eq!(recommended(&report, "idle")["mode"], "PAY_PER_REQUEST");
    let idle_notes = &entry(&report, ACCOUNT, REGION, "idle")["advice"]["notes"];
    assert!(idle_notes.to_string().contains("idle"), "{idle_notes}");
    assert_eq!(
        recommended(&report, "cold")["table_class"],
        "STANDARD_INFREQUENT_ACCESS"
    );
    assert_eq!(status(&report, "new"), "insufficient_data");
    assert_eq!(status(&report, "global"), "skipped");
    // Caps at 2 x the observed peak on the tables going on-demand.
    assert!(
        recommended(&report, "spiky")["max_read_request_units"]
            .as_i64()
            .unwrap()
            >= 5000
    );

    // CloudWatch was asked in pages (every page counted) and the usage summarised.
    let cw = &report["cloudwatch"];
    assert!(cw["calls"].as_u64().unwrap() >= 5, "{cw}");
    assert!(cw["metrics_requested"].as_u64().unwrap() >= cw["calls"].as_u64().unwrap());
    assert!(sim.stats().metric_queries >= cw["metrics_requested"].as_u64().unwrap());
    let steady = &entry(&report, ACCOUNT, REGION, "steady")["advice"];
    assert!((steady["days_of_data"].as_f64().unwrap() - 14.0).abs() < 0.01);
    let reads = steady["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["side"] == "read" && d.get("index").is_none())
        .unwrap();
    let avg = reads["usage"]["average_per_second"].as_f64().unwrap();
    assert!((avg - 2000.0).abs() < 60.0, "{avg}");
    assert!(report["summary"]["monthly_saving"].as_f64().unwrap() > 0.0);
    assert!(run.stdout.contains("Savings by account"), "{}", run.stdout);

    // The HTML page: self-contained and well-formed, with a chart per saving table; its one
    // script (sorting and filtering the list of tables) is inline.
    let page = std::fs::read_to_string(dir.path().join("advice.html")).unwrap();
    assert_well_formed(&page);
    assert_eq!(page.matches("<script").count(), 1);
    assert_eq!(page.matches("<script>").count(), 1);
    for external in ["src=", "href=", "http://", "https://", "@import", "url("] {
        let n = page.matches(external).count();
        let svg_ns = page.matches("http://www.w3.org/2000/svg").count();
        assert!(
            external != "http://" && n == 0 || external == "http://" && n == svg_ns,
            "{external} in the page"
        );
    }
    assert!(page.contains("Savings by account") && page.contains("steady"));

    // plan on the advice shows exactly the recommended changes; apply them; advise again.
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", "advice.csv", "--report", "plan.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let plan = run.report(&dir.path().join("plan.json"));
    for t in plan["tables"].as_array().unwrap() {
        let want = if status(&report, t["table"].as_str().unwrap()) == "recommended" {
            "would_change"
        } else {
            "unchanged"
        };
        assert_eq!(t["status"], want, "{t}");
    }
    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["apply", "advice.csv", "--yes", "--report", "apply.json"],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!sim.table(ACCOUNT, REGION, "steady").on_demand);
    assert!(sim.table(ACCOUNT, REGION, "spiky").on_demand);
    assert_eq!(
        sim.table(ACCOUNT, REGION, "cold").table_class,
        "STANDARD_INFREQUENT_ACCESS"
    );

    let run = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "advise",
            &inv,
            "--report",
            "again.json",
            "--cap-on-demand",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let again = run.report(&dir.path().join("again.json"));
    assert_eq!(again["summary"]["recommended"], 0, "{}", again["tables"]);
}

#[test]
fn the_simulator_speaks_cbor_as_the_sdk_does() {
    let v = Cbor::Map(vec![
        (
            "A".into(),
            Cbor::Array(vec![Cbor::Int(1), Cbor::Int(-300), Cbor::Float(2.5)]),
        ),
        ("T".into(), Cbor::Time(1_790_000_000)),
        ("S".into(), Cbor::Text("x".repeat(300))),
    ]);
    let back = decode(&v.to_bytes()).unwrap();
    assert_eq!(back["A"], serde_json::json!([1, -300, 2.5]));
    assert_eq!(back["T"], 1_790_000_000);
    assert_eq!(back["S"].as_str().unwrap().len(), 300);
}

#[test]
fn bad_advise_flags_and_price_files_exit_2_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "inv.csv", "account_id,region,table,mode\n111111111111,ap-south-1,t01,on_demand\n111111111111,us-east-1,t02,on_demand\n");
    let inv = inv.to_str().unwrap();
    let good = write(
        dir.path(),
        "good.csv",
        "account_id,region,table,mode\n111111111111,us-east-1,t02,on_demand\n",
    );
    let good = good.to_str().unwrap();
    let prices = write(dir.path(), "p.toml", "currency = \"USD\"\ndate = \"2026-12-01\"\nsource = \"x\"\n[regions.us-east-1]\nstandard = { read_per_million = -1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }\n");
    let prices = prices.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["advise", inv],
            "inv.csv:2: field `region`: no prices for region `ap-south-1`",
        ),
        (
            vec!["advise", good, "--days", "20", "--period", "60"],
            "CloudWatch keeps 60-second data 15 days",
        ),
        (vec!["advise", good, "--days", "500"], "at most 455 days"),
        (
            vec!["advise", good, "--min-savings-percent", "120"],
            "from 0 to 100",
        ),
        (
            vec!["advise", good, "--cap-on-demand", "0.5"],
            "--cap-on-demand 0.5",
        ),
        (
            vec!["advise", good, "--prices", prices],
            "p.toml:5: field `regions.us-east-1.standard.read_per_million`",
        ),
        (
            vec!["advise", good, "-o", "advice.json"],
            "name the file *.csv or *.toml",
        ),
        (
            vec!["advise"],
            "advise needs an inventory, or --account and --region",
        ),
    ];
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    silent.set_nonblocking(true).unwrap();
    for (args, words) in cases {
        let run = ddb_fleet(&endpoint, dir.path(), &args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(words), "{args:?}: {run:?}");
    }
    assert!(silent.accept().is_err(), "a request reached AWS");
}

#[test]
fn cloudwatch_failures_fail_their_tables_alone_and_its_own_endpoint_variable_is_honoured() {
    // DynamoDB on moto, CloudWatch on the simulator (AWS_ENDPOINT_URL_CLOUDWATCH).
    let moto = Moto::start();
    let rt = runtime();
    let aws = rt.block_on(Aws::new(&moto.endpoint, None, REGION));
    rt.block_on(aws.create_table("busy", None, &[]));
    let moto_account = "123456789012";
    let sim = Sim::start(
        SimConfig {
            unknown_key_account: Some(moto_account.into()),
            ..SimConfig::default()
        },
        vec![(
            moto_account.into(),
            REGION.into(),
            "busy".into(),
            table(
                usage(Profile::Steady(2000.0), Profile::Steady(500.0)),
                SimTable::on_demand(&[]),
            ),
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        &format!("account_id,region,table,mode\n{moto_account},{REGION},busy,on_demand\n"),
    );
    let env = [("AWS_ENDPOINT_URL_CLOUDWATCH", sim.endpoint.as_str())];
    let run = ddb_fleet_with(
        &moto.endpoint,
        dir.path(),
        &["advise", inv.to_str().unwrap(), "--report", "a.json"],
        &env,
    );
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("a.json"));
    // moto's table was created a moment ago: too little data, but its metrics were read.
    assert_eq!(
        entry(&report, moto_account, REGION, "busy")["status"],
        "insufficient_data"
    );
    assert!(
        sim.stats().metric_queries > 0,
        "CloudWatch went to its own endpoint"
    );

    // CloudWatch denied: the table fails, with the reason; exit 1.
    sim.deny_metrics(moto_account);
    let run = ddb_fleet_with(
        &moto.endpoint,
        dir.path(),
        &["advise", inv.to_str().unwrap(), "--report", "b.json"],
        &env,
    );
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.report(&dir.path().join("b.json"));
    let busy = entry(&report, moto_account, REGION, "busy");
    assert_eq!(busy["status"], "failed");
    assert_eq!(busy["error"]["code"], "AccessDenied", "{busy}");
}

/// `scripts/advise-demo.sh`: a seeded fleet (two accounts, two regions, every usage profile),
/// advised, the advice applied, and advised again; outputs in `$ADVISE_DEMO_DIR`.
#[test]
#[ignore = "a demo: scripts/advise-demo.sh runs it"]
fn demo_on_a_seeded_fleet() {
    let profiles: Vec<(&str, SimTable)> = vec![
        (
            "orders",
            table(
                usage(Profile::Steady(1500.0), Profile::Steady(400.0)),
                SimTable::on_demand(&["by-customer"]),
            ),
        ),
        (
            "sessions",
            table(
                usage(
                    Profile::Daily {
                        base: 800.0,
                        amplitude: 0.6,
                    },
                    Profile::Daily {
                        base: 300.0,
                        amplitude: 0.6,
                    },
                ),
                SimTable::on_demand(&[]),
            ),
        ),
        (
            "checkout",
            table(
                usage(
                    Profile::Spiky {
                        base: 2.0,
                        spike: 3000.0,
                        every: 120,
                    },
                    Profile::Spiky {
                        base: 1.0,
                        spike: 1500.0,
                        every: 120,
                    },
                ),
                SimTable::provisioned(4000, &[]),
            ),
        ),
        (
            "legacy",
            table(
                usage(Profile::Idle, Profile::Idle),
                SimTable::provisioned(100, &["by-date"]),
            ),
        ),
        (
            "events",
            table(
                usage(
                    Profile::Growing {
                        from: 50.0,
                        to: 600.0,
                    },
                    Profile::Growing {
                        from: 20.0,
                        to: 300.0,
                    },
                ),
                SimTable::on_demand(&[]),
            ),
        ),
        ("archive", {
            let mut t = table(
                usage(Profile::Steady(0.5), Profile::Steady(0.1)),
                SimTable::on_demand(&[]),
            );
            t.size_bytes = 800 * GB;
            t
        }),
        // Capped at 200 reads a second, its daily peak of 270 throttled at the cap.
        ("catalog", {
            let mut t = table(
                usage(
                    Profile::Daily {
                        base: 150.0,
                        amplitude: 0.8,
                    },
                    Profile::Steady(2.0),
                ),
                SimTable::on_demand(&[]),
            );
            t.caps = (Some(200), None);
            t
        }),
        // Fixed at 50 units, reads of 30 to 90 a second: throttled every afternoon.
        (
            "ledger",
            table(
                usage(
                    Profile::Daily {
                        base: 60.0,
                        amplitude: 0.5,
                    },
                    Profile::Steady(40.0),
                ),
                SimTable::provisioned(50, &[]),
            ),
        ),
        // 2 GB of items, 1.5 TB in its GSI: Standard-IA pays for itself on the index.
        ("audit", {
            let mut t = table(
                usage(Profile::Steady(1.0), Profile::Steady(0.5)),
                SimTable::on_demand(&["by-actor"]),
            );
            t.size_bytes = 2 * GB;
            t.gsis.get_mut("by-actor").unwrap().size_bytes = 1536 * GB;
            t
        }),
    ];
    let mut fleet = Vec::new();
    for account in ["100000000000", "100000000001"] {
        for region in ["us-east-1", "eu-west-1"] {
            for (name, t) in &profiles {
                fleet.push((
                    account.to_string(),
                    region.to_string(),
                    name.to_string(),
                    t.clone(),
                ));
            }
        }
    }
    // One account's `orders` belongs to a CloudFormation stack: reported, left as it is.
    if let Some((_, _, _, t)) = fleet
        .iter_mut()
        .find(|(a, r, n, _)| a == "100000000001" && r == "us-east-1" && n == "orders")
    {
        t.tags = vec![(
            "aws:cloudformation:stack-name".into(),
            "orders-service".into(),
        )];
    }
    let sim = Sim::start(SimConfig::default(), fleet.clone());
    let dir = std::env::var("ADVISE_DEMO_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("ddb-fleet-advise-demo"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::from("account_id,role_name,region,table,mode\n");
    for (account, region, name, _) in &fleet {
        text.push_str(&format!("{account},fleet,{region},{name},on_demand\n"));
    }
    let inv = write(&dir, "fleet.csv", &text);
    let inv = inv.to_str().unwrap();
    let steps: [(&str, Vec<&str>); 4] = [
        (
            "advise",
            vec![
                "advise",
                inv,
                "-o",
                "advice.csv",
                "--html",
                "advice.html",
                "--report",
                "advice.json",
                "--cap-on-demand",
                "2",
                "--log-format",
                "text",
            ],
        ),
        (
            "plan the advice",
            vec![
                "plan",
                "advice.csv",
                "--report",
                "plan.json",
                "--log-format",
                "text",
            ],
        ),
        (
            "apply the advice",
            vec![
                "apply",
                "advice.csv",
                "--yes",
                "--report",
                "apply.json",
                "--log-format",
                "text",
            ],
        ),
        (
            "advise again (nothing to recommend)",
            vec![
                "advise",
                inv,
                "--report",
                "again.json",
                "--cap-on-demand",
                "2",
                "--log-format",
                "text",
            ],
        ),
    ];
    for (title, args) in steps {
        let run = ddb_fleet_with(&sim.endpoint, &dir, &args, &[("RUST_LOG", "warn")]);
        println!(
            "\n== ddb-fleet {}   ({title}, exit {})\n{}",
            args.join(" "),
            run.code,
            run.stdout
        );
        assert!(run.code == 0, "{run:?}");
    }
    println!(
        "Outputs in {}: advice.csv, advice.html, advice.json, apply.json, again.json",
        dir.display()
    );
}
