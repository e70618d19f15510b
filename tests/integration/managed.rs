//! Tables a stack manages: a table in a CloudFormation stack (`aws:cloudformation:stack-name`)
//! or carrying a `--managed-tag` keeps its settings (advise writes it as it is, apply skips it
//! with reason `managed`) unless `--include-managed`; advise -> apply -> advise again
//! recommends nothing; tags that cannot be read leave the owner unknown, said, not skipped; a
//! bad `--managed-tag` is refused before any AWS call. On the simulator, and on moto.

use crate::sim::*;
use crate::support::*;
use serde_json::{json, Value};

const ACCOUNT: &str = "100000000000";
const REGION: &str = "us-east-1";

/// An on-demand table busy enough all day that provisioned is far cheaper, with these tags.
fn busy(tags: &[(&str, &str)]) -> SimTable {
    SimTable {
        usage: Some(SimUsage {
            read: Profile::Steady(2000.0),
            write: Profile::Steady(500.0),
            gsi_share: 0.3,
        }),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..SimTable::on_demand(&[])
    }
}

/// A stack's table (with more tags than one ListTagsOfResource page holds, the stack's last),
/// a Terraform table, a table tagged by another tool, and an untagged one.
fn fleet() -> Vec<(String, String, String, SimTable)> {
    let mut stack_tags: Vec<(String, String)> = (0..11)
        .map(|i| (format!("cost-centre-{i}"), "finops".to_string()))
        .collect();
    stack_tags.push(("aws:cloudformation:logical-id".into(), "Orders".into()));
    stack_tags.push(("aws:cloudformation:stack-name".into(), "orders-prod".into()));
    let stacked = SimTable {
        tags: stack_tags,
        ..busy(&[])
    };
    [
        ("stacked", stacked),
        ("terraformed", busy(&[("managed-by", "terraform")])),
        ("pulumi", busy(&[("managed-by", "pulumi")])),
        ("free", busy(&[])),
    ]
    .into_iter()
    .map(|(n, t)| (ACCOUNT.into(), REGION.into(), n.into(), t))
    .collect()
}

/// Runs ddb-fleet with `args` and `--report report` (in `dir`), which must succeed: the run
/// and its report.
fn succeeds(endpoint: &str, dir: &std::path::Path, args: &[&str], report: &str) -> (Run, Value) {
    let mut args = args.to_vec();
    args.extend(["--report", report]);
    let run = ddb_fleet(endpoint, dir, &args);
    assert_eq!(run.code, 0, "{run:?}");
    let written = run.report(&dir.join(report));
    (run, written)
}

fn owner(report: &Value, table: &str, state: &str) -> Value {
    entry(report, ACCOUNT, REGION, table)[state]["owner"].clone()
}

fn advise(sim: &Sim, dir: &std::path::Path, inv: &str, name: &str, extra: &[&str]) -> Value {
    let output = format!("{name}.csv");
    let mut args = vec![
        "advise",
        inv,
        "-o",
        &output,
        "--managed-tag",
        "managed-by=terraform",
    ];
    args.extend_from_slice(extra);
    succeeds(&sim.endpoint, dir, &args, &format!("{name}.json")).1
}

