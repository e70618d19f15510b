//! Test support: a moto server per test, SDK clients acting in moto accounts, and a runner
//! for the `ddb-fleet` binary.

use crate::sim::Sim;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_applicationautoscaling::types as aas;
use aws_sdk_dynamodb::types as ddb;
use std::collections::HashSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The secret key the tests give as base credentials: it must never appear in output.
pub const BASE_SECRET: &str = "base-secret-never-logged-7f3a";

/// A `moto_server` on 127.0.0.1, killed when dropped.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Moto {
    /// Starts `$MOTO_SERVER` (a command line), else `moto_server`, else `python3 -m moto.server`.
    pub fn start() -> Moto {
        let command = std::env::var("MOTO_SERVER").unwrap_or_else(|_| {
            let on_path = Command::new("moto_server")
                .arg("--help")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if on_path {
                "moto_server".into()
            } else {
                "python3 -m moto.server".into()
            }
        });
        let mut words = command.split_whitespace();
        let exe = words.next().expect("MOTO_SERVER is empty").to_string();
        let pre: Vec<String> = words.map(str::to_string).collect();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(&exe)
                .args(&pre)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {exe}: {e}. Install it with: pip install 'moto[server]'")
                });
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = moto.child.try_wait() {
                    break; // exited: port taken, try another
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return moto;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server did not start");
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Clients acting in one moto account and region (through AssumeRole, as the tool does).
pub struct Aws {
    pub ddb: aws_sdk_dynamodb::Client,
    pub aas: aws_sdk_applicationautoscaling::Client,
    pub cw: aws_sdk_cloudwatch::Client,
}

pub async fn base_config(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            "AKIDBASE",
            BASE_SECRET,
            None,
            None,
            "test",
        ))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .load()
        .await
}

impl Aws {
    /// `account`: `None` for moto's default account (the caller's own).
    pub async fn new(endpoint: &str, account: Option<&str>, region: &str) -> Aws {
        let base = base_config(endpoint, region).await;
        let conf = match account {
            None => base,
            Some(acct) => {
                let sts = aws_sdk_sts::Client::new(&base);
                let c = sts
                    .assume_role()
                    .role_arn(format!("arn:aws:iam::{acct}:role/fleet-admin"))
                    .role_session_name("test-setup")
                    .send()
                    .await
                    .unwrap();
                let c = c.credentials().unwrap();
                base.to_builder()
                    .credentials_provider(
                        aws_credential_types::provider::SharedCredentialsProvider::new(
                            Credentials::new(
                                c.access_key_id(),
                                c.secret_access_key(),
                                Some(c.session_token().to_string()),
                                None,
                                "test",
                            ),
                        ),
                    )
                    .build()
            }
        };
        Aws {
            ddb: aws_sdk_dynamodb::Client::new(&conf),
            aas: aws_sdk_applicationautoscaling::Client::new(&conf),
            cw: aws_sdk_cloudwatch::Client::new(&conf),
        }
    }

    /// Creates a table (hash key `pk`), with GSIs `gsis` (hash key `gk`).
    pub async fn create_table(&self, name: &str, provisioned: Option<(i64, i64)>, gsis: &[&str]) {
        let mut req = self
            .ddb
            .create_table()
            .table_name(name)
            .attribute_definitions(attr("pk"))
            .key_schema(key("pk"));
        if !gsis.is_empty() {
            req = req.attribute_definitions(attr("gk"));
        }
        for g in gsis {
            let mut gsi = ddb::GlobalSecondaryIndex::builder()
                .index_name(*g)
                .key_schema(key("gk"))
                .projection(
                    ddb::Projection::builder()
                        .projection_type(ddb::ProjectionType::All)
                        .build(),
                );
            if let Some((r, w)) = provisioned {
                gsi = gsi.provisioned_throughput(throughput(r, w));
            }
            req = req.global_secondary_indexes(gsi.build().unwrap());
        }
        req = match provisioned {
            Some((r, w)) => req
                .billing_mode(ddb::BillingMode::Provisioned)
                .provisioned_throughput(throughput(r, w)),
            None => req.billing_mode(ddb::BillingMode::PayPerRequest),
        };
        req.send().await.unwrap();
    }

