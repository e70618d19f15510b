//! The arguments several commands share: the global ones ([`GlobalArgs`]: report, logging,
//! credentials, AWS rates and retries), the selection of tables ([`SelectArgs`]), the
//! original script's single-table flags ([`SingleTableArgs`]) and the safety options of the
//! commands that change tables ([`Guards`]). Each command's own arguments live in its module;
//! this one imports no command.

use crate::aws::Rates;
use crate::select::Shard;
use clap::{Args, ValueEnum};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

/// The safety options of every command that changes tables (`apply`, `rollback`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Safety")]
pub struct Guards {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Refuse to start if the plan would change more than N tables.
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// Change the first N tables that need a change (spread over accounts), verify them, and
    /// stop; the next run carries on from there.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub canary: Option<u64>,
    /// Once N tables have failed, start no more (tables in flight finish).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_failures: u64,
}

/// Which rows of the inventory to act on, and what earlier runs recorded.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Selecting tables")]
pub struct SelectArgs {
    /// Only rows of this account (repeatable).
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Never this account, whichever row names it (repeatable).
    #[arg(long = "exclude-account", value_name = "ACCOUNT_ID")]
    pub exclude_accounts: Vec<String>,
    /// Only tables whose name matches this glob, e.g. 'orders-*' (repeatable).
    #[arg(long = "table", value_name = "GLOB")]
    pub tables: Vec<String>,
    /// An earlier report or journal: its switches to on-demand count against AWS's limit of
    /// four per table per 24 hours (repeatable).
    #[arg(long, value_name = "FILE")]
    pub history: Vec<PathBuf>,
    /// Act on shard K of N (K from 0): a stable share of the tables, by a hash of
    /// account/region/table, for N machines or jobs running side by side.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

/// The original single-table script's flags, with their exact spellings.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Single table (the original script's flags)")]
pub struct SingleTableArgs {
    /// The table's name.
    #[arg(long = "tableName", value_name = "TABLE")]
    pub table_name: Option<String>,
    /// The table's region. With an inventory: only rows in this region (repeatable).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// ondemand | provisioned (billing mode is table-wide: must equal --writeMode).
    #[arg(long = "readMode", value_name = "MODE")]
    pub read_mode: Option<String>,
    /// ondemand | provisioned.
    #[arg(long = "writeMode", value_name = "MODE")]
    pub write_mode: Option<String>,
    /// Smallest read capacity auto scaling may set (provisioned).
    #[arg(long = "minRead", value_name = "N")]
    pub min_read: Option<String>,
    /// Largest read capacity auto scaling may set (provisioned).
    #[arg(long = "maxRead", value_name = "N")]
    pub max_read: Option<String>,
    /// Target read utilisation, percent.
    #[arg(long = "targetRead", value_name = "P")]
    pub target_read: Option<String>,
    /// Smallest write capacity auto scaling may set (provisioned).
    #[arg(long = "minWrite", value_name = "N")]
    pub min_write: Option<String>,
    /// Largest write capacity auto scaling may set (provisioned).
    #[arg(long = "maxWrite", value_name = "N")]
    pub max_write: Option<String>,
    /// Target write utilisation, percent.
    #[arg(long = "targetWrite", value_name = "P")]
    pub target_write: Option<String>,
}

impl SingleTableArgs {
    /// True when none of the single-table flags is given (`--region` alone is a filter).
    pub fn is_empty(&self) -> bool {
        self.read_mode.is_none()
            && self.write_mode.is_none()
            && self
                .flags()
                .iter()
                .all(|(flag, _, v)| v.is_none() || *flag == "--region")
    }