#[test]
fn managed_tables_keep_their_settings_and_advise_apply_advise_recommends_nothing() {
    let fleet = fleet();
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, ON_DEMAND);
    let d = dir.path();
    let first = advise(&sim, d, &inv, "advice", &["--html", "advice.html"]);
    let status = |r: &Value, t: &str| entry(r, ACCOUNT, REGION, t)["status"].clone();
    // Each would be cheaper provisioned; the stack's and Terraform's are only reported.
    assert_eq!(status(&first, "stacked"), "managed");
    assert_eq!(status(&first, "terraformed"), "managed");
    assert_eq!(
        status(&first, "pulumi"),
        "recommended",
        "not a --managed-tag"
    );
    assert_eq!(status(&first, "free"), "recommended");
    assert_eq!(
        owner(&first, "stacked", "state"),
        json!({"stack": "orders-prod"})
    );
    assert_eq!(
        owner(&first, "terraformed", "state"),
        json!({"tag": "managed-by=terraform"})
    );
    assert_eq!(owner(&first, "free", "state"), json!("none"));
    let stacked = &entry(&first, ACCOUNT, REGION, "stacked")["advice"];
    assert_eq!(
        stacked["recommended"]["mode"], "PROVISIONED",
        "the advice is shown"
    );
    assert_eq!(first["summary"]["managed"], 2);
    assert_eq!(first["summary"]["recommended"], 2);
    assert!(first["summary"]["monthly_saving_managed"].as_f64().unwrap() > 0.0);
    assert_eq!(
        first["settings"]["managed_tags"],
        json!(["managed-by=terraform"])
    );
    // The inventory keeps the managed tables as they are, with the reason in their comment;
    // the page and the summary say it too.
    let csv = std::fs::read_to_string(d.join("advice.csv")).unwrap();
    let row = |t: &str| {
        csv.lines()
            .find(|l| l.contains(&format!(",{t},")))
            .unwrap_or_else(|| panic!("{t} not in {csv}"))
            .to_string()
    };
    assert!(row("stacked").contains("on_demand"), "{csv}");
    assert!(row("terraformed").contains("on_demand"), "{csv}");
    assert!(row("free").contains("provisioned"), "{csv}");
    assert!(
        csv.contains("managed by stack orders-prod: not written to the inventory"),
        "{csv}"
    );
    let page = std::fs::read_to_string(d.join("advice.html")).unwrap();
    assert!(
        page.contains("managed by tag managed-by=terraform"),
        "no owner in the page"
    );
    let run = ddb_fleet(&sim.endpoint, d, &["advise", &inv, "--report", "x.json"]);
    assert!(
        run.stdout.contains("managed by a CloudFormation stack"),
        "{}",
        run.stdout
    );

    // apply of an inventory asking every table to change: the managed ones are skipped, the
    // owner read for them and shown; the advice inventory applied as it is.
    let want = sim_inventory(d, "all.csv", &fleet, PROVISIONED);
    let (run, forced) = succeeds(
        &sim.endpoint,
        d,
        &[
            "apply",
            &want,
            "--yes",
            "--managed-tag",
            "managed-by=terraform",
        ],
        "forced.json",
    );
    for t in ["stacked", "terraformed"] {
        let e = entry(&forced, ACCOUNT, REGION, t);
        assert_eq!(e["status"], "skipped", "{e}");
        assert_eq!(e["skip_reason"], "managed", "{e}");
        assert!(sim.table(ACCOUNT, REGION, t).on_demand, "{t} was changed");
    }
    assert_eq!(
        owner(&forced, "stacked", "before"),
        json!({"stack": "orders-prod"})
    );
    assert!(
        run.stdout.contains("managed by stack orders-prod"),
        "{}",
        run.stdout
    );
    assert_eq!(entry(&forced, ACCOUNT, REGION, "free")["status"], "changed");
    assert!(!sim.table(ACCOUNT, REGION, "pulumi").on_demand);
    // AWS's quota for ListTagsOfResource is per account: ddb-fleet kept within its rate.
    let tags = (
        ACCOUNT.to_string(),
        ALL_REGIONS.to_string(),
        DYNAMODB_TAGS.to_string(),
    );
    // Paced at 5 a second: n calls span at least (n - 1) / 5 seconds. (The most in any one
    // second can reach 6 or 7 on a loaded machine, as arrivals bunch: not a measure of pace.)
    let stats = sim.stats();
    let n = stats.accepted[&tags];
    let (first, last) = stats.accepted_span[&tags];
    let span = (last - first).as_secs_f64();
    assert!(n >= 4, "{n} tag reads");
    assert!(
        (n - 1) as f64 / span <= 5.0 * 1.05,
        "{n} tag reads in {span:.2} s"
    );

    succeeds(
        &sim.endpoint,
        d,
        &["apply", "advice.csv", "--yes"],
        "a.json",
    );
    let again = advise(&sim, d, &inv, "again", &[]);
    assert_eq!(again["summary"]["recommended"], 0, "{}", again["tables"]);
    assert_eq!(again["summary"]["managed"], 2);
    let (_, plan) = succeeds(&sim.endpoint, d, &["plan", "again.csv"], "p.json");
    assert_eq!(plan["summary"]["would_change"], 0, "{}", plan["tables"]);

    // --include-managed: the recommendation is written and applied.
    let all = advise(&sim, d, &inv, "all", &["--include-managed"]);
    assert_eq!(status(&all, "stacked"), "recommended");
    succeeds(
        &sim.endpoint,
        d,
        &["apply", "all.csv", "--yes", "--include-managed"],
        "b.json",
    );
    assert!(!sim.table(ACCOUNT, REGION, "stacked").on_demand);
    let last = advise(&sim, d, &inv, "last", &["--include-managed"]);
    assert_eq!(last["summary"]["recommended"], 0, "{}", last["tables"]);
}

