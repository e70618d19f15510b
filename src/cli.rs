//! The command line: the argument types ([`Cli`] and its parts, as clap reads them) and the
//! dispatch to one module per command (`crate::commands`), which validate everything before
//! the first AWS call. Errors travel up to [`main`], which maps them to the exit codes of
//! [`crate::exit_codes`].

use crate::aws::Rates;
use crate::commands;
use crate::exit_codes;
use crate::select::Shard;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  ddb-fleet validate inventories/example.toml
  ddb-fleet plan inventories/example.toml --detailed-exitcode
  ddb-fleet apply inventories/example.csv --yes --report run.json
  ddb-fleet apply --tableName orders --region us-east-1 --readMode provisioned \\
      --writeMode provisioned --minRead 5 --maxRead 100 --targetRead 70 \\
      --minWrite 5 --maxWrite 100 --targetWrite 70 --yes

Exit codes: 0 success, 1 a table failed, 2 invalid input or usage,
            3 drift found (plan --detailed-exitcode), 130 interrupted.";

/// Plan and apply DynamoDB capacity mode and auto scaling across many AWS accounts and regions.
#[derive(Debug, Parser)]
#[command(name = "ddb-fleet", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate an inventory; makes no AWS call.
    Validate {
        /// Inventory file (.csv or .toml).
        inventory: PathBuf,
    },
    /// Read current state and show what `apply` would change; changes nothing.
    Plan(PlanArgs),
    /// Plan, then make the changes, read every changed table back and verify it.
    Apply(ApplyArgs),
    /// Write the current state of tables as an inventory that `plan` reports as unchanged.
    Export(ExportArgs),
    /// Price every table's real usage (CloudWatch) on-demand and provisioned, in both table
    /// classes, and write the cheaper settings as an inventory that `apply` takes; read-only.
    Advise(AdviseArgs),
    /// Restore the tables an earlier apply changed to their recorded `before` state (billing
    /// mode, scalable targets, scaling policies): a plan first, then the changes.
    Rollback(RollbackArgs),
    /// Work with reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Print the IAM policies ddb-fleet needs, as JSON: the target role's for plan and for
    /// apply, and the caller's (sts:AssumeRole on the inventory's roles).
    IamPolicy {
        /// Inventory whose roles the caller must be able to assume.
        inventory: Option<PathBuf>,
    },
    /// Print a shell completion script: `ddb-fleet completions bash > /etc/bash_completion.d/ddb-fleet`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Rebuild the report of a run that was killed (kill -9, lost machine) from its journal
    /// (`REPORT.journal`); `apply --resume` then takes up what it left undone.
    Recover {
        /// The journal.
        journal: PathBuf,
        /// Where to write the report.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Combine the reports of a sharded run (`--shard K/N`) into one, summary recomputed.
    Merge {
        /// The shards' reports.
        #[arg(required = true)]
        reports: Vec<PathBuf>,
        /// Where to write the merged report.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inventory file (.csv or .toml); or use the single-table flags.
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub single: SingleTableArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Exit 3 when any table would change (and none failed), as `terraform plan -detailed-exitcode`.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Inventory file (.csv or .toml); or use the single-table flags.
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub single: SingleTableArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub guards: Guards,
    /// Act only on the tables this earlier report left undone: failed, interrupted, not
    /// applied, or skipped for a reason that may pass.
    #[arg(long, value_name = "REPORT")]
    pub resume: Option<PathBuf>,
}

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

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Inventory naming the tables (patterns allowed); or use --account and --region.
    pub inventory: Option<PathBuf>,
    /// Account to export (repeatable; with --region, every table, or those of --table).
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Region to export (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only tables whose name matches this glob (repeatable).
    #[arg(long = "table", value_name = "GLOB")]
    pub tables: Vec<String>,
    /// With --account: the role to assume in each account (default: the caller's credentials).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// The inventory to write: .csv or .toml.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// Inventory naming the tables (patterns allowed); or use --account and --region.
    pub inventory: Option<PathBuf>,
    /// Account to advise (repeatable; with --region: every table, or those of --table). With
    /// an inventory: only its rows of this account.
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
    /// Region (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only tables whose name matches this glob (repeatable).
    #[arg(long = "table", value_name = "GLOB")]
    pub tables: Vec<String>,
    /// With --account: the role to assume in each account (default: the caller's credentials).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// Advise shard K of N (K from 0), as plan and apply take it.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Days of usage to analyse (CloudWatch keeps 1-minute data 15 days, 5-minute data 63,
    /// hourly data 455).
    #[arg(long, default_value_t = 14, value_name = "N")]
    pub days: u32,
    /// Seconds per CloudWatch period: 60, 300 or 3600 [default: the finest CloudWatch keeps
    /// for --days].
    #[arg(long, value_name = "SECONDS")]
    pub period: Option<u32>,
    /// Tables with fewer days of data get no recommendation (`insufficient_data`).
    #[arg(long, default_value_t = 7.0, value_name = "DAYS")]
    pub min_days: f64,
    /// Recommend a change only if it saves at least this share of the table's monthly cost.
    #[arg(long, default_value_t = 15.0, value_name = "PERCENT")]
    pub min_savings_percent: f64,
    /// ... and at least this much a month, in the price file's currency.
    #[arg(long, default_value_t = 5.0, value_name = "AMOUNT")]
    pub min_savings: f64,
    /// For on-demand recommendations: maximum on-demand throughput at FACTOR x the observed
    /// peak per second (table and GSIs).
    #[arg(long, value_name = "FACTOR")]
    pub cap_on_demand: Option<f64>,
    /// Prices replacing or adding to the built-in list prices (TOML; see the README).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Write the recommended settings as an inventory: .csv or .toml.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a one-page HTML report (self-contained).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The report of the `apply` to undo: every table it changed (even partly) goes back to
    /// the state the report recorded before.
    #[arg(value_name = "REPORT")]
    pub from: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only tables in this region (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    #[command(flatten)]
    pub guards: Guards,
    /// Show what the rollback would change, and change nothing.
    #[arg(long)]
    pub plan_only: bool,
}

/// Which rows of the inventory to act on, and what earlier runs recorded.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Selecting tables")]
pub struct SelectArgs {
    /// Only rows of this account (repeatable).
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    pub accounts: Vec<String>,
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
    #[arg(long = "minRead", value_name = "N")]
    pub min_read: Option<String>,
    #[arg(long = "maxRead", value_name = "N")]
    pub max_read: Option<String>,
    /// Target read utilisation, percent.
    #[arg(long = "targetRead", value_name = "P")]
    pub target_read: Option<String>,
    #[arg(long = "minWrite", value_name = "N")]
    pub min_write: Option<String>,
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

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where to write the JSON report.
    #[arg(long, global = true, default_value = "ddb-fleet-report.json")]
    pub report: PathBuf,
    /// AWS profile for the base credentials (default: the standard chain).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS request to this endpoint (an emulator); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Session name for assumed roles (appears in CloudTrail).
    #[arg(long, global = true, default_value = "ddb-fleet")]
    pub role_session_name: String,
    /// Log format on stderr. On a terminal the log has a line per table (and every warning);
    /// each action's lines are in JSON logs (stderr not a terminal) and with --verbose.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
    /// Log each action's start and finish on a terminal too (RUST_LOG sets levels finely).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Never draw a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Tables processed at once [default: 6 per account and region, from 32 to 2048]. The
    /// rate limits protect AWS; this only has to keep every account's limit busy.
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
    /// Tables of one account and region UPDATING at once because of this run (AWS allows 500
    /// concurrent control-plane operations per account and region, shared with everything
    /// else there). Tables waiting for ACTIVE hold no --concurrency slot.
    #[arg(long, global = true, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub max_updating: u32,
    /// Attempts per AWS call, retries of throttling and transient errors included.
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// How long to wait for a table to become ACTIVE (e.g. 900, 90s, 15m, 1h).
    #[arg(long, global = true, default_value = "15m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// DynamoDB control-plane requests per second, per account and region, for each of its two
    /// quotas: reads (DescribeTable, ListTables) and changes (UpdateTable), which AWS counts
    /// apart.
    #[arg(long, global = true, default_value_t = Rates::default().dynamodb)]
    pub dynamodb_rps: NonZeroU32,
    /// Application Auto Scaling requests per second, per account and region.
    #[arg(long, global = true, default_value_t = Rates::default().autoscaling)]
    pub autoscaling_rps: NonZeroU32,
    /// STS AssumeRole requests per second for the whole run (AWS counts them against the
    /// calling account).
    #[arg(long, global = true, default_value_t = Rates::default().sts)]
    pub sts_rps: NonZeroU32,
    /// CloudWatch GetMetricData requests per second, per account and region (`advise`;
    /// AWS's default quota is 50/s, shared with dashboards and alarms).
    #[arg(long, global = true, default_value_t = Rates::default().cloudwatch)]
    pub cloudwatch_rps: NonZeroU32,
    /// Largest capacity units accepted in an inventory (AWS's default per-table quota).
    // Auto scaling takes 32-bit capacities: larger values are refused here, before any AWS call.
    #[arg(long, global = true, default_value_t = 40_000,
          value_parser = clap::value_parser!(i64).range(1..=i64::from(i32::MAX)))]
    pub max_capacity_units: i64,
    /// First retry backoff in milliseconds (doubles, full jitter, capped at 20 s).
    #[arg(long, global = true, default_value_t = 250, hide = true)]
    pub retry_base_ms: u64,
    /// Shortest poll interval in milliseconds while waiting for ACTIVE (polls come every tenth
    /// of the time waited, never more often than this).
    #[arg(long, global = true, default_value_t = 1000, hide = true)]
    pub poll_ms: u64,
    /// A table planned more than this many milliseconds before its first UpdateTable is read
    /// again first, and planned again if it changed (0: always read again).
    #[arg(long, global = true, default_value_t = 2000, hide = true)]
    pub reread_after_ms: u64,
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

pub use crate::commands::CliError;

/// The binary's whole `main`: parse, run, map to an exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit_codes::SUCCESS
                }
                _ => exit_codes::INVALID_INPUT,
            };
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Dispatches to the command's own module (`crate::commands`).
fn run(cli: &Cli) -> Result<i32, CliError> {
    let g = &cli.global;
    match &cli.command {
        Command::Validate { inventory } => commands::validate::run(inventory, g),
        Command::Plan(a) => commands::plan_apply::plan(a, g),
        Command::Apply(a) => commands::plan_apply::apply(a, g),
        Command::Export(a) => commands::export::run(a, g),
        Command::Advise(a) => commands::advise::run(a, g),
        Command::Rollback(a) => commands::rollback::run(a, g),
        Command::Report { command } => match command {
            ReportCommand::Recover { journal, output } => {
                commands::report::recover(journal, output)
            }
            ReportCommand::Merge { reports, output } => commands::report::merge(reports, output),
        },
        Command::IamPolicy { inventory } => commands::iam_policy::run(inventory.as_ref(), g),
        Command::Completions { shell } => commands::completions::run(*shell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Regression: the CLI's STS default once said 2/s while `Rates::default` said more; with
    /// one STS limiter for the whole run, 50 accounts then took 25 s just to assume roles.
    #[test]
    fn rate_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["ddb-fleet", "plan", "x.csv"]).unwrap();
        let d = Rates::default();
        assert_eq!(cli.global.dynamodb_rps, d.dynamodb);
        assert_eq!(cli.global.autoscaling_rps, d.autoscaling);
        assert_eq!(cli.global.sts_rps, d.sts);
        assert_eq!(cli.global.cloudwatch_rps, d.cloudwatch);
        assert!(
            d.sts.get() >= 20,
            "a fleet of hundreds of accounts must not wait minutes on STS"
        );
    }

    /// The help is the user's manual: changes to it are reviewed as snapshots.
    #[test]
    fn help_snapshots() {
        use clap::CommandFactory;
        let mut cmd = Cli::command().term_width(100);
        insta::assert_snapshot!("help", cmd.render_long_help().to_string());
        for sub in ["apply", "rollback", "export", "advise"] {
            let sub_cmd = cmd.find_subcommand_mut(sub).unwrap();
            insta::assert_snapshot!(
                format!("help_{sub}"),
                sub_cmd.render_long_help().to_string()
            );
        }
    }

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
