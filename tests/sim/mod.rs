//! A small, fast AWS simulator for fault tests and benchmarks ([`Sim`]).
//!
//! It speaks the wire protocols of the operations ddb-fleet calls (STS Query/XML, DynamoDB
//! JSON 1.0, Application Auto Scaling JSON 1.1) on 127.0.0.1 only, and enforces the AWS rules
//! moto does not: tables stay UPDATING for a while after UpdateTable and refuse a second update
//! meanwhile (`ResourceInUseException`); a switch to PROVISIONED must carry throughput for every
//! GSI and a switch to PAY_PER_REQUEST must not; at most four switches to on-demand per table per
//! 24 hours (`LimitExceededException` naming the next allowed time); per-(account, region,
//! service) request quotas (`ThrottlingException`; DynamoDB's control-plane reads and mutating
//! calls counted apart, as AWS does), counted; deregistering a target deletes its
//! policies; missing targets answer `ObjectNotFoundException`. It stores the maximum on-demand
//! throughput of tables and GSIs (`OnDemandThroughput`, -1 for no cap) and the table class
//! (`TableClassSummary`), refuses a class change sent with other parameters (as AWS does) and a
//! third class change in 30 days (`LimitExceededException`; AWS does not publish that message's
//! text, so it is modelled on the switch-limit one), and refuses GSI updates naming GSIs the
//! table does not have, and a provisioned update that changes nothing (AWS's "will not change"
//! refusal). It keeps tables' tags (TagResource, ListTagsOfResource paginated on the table's
//! ARN, ResourceNotFoundException for another), their quotas counted per account as AWS states
//! them. It adds latency, 500s and dropped connections at configured rates, drops the answer
//! of writes it has carried out (`drop_after_rate`), and answers AccessDenied for configured
//! accounts and roles.
//!
//! The account of a request is read from its SigV4 access key (keys issued by the simulator's
//! AssumeRole encode the account); its region from the credential scope.

#![allow(dead_code)] // each user (tests, benches) uses a different part

pub mod cbor;
pub mod cloudwatch;
pub mod ec2;

#[allow(unused_imports)] // the benchmark uses only part of it
pub use cloudwatch::{Profile, SimUsage};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The account of unsigned-by-role requests (the caller's own credentials).
pub const CALLER_ACCOUNT: &str = "999999999999";

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Added before every answer.
    pub latency: Duration,
    /// How long a table stays UPDATING after an UpdateTable: this, or with
    /// `update_duration_max` a duration drawn per update from [this, that].
    pub update_duration: Duration,
    pub update_duration_max: Option<Duration>,
    /// Tables of one (account, region) UPDATING at once beyond which UpdateTable answers
    /// LimitExceededException (AWS: 500 concurrent control-plane operations, adjustable).
    pub max_updating: Option<usize>,
    /// Requests accepted per second per (account, region, quota); `None`: unlimited. A quota
    /// is a service's, but DynamoDB has two: reads and mutating calls ([`quota_of`]).
    pub quota_per_sec: Option<u32>,
    /// Fraction of requests answered with HTTP 500.
    pub error_rate: f64,
    /// Fraction of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Fraction of write requests (UpdateTable, auto scaling writes) that are carried out and
    /// whose answer is then lost (the connection closed): the client cannot tell whether the
    /// write landed, as after a timeout on AWS.
    pub drop_after_rate: f64,
    /// Every request in these accounts is refused with AccessDenied.
    pub denied_accounts: HashSet<String>,
    /// AssumeRole on these role ARNs is refused.
    pub unassumable_roles: HashSet<String>,
    /// (account, region) of the opt-in regions each account has enabled ([`ec2`]); any other
    /// opt-in region answers as AWS does in a region not enabled.
    pub opted_in: HashSet<(String, String)>,
    /// Accounts whose role lacks `ec2:DescribeRegions`: EC2 answers `UnauthorizedOperation`.
    pub regions_denied: HashSet<String>,
    /// (account, region) where the account's sessions are refused although the region is
    /// enabled, as AWS refuses a session token the region does not accept (one from STS's
    /// global endpoint in an opt-in region): `UnrecognizedClientException`.
    pub tokens_refused: HashSet<(String, String)>,
    /// A fault, not AWS's behaviour (a stalled connection): requests for these operations are
    /// read and never answered.
    pub stalled_operations: HashSet<String>,
    /// A fault, not AWS's behaviour (a misconfigured proxy or endpoint): AssumeRole on these
    /// role ARNs answers with a session in the given account, whose keys act there.
    pub misdirected_roles: HashMap<String, String>,
    /// Application Auto Scaling's quota of DynamoDB scalable targets per account and region
    /// (AWS's default: 5,000); a new target beyond it is refused with LimitExceededException.
    pub max_scalable_targets: usize,
    /// The account of requests signed with keys the simulator did not issue (another
    /// emulator's, when the simulator serves only CloudWatch); default [`CALLER_ACCOUNT`].
    pub unknown_key_account: Option<String>,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            latency: Duration::ZERO,
            update_duration: Duration::ZERO,
            update_duration_max: None,
            max_updating: None,
            quota_per_sec: None,
            error_rate: 0.0,
            drop_rate: 0.0,
            drop_after_rate: 0.0,
            denied_accounts: HashSet::new(),
            unassumable_roles: HashSet::new(),
            opted_in: HashSet::new(),
            regions_denied: HashSet::new(),
            tokens_refused: HashSet::new(),
            stalled_operations: HashSet::new(),
            misdirected_roles: HashMap::new(),
            max_scalable_targets: 5_000,
            unknown_key_account: None,
            seed: 7,
        }
    }
}

/// A table as the simulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTable {
    pub on_demand: bool,
    pub read: i64,
    pub write: i64,
    /// GSIs by name.
    pub gsis: BTreeMap<String, SimGsi>,
    pub replicas: Vec<String>,
    /// While `Some(t)` and `t` is in the future, the table is UPDATING.
    pub updating_until: Option<Instant>,
    /// Forced status (e.g. "CREATING", "DELETING") regardless of updates.
    pub status_override: Option<String>,
    /// Times of switches to on-demand (seconds since the epoch).
    pub switches_to_on_demand: Vec<f64>,
    /// Maximum on-demand throughput (read, write); `None`: no cap.
    pub caps: (Option<i64>, Option<i64>),
    /// `STANDARD` or `STANDARD_INFREQUENT_ACCESS`.
    pub table_class: String,
    /// Times of table-class changes (seconds since the epoch).
    pub class_changes: Vec<f64>,
    /// Times of capacity decreases of the table, reads and writes counted together (seconds
    /// since the epoch); each GSI keeps its own.
    pub decreases: Vec<f64>,
    /// What CloudWatch reports it consumed; `None`: no datapoint (as an idle table).
    pub usage: Option<SimUsage>,
    /// `TableSizeBytes`.
    pub size_bytes: i64,
    /// How long ago it was created (`CreationDateTime`).
    pub age: Duration,
    /// Changes other teams make: each right after the table's n-th DescribeTable is answered
    /// (1 = the first), e.g. between ddb-fleet's plan and its first UpdateTable.
    pub others: Vec<(usize, OtherChange)>,
    /// DescribeTables answered so far.
    pub reads: usize,
    /// Its tags (key, value), in the order they were put (TagResource, ListTagsOfResource).
    pub tags: Vec<(String, String)>,
}

/// A global secondary index as the simulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimGsi {
    pub read: i64,
    pub write: i64,
    /// Maximum on-demand throughput (read, write); `None`: no cap.
    pub caps: (Option<i64>, Option<i64>),
    /// Being added to the table: CREATING and backfilling until then.
    pub creating_until: Option<Instant>,
    /// Times of this GSI's capacity decreases (its own count, apart from the table's).
    pub decreases: Vec<f64>,
    /// Being deleted: DELETING until then, gone after.
    pub deleting_until: Option<Instant>,
    /// `IndexSizeBytes`.
    pub size_bytes: i64,
}