#[test]
fn tags_that_cannot_be_read_leave_the_owner_unknown_and_say_so() {
    let fleet = fleet();
    let (sim, dir, inv) = on_sim(SimConfig::default(), &fleet, ON_DEMAND);
    sim.deny_tags(ACCOUNT);
    let d = dir.path();
    let want = sim_inventory(d, "all.csv", &fleet, PROVISIONED);
    let (run, plan) = succeeds(&sim.endpoint, d, &["plan", &want], "plan.json");
    let stacked = entry(&plan, ACCOUNT, REGION, "stacked");
    assert_eq!(stacked["status"], "would_change", "not skipped: {stacked}");
    let why = stacked["before"]["owner"]["unknown"].as_str().unwrap();
    assert!(why.starts_with("AccessDeniedException"), "{why}");
    assert!(
        run.stdout.contains("whose owner could not be read"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("grant dynamodb:ListTagsOfResource"),
        "{}",
        run.stderr
    );

    let report = advise(&sim, d, &inv, "advice", &[]);
    assert_eq!(report["summary"]["owner_unknown"], 4);
    assert_eq!(report["summary"]["managed"], 0);
    let csv = std::fs::read_to_string(d.join("advice.csv")).unwrap();
    assert!(
        csv.contains("owner not known (AccessDeniedException"),
        "{csv}"
    );
}

#[test]
fn a_bad_managed_tag_is_refused_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "inv.csv",
        "account_id,region,table,mode\n111111111111,us-east-1,t,on_demand\n",
    );
    let inv = inv.to_str().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    silent.set_nonblocking(true).unwrap();
    for (command, tag, words) in [
        ("plan", "=terraform", "names no tag key"),
        ("apply", "managed#by=x", "which AWS does not allow in tags"),
        ("advise", "", "names no tag key"),
    ] {
        let run = ddb_fleet(&endpoint, dir.path(), &[command, inv, "--managed-tag", tag]);
        assert_eq!(run.code, 2, "{command} {tag}: {run:?}");
        assert!(run.stderr.contains("--managed-tag"), "{run:?}");
        assert!(run.stderr.contains(words), "{run:?}");
    }
    assert!(silent.accept().is_err(), "a request reached AWS");
}

/// moto keeps tags (TagResource, ListTagsOfResource): the same skip against it.
#[test]
fn on_moto_a_stack_table_is_skipped_and_included_on_request() {
    let moto = Moto::start();
    let rt = runtime();
    rt.block_on(async {
        let aws = Aws::new(&moto.endpoint, None, "eu-west-1").await;
        for t in ["stacked", "free"] {
            aws.create_table(t, None, &[]).await;
        }
        let arn = aws
            .ddb
            .describe_table()
            .table_name("stacked")
            .send()
            .await
            .unwrap()
            .table()
            .unwrap()
            .table_arn()
            .unwrap()
            .to_string();
        let tag = |k: &str, v: &str| {
            aws_sdk_dynamodb::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        };
        aws.ddb
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("aws:cloudformation:stack-name", "orders-prod"))
            .tags(tag("team", "payments"))
            .send()
            .await
            .unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inv = write(
        d,
        "inv.csv",
        &format!(
            "account_id,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n123456789012,eu-west-1,stacked,{PROVISIONED}\n123456789012,eu-west-1,free,{PROVISIONED}\n"
        ),
    );
    let inv = inv.to_str().unwrap();
    let (_, report) = succeeds(&moto.endpoint, d, &["apply", inv, "--yes"], "a.json");
    let stacked = entry(&report, "123456789012", "eu-west-1", "stacked");
    assert_eq!(stacked["skip_reason"], "managed", "{stacked}");
    assert_eq!(stacked["before"]["owner"], json!({"stack": "orders-prod"}));
    assert_eq!(
        entry(&report, "123456789012", "eu-west-1", "free")["status"],
        "changed"
    );
    let mode = |t: &str| {
        rt.block_on(async {
            let aws = Aws::new(&moto.endpoint, None, "eu-west-1").await;
            let out = aws.ddb.describe_table().table_name(t).send().await.unwrap();
            out.table()
                .unwrap()
                .billing_mode_summary()
                .and_then(|s| s.billing_mode().cloned())
        })
    };
    assert_eq!(
        mode("stacked"),
        Some(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
    );
    let (_, report) = succeeds(
        &moto.endpoint,
        d,
        &["apply", inv, "--yes", "--include-managed"],
        "b.json",
    );
    let stacked = entry(&report, "123456789012", "eu-west-1", "stacked");
    assert_eq!(stacked["status"], "changed", "{stacked}");
    assert_eq!(
        mode("stacked"),
        Some(aws_sdk_dynamodb::types::BillingMode::Provisioned)
    );
}
