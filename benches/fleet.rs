//! Fleet-scale benchmark: `ddb-fleet plan` and `apply` (on-demand -> provisioned with auto
//! scaling, half the tables with 2 GSIs) and `advise` (14 days of 1-minute CloudWatch data per
//! table and GSI, from usage profiles: steady, daily, spiky, idle, growing) against the
//! AWS-rules simulator with per-call latency and a per-(account, region, service) quota (two for
//! DynamoDB, as on AWS: control-plane reads, and mutating calls).
//!
//! For each fleet size it prints the wall time against the lower bound the quotas and latency
//! impose (computed from the calls the simulator accepted: see `quota_bound`), the sequential
//! baseline (`--concurrency 1`, what the original one-table script does) and peak RSS and CPU
//! time of the ddb-fleet process.
//! Per run it also prints what explains a gap to the bound: the simulator's own CPU time (it
//! shares the machine), the connections opened, when the first and last calls arrived (before
//! and after them is ddb-fleet's own start-up and report writing), and each service's pace: the
//! keys' mean first and last call and their calls against the quota while they were active.
//! Then it times reading inventories (CSV and TOML) of the largest size and 10x that: the
//! cost per row must stay flat. Last, the CPU floor of one AWS call: DescribeTable sent
//! straight through the AWS SDK client ddb-fleet builds, and through ddb-fleet's own call path
//! (rate limiter, retry loop, conversion), against the simulator without latency, each on one
//! thread whose CPU time is measured alone.
//!
//! Run: `cargo bench --bench fleet` or `scripts/bench.sh` (options after `--`):
//!   --sizes 1000,10000   (`--sizes ''` runs no fleet: with `--commands advise --floor-calls 0`,
//!                        only the cost model's CPU per table, and the inventory timing)
//!   --latency-ms 20   --quota 20   --concurrency N (default: ddb-fleet's)
//!   --commands plan,apply,advise   (which runs to measure; apply still starts from the
//!                            on-demand fleet; advise also measures the cost model's CPU per
//!                            table; `--commands ''` only times reading inventories
//!                            and measures the CPU floor of one call)
//!   --sequential-sample 100   (tables measured at --concurrency 1, scaled to the fleet size;
//!                              0 measures the whole fleet sequentially)   --no-sequential
//!   --floor-calls 20000   (calls per CPU-floor measurement; 0 skips it)
//!   --updating 2-10   (seconds a table stays UPDATING after each UpdateTable, drawn per
//!                      update from the range; `20` for a fixed time; default 0)
//! `BENCH_WRAPPER="perf record -e cpu-clock -g -o perf.data --"` runs ddb-fleet under a profiler;
//! `BENCH_ARGS="--poll-ms 500"` adds flags to each measured ddb-fleet run (to compare settings);
//! `BENCH_KEEP_REPORTS=DIR` keeps each run's report (per-action durations and attempts), and
//! for apply, when the simulator saw each table's update sent and ended (`apply-N-updates.json`:
//! account, region, table, epoch seconds sent, ended).

#[path = "../tests/sim/mod.rs"]
mod sim;

// The simulator shares the machine with ddb-fleet, so it runs on ddb-fleet's allocator: with
// glibc's, allocation was a fifth of its profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sim::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Options {
    sizes: Vec<usize>,
    latency: Duration,
    quota: u32,
    concurrency: u32,
    sequential_sample: usize,
    no_sequential: bool,
    commands: Vec<String>,
    floor_calls: usize,
    /// How long a table stays UPDATING after each UpdateTable: drawn from [min, max].
    updating: (Duration, Duration),
}

impl Options {
    /// Whether `command` (plan or apply) is among the runs to measure.
    fn measures(&self, command: &str) -> bool {
        self.commands.iter().any(|c| c == command)
    }
}

