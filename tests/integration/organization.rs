//! A whole organisation without an inventory of accounts: accounts from AWS Organizations
//! (moto: nested OUs, a suspended account), regions from DescribeRegions in each account; an
//! inventory `*` row with explicit rows that override it, applied until a plan is empty; and,
//! against the simulator, an account whose role cannot be assumed and a region not enabled.

use crate::sim::{Sim, SimConfig, SimTable, CALLER_ACCOUNT};
use crate::support::*;
use aws_sdk_organizations::Client as Org;

const ROLE: &str = "OrganizationAccountAccessRole";

/// The organisation moto holds after [`organisation`].
struct Accounts {
    root: String,
    payments: String,
    /// The OU payments/prod.
    prod_ou: String,
    prod: String,
    dev: String,
    sandbox: String,
    /// moto's default account, the management account, in the root.
    management: String,
}

async fn ou(org: &Org, parent: &str, name: &str) -> String {
    let out = org
        .create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .unwrap();
    out.organizational_unit().unwrap().id().unwrap().to_string()
}

async fn account(org: &Org, name: &str, root: &str, parent: &str) -> String {
    let out = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .unwrap();
    let id = out
        .create_account_status()
        .unwrap()
        .account_id()
        .unwrap()
        .to_string();
    org.move_account()
        .account_id(&id)
        .source_parent_id(root)
        .destination_parent_id(parent)
        .send()
        .await
        .unwrap();
    id
}

/// Root / payments (payments-dev) / prod (payments-prod); Root / sandbox (old-sandbox,
/// closed: SUSPENDED); the management account in the root.
async fn organisation(endpoint: &str) -> Accounts {
    let org = Org::new(&base_config(endpoint, "us-east-1").await);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let roots = org.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    let payments = ou(&org, &root, "payments").await;
    let prod_ou = ou(&org, &payments, "prod").await;
    let sandbox_ou = ou(&org, &root, "sandbox").await;
    let prod = account(&org, "payments-prod", &root, &prod_ou).await;
    let dev = account(&org, "payments-dev", &root, &payments).await;
    let sandbox = account(&org, "old-sandbox", &root, &sandbox_ou).await;
    org.close_account()
        .account_id(&sandbox)
        .send()
        .await
        .unwrap();
    Accounts {
        root,
        payments,
        prod_ou,
        prod,
        dev,
        sandbox,
        management: "123456789012".into(),
    }
}

/// `export` of every table under `ou`, in every enabled region, to `out`.
fn export_ou<'a>(ou: &'a str, out: &'a str) -> [&'a str; 9] {
    [
        "export",
        "--ou",
        ou,
        "--region",
        "all",
        "--role-name",
        ROLE,
        "-o",
        out,
    ]
}

/// The simulator's fleet: an on-demand table at each (account, region, name).
fn on_demand_tables(tables: &[(&String, &str, &str)]) -> Vec<(String, String, String, SimTable)> {
    tables
        .iter()
        .map(|(a, r, t)| {
            (
                a.to_string(),
                r.to_string(),
                t.to_string(),
                SimTable::on_demand(&[]),
            )
        })
        .collect()
}