impl SimGsi {
    pub fn with_capacity(c: i64) -> SimGsi {
        SimGsi {
            read: c,
            write: c,
            caps: (None, None),
            creating_until: None,
            deleting_until: None,
            decreases: vec![],
            size_bytes: 0,
        }
    }

    /// `IndexStatus` apart from the table's own updates, and whether it is backfilling.
    fn lifecycle(&self) -> Option<(&'static str, bool)> {
        let now = Instant::now();
        if self.deleting_until.is_some_and(|t| t > now) {
            Some(("DELETING", false))
        } else if self.creating_until.is_some_and(|t| t > now) {
            Some(("CREATING", true))
        } else {
            None
        }
    }

    fn is_gone(&self) -> bool {
        self.deleting_until.is_some_and(|t| t <= Instant::now())
    }
}

/// What another team does to a table while ddb-fleet works on it.
#[derive(Debug, Clone, PartialEq)]
pub enum OtherChange {
    /// Adds a GSI (at `capacity` if the table is provisioned), CREATING and backfilling for
    /// the given time.
    CreateIndex(String, i64, Duration),
    /// Deletes a GSI: DELETING for the given time, then gone.
    DeleteIndex(String, Duration),
    /// Deletes the table: DELETING from then on.
    DeleteTable,
}

impl SimTable {
    pub fn on_demand(gsis: &[&str]) -> SimTable {
        SimTable {
            on_demand: true,
            read: 0,
            write: 0,
            gsis: gsis
                .iter()
                .map(|g| (g.to_string(), SimGsi::with_capacity(0)))
                .collect(),
            replicas: vec![],
            updating_until: None,
            status_override: None,
            switches_to_on_demand: vec![],
            caps: (None, None),
            table_class: "STANDARD".into(),
            class_changes: vec![],
            decreases: vec![],
            usage: None,
            size_bytes: 0,
            age: Duration::from_secs(400 * 86_400),
            others: vec![],
            reads: 0,
            tags: vec![],
        }
    }

    pub fn provisioned(capacity: i64, gsis: &[&str]) -> SimTable {
        SimTable {
            on_demand: false,
            read: capacity,
            write: capacity,
            gsis: gsis
                .iter()
                .map(|g| (g.to_string(), SimGsi::with_capacity(capacity)))
                .collect(),
            ..SimTable::on_demand(&[])
        }
    }

    /// Counts a DescribeTable answered, and carries out the other teams' changes due at it.
    fn after_read(&mut self) {
        self.reads += 1;
        let due: Vec<OtherChange> = self
            .others
            .iter()
            .filter(|(n, _)| *n == self.reads)
            .map(|(_, c)| c.clone())
            .collect();
        for change in due {
            match change {
                OtherChange::CreateIndex(name, capacity, d) => {
                    let c = if self.on_demand { 0 } else { capacity };
                    let gsi = SimGsi {
                        creating_until: Some(Instant::now() + d),
                        ..SimGsi::with_capacity(c)
                    };
                    self.gsis.insert(name, gsi);
                }
                OtherChange::DeleteIndex(name, d) => {
                    if let Some(g) = self.gsis.get_mut(&name) {
                        g.deleting_until = Some(Instant::now() + d);
                    }
                }
                OtherChange::DeleteTable => self.status_override = Some("DELETING".into()),
            }
        }
    }

    /// Forgets GSIs whose deletion has finished.
    fn settle(&mut self) {
        self.gsis.retain(|_, g| !g.is_gone());
    }

    fn status(&self) -> String {
        if let Some(s) = &self.status_override {
            return s.clone();
        }
        match self.updating_until {
            Some(t) if t > Instant::now() => "UPDATING".into(),
            _ => "ACTIVE".into(),
        }
    }
}

/// A registered scalable target.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTarget {
    pub resource_id: String,
    pub dimension: String,
    pub min: i64,
    pub max: i64,
}

/// A target-tracking scaling policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPolicy {
    pub name: String,
    pub resource_id: String,
    pub dimension: String,
    pub metric: String,
    pub target_value: f64,
}

/// Everything in one (account, region).
#[derive(Debug, Clone, Default)]
pub struct SimRegion {
    pub tables: BTreeMap<String, SimTable>,
    pub targets: Vec<SimTarget>,
    pub policies: Vec<SimPolicy>,
    /// When the first update sent here ended (its table ACTIVE again).
    pub first_update_end: Option<Instant>,
}

/// Counters, for assertions and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct SimStats {
    /// TCP connections accepted.
    pub connections: u64,
    /// The most requests the simulator held at once (read, not yet answered).
    pub max_in_flight: u64,
    pub requests: u64,
    /// When the first and the latest request arrived.
    pub first_request: Option<Instant>,
    pub last_request: Option<Instant>,
    pub throttled: u64,
    pub injected_errors: u64,
    pub dropped: u64,
    /// Writes carried out whose answer was then dropped (`drop_after_rate`).
    pub dropped_after: u64,
    /// Requests by operation name.
    pub by_operation: BTreeMap<String, u64>,
    /// Metrics (queries) GetMetricData was asked for, summed over calls.
    pub metric_queries: u64,
    /// The most tables UPDATING at once, per (account, region).
    pub max_updating: BTreeMap<(String, String), usize>,
    /// UpdateTables refused for too many concurrent operations.
    pub updating_refusals: u64,
    /// Auto scaling put on a GSI that was not ACTIVE (being created, backfilling or deleted)
    /// When each write ([`WRITE_OPERATIONS`]) arrived and was accepted (within the quota), in
    /// order of arrival: what a client sent after a given moment.
    pub writes: Vec<(String, Instant)>,
    /// or does not exist: RegisterScalableTarget and PutScalingPolicy calls. What AWS does
    /// then is not documented; a careful client never does it.
    pub scaling_on_unready_index: u64,
    /// When each table's latest update was sent and when it ended (ACTIVE again), epoch
    /// seconds, per (account, region, table).
    pub updates: BTreeMap<(String, String, String), (f64, f64)>,
    /// The most requests accepted in any one-second window, per (account, region, quota); a
    /// quota is a service's, or one of DynamoDB's two ([`quota_of`]).
    pub max_accepted_per_window: BTreeMap<(String, String, String), usize>,
    /// Requests accepted (not throttled), per (account, region, quota).
    pub accepted: BTreeMap<(String, String, String), u64>,
    /// When the first and the latest accepted requests arrived, per (account, region, quota).
    pub accepted_span: BTreeMap<(String, String, String), (Instant, Instant)>,
    /// Requests accepted before the (account, region)'s first update ended, per (account,
    /// region, quota): none of them can have waited for a switch to finish.
    pub before_first_switch: BTreeMap<(String, String, String), u64>,
}

#[derive(Default)]
struct World {
    regions: BTreeMap<(String, String), SimRegion>,
    /// Accepted request times per (account, region, quota), for the quota.
    windows: HashMap<(String, String, String), VecDeque<Instant>>,
    stats: SimStats,
    keys: HashMap<String, String>, // access key -> account
    /// Requests read and not yet answered.
    in_flight: u64,
    next_key: u64,
    denied: HashSet<String>,
    /// Accounts whose CloudWatch answers AccessDenied.
    metrics_denied: HashSet<String>,
    /// Accounts whose ListTagsOfResource answers AccessDenied (a role without the permission).
    tags_denied: HashSet<String>,
}