    /// (flag, inventory field, value)
    pub fn flags(&self) -> [(&'static str, &'static str, Option<&String>); 8] {
        [
            ("--tableName", "table", self.table_name.as_ref()),
            ("--region", "region", self.region.first()),
            ("--minRead", "min_read", self.min_read.as_ref()),
            ("--maxRead", "max_read", self.max_read.as_ref()),
            ("--targetRead", "target_read", self.target_read.as_ref()),
            ("--minWrite", "min_write", self.min_write.as_ref()),
            ("--maxWrite", "max_write", self.max_write.as_ref()),
            ("--targetWrite", "target_write", self.target_write.as_ref()),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// Where `export` and `advise` find their tables: an inventory, or every table (or those of
/// `--table`) of each account (`--account`, `--organization`, `--ou`) x region (`--region`,
/// `--region all`).
#[derive(Debug, Args)]
pub struct DiscoveryArgs {
    /// Inventory naming the tables (patterns allowed); or use --account (or --organization,
    /// --ou) and --region.
    pub inventory: Option<PathBuf>,
    /// Account (repeatable; with --region: every table, or those of --table). With an
    /// inventory: only its rows of this account.
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Every ACTIVE account of the caller's organisation (AWS Organizations; the caller is the
    /// management account or a delegated administrator). Needs --role-name.
    #[arg(long, conflicts_with_all = ["accounts", "ous", "inventory"])]
    pub organization: bool,
    /// The ACTIVE accounts under this OU, child OUs included; a root id (r-...) is the whole
    /// organisation (repeatable). Needs --role-name.
    #[arg(long = "ou", value_name = "OU_ID", conflicts_with_all = ["accounts", "inventory"])]
    pub ous: Vec<String>,
    /// Never this account (repeatable).
    #[arg(long = "exclude-account", value_name = "ACCOUNT_ID")]
    pub exclude_accounts: Vec<String>,
    /// Region (repeatable), or `all`: every region enabled in each account (EC2
    /// DescribeRegions, asked in that account). With an inventory: only its rows in this
    /// region.
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only tables whose name matches this glob (repeatable).
    #[arg(long = "table", value_name = "GLOB")]
    pub tables: Vec<String>,
    /// With --account: the role to assume in each account (default: the caller's credentials).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
}

impl DiscoveryArgs {
    /// Whether `--region all` was given (alone: it is every region).
    pub fn all_regions(&self) -> Result<bool, String> {
        match self.regions.iter().any(|r| r == "all") {
            true if self.regions.len() > 1 => {
                Err("--region all is every enabled region: give it alone".into())
            }
            all => Ok(all),
        }
    }

    /// The selection these filters make (with `--shard` where the command takes it), checked.
    pub fn selection(&self, shard: Option<Shard>) -> Result<crate::select::Selection, String> {
        let regions = match self.all_regions()? {
            true => Vec::new(),
            false => self.regions.clone(),
        };
        for ou in &self.ous {
            if !crate::org::valid_parent_id(ou) {
                return Err(format!(
                    "--ou {ou}: not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)"
                ));
            }
        }
        let sel = crate::select::Selection {
            accounts: self.accounts.clone(),
            exclude_accounts: self.exclude_accounts.clone(),
            regions,
            tables: self.tables.clone(),
            shard,
            resume: None,
        };
        sel.validate()?;
        Ok(sel)
    }
}

/// Who manages a table, and whether such tables are changed (`plan`, `apply`, `advise`).
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Tables a stack or a tool manages")]
pub struct OwnershipArgs {
    /// A tag that marks a table as managed by a tool, e.g. managed-by=terraform (KEY alone:
    /// any value; repeatable). A CloudFormation stack's tag (CDK, SAM, Amplify too) always
    /// does.
    #[arg(long = "managed-tag", value_name = "KEY[=VALUE]")]
    pub managed_tags: Vec<crate::ownership::ManagedTag>,
    /// Change managed tables too (their owner's next update would revert the change): apply
    /// them, and write their recommendations into the advice inventory.
    #[arg(long)]
    pub include_managed: bool,
}

impl OwnershipArgs {
    pub fn ownership(&self) -> crate::ownership::Ownership {
        crate::ownership::Ownership {
            tags: self.managed_tags.clone(),
            include_managed: self.include_managed,
        }
    }
}

/// How a plan, apply or rollback is printed.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Print every table and every step of its plan (by default: the changes grouped by what
    /// they do, every table that failed, was skipped or interrupted, and the counts by
    /// account; the report always has everything).
    #[arg(long)]
    pub all_tables: bool,
}

/// The report a run writes (`plan`, `apply`, `rollback`, `advise`).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the JSON report [default: a new file for each run,
    /// ddb-fleet-COMMAND-YYYYMMDDTHHMMSSZ.json]. Never an input of the run.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

/// The limits an inventory is checked against (every command that reads one).
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest capacity units accepted in an inventory (AWS's default per-table quota).
    // Auto scaling takes 32-bit capacities: larger values are refused here, before any AWS call.
    #[arg(long, default_value_t = 40_000,
          value_parser = clap::value_parser!(i64).range(1..=i64::from(i32::MAX)))]
    pub max_capacity_units: i64,
    /// Accept this region although this release does not know it (a region AWS opened since;
    /// repeatable). Any other unknown region is refused, with the nearest known name.
    #[arg(long = "allow-region", value_name = "REGION")]
    pub allowed_regions: Vec<String>,
}

/// The options of every command that reads or changes tables in AWS (`plan`, `apply`,
/// `rollback`, `export`, `advise`): credentials, rates, retries, waits, logging, limits.
#[derive(Debug, Args)]
#[command(next_help_heading = "AWS, rates and logging")]
pub struct GlobalArgs {
    /// AWS profile for the base credentials (default: the standard chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// Send every AWS request to this endpoint (an emulator); AWS_ENDPOINT_URL works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Session name for assumed roles (appears in CloudTrail).
    #[arg(long, default_value = "ddb-fleet")]
    pub role_session_name: String,
    /// Log format on stderr. On a terminal the log has a line per table (and every warning);
    /// each action's lines are in JSON logs (stderr not a terminal) and with --verbose.
    #[arg(long, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
    /// Log each action's start and finish on a terminal too (RUST_LOG sets levels finely).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Tables processed at once [default: 6 per account and region, from 32 to 2048]. The
    /// rate limits protect AWS; this only has to keep every account's limit busy.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
    /// Tables of one account and region UPDATING at once because of this run (AWS allows 500
    /// concurrent control-plane operations per account and region, shared with everything
    /// else there). Tables waiting for ACTIVE hold no --concurrency slot.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub max_updating: u32,
    /// Attempts per AWS call, retries of throttling and transient errors included.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// How long to wait for a table to become ACTIVE (e.g. 900, 90s, 15m, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// DynamoDB control-plane requests per second, per account and region, for each of its two
    /// quotas: reads (DescribeTable, ListTables) and changes (UpdateTable), which AWS counts
    /// apart.
    #[arg(long, default_value_t = Rates::default().dynamodb, value_parser = parse_rate)]
    pub dynamodb_rps: NonZeroU32,
    /// Application Auto Scaling requests per second, per account and region.
    #[arg(long, default_value_t = Rates::default().autoscaling, value_parser = parse_rate)]
    pub autoscaling_rps: NonZeroU32,
    /// STS AssumeRole requests per second for the whole run (AWS counts them against the
    /// calling account).
    #[arg(long, default_value_t = Rates::default().sts, value_parser = parse_rate)]
    pub sts_rps: NonZeroU32,
    /// CloudWatch GetMetricData requests per second, per account and region (`advise`;
    /// AWS's default quota is 50/s, shared with dashboards and alarms).
    #[arg(long, default_value_t = Rates::default().cloudwatch, value_parser = parse_rate)]
    pub cloudwatch_rps: NonZeroU32,
    /// DynamoDB ListTagsOfResource requests per second, per account, all regions together
    /// (who manages a table; AWS allows 10/s per account).
    #[arg(long, default_value_t = Rates::default().tags, value_parser = parse_rate)]
    pub tags_rps: NonZeroU32,
    /// AWS Organizations requests per second for the whole run (`--organization`, `--ou`,
    /// inventory rows for many accounts; AWS throttles Organizations at a few per second).
    #[arg(long, default_value_t = Rates::default().organizations, value_parser = parse_rate)]
    pub organizations_rps: NonZeroU32,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// First retry backoff in milliseconds (doubles, full jitter, capped at 20 s).
    #[arg(long, default_value_t = 250, hide = true)]
    pub retry_base_ms: u64,
    /// Shortest poll interval in milliseconds while waiting for ACTIVE (polls come every tenth
    /// of the time waited, never more often than this).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub poll_ms: u64,
    /// A table planned more than this many milliseconds before its first UpdateTable is read
    /// again first, and planned again if it changed (0: always read again).
    #[arg(long, default_value_t = 2000, hide = true)]
    pub reread_after_ms: u64,
}

impl ReportArgs {
    /// The report's path: `--report`, or a new file in the current directory named after
    /// the command and the time, so that one run's report (the only way to undo an apply)
    /// is never replaced by the next run's.
    pub fn path(&self, command: &str) -> PathBuf {
        if let Some(p) = &self.report {
            return p.clone();
        }
        let stamp = crate::report::now_rfc3339().replace([':', '-'], "");
        let stamp = stamp
            .split('.')
            .next()
            .unwrap_or(&stamp)
            .trim_end_matches('Z');
        // A name is claimed by creating its lock file (`create_new`: atomic), so runs started
        // in the same second in one directory (the shards of a Job) each get their own.
        let claim = |p: &PathBuf| {
            let mut lock = p.as_os_str().to_owned();
            lock.push(".lock");
            p.symlink_metadata().is_err()
                && std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(PathBuf::from(lock))
                    .is_ok()
        };
        (1..)
            .map(|n| match n {
                1 => PathBuf::from(format!("ddb-fleet-{command}-{stamp}Z.json")),
                n => PathBuf::from(format!("ddb-fleet-{command}-{stamp}Z-{n}.json")),
            })
            .find(claim)
            .expect("a free name")
    }
}

/// Parses a rate of requests per second: a whole number, at least 1.
pub fn parse_rate(s: &str) -> Result<NonZeroU32, String> {
    let n: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a rate: give whole requests per second, e.g. 10"))?;
    NonZeroU32::new(n).ok_or_else(|| "the rate must be at least 1 request per second".to_string())
}

/// Parses `900`, `90s`, `15m`, `1h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: use e.g. 900, 90s, 15m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}` has an unknown unit: use s, m or h")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("900"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