fn accounts_of(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["organization"]["accounts"]
        .as_array()
        .unwrap_or_else(|| panic!("no organization in {report}"))
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                a["status"].as_str().unwrap().to_string(),
                a["ou_path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `export --ou` reads the accounts under the OU and its child OU, in every region enabled in
/// each; the suspended account and the accounts outside the OU are not read.
#[test]
fn export_an_ou_with_its_child_ous_in_every_enabled_region() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();
    let org = rt.block_on(async {
        let org = organisation(&moto.endpoint).await;
        let prod = Aws::new(&moto.endpoint, Some(&org.prod), "us-east-1").await;
        prod.create_table("orders", None, &[]).await;
        Aws::new(&moto.endpoint, Some(&org.prod), "eu-west-1")
            .await
            .create_table("carts", None, &[])
            .await;
        Aws::new(&moto.endpoint, Some(&org.dev), "us-east-1")
            .await
            .create_table("dev-orders", None, &[])
            .await;
        Aws::new(&moto.endpoint, None, "us-east-1")
            .await
            .create_table("billing", None, &[])
            .await;
        org
    });
    let out = dir.path().join("payments.csv");
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &export_ou(&org.payments, out.to_str().unwrap()),
    );
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    for (account, region, table) in [
        (&org.prod, "us-east-1", "orders"),
        (&org.prod, "eu-west-1", "carts"),
        (&org.dev, "us-east-1", "dev-orders"),
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{account},"))
                && l.contains(region)
                && l.contains(table)),
            "{account} {region} {table} not exported:\n{text}"
        );
    }
    assert!(!text.contains("billing"), "outside the OU:\n{text}");
    assert!(!text.contains(&org.sandbox), "{text}");
    assert!(
        run.stdout
            .contains("2 accounts found: 2 worked on, 0 skipped, 0 failed"),
        "{run:?}"
    );

    // The root is the whole organisation: the suspended account is found and skipped.
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "export",
            "--ou",
            &org.root,
            "--exclude-account",
            &org.dev,
            "--region",
            "us-east-1",
            "--role-name",
            ROLE,
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("billing") && text.contains("orders"),
        "{text}"
    );
    assert!(!text.contains("dev-orders"), "excluded:\n{text}");
    assert!(
        text.contains(&format!(
            "account {} (old-sandbox, Root/sandbox) skipped: account is SUSPENDED",
            org.sandbox
        )),
        "{text}"
    );
    let _ = org.management;
}