/// A running simulator. Dropping it stops it.
pub struct Sim {
    pub endpoint: String,
    world: Arc<Mutex<World>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

type Fleet = Vec<(String, String, String, SimTable)>;

impl Sim {
    /// Starts a simulator on a free loopback port holding `fleet`
    /// (account, region, table name, table).
    pub fn start(config: SimConfig, fleet: Fleet) -> Sim {
        let mut world = World {
            denied: config.denied_accounts.clone(),
            ..World::default()
        };
        for (account, region, name, table) in fleet {
            world
                .regions
                .entry((account, region))
                .or_default()
                .tables
                .insert(name, table);
        }
        let world = Arc::new(Mutex::new(world));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let config = Arc::new(config);
        let w = world.clone();
        runtime.spawn(async move {
            let mut conn_seed = config.seed;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                conn_seed = conn_seed.wrapping_add(1);
                w.lock().unwrap().stats.connections += 1;
                let (w, config) = (w.clone(), config.clone());
                tokio::spawn(serve(stream, w, config, conn_seed));
            }
        });
        Sim {
            endpoint,
            world,
            runtime: Some(runtime),
        }
    }

    /// A copy of one (account, region).
    pub fn region(&self, account: &str, region: &str) -> SimRegion {
        self.world
            .lock()
            .unwrap()
            .regions
            .get(&(account.to_string(), region.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn table(&self, account: &str, region: &str, name: &str) -> SimTable {
        self.region(account, region).tables[name].clone()
    }

    /// Changes a table in place (e.g. to force a status).
    pub fn with_table(
        &self,
        account: &str,
        region: &str,
        name: &str,
        f: impl FnOnce(&mut SimTable),
    ) {
        let mut w = self.world.lock().unwrap();
        let r = w
            .regions
            .get_mut(&(account.to_string(), region.to_string()))
            .unwrap();
        f(r.tables.get_mut(name).unwrap());
    }

    /// Adds a target and a target-tracking policy on it, named as the console would.
    pub fn add_scaling(&self, account: &str, region: &str, target: SimTarget, target_value: f64) {
        let mut w = self.world.lock().unwrap();
        let r = w
            .regions
            .entry((account.to_string(), region.to_string()))
            .or_default();
        let metric = if target.dimension.contains("Read") {
            "DynamoDBReadCapacityUtilization"
        } else {
            "DynamoDBWriteCapacityUtilization"
        };
        r.policies.push(SimPolicy {
            name: format!("{metric}:{}", target.resource_id),
            resource_id: target.resource_id.clone(),
            dimension: target.dimension.clone(),
            metric: metric.into(),
            target_value,
        });
        r.targets.push(target);
    }

    /// Denies CloudWatch (only) in an account.
    pub fn deny_metrics(&self, account: &str) {
        self.world
            .lock()
            .unwrap()
            .metrics_denied
            .insert(account.to_string());
    }

    /// Denies ListTagsOfResource (only) in an account: a role without that permission.
    pub fn deny_tags(&self, account: &str) {
        self.world
            .lock()
            .unwrap()
            .tags_denied
            .insert(account.to_string());
    }

    /// Stops denying an account (its permissions were fixed).
    pub fn allow_account(&self, account: &str) {
        self.world.lock().unwrap().denied.remove(account);
    }

    /// Forgets when the first and latest requests arrived and the most held at once, to
    /// measure the next run on its own.
    pub fn clear_request_times(&self) {
        let mut w = self.world.lock().unwrap();
        (w.stats.first_request, w.stats.last_request) = (None, None);
        w.stats.accepted_span.clear();
        w.stats.max_in_flight = w.in_flight;
    }

    pub fn stats(&self) -> SimStats {
        self.world.lock().unwrap().stats.clone()
    }
}

/// A fleet of `accounts` x `regions` x `tables_per_region`, accounts numbered from
/// 100000000000; `make(i)` gives the i-th table of each region.
pub fn grid(
    accounts: usize,
    regions: &[&str],
    tables_per_region: usize,
    make: impl Fn(usize) -> SimTable,
) -> Fleet {
    let mut fleet = Vec::new();
    for a in 0..accounts {
        let account = format!("{}", 100_000_000_000u64 + a as u64);
        for region in regions {
            for t in 0..tables_per_region {
                fleet.push((
                    account.clone(),
                    region.to_string(),
                    format!("table-{t:05}"),
                    make(t),
                ));
            }
        }
    }
    fleet
}

// ---------------------------------------------------------------- HTTP

struct Request {
    /// The request line's path.
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let path = head
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("/")
                .to_string();
            let mut headers = HashMap::new();
            for line in head.lines().skip(1) {
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            return Some(Request {
                path,
                headers,
                body,
            });
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

/// A request the simulator holds (read, not yet answered): counted in `World::in_flight` from
/// creation until it is answered or dropped.
struct InFlight(Arc<Mutex<World>>);

impl InFlight {
    fn new(world: &Arc<Mutex<World>>) -> Self {
        let mut w = world.lock().unwrap();
        w.in_flight += 1;
        w.stats.max_in_flight = w.stats.max_in_flight.max(w.in_flight);
        InFlight(world.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().in_flight -= 1;
    }
}

/// The operations that change something: an update, a registration, a put, a deletion.
pub const WRITE_OPERATIONS: [&str; 5] = [
    "UpdateTable",
    "RegisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "DeregisterScalableTarget",
];

/// Whether the request changes something (its target names one of [`WRITE_OPERATIONS`]).
fn is_write(req: &Request) -> bool {
    let target = req.headers.get("x-amz-target").map_or("", String::as_str);
    WRITE_OPERATIONS.iter().any(|op| target.ends_with(op))
}

async fn serve(mut stream: TcpStream, world: Arc<Mutex<World>>, config: Arc<SimConfig>, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let _held = InFlight::new(&world);
        if !config.stalled_operations.is_empty()
            && config.stalled_operations.contains(&operation_of(&req))
        {
            *world
                .lock()
                .unwrap()
                .stats
                .by_operation
                .entry(operation_of(&req))
                .or_default() += 1;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        if !config.latency.is_zero() {
            tokio::time::sleep(config.latency).await;
        }
        if config.drop_rate > 0.0 && rng.random_bool(config.drop_rate) {
            world.lock().unwrap().stats.dropped += 1;
            return; // close without answering
        }
        let resp = if config.error_rate > 0.0 && rng.random_bool(config.error_rate) {
            world.lock().unwrap().stats.injected_errors += 1;
            Response {
                status: 500,
                content_type: "application/x-amz-json-1.0",
                body: json!({"__type": "InternalServerError", "message": "injected"})
                    .to_string()
                    .into(),
            }
        } else {
            handle(&req, &world, &config)
        };
        if config.drop_after_rate > 0.0
            && resp.status == 200
            && is_write(&req)
            && rng.random_bool(config.drop_after_rate)
        {
            world.lock().unwrap().stats.dropped_after += 1;
            return; // carried out, but the answer is lost
        }
        // rpc-v2-cbor answers name their protocol (the SDK checks it).
        let protocol = if resp.content_type == CBOR {
            "smithy-protocol: rpc-v2-cbor\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{protocol}x-amzn-RequestId: sim\r\n\r\n",
            resp.status,
            if resp.status == 200 { "OK" } else { "Error" },
            resp.content_type,
            resp.body.len()
        );
        // One write per answer: a client reading a head without its body wakes up twice.
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&resp.body);
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

// ---------------------------------------------------------------- dispatch

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// (access key, region) from `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SVC/aws4_request, ...`
fn credential(req: &Request) -> (String, String) {
    let auth = req
        .headers
        .get("authorization")
        .cloned()
        .unwrap_or_default();
    let cred = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split(',').next())
        .unwrap_or("");
    let parts: Vec<&str> = cred.split('/').collect();
    (
        parts.first().unwrap_or(&"").to_string(),
        parts.get(2).unwrap_or(&"us-east-1").to_string(),
    )
}

/// The operation a request asks for: its target's, its CloudWatch path's, or its form's
/// `Action`.
fn operation_of(req: &Request) -> String {
    if let Some(op) = req.path.strip_prefix(CLOUDWATCH_PATH) {
        return op.to_string();
    }
    match req.headers.get("x-amz-target") {
        Some(t) => t.rsplit('.').next().unwrap_or_default().to_string(),
        None => form(&req.body).remove("Action").unwrap_or_default(),
    }
}

fn form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json_error(status: u16, kind: &'static str, code: &str, message: &str) -> Response {
    Response {
        status,
        content_type: kind,
        body: json!({"__type": code, "message": message, "Message": message})
            .to_string()
            .into(),
    }
}

const DDB: &str = "application/x-amz-json-1.0";
const CBOR: &str = "application/cbor";
/// Where the rpc-v2-cbor protocol sends CloudWatch's operations.
const CLOUDWATCH_PATH: &str = "/service/GraniteServiceVersion20100801/operation/";

fn cbor_error(status: u16, code: &str, message: &str) -> Response {
    Response {
        status,
        content_type: CBOR,
        body: cbor::Cbor::Map(vec![
            ("__type".into(), cbor::Cbor::Text(code.into())),
            ("message".into(), cbor::Cbor::Text(message.into())),
        ])
        .to_bytes(),
    }
}
const AAS: &str = "application/x-amz-json-1.1";

fn sts_error(status: u16, code: &str, message: &str) -> Response {
    Response {
        status,
        content_type: "text/xml",
        body: format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>sim</RequestId></ErrorResponse>"
        ).into(),
    }
}

/// The quota `op` of `service` counts against: its service's, but DynamoDB's control plane
/// counts reads and mutating calls (its [`WRITE_OPERATIONS`]) apart, each with its own quota
/// per account and region (AWS-RULES.md, "Throttling and quotas": 2,500/s each).
pub fn quota_of<'a>(service: &'a str, op: &str) -> &'a str {
    match service {
        "dynamodb" if WRITE_OPERATIONS.contains(&op) => DYNAMODB_MUTATING,
        "dynamodb" if op == "ListTagsOfResource" => DYNAMODB_TAGS,
        "dynamodb" if op == "TagResource" || op == "UntagResource" => DYNAMODB_TAGGING,
        other => other,
    }
}

/// The quota of ListTagsOfResource: AWS allows 10 calls a second per account (all regions).
pub const DYNAMODB_TAGS: &str = "dynamodb-tags";
/// The quota of TagResource and UntagResource: 5 calls a second per account.
pub const DYNAMODB_TAGGING: &str = "dynamodb-tagging";
/// The region of a quota counted per account (the stats' keys).
pub const ALL_REGIONS: &str = "*";

/// A quota's calls per second when the simulator enforces `configured`: AWS's own figure for
/// the tagging calls, if lower.
fn quota_limit(quota: &str, configured: u32) -> u32 {
    match quota {
        DYNAMODB_TAGS => configured.min(10),
        DYNAMODB_TAGGING => configured.min(5),
        _ => configured,
    }
}

/// The quota (and the stats' service name) of DynamoDB's mutating control-plane calls.
pub const DYNAMODB_MUTATING: &str = "dynamodb-mutating";

fn handle(req: &Request, world: &Mutex<World>, config: &SimConfig) -> Response {
    let (key, region) = credential(req);
    let target = req.headers.get("x-amz-target").cloned().unwrap_or_default();
    let mut w = world.lock().unwrap();
    w.stats.requests += 1;
    let now = Instant::now();
    w.stats.first_request.get_or_insert(now);
    w.stats.last_request = Some(now);
    let account = w
        .keys
        .get(&key)
        .cloned()
        .or_else(|| config.unknown_key_account.clone())
        .unwrap_or_else(|| CALLER_ACCOUNT.to_string());

    let (service, op, kind) = if let Some(op) = req.path.strip_prefix(CLOUDWATCH_PATH) {
        ("cloudwatch", op.to_string(), CBOR)
    } else if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
        ("dynamodb", op.to_string(), DDB)
    } else if let Some(op) = target.strip_prefix("AnyScaleFrontendService.") {
        ("autoscaling", op.to_string(), AAS)
    } else {
        let f = form(&req.body);
        // The Query protocol's services, told apart by the signature's service name.
        let service = match req.headers.get("authorization") {
            Some(a) if a.contains("/ec2/aws4_request") => "ec2",
            _ => "sts",
        };
        (
            service,
            f.get("Action").cloned().unwrap_or_default(),
            "text/xml",
        )
    };
    let refused = config
        .tokens_refused
        .contains(&(account.clone(), region.clone()));
    if service != "sts" && (refused || !ec2::enabled(&config.opted_in, &account, &region)) {
        *w.stats.by_operation.entry(op.clone()).or_default() += 1;
        return ec2::not_enabled(service, kind);
    }
    *w.stats.by_operation.entry(op.clone()).or_default() += 1;

    // Quota: at most `q` accepted requests in any one-second window. The window is kept (and
    // its maximum recorded) even without a quota, to measure the client's own rate limiting.
    let quota = quota_of(service, &op);
    let wkey = (
        account.clone(),
        // AWS states the tagging calls' quotas per account, for all its regions.
        if quota == DYNAMODB_TAGS || quota == DYNAMODB_TAGGING {
            ALL_REGIONS.to_string()
        } else {
            region.clone()
        },
        quota.to_string(),
    );
    let window = w.windows.entry(wkey.clone()).or_default();
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        window.pop_front();
    }
    if config
        .quota_per_sec
        .is_some_and(|q| window.len() >= quota_limit(quota, q) as usize)
    {
        w.stats.throttled += 1;
        return match service {
            "sts" => sts_error(400, "Throttling", "Rate exceeded"),
            "cloudwatch" => cbor_error(400, "Throttling", "Rate exceeded"),
            _ => json_error(400, kind, "ThrottlingException", "Rate exceeded"),
        };
    }
    window.push_back(now);
    let n = window.len();
    *w.stats.accepted.entry(wkey.clone()).or_default() += 1;
    let place = (account.clone(), region.clone());
    let first_end = w.regions.get(&place).and_then(|r| r.first_update_end);
    if first_end.is_none_or(|end| now < end) {
        *w.stats.before_first_switch.entry(wkey.clone()).or_default() += 1;
    }
    w.stats
        .accepted_span
        .entry(wkey.clone())
        .and_modify(|(_, last)| *last = now)
        .or_insert((now, now));
    let max = w.stats.max_accepted_per_window.entry(wkey).or_default();
    *max = (*max).max(n);

    if WRITE_OPERATIONS.contains(&op.as_str()) {
        w.stats.writes.push((op.clone(), now));
    }
    if service == "sts" {
        return sts(&mut w, &account, &form(&req.body), config);
    }
    if service == "ec2" && config.regions_denied.contains(&account) {
        return ec2::error(
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        );
    }
    if service == "ec2" {
        return ec2::answer(&form(&req.body), &account, &config.opted_in);
    }
    if w.denied.contains(&account)
        || (service == "cloudwatch" && w.metrics_denied.contains(&account))
        || (op == "ListTagsOfResource" && w.tags_denied.contains(&account))
    {
        let message = format!("User is not authorized to perform {op} in account {account}");
        return match service {
            "cloudwatch" => cbor_error(400, "AccessDenied", &message),
            _ => json_error(400, kind, "AccessDeniedException", &message),
        };
    }
    if service == "cloudwatch" {
        return metrics(w, &op, &req.body, &account, &region);
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(json!({}));
    let world = &mut *w;
    let r = world.regions.entry(place).or_default();
    let result = if service == "dynamodb" {
        dynamodb(r, &op, &body, config, &account, &region)
    } else {
        let unready = scales_unready_index(r, &op, &body);
        let result = autoscaling(r, &op, &body, &account, &region, config);
        world.stats.scaling_on_unready_index += u64::from(unready);
        result
    };
    if op == "UpdateTable" {
        let updating = r
            .tables
            .values()
            .filter(|t| t.status() == "UPDATING")
            .count();
        let update = accepted_update(r, &result, &body, &account, &region);
        let seen = world
            .stats
            .max_updating
            .entry((account.clone(), region.clone()))
            .or_default();
        *seen = (*seen).max(updating);
        if matches!(&result, Err(("LimitExceededException", m)) if m.contains("concurrent control plane"))
        {
            world.stats.updating_refusals += 1;
        }
        if let Some(update) = update {
            world.stats.updates.insert(update.0, update.1);
        }
    }
    match result {
        Ok(v) => Response {
            status: 200,
            content_type: kind,
            body: v.to_string().into(),
        },
        Err((code, message)) => json_error(400, kind, code, &message),
    }
}

/// Whether this call puts auto scaling on a GSI that is not ACTIVE or does not exist.
fn scales_unready_index(r: &SimRegion, op: &str, body: &Value) -> bool {
    if op != "RegisterScalableTarget" && op != "PutScalingPolicy" {
        return false;
    }
    let rid = body["ResourceId"].as_str().unwrap_or_default();
    let Some((table, index)) = rid
        .strip_prefix("table/")
        .and_then(|rest| rest.split_once("/index/"))
    else {
        return false;
    };
    let gsi = r.tables.get(table).and_then(|t| t.gsis.get(index));
    gsi.is_none_or(|g| g.lifecycle().is_some() || g.is_gone())
}

/// An accepted UpdateTable's table and when it was sent and will end (epoch seconds).
#[allow(clippy::type_complexity)]
fn accepted_update(
    r: &SimRegion,
    result: &OpResult,
    body: &Value,
    account: &str,
    region: &str,
) -> Option<((String, String, String), (f64, f64))> {
    let name = body["TableName"].as_str()?;
    let t = r.tables.get(name).filter(|_| result.is_ok())?;
    let sent = now_secs();
    let lasts = t.updating_until.map_or(0.0, |u| {
        u.saturating_duration_since(Instant::now()).as_secs_f64()
    });
    let key = (account.to_string(), region.to_string(), name.to_string());
    Some((key, (sent, sent + lasts)))
}

/// CloudWatch: GetMetricData over the tables' usage profiles. The answer is built after the
/// world's lock is let go: a page is 100,800 datapoints.
fn metrics(
    mut w: std::sync::MutexGuard<'_, World>,
    op: &str,
    body: &[u8],
    account: &str,
    region: &str,
) -> Response {
    if op != "GetMetricData" {
        return cbor_error(
            400,
            "UnknownOperationException",
            &format!("unsupported operation {op}"),
        );
    }
    let Some(body) = cbor::decode(body) else {
        return cbor_error(400, "SerializationException", "the body is not CBOR");
    };
    let now = now_secs() as i64;
    let place = w
        .regions
        .get(&(account.to_string(), region.to_string()))
        .cloned()
        .unwrap_or_default();
    let queries = body["MetricDataQueries"].as_array().map_or(0, Vec::len) as u64;
    w.stats.metric_queries += queries;
    drop(w);
    let lookup = |table: &str, index: Option<&str>| {
        let t = place.tables.get(table)?;
        let gsi = index.and_then(|i| t.gsis.get(i));
        let [read, write] = serving(&place, table, t, index.zip(gsi));
        Some(cloudwatch::Lookup {
            usage: t.usage.clone(),
            created: now - t.age.as_secs() as i64,
            has_index: gsi.is_some(),
            read,
            write,
        })
    };
    match cloudwatch::get_metric_data(&body, now, lookup) {
        Ok((answer, _points)) => Response {
            status: 200,
            content_type: CBOR,
            body: answer.to_bytes(),
        },
        Err((code, message)) => cbor_error(400, code, &message),
    }
}

/// How a table (or one of its GSIs) serves reads and writes now: on-demand with its caps, or
/// provisioned at its capacity, or under target tracking where a scalable target and a
/// target-tracking policy are registered for the dimension.
fn serving(
    place: &SimRegion,
    table: &str,
    t: &SimTable,
    gsi: Option<(&str, &SimGsi)>,
) -> [cloudwatch::Serving; 2] {
    let (caps, capacity, resource, kind) = match gsi {
        Some((name, g)) => (
            g.caps,
            (g.read, g.write),
            format!("table/{table}/index/{name}"),
            "index",
        ),
        None => (t.caps, (t.read, t.write), format!("table/{table}"), "table"),
    };
    let side = |read: bool| {
        if t.on_demand {
            return cloudwatch::Serving::OnDemand(if read { caps.0 } else { caps.1 });
        }
        let dimension = format!(
            "dynamodb:{kind}:{}CapacityUnits",
            if read { "Read" } else { "Write" }
        );
        let target = place
            .targets
            .iter()
            .find(|x| x.resource_id == resource && x.dimension == dimension);
        let policy = place
            .policies
            .iter()
            .find(|p| p.resource_id == resource && p.dimension == dimension);
        match (target, policy) {
            (Some(x), Some(p)) => cloudwatch::Serving::AutoScaled(x.min, x.max, p.target_value),
            _ => cloudwatch::Serving::Fixed(if read { capacity.0 } else { capacity.1 }),
        }
    };
    [side(true), side(false)]
}

fn sts(w: &mut World, account: &str, f: &HashMap<String, String>, config: &SimConfig) -> Response {
    match f.get("Action").map(String::as_str) {
        Some("AssumeRole") => {
            let arn = f.get("RoleArn").cloned().unwrap_or_default();
            if config.unassumable_roles.contains(&arn) {
                return sts_error(403, "AccessDenied", &format!("User is not authorized to perform: sts:AssumeRole on resource: {arn}"));
            }
            let role_account = config
                .misdirected_roles
                .get(&arn)
                .cloned()
                .unwrap_or_else(|| arn.split(':').nth(4).unwrap_or("").to_string());
            w.next_key += 1;
            let key = format!("ASIASIM{:013}", w.next_key);
            w.keys.insert(key.clone(), role_account.clone());
            let exp = aws_smithy_types::DateTime::from_secs(now_secs() as i64 + 3600)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap();
            let session = f.get("RoleSessionName").cloned().unwrap_or_default();
            Response {
                status: 200,
                content_type: "text/xml",
                body: format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>simsecret{key}</SecretAccessKey><SessionToken>simtoken{key}</SessionToken><Expiration>{exp}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASIM:{session}</AssumedRoleId><Arn>arn:aws:sts::{role_account}:assumed-role/r/{session}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></AssumeRoleResponse>"
                ).into(),
            }
        }
        Some("GetCallerIdentity") => Response {
            status: 200,
            content_type: "text/xml",
            body: format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::{account}:user/sim</Arn><UserId>SIM</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ).into(),
        },
        other => sts_error(400, "InvalidAction", &format!("unsupported action {other:?}")),
    }
}