fn options() -> Options {
    let mut o = Options {
        sizes: vec![1000, 10_000],
        latency: Duration::from_millis(20),
        quota: 20,
        concurrency: 0,
        sequential_sample: 100,
        no_sequential: false,
        commands: vec!["plan".into(), "apply".into(), "advise".into()],
        floor_calls: 20_000,
        updating: (Duration::ZERO, Duration::ZERO),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--sizes" => {
                o.sizes = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().expect("--sizes"))
                    .collect()
            }
            "--latency-ms" => {
                o.latency = Duration::from_millis(value.parse().expect("--latency-ms"))
            }
            "--commands" => {
                o.commands = value
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect();
                if let Some(c) = o
                    .commands
                    .iter()
                    .find(|c| !["plan", "apply", "advise"].contains(&c.as_str()))
                {
                    panic!("--commands: `{c}` is not plan, apply or advise");
                }
            }
            "--quota" => o.quota = value.parse().expect("--quota"),
            "--updating" => {
                // Seconds: `5`, or a range `2-10`.
                let secs = |v: &str| Duration::from_secs_f64(v.parse().expect("--updating"));
                o.updating = match value.split_once('-') {
                    Some((a, b)) => (secs(a), secs(b)),
                    None => (secs(&value), secs(&value)),
                };
            }
            "--floor-calls" => o.floor_calls = value.parse().expect("--floor-calls"),
            "--concurrency" => o.concurrency = value.parse().expect("--concurrency"),
            "--sequential-sample" => {
                o.sequential_sample = value.parse().expect("--sequential-sample")
            }
            "--bench" | "--no-sequential" => {
                o.no_sequential |= args[i] == "--no-sequential";
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// 4 regions; accounts chosen so each (account, region) holds 25 (1,000) or 50 tables.
fn shape(size: usize) -> (usize, usize) {
    let per_region = if size >= 10_000 { 50 } else { 25 };
    let accounts = size.div_ceil(4 * per_region);
    (accounts, per_region)
}

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];

fn fleet(size: usize) -> Vec<(String, String, String, SimTable)> {
    let (accounts, per_region) = shape(size);
    let mut f = grid(accounts, &REGIONS, per_region, |i| {
        let t = SimTable::on_demand(if i % 2 == 0 {
            &["by-date", "by-owner"]
        } else {
            &[]
        });
        // What `advise` reads from CloudWatch (plan and apply never ask).
        SimTable {
            usage: Some(usage_profile(i)),
            size_bytes: (i as i64 % 7) << 32,
            ..t
        }
    });
    f.truncate(size);
    f
}

/// The i-th table's usage: steady, daily cycle, spiky, idle and growing in turn.
fn usage_profile(i: usize) -> SimUsage {
    let level = 50.0 + (i % 13) as f64 * 40.0;
    let profile = |k: f64| match i % 5 {
        0 => Profile::Steady(level * k),
        1 => Profile::Daily {
            base: level * k,
            amplitude: 0.5,
        },
        2 => Profile::Spiky {
            base: k,
            spike: level * 10.0 * k,
            every: 90,
        },
        3 => Profile::Idle,
        _ => Profile::Growing {
            from: level * k / 4.0,
            to: level * k,
        },
    };
    SimUsage {
        read: profile(1.0),
        write: profile(0.3),
        gsi_share: 0.3,
    }
}

/// A CSV inventory asking for every (account, region, table) to be provisioned with auto
/// scaling (the benchmark's `apply`).
fn csv_inventory<A: std::fmt::Display>(
    tables: impl IntoIterator<Item = (A, impl std::fmt::Display, impl std::fmt::Display)>,
) -> String {
    let mut text = String::from(
        "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write\n",
    );
    for (account, region, table) in tables {
        text.push_str(&format!(
            "{account},ddb-fleet,{region},{table},provisioned,5,500,70,5,200,70\n"
        ));
    }
    text
}

fn inventory(dir: &Path, name: &str, tables: &[&(String, String, String, SimTable)]) -> String {
    let text = csv_inventory(tables.iter().map(|(a, r, t, _)| (a, r, t)));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

struct Measured {
    wall: Duration,
    cpu: Duration,
    max_rss_mb: f64,
    exit: i32,
    /// When the simulator saw the run's first and last requests, from the start.
    calls: Option<(Duration, Duration)>,
    started: Instant,
    /// CPU time of the simulator (this process) meanwhile: it shares the machine.
    sim_cpu: Duration,
}

/// Waits for `child`; its exit code (-1 if killed) and its peak RSS in KB.
///
/// The kernel's figure for a finished child (`wait4`'s `ru_maxrss`) starts from its parent's
/// high-water mark when it was spawned: a process created from this one (the simulator, which
/// holds hundreds of MB after a large `apply`) and then running ddb-fleet is charged this
/// process's peak. So that figure is the child's only when it is above ours; otherwise the peak
/// is the highest `VmHWM` read from `/proc` while the child (or a wrapper's children) ran,
/// every 10 ms.
fn wait_with_peak_rss(child: std::process::Child) -> (i32, i64) {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    let pid = child.id();
    let ours = rusage(libc::RUSAGE_SELF).1;
    let (done, seen) = (AtomicBool::new(false), AtomicI64::new(0));
    let (mut status, mut ru): (libc::c_int, libc::rusage) = (0, unsafe { std::mem::zeroed() });
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Acquire) {
                seen.fetch_max(vm_hwm_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // SAFETY: waits for our own child and writes into values we own; std's `Child` is
        // not waited for afterwards (dropping it does not wait).
        unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
        done.store(true, Ordering::Release);
    });
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let kernel = ru.ru_maxrss;
    let peak = if kernel > ours {
        kernel
    } else {
        seen.into_inner()
    };
    (exit, peak)
}