/// `advise --organization --region all`: every ACTIVE account, named, with its OU path, in
/// the report, the summary and the HTML page; the suspended account skipped with its state.
#[test]
fn advise_the_whole_organisation_names_its_accounts() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let org = runtime().block_on(async {
        let org = organisation(&moto.endpoint).await;
        Aws::new(&moto.endpoint, Some(&org.prod), "eu-west-1")
            .await
            .create_table("carts", Some((50, 50)), &[])
            .await;
        org
    });
    let report = dir.path().join("advice.json");
    let html = dir.path().join("advice.html");
    let run = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &[
            "advise",
            "--organization",
            "--region",
            "all",
            "--role-name",
            ROLE,
            "--report",
            report.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert!(run.code == 0, "{run:?}");
    let r = run.report(&report);
    assert_eq!(
        r["organization"]["summary"],
        serde_json::json!({"found": 4, "worked_on": 3, "skipped": 1, "failed": 0})
    );
    let accounts = accounts_of(&r);
    assert!(
        accounts.contains(&(
            "payments-prod".into(),
            "worked_on".into(),
            "Root/payments/prod".into()
        )),
        "{accounts:?}"
    );
    assert!(
        accounts.contains(&(
            "old-sandbox".into(),
            "skipped".into(),
            "Root/sandbox".into()
        )),
        "{accounts:?}"
    );
    let carts = r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "carts")
        .unwrap();
    assert_eq!(carts["account_id"], org.prod.as_str());
    assert_eq!(carts["region"], "eu-west-1");
    let totals = r["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == org.prod.as_str())
        .unwrap();
    assert_eq!(totals["name"], "payments-prod");
    assert!(run.stdout.contains("payments-prod"), "{run:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("payments-prod"), "the page names the account");
    crate::html_check::assert_well_formed(&page);
}

/// An inventory row for every account and region (`*`), overridden by more specific rows (an
/// OU, an account, an exact table, an exact region): plan shows each table's row, apply
/// converges, and a second plan is empty.
#[test]
fn a_star_row_and_explicit_rows_that_override_it_converge() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let org = runtime().block_on(async {
        let org = organisation(&moto.endpoint).await;
        for (account, region, table) in [
            (Some(&org.prod), "us-east-1", "orders"),
            (Some(&org.prod), "eu-west-1", "carts"),
            (Some(&org.dev), "us-east-1", "dev-orders"),
            (None, "us-east-1", "billing"),
        ] {
            Aws::new(&moto.endpoint, account.map(String::as_str), region)
                .await
                .create_table(table, Some((5, 5)), &[])
                .await;
        }
        org
    });
    let inventory = write(
        dir.path(),
        "org.csv",
        &format!(
            "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n\
             *,{ROLE},*,*,on_demand,,,,,,\n\
             {prod},{ROLE},us-east-1,orders,provisioned,5,50,70,5,50,70\n\
             {payments},{ROLE},*,*,provisioned,5,40,60,5,40,60\n\
             {dev},{ROLE},us-east-1,*,on_demand,,,,,,\n\
             {dev},{ROLE},*,*,provisioned,5,30,50,5,30,50\n",
            prod = org.prod,
            payments = org.payments,
            dev = org.dev,
        ),
    );
    let inv = inventory.to_str().unwrap();
    let plan = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["plan", inv, "--report", "plan.json"],
    );
    assert!(plan.code == 0 || plan.code == 2, "{plan:?}");
    let r = plan.written_report(dir.path());
    let line = |account: &str, region: &str, table: &str| {
        entry(&r, account, region, table)["source"]["line"].clone()
    };
    // An exact table over patterns; an OU over `*`; an account's exact region over its `*`.
    assert_eq!(line(&org.prod, "us-east-1", "orders"), 3);
    assert_eq!(line(&org.prod, "eu-west-1", "carts"), 4);
    assert_eq!(line(&org.dev, "us-east-1", "dev-orders"), 5);
    assert_eq!(line(&org.management, "us-east-1", "billing"), 2);
    for (account, region, table) in [
        (&org.prod, "eu-west-1", "carts"),
        (&org.dev, "us-east-1", "dev-orders"),
        (&org.management, "us-east-1", "billing"),
    ] {
        assert_eq!(entry(&r, account, region, table)["status"], "would_change");
    }
    assert_eq!(
        r["tables"].as_array().unwrap().len(),
        4,
        "one entry per table"
    );
    assert!(
        plan.stdout
            .contains("Organisation: 4 accounts found: 3 worked on, 1 skipped, 0 failed"),
        "{plan:?}"
    );
    assert!(
        plan.stdout
            .contains("old-sandbox (Root/sandbox): skipped: account is SUSPENDED"),
        "{plan:?}"
    );

    let apply = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["apply", inv, "-y", "--report", "apply.json"],
    );
    assert_eq!(apply.code, 0, "{apply:?}");
    runtime().block_on(async {
        let billing = Aws::new(&moto.endpoint, None, "us-east-1").await;
        assert_eq!(billing.billing_mode("billing").await, "PAY_PER_REQUEST");
        let dev = Aws::new(&moto.endpoint, Some(&org.dev), "us-east-1").await;
        assert_eq!(dev.billing_mode("dev-orders").await, "PAY_PER_REQUEST");
        let carts = Aws::new(&moto.endpoint, Some(&org.prod), "eu-west-1").await;
        assert!(
            carts.targets().await.iter().all(|t| t.3 == 40),
            "the OU row's auto scaling"
        );
    });
    let again = ddb_fleet(
        &moto.endpoint,
        dir.path(),
        &["plan", inv, "--report", "again.json"],
    );
    assert_eq!(again.code, 0, "{again:?}");
    let r = again.written_report(dir.path());
    assert_eq!(r["summary"]["would_change"], 0, "{again:?}");
    assert_eq!(r["summary"]["unchanged"], 4, "{again:?}");
}