/// An AWS error answer: (code, message).
type SimError = (&'static str, String);
type OpResult = Result<Value, SimError>;

fn describe(name: &str, t: &SimTable, account: &str, region: &str) -> Value {
    let pt = |r: i64, w: i64| json!({"ReadCapacityUnits": r, "WriteCapacityUnits": w, "NumberOfDecreasesToday": 0});
    let mut v = json!({
        "TableName": name,
        "TableArn": format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
        "TableStatus": t.status(),
        "ProvisionedThroughput": pt(t.read, t.write),
        "BillingModeSummary": {"BillingMode": if t.on_demand { "PAY_PER_REQUEST" } else { "PROVISIONED" }},
    });
    if let Some(last) = t.switches_to_on_demand.last() {
        v["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = json!(last);
    }
    v["TableSizeBytes"] = json!(t.size_bytes);
    v["CreationDateTime"] = json!(now_secs() - t.age.as_secs_f64());
    // AWS answers -1 for a side without a cap.
    let caps = |c: (Option<i64>, Option<i64>)| json!({"MaxReadRequestUnits": c.0.unwrap_or(-1), "MaxWriteRequestUnits": c.1.unwrap_or(-1)});
    v["OnDemandThroughput"] = caps(t.caps);
    // A table whose class never changed has no summary (its class is STANDARD).
    if let Some(last) = t.class_changes.last() {
        v["TableClassSummary"] = json!({"TableClass": t.table_class, "LastUpdateDateTime": last});
    } else if t.table_class != "STANDARD" {
        v["TableClassSummary"] = json!({"TableClass": t.table_class});
    }
    if !t.gsis.is_empty() {
        let table = if t.status() == "UPDATING" {
            "UPDATING"
        } else {
            "ACTIVE"
        };
        // A GSI added to an existing table is CREATING and backfilling, then ACTIVE; one
        // being deleted is DELETING until it disappears. `Backfilling` only appears on GSIs
        // added after the table was created, as AWS shows it.
        v["GlobalSecondaryIndexes"] = t
            .gsis
            .iter()
            .map(|(g, i)| {
                let (status, backfilling) = i.lifecycle().unwrap_or((table, false));
                let mut gsi = json!({"IndexName": g, "IndexStatus": status, "ProvisionedThroughput": pt(i.read, i.write), "OnDemandThroughput": caps(i.caps), "IndexSizeBytes": i.size_bytes});
                if i.creating_until.is_some() {
                    gsi["Backfilling"] = json!(backfilling);
                }
                gsi
            })
            .collect();
    }
    if !t.replicas.is_empty() {
        v["Replicas"] = t
            .replicas
            .iter()
            .map(|r| json!({"RegionName": r}))
            .collect();
    }
    v
}

/// Tags a page of ListTagsOfResource holds (AWS publishes no page size; small enough that
/// a table with a few tags takes more than one page).
const TAGS_PER_PAGE: usize = 10;

/// ListTagsOfResource (paginated with `NextToken`) and TagResource (adds or replaces), on a
/// table of this (account, region) named by its ARN; any other ARN answers
/// ResourceNotFoundException, with AWS's wording.
fn tags(r: &mut SimRegion, op: &str, body: &Value, account: &str, region: &str) -> OpResult {
    let arn = body["ResourceArn"].as_str().unwrap_or_default();
    let prefix = format!("arn:aws:dynamodb:{region}:{account}:table/");
    let t = arn
        .strip_prefix(&prefix)
        .filter(|name| !name.contains('/'))
        .and_then(|name| r.tables.get_mut(name))
        .ok_or_else(|| {
            (
                "ResourceNotFoundException",
                format!("Requested resource not found: ResourcArn: {arn} not found"),
            )
        })?;
    if op == "TagResource" {
        for tag in body["Tags"].as_array().into_iter().flatten() {
            let key = tag["Key"].as_str().unwrap_or_default().to_string();
            let value = tag["Value"].as_str().unwrap_or_default().to_string();
            match t.tags.iter_mut().find(|(k, _)| *k == key) {
                Some(kv) => kv.1 = value,
                None => t.tags.push((key, value)),
            }
        }
        return Ok(json!({}));
    }
    let start: usize = body["NextToken"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = t
        .tags
        .iter()
        .skip(start)
        .take(TAGS_PER_PAGE)
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    let mut v = json!({"Tags": page});
    if start + TAGS_PER_PAGE < t.tags.len() {
        v["NextToken"] = json!((start + TAGS_PER_PAGE).to_string());
    }
    Ok(v)
}

fn dynamodb(
    r: &mut SimRegion,
    op: &str,
    body: &Value,
    config: &SimConfig,
    account: &str,
    region: &str,
) -> OpResult {
    let name = body["TableName"].as_str().unwrap_or_default().to_string();
    let not_found = || {
        (
            "ResourceNotFoundException",
            format!("Requested resource not found: Table: {name} not found"),
        )
    };
    match op {
        "DescribeTable" => {
            let t = r.tables.get_mut(&name).ok_or_else(not_found)?;
            t.settle();
            let answer = json!({"Table": describe(&name, t, account, region)});
            t.after_read();
            Ok(answer)
        }
        "ListTagsOfResource" | "TagResource" => tags(r, op, body, account, region),
        "ListTables" => {
            let start = body["ExclusiveStartTableName"].as_str();
            let limit = body["Limit"].as_u64().unwrap_or(100) as usize;
            let names: Vec<&String> = r
                .tables
                .keys()
                .filter(|n| start.is_none_or(|s| n.as_str() > s))
                .take(limit)
                .collect();
            let mut v = json!({"TableNames": names});
            if names.len() == limit {
                v["LastEvaluatedTableName"] = json!(names.last());
            }
            Ok(v)
        }
        "UpdateTable" => {
            let updating = r
                .tables
                .values()
                .filter(|t| t.status() == "UPDATING")
                .count();
            if config.max_updating.is_some_and(|m| updating >= m) {
                return Err(("LimitExceededException", format!("Subscriber limit exceeded: {updating} tables are being created, updated or deleted at once (the limit of concurrent control plane operations)")));
            }
            let t = r.tables.get_mut(&name).ok_or_else(not_found)?;
            t.settle();
            update_table(t, &name, body)?;
            let duration = update_duration(
                config,
                [account, region, name.as_str()],
                t.switches_to_on_demand.len() + t.class_changes.len(),
            );
            let end = Instant::now() + duration;
            if !duration.is_zero() {
                t.updating_until = Some(end);
            }
            let t = t.clone();
            r.first_update_end = Some(r.first_update_end.map_or(end, |e| e.min(end)));
            Ok(json!({"TableDescription": describe(&name, &t, account, region)}))
        }
        _ => Err((
            "UnknownOperationException",
            format!("unsupported operation {op}"),
        )),
    }
}

/// How long this update keeps the table UPDATING: fixed, or drawn (deterministically, from the
/// table's account, region and name and how many times it changed) from the configured range.
/// Tables of the same name in other accounts or regions draw their own times.
fn update_duration(config: &SimConfig, table: [&str; 3], changes: usize) -> Duration {
    let Some(max) = config.update_duration_max else {
        return config.update_duration;
    };
    let min = config.update_duration;
    let span = max.saturating_sub(min).as_millis() as u64;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ changes as u64;
    for b in table.join("/").bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    min + Duration::from_millis(if span == 0 { 0 } else { h % (span + 1) })
}

/// The two table-class changes AWS allows per trailing 30 days.
const CLASS_CHANGES_PER_30_DAYS: usize = 2;
const CLASS_WINDOW_SECS: f64 = 30.0 * 86_400.0;

fn fmt_secs(s: f64) -> String {
    aws_smithy_types::DateTime::from_secs(s as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

/// An `OnDemandThroughput` value: -1 removes the cap, 1 or more sets it; anything else is
/// refused. `None` when the side is not given.
fn cap_value(v: &Value, field: &str) -> Result<Option<Option<i64>>, SimError> {
    match v[field].as_i64() {
        None => Ok(None),
        Some(-1) => Ok(Some(None)),
        Some(n) if n >= 1 => Ok(Some(Some(n))),
        Some(n) => Err((
            "ValidationException",
            format!("One or more parameter values were invalid: {field} must be -1 or at least 1, found {n}"),
        )),
    }
}

fn apply_caps(slot: &mut (Option<i64>, Option<i64>), v: &Value) -> Result<(), SimError> {
    if let Some(c) = cap_value(v, "MaxReadRequestUnits")? {
        slot.0 = c;
    }
    if let Some(c) = cap_value(v, "MaxWriteRequestUnits")? {
        slot.1 = c;
    }
    Ok(())
}

/// UpdateTable, as AWS takes it: the table and every GSI must be ACTIVE (a GSI being created
/// or deleted makes AWS refuse the update); a class change comes alone (AWS
/// refuses it with other parameters) and at most twice per 30 days; a switch to provisioned
/// carries throughput for every GSI, a switch to on-demand none; GSI updates name existing
/// GSIs. Nothing is changed unless the whole request is accepted.
fn update_table(t: &mut SimTable, name: &str, body: &Value) -> Result<(), SimError> {
    if t.status() != "ACTIVE" {
        return Err(("ResourceInUseException", format!("Attempt to change a resource which is still in use: Table is being updated: {name}")));
    }
    // Not until every GSI is ACTIVE too (AWS-RULES: wait for every IndexStatus == ACTIVE).
    if let Some((g, (status, _))) = t.gsis.iter().find_map(|(g, i)| Some((g, i.lifecycle()?))) {
        return Err(("ResourceInUseException", format!("Attempt to change a resource which is still in use: Index {g} of table {name} is {status}")));
    }
    let mode = body["BillingMode"].as_str();
    let updates = body["GlobalSecondaryIndexUpdates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has_caps = body.get("OnDemandThroughput").is_some();
    if let Some(class) = body["TableClass"].as_str() {
        if mode.is_some()
            || !updates.is_empty()
            || has_caps
            || body.get("ProvisionedThroughput").is_some()
        {
            return Err((
                "ValidationException",
                "TableClass cannot be updated together with other table parameters".into(),
            ));
        }
        return change_class(t, class);
    }
    let mut next = t.clone();
    for u in &updates {
        let u = &u["Update"];
        let g = u["IndexName"].as_str().unwrap_or_default();
        let Some(gsi) = next.gsis.get_mut(g) else {
            return Err(("ValidationException", format!("One or more parameter values were invalid: Index {g} does not exist for table {name}")));
        };
        if let Some(oc) = u.get("OnDemandThroughput") {
            apply_caps(&mut gsi.caps, oc)?;
        }
    }
    if let Some(oc) = body.get("OnDemandThroughput") {
        apply_caps(&mut next.caps, oc)?;
    }
    match mode {
        Some("PAY_PER_REQUEST") => switch_to_on_demand(&mut next, &updates)?,
        Some("PROVISIONED") => switch_to_provisioned(&mut next, body, &updates)?,
        Some(other) => return Err(("ValidationException", format!("unknown BillingMode {other}"))),
        None if has_caps || !updates.is_empty() => {}
        None => {
            return Err((
                "ValidationException",
                "UpdateTable names nothing to change (the simulator serves BillingMode, OnDemandThroughput, GSI updates and TableClass)".into(),
            ))
        }
    }
    *t = next;
    Ok(())
}

fn change_class(t: &mut SimTable, class: &str) -> Result<(), SimError> {
    if class != "STANDARD" && class != "STANDARD_INFREQUENT_ACCESS" {
        return Err(("ValidationException", format!("unknown TableClass {class}")));
    }
    if class == t.table_class {
        return Err(("ValidationException", format!("Table is already {class}")));
    }
    let now = now_secs();
    let recent: Vec<f64> = t
        .class_changes
        .iter()
        .copied()
        .filter(|s| now - s < CLASS_WINDOW_SECS)
        .collect();
    if recent.len() >= CLASS_CHANGES_PER_30_DAYS {
        // AWS does not publish this message; it is modelled on its switch-limit refusal.
        return Err(("LimitExceededException", format!(
            "Subscriber limit exceeded: Update to TableClass are limited to {CLASS_CHANGES_PER_30_DAYS} times in 30 day(s). Last update at {}. Next update can be made at {}",
            fmt_secs(*recent.last().unwrap()), fmt_secs(recent[0] + CLASS_WINDOW_SECS)
        )));
    }
    t.table_class = class.to_string();
    t.class_changes.push(now);
    Ok(())
}

fn switch_to_on_demand(t: &mut SimTable, updates: &[Value]) -> Result<(), SimError> {
    if let Some(g) = updates
        .iter()
        .find(|u| u["Update"].get("ProvisionedThroughput").is_some())
    {
        let g = g["Update"]["IndexName"].as_str().unwrap_or_default();
        return Err(("ValidationException", format!("One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: {g} when BillingMode is PAY_PER_REQUEST")));
    }
    if t.on_demand {
        return Err((
            "ValidationException",
            "Table is already PAY_PER_REQUEST".into(),
        ));
    }
    let now = now_secs();
    let recent: Vec<f64> = t
        .switches_to_on_demand
        .iter()
        .copied()
        .filter(|s| now - s < 86_400.0)
        .collect();
    if recent.len() >= 4 {
        return Err(("LimitExceededException", format!(
            "Subscriber limit exceeded: Update to PayPerRequest mode are limited to 4 times in 1 day(s). Last update at {}. Next update can be made at {}",
            fmt_secs(*recent.last().unwrap()), fmt_secs(recent[0] + 86_400.0)
        )));
    }
    t.on_demand = true;
    t.read = 0;
    t.write = 0;
    for g in t.gsis.values_mut() {
        (g.read, g.write) = (0, 0);
    }
    t.switches_to_on_demand.push(now);
    Ok(())
}

/// AWS's quota on capacity decreases (AWS-RULES, "Auto scaling"): per table (each GSI apart),
/// reads and writes together, up to 4 at any time in a UTC day, then one more an hour after
/// the last. Records the decrease at `now` when it is allowed.
fn decrease(past: &mut Vec<f64>, now: f64) -> Result<(), SimError> {
    let day = (now / 86_400.0).floor();
    let today: Vec<f64> = past
        .iter()
        .copied()
        .filter(|t| (t / 86_400.0).floor() == day)
        .collect();
    let last = today.iter().copied().fold(f64::MIN, f64::max);
    if today.len() >= 4 && now - last < 3_600.0 {
        let when = |t: f64| {
            aws_smithy_types::DateTime::from_secs(t as i64)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap()
        };
        return Err(("LimitExceededException", format!(
            "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: {}. Last decrease at {}. Next decrease can be made at {}",
            today.len(), when(last), when(last + 3_600.0)
        )));
    }
    past.push(now);
    Ok(())
}

fn switch_to_provisioned(
    t: &mut SimTable,
    body: &Value,
    updates: &[Value],
) -> Result<(), SimError> {
    let pt = &body["ProvisionedThroughput"];
    let (Some(rc), Some(wc)) = (
        pt["ReadCapacityUnits"].as_i64(),
        pt["WriteCapacityUnits"].as_i64(),
    ) else {
        return Err(("ValidationException", "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED".into()));
    };
    let gsi_pt: BTreeMap<String, (i64, i64)> = updates
        .iter()
        .filter_map(|u| {
            let u = &u["Update"];
            Some((
                u["IndexName"].as_str()?.to_string(),
                (
                    u["ProvisionedThroughput"]["ReadCapacityUnits"].as_i64()?,
                    u["ProvisionedThroughput"]["WriteCapacityUnits"].as_i64()?,
                ),
            ))
        })
        .collect();
    if t.on_demand {
        for g in t.gsis.keys() {
            if !gsi_pt.contains_key(g) {
                return Err(("ValidationException", format!("One or more parameter values were invalid: ProvisionedThroughput must be specified for index: {g}")));
            }
        }
    }
    if !t.replicas.is_empty() {
        // A provisioned global table needs write auto scaling first; the simulator refuses
        // the switch as AWS does without it.
        return Err((
            "ValidationException",
            "Table write capacity should either be Pay-Per-Request or AutoScaled.".into(),
        ));
    }
    if !t.on_demand {
        let now = now_secs();
        if rc < t.read || wc < t.write {
            decrease(&mut t.decreases, now)?;
        }
        for (g, (r, w)) in &gsi_pt {
            if let Some(gsi) = t.gsis.get_mut(g) {
                if *r < gsi.read || *w < gsi.write {
                    decrease(&mut gsi.decreases, now)?;
                }
            }
        }
    }
    let unchanged = !t.on_demand
        && (rc, wc) == (t.read, t.write)
        && gsi_pt
            .iter()
            .all(|(g, pt)| t.gsis.get(g).is_some_and(|s| (s.read, s.write) == *pt));
    if unchanged {
        // AWS refuses an update that changes nothing (e.g. a switch sent again after it landed).
        return Err(("ValidationException", format!("The provisioned throughput for the table will not change. The requested value equals the current value. Current ReadCapacityUnits provisioned for the table: {}. Requested ReadCapacityUnits: {rc}. Current WriteCapacityUnits provisioned for the table: {}. Requested WriteCapacityUnits: {wc}. Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.", t.read, t.write)));
    }
    t.on_demand = false;
    t.read = rc;
    t.write = wc;
    for (g, (r, w)) in gsi_pt {
        if let Some(slot) = t.gsis.get_mut(&g) {
            (slot.read, slot.write) = (r, w);
        }
    }
    Ok(())
}

fn target_json(t: &SimTarget, account: &str) -> Value {
    json!({
        "ServiceNamespace": "dynamodb", "ResourceId": t.resource_id, "ScalableDimension": t.dimension,
        "MinCapacity": t.min, "MaxCapacity": t.max, "CreationTime": 1.7e9,
        "RoleARN": format!("arn:aws:iam::{account}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"),
    })
}

fn policy_json(p: &SimPolicy, account: &str, region: &str) -> Value {
    json!({
        "PolicyARN": format!("arn:aws:autoscaling:{region}:{account}:scalingPolicy:sim:resource/dynamodb/{}:policyName/{}", p.resource_id, p.name),
        "PolicyName": p.name, "ServiceNamespace": "dynamodb", "ResourceId": p.resource_id,
        "ScalableDimension": p.dimension, "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": p.target_value,
            "PredefinedMetricSpecification": {"PredefinedMetricType": p.metric},
        },
        "Alarms": [], "CreationTime": 1.7e9,
    })
}

/// One page of `items`. AWS's page sizes: `MaxResults` from 1 to `limit` (50 for
/// DescribeScalableTargets, 10 for DescribeScalingPolicies), `limit` when absent.
fn page<T: Clone>(
    items: &[T],
    body: &Value,
    limit: u64,
) -> Result<(Vec<T>, Option<String>), SimError> {
    let start: usize = body["NextToken"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let max = body["MaxResults"].as_u64().unwrap_or(limit);
    if !(1..=limit).contains(&max) {
        return Err((
            "ValidationException",
            format!("MaxResults: must be between 1 and {limit}"),
        ));
    }
    let end = (start + max as usize).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start.min(end)..end].to_vec(), next))
}

fn autoscaling(
    r: &mut SimRegion,
    op: &str,
    body: &Value,
    account: &str,
    region: &str,
    config: &SimConfig,
) -> OpResult {
    let rid = body["ResourceId"].as_str().unwrap_or_default().to_string();
    let dim = body["ScalableDimension"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let missing_target = || {
        ("ObjectNotFoundException", format!("No scalable target registered for service namespace: dynamodb, resource ID: {rid}, scalable dimension: {dim}"))
    };
    match op {
        "DescribeScalableTargets" => {
            let ids: Option<HashSet<&str>> = body["ResourceIds"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect());
            if ids.as_ref().is_some_and(|i| i.len() > 50) {
                return Err(("ValidationException", "ResourceIds: at most 50".into()));
            }
            let all: Vec<SimTarget> = r
                .targets
                .iter()
                .filter(|t| {
                    ids.as_ref()
                        .is_none_or(|i| i.contains(t.resource_id.as_str()))
                })
                .cloned()
                .collect();
            let (items, next) = page(&all, body, 50)?;
            let mut v = json!({"ScalableTargets": items.iter().map(|t| target_json(t, account)).collect::<Vec<_>>()});
            if let Some(n) = next {
                v["NextToken"] = json!(n);
            }
            Ok(v)
        }
        "DescribeScalingPolicies" => {
            let filter = body["ResourceId"].as_str();
            let all: Vec<SimPolicy> = r
                .policies
                .iter()
                .filter(|p| filter.is_none_or(|f| p.resource_id == f))
                .cloned()
                .collect();
            let (items, next) = page(&all, body, 10)?;
            let mut v = json!({"ScalingPolicies": items.iter().map(|p| policy_json(p, account, region)).collect::<Vec<_>>()});
            if let Some(n) = next {
                v["NextToken"] = json!(n);
            }
            Ok(v)
        }
        "RegisterScalableTarget" => {
            let (min, max) = (body["MinCapacity"].as_i64(), body["MaxCapacity"].as_i64());
            match r
                .targets
                .iter_mut()
                .find(|t| t.resource_id == rid && t.dimension == dim)
            {
                Some(t) => {
                    t.min = min.unwrap_or(t.min);
                    t.max = max.unwrap_or(t.max);
                }
                None => {
                    let (Some(min), Some(max)) = (min, max) else {
                        return Err((
                            "ValidationException",
                            "MinCapacity and MaxCapacity are required for a new target".into(),
                        ));
                    };
                    if r.targets.len() >= config.max_scalable_targets {
                        return Err((
                            "LimitExceededException",
                            format!("The maximum number of scalable targets ({}) for this service namespace in this account and region has been reached", config.max_scalable_targets),
                        ));
                    }
                    r.targets.push(SimTarget {
                        resource_id: rid.clone(),
                        dimension: dim.clone(),
                        min,
                        max,
                    });
                }
            }
            Ok(
                json!({"ScalableTargetARN": format!("arn:aws:application-autoscaling:{region}:{account}:scalable-target/sim")}),
            )
        }
        "PutScalingPolicy" => {
            if !r
                .targets
                .iter()
                .any(|t| t.resource_id == rid && t.dimension == dim)
            {
                return Err(missing_target());
            }
            let name = body["PolicyName"].as_str().unwrap_or_default().to_string();
            let c = &body["TargetTrackingScalingPolicyConfiguration"];
            let p = SimPolicy {
                name: name.clone(),
                resource_id: rid.clone(),
                dimension: dim.clone(),
                metric: c["PredefinedMetricSpecification"]["PredefinedMetricType"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
                target_value: c["TargetValue"].as_f64().unwrap_or_default(),
            };
            r.policies
                .retain(|x| !(x.resource_id == rid && x.dimension == dim && x.name == name));
            let v = policy_json(&p, account, region);
            r.policies.push(p);
            Ok(json!({"PolicyARN": v["PolicyARN"], "Alarms": []}))
        }
        "DeleteScalingPolicy" => {
            let name = body["PolicyName"].as_str().unwrap_or_default();
            let before = r.policies.len();
            r.policies
                .retain(|x| !(x.resource_id == rid && x.dimension == dim && x.name == name));
            if r.policies.len() == before {
                return Err(("ObjectNotFoundException", format!("No scaling policy found for service namespace: dynamodb, resource ID: {rid}, scalable dimension: {dim}, policy name: {name}")));
            }
            Ok(json!({}))
        }
        "DeregisterScalableTarget" => {
            let before = r.targets.len();
            r.targets
                .retain(|t| !(t.resource_id == rid && t.dimension == dim));
            if r.targets.len() == before {
                return Err(missing_target());
            }
            // AWS deletes the target's policies with it.
            r.policies
                .retain(|p| !(p.resource_id == rid && p.dimension == dim));
            Ok(json!({}))
        }
        _ => Err((
            "UnknownOperationException",
            format!("unsupported operation {op}"),
        )),
    }
}