    /// Publishes `table`'s consumption (`metric`, e.g. `ConsumedReadCapacityUnits`): `per_second`
    /// units a second in each of the `minutes` minutes before now, as DynamoDB publishes it
    /// (statistic Sum over 60 s), through CloudWatch PutMetricData.
    pub async fn consumed(&self, table: &str, metric: &str, per_second: f64, minutes: i64) {
        self.metric(table, metric, per_second * 60.0, -minutes..0)
            .await;
    }

    /// Puts `value` as `metric` of `table` for each minute of `minutes` (relative to this
    /// minute: -30..0 is the last half hour; CloudWatch takes times up to two hours ahead).
    pub async fn metric(
        &self,
        table: &str,
        metric: &str,
        value: f64,
        minutes: std::ops::Range<i64>,
    ) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            / 60
            * 60;
        let data: Vec<MetricDatum> = minutes
            .map(|m| {
                MetricDatum::builder()
                    .metric_name(metric)
                    .dimensions(Dimension::builder().name("TableName").value(table).build())
                    .timestamp(aws_smithy_types::DateTime::from_secs(now + 60 * m))
                    .value(value)
                    .unit(StandardUnit::Count)
                    .build()
            })
            .collect();
        for chunk in data.chunks(500) {
            self.cw
                .put_metric_data()
                .namespace("AWS/DynamoDB")
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .unwrap();
        }
    }

    pub async fn register(&self, resource_id: &str, dimension: &str, min: i32, max: i32) {
        self.aas
            .register_scalable_target()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(resource_id)
            .scalable_dimension(aas::ScalableDimension::from(dimension))
            .min_capacity(min)
            .max_capacity(max)
            .send()
            .await
            .unwrap();
    }

    pub async fn put_policy(
        &self,
        name: &str,
        resource_id: &str,
        dimension: &str,
        metric: &str,
        target: f64,
    ) {
        self.aas
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(resource_id)
            .scalable_dimension(aas::ScalableDimension::from(dimension))
            .policy_type(aas::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(
                aas::TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(target)
                    .predefined_metric_specification(
                        aas::PredefinedMetricSpecification::builder()
                            .predefined_metric_type(aas::MetricType::from(metric))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Table-level read/write scaling as the console would set it up.
    pub async fn scale_table(&self, table: &str, min: i32, max: i32, target: f64) {
        let rid = format!("table/{table}");
        for (dim, metric) in [
            (
                "dynamodb:table:ReadCapacityUnits",
                "DynamoDBReadCapacityUtilization",
            ),
            (
                "dynamodb:table:WriteCapacityUnits",
                "DynamoDBWriteCapacityUtilization",
            ),
        ] {
            self.register(&rid, dim, min, max).await;
            self.put_policy(&format!("{metric}:{rid}"), &rid, dim, metric, target)
                .await;
        }
    }

    pub async fn billing_mode(&self, table: &str) -> String {
        let t = self
            .ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap();
        let t = t.table().unwrap();
        t.billing_mode_summary()
            .and_then(|s| s.billing_mode())
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "PROVISIONED".into())
    }

    /// (ResourceId, dimension, min, max) of every DynamoDB scalable target, sorted.
    pub async fn targets(&self) -> Vec<(String, String, i32, i32)> {
        let out = self
            .aas
            .describe_scalable_targets()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .send()
            .await
            .unwrap();
        let mut v: Vec<_> = out
            .scalable_targets()
            .iter()
            .map(|t| {
                (
                    t.resource_id().to_string(),
                    t.scalable_dimension().as_str().to_string(),
                    t.min_capacity(),
                    t.max_capacity(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// (ResourceId, dimension, policy name, target value) of every DynamoDB policy, sorted.
    pub async fn policies(&self) -> Vec<(String, String, String, f64)> {
        let out = self
            .aas
            .describe_scaling_policies()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .send()
            .await
            .unwrap();
        let mut v: Vec<_> = out
            .scaling_policies()
            .iter()
            .map(|p| {
                (
                    p.resource_id().to_string(),
                    p.scalable_dimension().as_str().to_string(),
                    p.policy_name().to_string(),
                    p.target_tracking_scaling_policy_configuration()
                        .map(|c| c.target_value())
                        .unwrap_or(f64::NAN),
                )
            })
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        v
    }
}

fn attr(name: &str) -> ddb::AttributeDefinition {
    ddb::AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ddb::ScalarAttributeType::S)
        .build()
        .unwrap()
}

fn key(name: &str) -> ddb::KeySchemaElement {
    ddb::KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(ddb::KeyType::Hash)
        .build()
        .unwrap()
}

fn throughput(r: i64, w: i64) -> ddb::ProvisionedThroughput {
    ddb::ProvisionedThroughput::builder()
        .read_capacity_units(r)
        .write_capacity_units(w)
        .build()
        .unwrap()
}

/// The result of one `ddb-fleet` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The path of the report the run says it wrote (`Report: PATH` on stdout), in `dir`.
    pub fn report_path(&self, dir: &Path) -> PathBuf {
        let line = self
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Report: "))
            .unwrap_or_else(|| panic!("the run names no report: {self:?}"));
        dir.join(line)
    }

    /// The report the run says it wrote.
    pub fn written_report(&self, dir: &Path) -> serde_json::Value {
        self.report(&self.report_path(dir))
    }

    pub fn report(&self, path: &Path) -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "no report at {}: {e}\nstderr:\n{}",
                path.display(),
                self.stderr
            )
        });
        serde_json::from_str(&text).unwrap()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `ddb-fleet` with `args` against `endpoint`, with base credentials in the environment
/// and nothing from the developer's own AWS configuration.
pub fn ddb_fleet(endpoint: &str, dir: &Path, args: &[&str]) -> Run {
    finish(spawn_ddb_fleet(endpoint, dir, args))
}

/// `advise` of moto's default account in us-east-1 over the last day (its tables are minutes
/// old), asking for `min_days` of data: the advice of `table`, the run having succeeded.
pub fn advise_moto_table(endpoint: &str, min_days: &str, table: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "advise",
        "--account",
        "123456789012",
        "--region",
        "us-east-1",
        "--days",
        "1",
        "--min-days",
        min_days,
        "--report",
        "advice.json",
    ];
    let run = ddb_fleet(endpoint, dir.path(), &args);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.report(&dir.path().join("advice.json"));
    entry(&report, "123456789012", "us-east-1", table)["advice"].clone()
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The report's entry for `table` in `account`/`region`.
pub fn entry<'a>(
    report: &'a serde_json::Value,
    account: &str,
    region: &str,
    table: &str,
) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["account_id"] == account && t["region"] == region && t["table"] == table)
        .unwrap_or_else(|| panic!("no report entry for {account} {region} {table}"))
}