/// The highest `VmHWM` (KB) of `pid` and its direct children now (0 once they are gone).
fn vm_hwm_kb(pid: u32) -> i64 {
    let hwm = |p: &str| {
        std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
                line.split_whitespace().nth(1)?.parse::<i64>().ok()
            })
            .unwrap_or(0)
    };
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .map(hwm)
        .fold(hwm(&pid.to_string()), i64::max)
}

/// CPU time of the finished children (ddb-fleet runs, with any wrapper's processes).
fn rusage_children() -> Duration {
    rusage(libc::RUSAGE_CHILDREN).0
}

/// CPU time (user + system) and peak RSS in KB of `who`: this process (the simulator's
/// threads) or its finished children (ddb-fleet).
fn rusage(who: libc::c_int) -> (Duration, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (tv(ru.ru_utime) + tv(ru.ru_stime), ru.ru_maxrss)
}

fn run(sim: &Sim, dir: &Path, args: &[&str]) -> Measured {
    let cpu0 = rusage_children();
    let (sim_cpu0, _) = rusage(libc::RUSAGE_SELF);
    sim.clear_request_times();
    let started = Instant::now();
    let wrapper = std::env::var("BENCH_WRAPPER").unwrap_or_default();
    let mut words: Vec<&str> = wrapper.split_whitespace().collect();
    words.push(env!("CARGO_BIN_EXE_ddb-fleet"));
    let child = Command::new(words[0])
        .args(&words[1..])
        .args(args)
        .args(["--no-progress", "--log-format", "json"])
        .current_dir(dir)
        .env_clear()
        .env("AWS_ENDPOINT_URL", &sim.endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (status, max_rss_kb) = wait_with_peak_rss(child);
    let wall = started.elapsed();
    let cpu1 = rusage_children();
    let (sim_cpu1, _) = rusage(libc::RUSAGE_SELF);
    let after = sim.stats();
    // Before ddb-fleet's first call and after its last, the time is its own work.
    let calls = after
        .first_request
        .zip(after.last_request)
        .map(|(first, last)| (first - started, last - started));
    Measured {
        wall,
        cpu: cpu1 - cpu0,
        max_rss_mb: max_rss_kb as f64 / 1024.0,
        exit: status,
        calls,
        sim_cpu: sim_cpu1 - sim_cpu0,
        started,
    }
}

/// How each service's keys used their quota, from the first to the last accepted call of
/// each key: when keys started and finished (mean, from the run's start) and their calls
/// (`calls`: this run's) against what the quota allowed over that span (1.00: a call every
/// 1/quota s throughout).
fn pace_by_service(stats: &SimStats, calls: &Counts, started: Instant, quota: u32) -> String {
    let mut by: BTreeMap<&str, Vec<(f64, f64, u64)>> = BTreeMap::new();
    for (key, (first, last)) in &stats.accepted_span {
        let n = calls.get(key).copied().unwrap_or(0);
        by.entry(key.2.as_str()).or_default().push((
            (*first - started).as_secs_f64(),
            (*last - started).as_secs_f64(),
            n,
        ));
    }
    by.iter()
        .map(|(service, keys)| {
            let k = keys.len() as f64;
            let start = keys.iter().map(|x| x.0).sum::<f64>() / k;
            let end = keys.iter().map(|x| x.1).sum::<f64>() / k;
            let calls: u64 = keys.iter().map(|x| x.2.saturating_sub(1)).sum();
            let span: f64 = keys.iter().map(|x| x.1 - x.0).sum();
            format!(
                "{service}: {} keys, mean start {start:.2} s, mean end {end:.2} s, {:.2} of the quota while active",
                keys.len(),
                if span > 0.0 { calls as f64 / span / quota as f64 } else { 0.0 }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

type Counts = BTreeMap<(String, String, String), u64>;

fn delta(after: &Counts, before: &Counts) -> Counts {
    after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .collect()
}

/// The shortest time the quotas and latency allow for these calls (for apply, without the
/// polls that found a table still UPDATING: see `extra_polls`), for a client that sends
/// each (account, region, service)'s requests evenly at the quota:
/// - each key's accepted calls take (calls - 1) / quota after its first;
/// - an account's calls need its credentials first: AssumeRole is itself limited to `quota`
///   per second for the calling account, so the n-th account served (0-based) can start no
///   earlier than n / quota (the busiest accounts best served first), plus one call's latency;
/// - an (account, region)'s auto scaling calls wait for its first switch to finish
///   (`autoscaling_after`, per (account, region)), but for those it made before that switch
///   had finished (`before_switch`: the plan's reads, which wait for no switch);
/// - and no table finishes before its longest chain of sequential calls, `chain`.
fn quota_bound(
    calls: &Counts,
    before_switch: &Counts,
    quota: u32,
    latency: Duration,
    chain: Duration,
    autoscaling_after: &BTreeMap<(String, String), Duration>,
) -> Duration {
    let q = quota as f64;
    let span = |n: u64| n.saturating_sub(1) as f64 / q;
    // ListTagsOfResource's quota is AWS's 10/s per account when lower (key region "*").
    let tags_span = |n: u64| n.saturating_sub(1) as f64 / q.min(10.0);
    // Each account's longest key: its calls at the quota, after what they must wait for (an
    // account's auto scaling calls come after its first switch has finished).
    let mut busiest: BTreeMap<&str, f64> = BTreeMap::new();
    for (key, n) in calls {
        let (account, service) = (key.0.as_str(), key.2.as_str());
        if service != "sts" {
            let mut need = if service == DYNAMODB_TAGS {
                tags_span(*n)
            } else {
                span(*n)
            };
            let place = (key.0.clone(), key.1.clone());
            if let Some(after) = autoscaling_after
                .get(&place)
                .filter(|_| service == "autoscaling")
            {
                let free = before_switch.get(key).copied().unwrap_or(0);
                need = need.max(after.as_secs_f64() + span(n.saturating_sub(free)));
            }
            let b = busiest.entry(account).or_default();
            *b = b.max(need);
        }
    }
    let mut work: Vec<f64> = busiest.into_values().collect();
    work.sort_unstable_by(|a, b| b.total_cmp(a));
    let sts_calls: u64 = calls
        .iter()
        .filter(|((_, _, s), _)| s == "sts")
        .map(|(_, n)| *n)
        .sum();
    let mut bound = span(sts_calls);
    for (n, w) in work.iter().enumerate() {
        let start = if sts_calls > 0 {
            n as f64 / q + latency.as_secs_f64()
        } else {
            0.0
        };
        bound = bound.max(start + w);
    }
    Duration::from_secs_f64(bound).max(chain)
}

/// The soonest each (account, region)'s first switch can have finished: DescribeTable, its
/// targets, the read before the switch, UpdateTable, the shortest UPDATING time the simulator
/// drew for any of its tables, the poll that sees it ACTIVE. (A client that knew which table
/// finishes first would switch it first.)
fn first_switch_done(stats: &SimStats, latency: Duration) -> BTreeMap<(String, String), Duration> {
    let mut out: BTreeMap<(String, String), Duration> = BTreeMap::new();
    for ((account, region, _), (sent, ended)) in &stats.updates {
        let soonest = latency * 5 + Duration::from_secs_f64((ended - sent).max(0.0));
        out.entry((account.clone(), region.clone()))
            .and_modify(|d| *d = (*d).min(soonest))
            .or_insert(soonest);
    }
    out
}

/// How soon after a table was ACTIVE again its wait noticed it: for each switch, the wait's
/// end (from the report) minus when the simulator ended the UPDATING, against how long it was
/// UPDATING.
fn noticed_late(report: &serde_json::Value, stats: &SimStats) -> String {
    let secs = |t: &str| {
        aws_smithy_types::DateTime::from_str(t, aws_smithy_types::date_time::Format::DateTime)
            .unwrap()
            .as_secs_f64()
    };
    let mut late: Vec<(f64, f64)> = Vec::new();
    for t in report["tables"].as_array().unwrap() {
        let key = (
            t["account_id"].as_str().unwrap().to_string(),
            t["region"].as_str().unwrap().to_string(),
            t["table"].as_str().unwrap().to_string(),
        );
        let Some((sent, ended)) = stats.updates.get(&key) else {
            continue;
        };
        let actions = t["actions"].as_array().unwrap();
        let Some(k) = actions.iter().position(|a| a["operation"] == "UpdateTable") else {
            continue;
        };
        let wait = &actions[k + 1];
        let end = secs(wait["started_at"].as_str().unwrap())
            + wait["duration_ms"].as_f64().unwrap() / 1e3;
        late.push(((end - ended).max(0.0), ended - sent));
    }
    if late.is_empty() {
        return "no switch to measure".into();
    }
    let mut rel: Vec<f64> = late.iter().map(|(l, d)| l / d.max(1e-3)).collect();
    let mut abs: Vec<f64> = late.iter().map(|(l, _)| *l).collect();
    rel.sort_by(f64::total_cmp);
    abs.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p) as usize];
    format!(
        "ACTIVE noticed late by: median {:.2} s ({:.0} % of the UPDATING time), 90th percentile {:.2} s ({:.0} %), over {} switches",
        q(&abs, 0.5),
        q(&rel, 0.5) * 100.0,
        q(&abs, 0.9),
        q(&rel, 0.9) * 100.0,
        late.len()
    )
}

/// The DescribeTables of each (account, region) beyond the one per wait that found the table
/// ACTIVE: the polls that found it still UPDATING (from the report's WaitForActive attempts).
/// They are the client's choice, not a cost AWS imposes, so the bound leaves them out: a client
/// polling more would otherwise raise its own bound.
fn extra_polls(report: &serde_json::Value) -> Counts {
    let mut out = Counts::new();
    for t in report["tables"].as_array().unwrap() {
        let key = (
            t["account_id"].as_str().unwrap().to_string(),
            t["region"].as_str().unwrap().to_string(),
            "dynamodb".to_string(),
        );
        for a in t["actions"].as_array().unwrap() {
            if a["operation"] == "WaitForActive" {
                *out.entry(key.clone()).or_default() +=
                    a["attempts"].as_u64().unwrap_or(1).max(1) - 1;
            }
        }
    }
    out
}

/// Calls per service, summed over keys.
fn per_service(calls: &Counts) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for ((_, _, service), n) in calls {
        *out.entry(service.clone()).or_default() += n;
    }
    out
}

/// Reading and validating an inventory must stay linear in its size (it was once quadratic):
/// time CSV and TOML inventories of `rows` rows (parsing only; no AWS).
fn inventory_parse(rows: usize) {
    use ddb_fleet::inventory::{parse_bytes, Format, Limits};
    let location = |i: usize| (100_000_000_000u64 + (i / 200) as u64, REGIONS[i % 4]);
    let csv = csv_inventory((0..rows).map(|i| {
        let (account, region) = location(i);
        (account, region, format!("t{i:06}"))
    }));
    let mut toml = String::from(
        "[defaults]\nrole_name = \"ddb-fleet\"\nmode = \"provisioned\"\nmin_write = 5\nmax_write = 200\ntarget_write = 70\n",
    );
    for i in 0..rows {
        let (account, region) = location(i);
        toml.push_str(&format!(
            "\n[[tables]]\naccount_id = \"{account}\"\nregion = \"{region}\"\ntable = \"t{i:06}\"\nmin_read = 5\nmax_read = 500\ntarget_read = 70\n"
        ));
    }
    for (name, text, format) in [("CSV", &csv, Format::Csv), ("TOML", &toml, Format::Toml)] {
        let started = Instant::now();
        let parsed = parse_bytes(name, text.as_bytes(), format, &Limits::default());
        let took = started.elapsed();
        match &parsed {
            Ok(t) => assert_eq!(t.len(), rows, "{name} inventory"),
            Err(e) => panic!("{name} inventory: {}", e.0[0]),
        }
        println!(
            "inventory: {rows} {name} rows read and validated in {:.0} ms ({:.1} us per row)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / rows as f64
        );
    }
}

struct Row {
    label: String,
    wall: Duration,
    bound: Duration,
    rss: f64,
    cpu: Duration,
    tables: usize,
    throttled: u64,
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    rusage(libc::RUSAGE_THREAD).0
}

/// Sends `calls` requests made by `call`, 16 at a time, on the current thread: how many
/// answers `ok` accepted, and the thread's CPU time meanwhile.
async fn timed<F: std::future::Future>(
    calls: usize,
    mut call: impl FnMut() -> F,
    ok: impl Fn(&F::Output) -> bool,
) -> (usize, Duration) {
    use futures::StreamExt;
    let cpu = thread_cpu();
    let accepted = futures::stream::iter(0..calls)
        .map(|_| call())
        .buffer_unordered(16)
        .filter(|r| futures::future::ready(ok(r)))
        .count()
        .await;
    (accepted, thread_cpu() - cpu)
}

/// The CPU cost of one AWS call on the client side, with nothing else running on its thread:
/// `calls` DescribeTable requests, 16 at a time, on a single-threaded runtime (the HTTP
/// connections' tasks run there too), first straight through the SDK client ddb-fleet builds,
/// then through `ops::describe_table` (rate limiter, retry loop, conversion). The simulator
/// answers at once, on its own threads.
fn call_cpu_floor(calls: usize) {
    use ddb_fleet::aws::{ops, AwsSettings, ClientFactory, Rates, RetryPolicy};
    use std::num::NonZeroU32;
    let region = "us-east-1";
    let sim = Sim::start(
        SimConfig::default(),
        vec![(
            CALLER_ACCOUNT.to_string(),
            region.to_string(),
            "floor".to_string(),
            SimTable::on_demand(&["by-date", "by-owner"]),
        )],
    );
    let settings = AwsSettings {
        profile: None,
        endpoint_url: Some(sim.endpoint.clone()),
        role_session_name: "ddb-fleet-bench".into(),
        rates: Rates {
            dynamodb: NonZeroU32::new(1_000_000).unwrap(),
            autoscaling: NonZeroU32::new(1_000_000).unwrap(),
            sts: NonZeroU32::new(1_000_000).unwrap(),
            cloudwatch: NonZeroU32::new(1_000_000).unwrap(),
            tags: NonZeroU32::new(1_000_000).unwrap(),
            organizations: NonZeroU32::new(1_000_000).unwrap(),
        },
        retry: RetryPolicy::default(),
        attempt_timeout: Duration::from_secs(30),
    };
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let factory = ClientFactory::new(settings).await;
            let c = factory
                .account_region(CALLER_ACCOUNT, None, region)
                .await
                .expect("clients for the simulator");
            // Warm up: connections opened, credentials cached.
            for _ in 0..64 {
                c.ddb.describe_table().table_name("floor").send().await.unwrap();
            }
            let (sdk, sdk_cpu) = timed(
                calls,
                || c.ddb.describe_table().table_name("floor").send(),
                |r| r.is_ok(),
            )
            .await;
            let (ours, ours_cpu) = timed(
                calls,
                || ops::describe_table(&c, "floor"),
                |r| matches!(r.result, Ok(Some(_))),
            )
            .await;
            assert_eq!((sdk, ours), (calls, calls), "DescribeTable failed");
            let per = |d: Duration| d.as_secs_f64() * 1e6 / calls as f64;
            println!(
                "CPU per call: {:.0} us through the AWS SDK client alone, {:.0} us through ddb-fleet's call path ({calls} DescribeTable calls each, one thread, kernel time included)",
                per(sdk_cpu),
                per(ours_cpu)
            );
        });
    })
    .join()
    .unwrap();
}