/// Against the simulator (Organizations from moto): an account whose role cannot be assumed is
/// one failed entry, however many regions; a region not enabled is skipped with a note; the
/// other accounts are worked on, and the run exits 1.
#[test]
fn an_unassumable_role_and_a_region_not_enabled_are_reported_not_fatal() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let org = runtime().block_on(organisation(&moto.endpoint));
    let fleet = on_demand_tables(&[
        (&org.prod, "us-east-1", "orders"),
        (&org.prod, "ap-east-1", "hk-orders"),
        (&org.management, "us-east-1", "billing"),
        (&org.management, "ap-east-1", "hk-billing"),
    ]);
    let config = SimConfig {
        unassumable_roles: [format!("arn:aws:iam::{}:role/{ROLE}", org.dev)].into(),
        // The management account opted into ap-east-1; payments-prod did not.
        opted_in: [(org.management.clone(), "ap-east-1".to_string())].into(),
        ..SimConfig::default()
    };
    let sim = Sim::start(config, fleet);
    let inventory = write(
        dir.path(),
        "org.csv",
        &format!("account_id,role_name,region,table,mode\n*,{ROLE},us-east-1,*,on_demand\n*,{ROLE},ap-east-1,*,on_demand\n"),
    );
    let run = ddb_fleet_with(
        &sim.endpoint,
        dir.path(),
        &["plan", inventory.to_str().unwrap(), "--report", "plan.json"],
        &[("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto.endpoint)],
    );
    assert_eq!(run.code, 1, "a failed account makes the run fail: {run:?}");
    let r = run.written_report(dir.path());
    let failed: Vec<&serde_json::Value> = r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["account_id"] == org.dev.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "one entry for the account: {failed:?}");
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["error"]["code"], "AssumeRoleFailed");
    assert_eq!(
        entry(&r, &org.prod, "us-east-1", "orders")["status"],
        "unchanged"
    );
    assert_eq!(
        entry(&r, &org.management, "ap-east-1", "hk-billing")["status"],
        "unchanged"
    );
    assert!(!r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["table"] == "hk-orders"));
    assert_eq!(
        r["organization"]["summary"],
        serde_json::json!({"found": 4, "worked_on": 2, "skipped": 1, "failed": 1})
    );
    let prod = r["organization"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == org.prod.as_str())
        .unwrap();
    assert_eq!(prod["skipped_regions"][0]["region"], "ap-east-1");
    assert!(
        prod["skipped_regions"][0]["note"]
            .as_str()
            .unwrap()
            .contains("not enabled in this account"),
        "{prod}"
    );
    assert!(run.stdout.contains("region ap-east-1 skipped"), "{run:?}");

    // Two shards see the same expansion: together they hold every entry once, the failed
    // account's too, and merge into the unsharded run's tables.
    for k in 0..2 {
        let shard = ddb_fleet_with(
            &sim.endpoint,
            dir.path(),
            &[
                "plan",
                inventory.to_str().unwrap(),
                "--shard",
                &format!("{k}/2"),
                "--report",
                &format!("shard-{k}.json"),
            ],
            &[("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto.endpoint)],
        );
        assert!(shard.code <= 1, "{shard:?}");
    }
    let merged = ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &[
            "report",
            "merge",
            "shard-0.json",
            "shard-1.json",
            "-o",
            "all.json",
        ],
    );
    assert_eq!(
        merged.code, 1,
        "the failed account fails the merged run too: {merged:?}"
    );
    let all = merged.report(&dir.path().join("all.json"));
    let keys = |r: &serde_json::Value| {
        let mut k: Vec<String> = r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {}",
                    t["account_id"], t["region"], t["table"], t["status"]
                )
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&all), keys(&r));

    // Regression: export noted a failed account twice (the account, and its failed entry).
    let out = dir.path().join("org.csv");
    let export = ddb_fleet_with(
        &sim.endpoint,
        dir.path(),
        &[
            "export",
            "--organization",
            "--region",
            "us-east-1",
            "--role-name",
            ROLE,
            "-o",
            out.to_str().unwrap(),
        ],
        &[("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto.endpoint)],
    );
    assert_eq!(export.code, 1, "{export:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let notes: Vec<&str> = text.lines().filter(|l| l.contains(&org.dev)).collect();
    assert_eq!(notes.len(), 1, "{text}");
    assert!(notes[0].contains("AssumeRoleFailed"), "{text}");
}

/// `--region all` reads each account's own enabled regions (DescribeRegions in that
/// account): an opt-in region one account enabled is read there and not in the other.
#[test]
fn every_account_gets_its_own_enabled_regions() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let org = runtime().block_on(organisation(&moto.endpoint));
    let fleet = on_demand_tables(&[
        (&org.prod, "ap-east-1", "hk"),
        (&org.dev, "eu-west-1", "dev"),
    ]);
    let config = SimConfig {
        opted_in: [(org.prod.clone(), "ap-east-1".to_string())].into(),
        ..SimConfig::default()
    };
    let sim = Sim::start(config, fleet);
    let out = dir.path().join("out.toml");
    let run = ddb_fleet_with(
        &sim.endpoint,
        dir.path(),
        &export_ou(&org.payments, out.to_str().unwrap()),
        &[("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto.endpoint)],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("\"hk\"") && text.contains("\"dev\""),
        "{text}"
    );
    let stats = sim.stats();
    assert_eq!(
        stats.by_operation.get("DescribeRegions"),
        Some(&2),
        "once per account"
    );
    // No request went to a region the account has not enabled.
    assert_eq!(
        stats.by_operation.get("ListTables").copied(),
        Some(17 + 18),
        "{stats:?}"
    );
}

/// `validate` checks rows for many accounts offline: a `*`, OU or root row needs role_name
/// (a role_arn names one account), and an OU id must look like one; `iam-policy` on such an
/// inventory adds what reading the organisation and the enabled regions needs.
#[test]
fn rows_for_many_accounts_are_checked_offline_and_their_permissions_printed() {
    let dir = tempfile::tempdir().unwrap();
    let offline = "http://127.0.0.1:9";
    let good = write(
        dir.path(),
        "good.csv",
        &format!(
            "account_id,role_name,region,table,mode\n*,{ROLE},*,*,on_demand\nou-ab12-cdef5678,{ROLE},eu-west-1,orders-*,on_demand\nr-ab12,{ROLE},us-east-1,t01,on_demand\n"
        ),
    );
    let run = ddb_fleet(offline, dir.path(), &["validate", good.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let bad = write(
        dir.path(),
        "bad.csv",
        "account_id,role_arn,role_name,region,table,mode\n\
         *,arn:aws:iam::111111111111:role/x,,us-east-1,t01,on_demand\n\
         ou-ab12-cdef5678,,,us-east-1,t01,on_demand\n\
         ou-XY,,r,us-east-1,t01,on_demand\n\
         111111111111,,r,all,t01,on_demand\n",
    );
    let run = ddb_fleet(offline, dir.path(), &["validate", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run:?}");
    for expected in [
        "bad.csv:2: field `role_arn`: a role_arn names one account",
        "bad.csv:3: field `role_name`: a row for many accounts needs role_name",
        "bad.csv:4: field `account_id`: `ou-XY` is not a 12-digit account id, `*`, an OU id or a root id",
        "`*` is every region enabled in the account",
    ] {
        assert!(run.stderr.contains(expected), "{expected}\n{run:?}");
    }

    let run = ddb_fleet(offline, dir.path(), &["iam-policy", good.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let p: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        p["caller"]["Statement"][0]["Resource"],
        serde_json::json!([format!("arn:aws:iam::*:role/{ROLE}")])
    );
    let org = &p["caller"]["Statement"][1]["Action"];
    for action in [
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:DescribeOrganization",
    ] {
        assert!(org.as_array().unwrap().contains(&action.into()), "{org}");
    }
    assert!(run.stdout.contains("ec2:DescribeRegions"), "{}", run.stdout);
}

/// moto's organisation ([`organisation`]) beside the simulator, which serves everything but
/// Organizations: its fleet and its configuration made for the organisation's accounts.
struct OrgSim {
    org: Accounts,
    sim: Sim,
    dir: tempfile::TempDir,
    moto: Moto,
}

impl OrgSim {
    fn start(
        fleet: impl FnOnce(&Accounts) -> Vec<(String, String, String, SimTable)>,
        config: impl FnOnce(&Accounts) -> SimConfig,
    ) -> OrgSim {
        let moto = Moto::start();
        let org = runtime().block_on(organisation(&moto.endpoint));
        let sim = Sim::start(config(&org), fleet(&org));
        OrgSim {
            dir: tempfile::tempdir().unwrap(),
            org,
            sim,
            moto,
        }
    }

    /// `ddb-fleet args` against the simulator, Organizations against moto, with `env`.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut env = env.to_vec();
        env.push(("AWS_ENDPOINT_URL_ORGANIZATIONS", &self.moto.endpoint));
        ddb_fleet_with(&self.sim.endpoint, self.dir.path(), args, &env)
    }

    /// An inventory file in the run's directory.
    fn inventory(&self, text: &str) -> String {
        write(self.dir.path(), "org.csv", text)
            .to_str()
            .unwrap()
            .to_string()
    }
}

/// The report's failed entries.
fn failed_entries(report: &serde_json::Value) -> Vec<&serde_json::Value> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "failed")
        .collect()
}

/// The organisation's report entry for `account`.
fn account_entry<'a>(report: &'a serde_json::Value, account: &str) -> &'a serde_json::Value {
    report["organization"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == account)
        .unwrap_or_else(|| panic!("no organisation entry for {account} in {report}"))
}

/// Regression: DescribeRegions (sent without the SDK) had no timeout and ignored the stop: a
/// stalled connection hung the nightly run, Ctrl-C included. The stop now ends it.
#[test]
fn a_stalled_describe_regions_ends_at_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig {
        stalled_operations: ["DescribeRegions".to_string()].into(),
        ..SimConfig::default()
    };
    let sim = Sim::start(config, Vec::new());
    let inventory = write(
        dir.path(),
        "all-regions.csv",
        &format!("account_id,role_name,region,table,mode\n111111111111,{ROLE},*,*,on_demand\n"),
    );
    let mut child = spawn_ddb_fleet(
        &sim.endpoint,
        dir.path(),
        &["plan", inventory.to_str().unwrap(), "--report", "plan.json"],
    );
    wait_until(|| sim.stats().by_operation.contains_key("DescribeRegions"));
    signal(&child, "INT");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end at the stop while DescribeRegions stalled");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Regression: the default concurrency was counted on the rows as written: one `*` row (or
/// `--organization --region all`) was one (account, region), so 32 at a time, where the
/// same fleet written out would get hundreds. It is counted on the accounts and regions
/// found.
#[test]
fn the_default_concurrency_counts_the_accounts_and_regions_found() {
    let t = OrgSim::start(
        |org| on_demand_tables(&[(&org.prod, "us-east-1", "orders")]),
        |_| SimConfig {
            latency: std::time::Duration::from_millis(300),
            ..SimConfig::default()
        },
    );
    let out = t.dir.path().join("org.csv");
    let run = t.run(
        &[
            "export",
            "--organization",
            "--region",
            "all",
            "--role-name",
            ROLE,
            "-o",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // 3 active accounts x 17 regions listed: more than 32 at once.
    let stats = t.sim.stats();
    assert_eq!(stats.by_operation.get("ListTables"), Some(&(3 * 17)));
    assert!(
        stats.max_in_flight > 32,
        "{} at most in flight",
        stats.max_in_flight
    );
}

/// Regressions of a nightly run: `--exclude-account` applied only after discovery (the
/// excluded account was still assumed, and failed the run); a `*` row failed an account a
/// more specific row fully covers (its role missing there by design); the management
/// account, which lacks the members' role, failed every night without saying what it is.
#[test]
fn excluded_and_covered_accounts_are_never_reached() {
    // The standard role exists nowhere but in the accounts created with it: not in the
    // management account, not in payments-prod (a legacy account with its own role), and
    // not in payments-dev.
    let std_role = "StdRole";
    let t = OrgSim::start(
        |org| {
            on_demand_tables(&[
                (&org.prod, "us-east-1", "orders"),
                (&org.prod, "eu-west-1", "carts"),
                (&org.management, "us-east-1", "billing"),
            ])
        },
        |org| SimConfig {
            unassumable_roles: [&org.prod, &org.dev, &org.management]
                .iter()
                .map(|a| format!("arn:aws:iam::{a}:role/{std_role}"))
                .collect(),
            ..SimConfig::default()
        },
    );
    let org = &t.org;
    let inv = t.inventory(&format!(
        "account_id,role_name,region,table,mode\n*,{std_role},us-east-1,*,on_demand\n{prod},LegacyRole,*,*,on_demand\n",
        prod = org.prod
    ));
    let run = t.run(&["plan", &inv, "--report", "all.json"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let r = run.written_report(t.dir.path());
    // payments-prod: every table of it is LegacyRole's; StdRole is never assumed there.
    assert_eq!(account_entry(&r, &org.prod)["status"], "worked_on", "{r}");
    assert_eq!(
        entry(&r, &org.prod, "eu-west-1", "carts")["status"],
        "unchanged"
    );
    assert_eq!(
        entry(&r, &org.prod, "us-east-1", "orders")["source"]["line"],
        3
    );
    let management = account_entry(&r, &org.management);
    assert_eq!(management["status"], "failed");
    assert_eq!(management["management"], true);
    let reason = management["reason"].as_str().unwrap();
    assert!(
        reason.contains("management account")
            && reason.contains(&format!("--exclude-account {}", org.management)),
        "{reason}"
    );
    assert_eq!(account_entry(&r, &org.dev)["status"], "failed");

    // Excluded: never reached, listed as skipped; the run succeeds.
    let run = t.run(
        &[
            "plan",
            &inv,
            "--exclude-account",
            &org.dev,
            "--exclude-account",
            &org.management,
            "--report",
            "nightly.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let r = run.written_report(t.dir.path());
    assert_eq!(
        r["organization"]["summary"],
        serde_json::json!({"found": 4, "worked_on": 1, "skipped": 3, "failed": 0})
    );
    for excluded in [&org.dev, &org.management] {
        let a = account_entry(&r, excluded);
        assert_eq!(a["status"], "skipped");
        assert_eq!(a["reason"], "excluded (--exclude-account)");
    }
    assert!(
        !r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["account_id"] == org.dev.as_str()
                || t["account_id"] == org.management.as_str())
    );
}

/// Regressions: DescribeRegions was asked in the caller's home region: an opt-in region the
/// member had not enabled answered AuthFailure and failed the whole account. And a role
/// without `ec2:DescribeRegions` failed the account's explicit-region rows too: now only its
/// `*`-region rows fail.
#[test]
fn enabled_regions_are_asked_where_every_account_answers_and_fail_only_the_star_rows() {
    let t = OrgSim::start(
        |org| {
            on_demand_tables(&[
                (&org.prod, "us-east-1", "orders"),
                (&org.dev, "eu-west-1", "dev-orders"),
            ])
        },
        |org| SimConfig {
            // The caller's home region is one the caller's account opted into; the members
            // did not.
            opted_in: [(CALLER_ACCOUNT.to_string(), "ap-east-1".to_string())].into(),
            regions_denied: [org.prod.clone()].into(),
            ..SimConfig::default()
        },
    );
    let org = &t.org;
    let inv = t.inventory(&format!(
        "account_id,role_name,region,table,mode\n{prod},{ROLE},us-east-1,orders,on_demand\n{payments},{ROLE},*,*,on_demand\n",
        prod = org.prod,
        payments = org.payments,
    ));
    let run = t.run(
        &["plan", &inv, "--report", "plan.json"],
        &[("AWS_REGION", "ap-east-1")],
    );
    assert_eq!(run.code, 1, "{run:?}");
    let r = run.written_report(t.dir.path());
    assert_eq!(
        entry(&r, &org.dev, "eu-west-1", "dev-orders")["status"],
        "unchanged",
        "{r}"
    );
    // payments-prod: its explicit row read; its `*` row failed, once.
    assert_eq!(
        entry(&r, &org.prod, "us-east-1", "orders")["status"],
        "unchanged"
    );
    let failed = failed_entries(&r);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["account_id"], org.prod.as_str());
    assert_eq!(failed[0]["region"], "*");
    assert_eq!(failed[0]["error"]["code"], "UnauthorizedOperation");
    let prod = account_entry(&r, &org.prod);
    assert_eq!(prod["status"], "worked_on");
    assert!(
        prod["reason"].as_str().unwrap().contains("DescribeRegions"),
        "{prod}"
    );
}

/// Regression: `UnrecognizedClientException` was always read as "region not enabled" and the
/// region dropped in silence (exit 0). In a region DescribeRegions says is enabled, it means
/// the credentials are not usable there: a failure.
#[test]
fn refused_credentials_in_an_enabled_region_fail() {
    let t = OrgSim::start(
        |org| {
            on_demand_tables(&[
                (&org.prod, "us-east-1", "orders"),
                (&org.prod, "ap-east-1", "hk-orders"),
            ])
        },
        |org| SimConfig {
            opted_in: [(org.prod.clone(), "ap-east-1".to_string())].into(),
            tokens_refused: [(org.prod.clone(), "ap-east-1".to_string())].into(),
            ..SimConfig::default()
        },
    );
    let inv = t.inventory(&format!(
        "account_id,role_name,region,table,mode\n{prod},{ROLE},*,*,on_demand\n",
        prod = t.org.prod
    ));
    let run = t.run(&["plan", &inv, "--report", "plan.json"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let r = run.written_report(t.dir.path());
    let hk = r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["region"] == "ap-east-1")
        .unwrap_or_else(|| panic!("the region was dropped: {r}"));
    assert_eq!(hk["status"], "failed");
    assert_eq!(hk["error"]["code"], "UnrecognizedClientException");
}

/// Regression: `advise --organization --region all`, the nightly command, failed every table
/// of a region without built-in prices (exit 1 every night). Such a region is skipped, with
/// a note, once per account.
#[test]
fn advise_skips_regions_without_prices_with_a_note() {
    // ca-central-1 has no built-in prices.
    let t = OrgSim::start(
        |org| {
            on_demand_tables(&[
                (&org.prod, "us-east-1", "orders"),
                (&org.prod, "ca-central-1", "maple"),
            ])
        },
        |_| SimConfig::default(),
    );
    let org = &t.org;
    let report = t.dir.path().join("advice.json");
    let run = t.run(
        &[
            "advise",
            "--ou",
            &org.prod_ou,
            "--region",
            "all",
            "--role-name",
            ROLE,
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:?}");
    let r = run.report(&report);
    assert!(
        !r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["table"] == "maple"),
        "{r}"
    );
    let prod = account_entry(&r, &org.prod);
    let notes = prod["skipped_regions"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{prod}");
    assert_eq!(notes[0]["region"], "ca-central-1");
    assert!(
        notes[0]["note"].as_str().unwrap().contains("--prices"),
        "{prod}"
    );
}

/// Regression: an account none of whose tables could be listed (every ListTables refused)
/// counted as worked on. It is failed, with the listing's error.
#[test]
fn an_account_whose_every_listing_fails_is_not_worked_on() {
    let t = OrgSim::start(
        |org| on_demand_tables(&[(&org.prod, "us-east-1", "orders")]),
        |org| SimConfig {
            denied_accounts: [org.dev.clone()].into(),
            ..SimConfig::default()
        },
    );
    let inv = t.inventory(&format!(
        "account_id,role_name,region,table,mode\n{payments},{ROLE},us-east-1,*,on_demand\n",
        payments = t.org.payments
    ));
    let run = t.run(&["plan", &inv, "--report", "plan.json"], &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let r = run.written_report(t.dir.path());
    let dev = account_entry(&r, &t.org.dev);
    assert_eq!(dev["status"], "failed", "{dev}");
    assert!(
        dev["reason"].as_str().unwrap().contains("AccessDenied"),
        "{dev}"
    );
    assert_eq!(account_entry(&r, &t.org.prod)["status"], "worked_on");
    assert_eq!(
        r["organization"]["summary"],
        serde_json::json!({"found": 2, "worked_on": 1, "skipped": 0, "failed": 1})
    );
}