/// How many actions of the report's tables `keep` holds for.
pub fn count_actions(
    report: &serde_json::Value,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> usize {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["actions"].as_array().unwrap())
        .filter(|a| keep(a))
        .count()
}

/// Starts `ddb-fleet` without waiting for it (for interruption tests).
pub fn spawn_ddb_fleet(endpoint: &str, dir: &Path, args: &[&str]) -> Child {
    spawn_ddb_fleet_with(endpoint, dir, args, &[])
}

/// Runs `ddb-fleet` as [`ddb_fleet`] does, with more environment variables.
pub fn ddb_fleet_with(endpoint: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    finish(spawn_ddb_fleet_with(endpoint, dir, args, env))
}

fn spawn_ddb_fleet_with(endpoint: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    ddb_fleet_command(endpoint, dir, args, env).spawn().unwrap()
}

/// A run with no file it writes allowed past `bytes` (as on a full disk: a write past it
/// fails with EFBIG, and SIGXFSZ is ignored).
pub fn ddb_fleet_on_a_small_disk(endpoint: &str, dir: &Path, args: &[&str], bytes: u64) -> Run {
    use std::os::unix::process::CommandExt;
    let mut command = ddb_fleet_command(endpoint, dir, args, &[]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    finish(command.spawn().unwrap())
}

fn ddb_fleet_command(endpoint: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ddb-fleet"));
    command.args(args);
    // The AWS commands' options (only those commands take them): quick retries and polls.
    if ["plan", "apply", "rollback", "export", "advise"].contains(&args[0]) {
        command.args(["--no-progress", "--retry-base-ms", "10", "--poll-ms", "20"]);
    }
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDBASE")
        .env("AWS_SECRET_ACCESS_KEY", BASE_SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for a spawned run to end, with its output.
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// An inventory (CSV, written to `dir/name`) of every simulator table in `fleet`, all with the
/// same `mode` columns (`mode,min_read,max_read,target_read,min_write,max_write,target_write`)
/// and the role `fleet`.
pub fn sim_inventory(
    dir: &Path,
    name: &str,
    fleet: &[(String, String, String, crate::sim::SimTable)],
    mode: &str,
) -> String {
    let mut text = String::from(
        "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n",
    );
    for (account, region, table, _) in fleet {
        text.push_str(&format!("{account},fleet,{region},{table},{mode}\n"));
    }
    write(dir, name, &text).to_str().unwrap().to_string()
}

/// Waits (a minute at most) until `cond` holds: a spawned run has made the progress a test
/// waits for.
pub fn wait_until(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(Instant::now() < deadline, "the run made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends a signal (`INT`, `TERM`, `KILL`) to a spawned run.
pub fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{name} failed");
}

/// An inventory row's mode and thresholds: provisioned, reads 2..20 at 70 %, writes 1..10 at 60 %.
pub const PROVISIONED: &str = "provisioned,2,20,70,1,10,60";
pub const ON_DEMAND: &str = "on_demand,,,,,,";

/// Every table's status in a report, in order.
pub fn statuses(report: &serde_json::Value) -> Vec<String> {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect()
}

/// The simulator's table is provisioned with the inventory's auto scaling on table and GSIs.
pub fn assert_converged_provisioned(sim: &Sim, account: &str, region: &str, table: &str) {
    let r = sim.region(account, region);
    let t = &r.tables[table];
    assert!(!t.on_demand, "{table} still on-demand");
    let mut want: HashSet<(String, String, i64, i64)> = HashSet::new();
    let mut resources = vec![format!("table/{table}")];
    resources.extend(t.gsis.keys().map(|g| format!("table/{table}/index/{g}")));
    for rid in &resources {
        let kind = if rid.contains("/index/") {
            "index"
        } else {
            "table"
        };
        want.insert((
            rid.clone(),
            format!("dynamodb:{kind}:ReadCapacityUnits"),
            2,
            20,
        ));
        want.insert((
            rid.clone(),
            format!("dynamodb:{kind}:WriteCapacityUnits"),
            1,
            10,
        ));
    }
    let have: HashSet<(String, String, i64, i64)> = r
        .targets
        .iter()
        .filter(|x| resources.contains(&x.resource_id))
        .map(|x| (x.resource_id.clone(), x.dimension.clone(), x.min, x.max))
        .collect();
    assert_eq!(have, want, "{table}");
    // One policy per dimension, at the inventory's targets (PROVISIONED: read 70, write 60).
    let mut policies: Vec<(String, String, f64)> = r
        .policies
        .iter()
        .filter(|p| resources.contains(&p.resource_id))
        .map(|p| (p.resource_id.clone(), p.dimension.clone(), p.target_value))
        .collect();
    policies.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut expected: Vec<(String, String, f64)> = want
        .iter()
        .map(|(rid, dim, _, _)| {
            let target = if dim.ends_with("ReadCapacityUnits") {
                70.0
            } else {
                60.0
            };
            (rid.clone(), dim.clone(), target)
        })
        .collect();
    expected.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(policies, expected, "{table}: one policy per dimension");
}

/// A simulator holding `fleet`, a directory for the run, and an inventory in it
/// (`fleet.csv`) asking `mode` of every table.
pub fn on_sim(
    config: crate::sim::SimConfig,
    fleet: &[(String, String, String, crate::sim::SimTable)],
    mode: &str,
) -> (Sim, tempfile::TempDir, String) {
    let sim = Sim::start(config, fleet.to_vec());
    let dir = tempfile::tempdir().unwrap();
    let inv = sim_inventory(dir.path(), "fleet.csv", fleet, mode);
    (sim, dir, inv)
}