fn main() {
    let o = options();
    // For the CPU-floor measurement's clients (ddb-fleet itself runs with its own environment).
    // Set before any thread starts.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIDBENCH"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    println!(
        "ddb-fleet fleet benchmark: latency {} ms per call, quota {} requests/s per (account, region, service), --concurrency {}, UPDATING {:.0}-{:.0} s after each UpdateTable",
        o.latency.as_millis(),
        o.quota,
        if o.concurrency == 0 { "default".to_string() } else { o.concurrency.to_string() },
        o.updating.0.as_secs_f64(),
        o.updating.1.as_secs_f64()
    );
    let mut rows: Vec<Row> = Vec::new();
    let mut sequential: Vec<(String, f64)> = Vec::new();
    for &size in &o.sizes {
        let fleet = fleet(size);
        let (accounts, per_region) = shape(size);
        println!(
            "\n== {size} tables: {accounts} accounts x {} regions x {per_region} tables, half with 2 GSIs",
            REGIONS.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let all: Vec<_> = fleet.iter().collect();
        let inv = inventory(dir.path(), "fleet.csv", &all);
        let config = SimConfig {
            latency: o.latency,
            quota_per_sec: Some(o.quota),
            update_duration: o.updating.0,
            update_duration_max: Some(o.updating.1),
            ..SimConfig::default()
        };
        let sim = Sim::start(config.clone(), fleet.clone());
        let rate = o.quota.to_string();
        let conc = o.concurrency.to_string();
        // Every rate limit at the quota, STS's included (the simulator counts AssumeRole
        // against the caller's quota too). The rate limits first: the sequential baseline takes
        // them without the rest.
        let rate_flags = [
            "--dynamodb-rps",
            "--autoscaling-rps",
            "--sts-rps",
            "--cloudwatch-rps",
        ];
        let mut common: Vec<&str> = rate_flags
            .iter()
            .flat_map(|flag| [*flag, rate.as_str()])
            .collect();
        // ListTagsOfResource: AWS's 10/s per account, if lower (the simulator enforces it).
        let tags_rate = o.quota.min(10).to_string();
        common.extend(["--tags-rps", tags_rate.as_str()]);
        let rate_args = common.len();
        common.extend(["--max-attempts", "20"]);
        if o.concurrency > 0 {
            common.extend(["--concurrency", conc.as_str()]);
        }
        // Longest sequential chain per table: plan reads (DescribeTable, then the targets; an
        // on-demand table has no policies to read); apply adds the read before the switch,
        // UpdateTable, a wait poll, 6 dimensions x 2 writes, and the read-back (DescribeTable,
        // targets, policies).
        let chain_plan = o.latency * 2;
        // A table's chain includes its longest UPDATING time (the switch, then its wait).
        let chain_apply = o.latency * (2 + 3 + 12 + 3) + o.updating.1;
        // advise: DescribeTable, the targets, then GetMetricData (a table is one page).
        let chain_advise = o.latency * 3;
        for (command, report, chain) in [
            ("plan", "plan.json", chain_plan),
            ("apply", "apply.json", chain_apply),
            ("advise", "advise.json", chain_advise),
        ] {
            if !o.measures(command) {
                continue;
            }
            let before = sim.stats();
            let mut args = vec![command, inv.as_str(), "--report", report];
            if command == "apply" {
                args.push("--yes");
            }
            args.extend_from_slice(&common);
            let extra = std::env::var("BENCH_ARGS").unwrap_or_default();
            args.extend(extra.split_whitespace());
            let m = run(&sim, dir.path(), &args);
            assert_eq!(m.exit, 0, "{command} failed");
            let after = sim.stats();
            if let Ok(keep) = std::env::var("BENCH_KEEP_REPORTS") {
                let to = Path::new(&keep).join(format!("{command}-{size}.json"));
                std::fs::copy(dir.path().join(report), to).unwrap();
                let updates: Vec<_> = after
                    .updates
                    .iter()
                    .map(|((a, r, t), (sent, ended))| (a, r, t, sent, ended))
                    .collect();
                let to = Path::new(&keep).join(format!("{command}-{size}-updates.json"));
                std::fs::write(to, serde_json::to_vec(&updates).unwrap()).unwrap();
            }
            let calls = delta(&after.accepted, &before.accepted);
            let autoscaling_after = if command == "apply" {
                first_switch_done(&after, o.latency)
            } else {
                BTreeMap::new()
            };
            // Apply's report, read once: the polls it made and when it saw tables ACTIVE.
            let applied: Option<serde_json::Value> = (command == "apply").then(|| {
                serde_json::from_slice(&std::fs::read(dir.path().join(report)).unwrap()).unwrap()
            });
            let necessary = match &applied {
                Some(r) => delta(&calls, &extra_polls(r)),
                None => calls.clone(),
            };
            let before_switch = delta(&after.before_first_switch, &before.before_first_switch);
            let bound = quota_bound(
                &necessary,
                &before_switch,
                o.quota,
                o.latency,
                chain,
                &autoscaling_after,
            );
            let services = per_service(&calls);
            let total: u64 = services.values().sum();
            println!(
                "{command:>5}: {:>7.2} s wall, bound {:>7.2} s, ratio {:.2}; peak RSS {:.0} MB; CPU {:.2} s ({:.0} us per call), simulator CPU {:.2} s; throttled {}; connections opened {}, most requests in flight {}; calls {services:?}; first call at {:.2} s, last at {:.2} s",
                m.wall.as_secs_f64(),
                bound.as_secs_f64(),
                bound.as_secs_f64() / m.wall.as_secs_f64(),
                m.max_rss_mb,
                m.cpu.as_secs_f64(),
                m.cpu.as_secs_f64() * 1e6 / total.max(1) as f64,
                m.sim_cpu.as_secs_f64(),
                after.throttled - before.throttled,
                after.connections - before.connections,
                after.max_in_flight,
                m.calls.map_or(f64::NAN, |c| c.0.as_secs_f64()),
                m.calls.map_or(f64::NAN, |c| c.1.as_secs_f64()),
            );
            println!(
                "       pace: {}",
                pace_by_service(&after, &calls, m.started, o.quota)
            );
            if let Some(r) = applied.as_ref().filter(|_| o.updating.1 > Duration::ZERO) {
                println!("       {}", noticed_late(r, &after));
            }
            rows.push(Row {
                label: format!("{command} {size}"),
                wall: m.wall,
                bound,
                rss: m.max_rss_mb,
                cpu: m.cpu,
                tables: size,
                throttled: after.throttled - before.throttled,
            });
        }

        if o.no_sequential {
            continue;
        }
        // Sequential baseline on a fresh fleet: a sample spread over the fleet, scaled up.
        let sample_n = if o.sequential_sample == 0 {
            size
        } else {
            o.sequential_sample.min(size)
        };
        let step = size / sample_n;
        let sample: Vec<_> = fleet.iter().step_by(step.max(1)).take(sample_n).collect();
        let seq_sim = Sim::start(config, fleet.clone());
        let seq_inv = inventory(dir.path(), "sample.csv", &sample);
        for command in ["plan", "apply"] {
            if !o.measures(command) {
                continue;
            }
            let mut args = vec![
                command,
                seq_inv.as_str(),
                "--report",
                "seq.json",
                "--concurrency",
                "1",
            ];
            args.extend_from_slice(&common[..rate_args]);
            if command == "apply" {
                args.push("--yes");
            }
            let m = run(&seq_sim, dir.path(), &args);
            assert_eq!(m.exit, 0, "sequential {command} failed");
            let scaled = m.wall.as_secs_f64() * size as f64 / sample.len() as f64;
            let concurrent = rows
                .iter()
                .find(|r| r.label == format!("{command} {size}"))
                .unwrap()
                .wall
                .as_secs_f64();
            println!(
                "{command:>5} at --concurrency 1: {:.2} s for {} tables -> {:.0} s for {size} ({}); speed-up {:.0}x",
                m.wall.as_secs_f64(),
                sample.len(),
                scaled,
                if sample.len() == size { "measured" } else { "scaled from the sample" },
                scaled / concurrent
            );
            sequential.push((format!("{command} {size}"), scaled));
        }
    }

    println!("\n| run | wall s | bound s | bound/wall | sequential s | speed-up | peak RSS MB | CPU s per 1,000 tables | CPU/wall | throttled |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let (seq, speed_up) = match sequential.iter().find(|(l, _)| *l == r.label) {
            Some((_, s)) => (
                format!("{s:.0}"),
                format!("{:.0}x", s / r.wall.as_secs_f64()),
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {seq} | {speed_up} | {:.0} | {:.2} | {:.2} | {} |",
            r.label,
            r.wall.as_secs_f64(),
            r.bound.as_secs_f64(),
            r.bound.as_secs_f64() / r.wall.as_secs_f64(),
            r.rss,
            r.cpu.as_secs_f64() * 1000.0 / r.tables as f64,
            r.cpu.as_secs_f64() / r.wall.as_secs_f64(),
            r.throttled
        );
    }
    // Last: the children's peak RSS counts what this process held when it started them.
    println!();
    // Two sizes, 10x apart: the cost per row must not grow with the inventory.
    let largest = o.sizes.iter().max().copied().unwrap_or(1000);
    inventory_parse(largest);
    inventory_parse(largest * 10);
    if o.measures("advise") {
        model_cpu(20);
    }
    if o.floor_calls > 0 {
        call_cpu_floor(o.floor_calls);
    }
}

/// The cost model's CPU per table, alone: `tables` tables with 2 GSIs (6 dimensions) and 14
/// days of 1-minute usage (a daily cycle), advised on this thread.
fn model_cpu(tables: usize) {
    use ddb_fleet::cost::recommend::{DimUsage, TableUsage};
    use ddb_fleet::cost::{advise_table, Policy, PriceBook, Series};
    use ddb_fleet::model::{
        BillingMode, ObservedIndex, ObservedTable, OnDemandCaps, ScalingKey, Side,
    };
    let minutes = 14 * 1440;
    let prices = PriceBook::builtin().region("us-east-1").unwrap().clone();
    let policy = Policy::DEFAULT;
    let gsi = |name: &str| ObservedIndex {
        name: name.into(),
        status: "ACTIVE".into(),
        backfilling: false,
        read_capacity: 0,
        write_capacity: 0,
        caps: OnDemandCaps::default(),
        size_bytes: None,
    };
    let o: ObservedTable = serde_json::from_value(serde_json::json!({
        "status": "ACTIVE", "billing_mode": "PAY_PER_REQUEST", "read_capacity": 0,
        "write_capacity": 0, "indexes": [gsi("a"), gsi("b")], "scalable_targets": [],
        "scaling_policies": []
    }))
    .unwrap();
    assert_eq!(o.billing_mode, BillingMode::OnDemand);
    let mut keys = vec![
        ScalingKey::table(Side::Read),
        ScalingKey::table(Side::Write),
    ];
    for g in ["a", "b"] {
        keys.extend([
            ScalingKey::index(g, Side::Read),
            ScalingKey::index(g, Side::Write),
        ]);
    }
    let usage = TableUsage {
        dims: keys
            .into_iter()
            .map(|key| {
                DimUsage::consumed(
                    key,
                    Series {
                        period: 60,
                        start: 0,
                        sums: (0..minutes)
                            .map(|m| {
                                60.0 * 300.0
                                    * (1.0
                                        + 0.5 * (m as f64 / 1440.0 * std::f64::consts::TAU).sin())
                            })
                            .collect(),
                    },
                )
            })
            .collect(),
        days_of_data: 14.0,
        window_days: 14.0,
    };
    let cpu = thread_cpu();
    for _ in 0..tables {
        std::hint::black_box(advise_table(&o, &usage, &prices, &policy));
    }
    let per = (thread_cpu() - cpu) / tables as u32;
    println!(
        "cost model: {:.1} ms of CPU per table (6 dimensions, 14 days of 1-minute data: 20 threshold candidates tried per dimension)",
        per.as_secs_f64() * 1e3
    );
}
