//! The command line: what the user typed ([`Cli`]), turned into validated settings and a
//! validated inventory before the first AWS call, then dispatched. Errors travel up to
//! [`main`], which maps them to the exit codes of [`crate::exit_codes`].

use crate::aws::ops::WaitPolicy;
use crate::aws::{AwsError, AwsSettings, ClientFactory, Rates, RetryPolicy};
use crate::cancel::Cancel;
use crate::events::{EventSink, LogSink, Sinks};
use crate::exit_codes;
use crate::inventory::{self, InventoryError, InventoryErrors, Limits, Raw, RawRow};
use crate::journal::{self, JournalSink};
use crate::model::DesiredTable;
use crate::progress::{ProgressSink, SuspendingWriter};
use crate::render;
use crate::report::{self, InventoryRef, Report, Summary, SCHEMA_VERSION};
use crate::runner::{self, Ledger, RunOptions};
use crate::select::{self, Selection, Shard};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{BufRead, IsTerminal, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    fn is_empty(&self) -> bool {
        self.read_mode.is_none()
            && self.write_mode.is_none()
            && self
                .flags()
                .iter()
                .all(|(flag, _, v)| v.is_none() || *flag == "--region")
    }

    /// (flag, inventory field, value)
    fn flags(&self) -> [(&'static str, &'static str, Option<&String>); 8] {
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
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// Never draw a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Tables processed at once [default: 6 per account and region, from 32 to 2048]. The
    /// rate limits protect AWS; this only has to keep every account's limit busy.
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: Option<u32>,
    /// Attempts per AWS call, retries of throttling and transient errors included.
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// How long to wait for a table to become ACTIVE (e.g. 900, 90s, 15m, 1h).
    #[arg(long, global = true, default_value = "15m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// DynamoDB control-plane requests per second, per account and region.
    #[arg(long, global = true, default_value_t = Rates::default().dynamodb)]
    pub dynamodb_rps: NonZeroU32,
    /// Application Auto Scaling requests per second, per account and region.
    #[arg(long, global = true, default_value_t = Rates::default().autoscaling)]
    pub autoscaling_rps: NonZeroU32,
    /// STS AssumeRole requests per second for the whole run (AWS counts them against the
    /// calling account).
    #[arg(long, global = true, default_value_t = Rates::default().sts)]
    pub sts_rps: NonZeroU32,
    /// Largest capacity units accepted in an inventory (AWS's default per-table quota).
    #[arg(long, global = true, default_value_t = 40_000)]
    pub max_capacity_units: i64,
    /// First retry backoff in milliseconds (doubles, full jitter, capped at 20 s).
    #[arg(long, global = true, default_value_t = 250, hide = true)]
    pub retry_base_ms: u64,
    /// First poll interval in milliseconds while waiting for ACTIVE.
    #[arg(long, global = true, default_value_t = 2000, hide = true)]
    pub poll_ms: u64,
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

/// An error that ends the command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Inventory(#[from] InventoryErrors),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the report {path}: {source}")]
    Report {
        path: String,
        source: std::io::Error,
    },
}

impl CliError {
    /// Turns a failure to write `path` (report, journal or export) into the command's error.
    fn writing(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Report {
            path: path.display().to_string(),
            source,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Inventory(_) | CliError::Usage(_) => exit_codes::INVALID_INPUT,
            CliError::Report { .. } => exit_codes::FAILURES,
        }
    }
}

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
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn limits(g: &GlobalArgs) -> Limits {
    Limits {
        max_capacity_units: g.max_capacity_units,
    }
}

/// Where the tables of a run come from.
enum Source<'a> {
    /// An inventory file, or the single-table flags.
    Inventory(&'a Option<PathBuf>, &'a SingleTableArgs),
    /// The report of an apply to undo.
    Rollback(&'a Path),
}

fn read_report(path: &Path) -> Result<(Report, Vec<u8>), CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    let report = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Usage(format!("{}: not a ddb-fleet report: {e}", path.display())))?;
    Ok((report, bytes))
}

/// The tables a rollback restores: those the report says were changed, even partly (an
/// action that succeeded, or that started and may have), each with its recorded `before`.
fn rollback_tables(
    path: &Path,
    sel: &Selection,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    let (report, bytes) = read_report(path)?;
    let tables: Vec<DesiredTable> = report
        .tables
        .into_iter()
        .filter(|t| {
            t.actions.iter().any(|a| {
                a.action.is_mutating()
                    && matches!(
                        a.outcome,
                        report::Outcome::Succeeded | report::Outcome::Started
                    )
            })
        })
        .filter_map(|t| {
            let before = t.before?;
            Some(DesiredTable {
                source: t.source,
                account_id: t.account_id,
                role: t.desired.role_arn.map(|role_arn| crate::model::RoleSpec {
                    role_arn,
                    external_id: t.desired.external_id,
                }),
                region: t.region,
                table: t.table,
                mode: crate::model::DesiredMode::indicative(&before),
                indexes: crate::model::IndexScope::All,
                index_overrides: Default::default(),
                restore: Some(Box::new(before)),
            })
        })
        .collect();
    if tables.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: the report records no change to roll back",
            path.display()
        )));
    }
    let tables = preselect(tables, sel)?;
    Ok((
        InventoryRef {
            path: path.display().to_string(),
            sha256: inventory::sha256_hex(&bytes),
        },
        tables,
    ))
}

/// The selection the flags describe; `--resume` reads its report.
fn selection(
    regions: &[String],
    s: &SelectArgs,
    resume: Option<&Path>,
) -> Result<Selection, CliError> {
    let resume = match resume {
        None => None,
        Some(path) => Some(select::unfinished(&read_report(path)?.0)),
    };
    let sel = Selection {
        accounts: s.accounts.clone(),
        regions: regions.to_vec(),
        tables: s.tables.clone(),
        shard: s.shard,
        resume,
    };
    sel.validate().map_err(CliError::Usage)?;
    Ok(sel)
}

/// Keeps the rows `sel` may select, before patterns are expanded (nothing is read from AWS).
fn preselect(tables: Vec<DesiredTable>, sel: &Selection) -> Result<Vec<DesiredTable>, CliError> {
    let total = tables.len();
    let kept: Vec<DesiredTable> = tables
        .into_iter()
        .filter(|t| {
            if inventory::is_pattern(&t.table) {
                sel.keeps_location(t)
            } else {
                sel.keeps(t)
            }
        })
        .collect();
    if kept.is_empty() {
        return Err(CliError::Usage(format!(
            "the selection (--account, --region, --table, --shard, --resume) matches none of the inventory's {total} tables"
        )));
    }
    Ok(kept)
}

/// The inventory for `plan`/`apply`: a file (filtered), or one row built from the
/// single-table flags.
fn load_tables(
    inventory: &Option<PathBuf>,
    single: &SingleTableArgs,
    filters: &SelectArgs,
    sel: &Selection,
    limits: &Limits,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    match (inventory, single.is_empty()) {
        (Some(_), false) => Err(CliError::Usage(
            "give either an inventory file or the single-table flags (--tableName ...), not both"
                .into(),
        )),
        (None, true) => Err(CliError::Usage(
            "missing inventory: give an inventory file, or --tableName and --region with --readMode/--writeMode"
                .into(),
        )),
        (Some(path), true) => {
            let inv = inventory::load(path, limits)?;
            let tables = preselect(inv.tables, sel)?;
            Ok((
                InventoryRef {
                    path: inv.path,
                    sha256: inv.sha256,
                },
                tables,
            ))
        }
        (None, false) => {
            if single.region.len() > 1 {
                return Err(CliError::Usage(
                    "--region: give one region for a single table".into(),
                ));
            }
            if !filters.accounts.is_empty() || !filters.tables.is_empty() || filters.shard.is_some() {
                return Err(CliError::Usage(
                    "--account, --table and --shard select rows of an inventory; the single-table form names its table with --tableName".into(),
                ));
            }
            Ok((
                InventoryRef {
                    path: "(command line)".into(),
                    sha256: String::new(),
                },
                single_table(single, limits)?,
            ))
        }
    }
}

/// Builds and validates the one row described by the single-table flags. Errors name the flag.
pub fn single_table(
    a: &SingleTableArgs,
    limits: &Limits,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    const LABEL: &str = "command line";
    let mut errors = Vec::new();
    let err = |flag: &str, message: String, hint: Option<&str>| InventoryError {
        file: LABEL.into(),
        line: None,
        field: Some(flag.into()),
        message,
        hint: hint.map(str::to_string),
    };
    let mut row = RawRow::default();
    for (_, field, value) in a.flags() {
        if let Some(v) = value {
            row.insert(field, Raw::Text(v.clone()), 0, true);
        }
    }
    let normalize = |m: &str| m.to_ascii_lowercase().replace(['_', '-'], "");
    match (&a.read_mode, &a.write_mode) {
        (Some(r), Some(w)) if normalize(r) != normalize(w) => errors.push(err(
            "--readMode",
            format!("--readMode ({r}) and --writeMode ({w}) differ"),
            Some("billing mode is table-wide in DynamoDB: give the same mode for both"),
        )),
        (Some(m), _) | (None, Some(m)) => {
            row.insert("mode", Raw::Text(m.clone()), 0, true);
        }
        (None, None) => errors.push(err(
            "--readMode",
            "missing".into(),
            Some("give --readMode and --writeMode (ondemand or provisioned)"),
        )),
    }
    if !errors.is_empty() {
        return Err(InventoryErrors(errors));
    }
    inventory::validate_rows(LABEL, &[row], limits, false).map_err(|InventoryErrors(es)| {
        InventoryErrors(
            es.into_iter()
                .map(|mut e| {
                    e.line = None;
                    let flag = a
                        .flags()
                        .iter()
                        .find(|(_, f, _)| Some(*f) == e.field.as_deref())
                        .map(|(flag, _, _)| *flag)
                        .unwrap_or(if e.field.as_deref() == Some("mode") {
                            "--readMode"
                        } else {
                            ""
                        });
                    if !flag.is_empty() {
                        e.field = Some(flag.into());
                    }
                    e
                })
                .collect(),
        )
    })
}

fn init_logging(format: LogFormat, writer: SuspendingWriter) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("ddb_fleet=info,warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn run(cli: Cli) -> Result<i32, CliError> {
    let g = &cli.global;
    let limits = limits(g);
    let (command, source, filters, regions, detailed, guards, resume): (
        &str,
        Source,
        &SelectArgs,
        &[String],
        bool,
        Option<&Guards>,
        Option<&Path>,
    ) = match &cli.command {
        Command::Validate { inventory } => {
            let inv = inventory::load(inventory, &limits)?;
            let accounts = count_accounts(&inv.tables);
            println!(
                "{}: valid, {} table{} in {} account{}",
                inv.path,
                inv.tables.len(),
                if inv.tables.len() == 1 { "" } else { "s" },
                accounts,
                if accounts == 1 { "" } else { "s" },
            );
            return Ok(exit_codes::SUCCESS);
        }
        Command::Report {
            command: ReportCommand::Merge { reports, output },
        } => return merge_reports(reports, output),
        Command::Report {
            command: ReportCommand::Recover { journal, output },
        } => {
            let r = journal::recover(journal).map_err(CliError::Usage)?;
            report::write_atomic(output, &r).map_err(CliError::writing(output))?;
            let s = &r.summary;
            println!(
                "{}: {} tables: {} changed, {} unchanged, {} interrupted, {} failed, {} skipped",
                output.display(),
                s.total,
                s.changed,
                s.unchanged,
                s.interrupted,
                s.failed,
                s.skipped
            );
            return Ok(exit_codes::SUCCESS);
        }
        Command::IamPolicy { inventory } => {
            let mut roles: Vec<String> = match inventory {
                Some(path) => inventory::load(path, &limits)?
                    .tables
                    .into_iter()
                    .filter_map(|t| t.role.map(|r| r.role_arn))
                    .collect(),
                None => vec![],
            };
            roles.sort();
            roles.dedup();
            let text = serde_json::to_string_pretty(&crate::iam::policies(&roles))
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!("{text}");
            return Ok(exit_codes::SUCCESS);
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "ddb-fleet",
                &mut std::io::stdout(),
            );
            return Ok(exit_codes::SUCCESS);
        }
        Command::Export(e) => return run_export(g, e, &limits),
        Command::Plan(p) => (
            "plan",
            Source::Inventory(&p.inventory, &p.single),
            &p.select,
            &p.single.region,
            p.detailed_exitcode,
            None,
            None,
        ),
        Command::Apply(a) => (
            "apply",
            Source::Inventory(&a.inventory, &a.single),
            &a.select,
            &a.single.region,
            false,
            Some(&a.guards),
            a.resume.as_deref(),
        ),
        Command::Rollback(r) => (
            "rollback",
            Source::Rollback(&r.from),
            &r.select,
            &r.regions,
            false,
            (!r.plan_only).then_some(&r.guards),
            None,
        ),
    };
    let apply = guards;
    let yes = apply.is_some_and(|a| a.yes);
    // Everything the user gave is validated before anything talks to AWS.
    let sel = selection(regions, filters, resume)?;
    let (inventory_ref, tables) = match source {
        Source::Inventory(inventory, single) => {
            load_tables(inventory, single, filters, &sel, &limits)?
        }
        Source::Rollback(path) => rollback_tables(path, &sel)?,
    };
    if !report_dir_exists(&g.report) {
        return Err(CliError::Usage(format!(
            "the report's directory does not exist: {}",
            g.report.display()
        )));
    }
    let history = journal::load_history(&filters.history).map_err(CliError::Usage)?;
    if apply.is_some() && !yes && !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            format!("{command} asks for confirmation and stdin is not a terminal: pass --yes to go ahead without asking"),
        ));
    }

    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    init_logging(g.log_format, SuspendingWriter::new(progress.bar()));
    let settings = aws_settings(g);
    let opts = RunOptions {
        max_failures: apply.map_or(usize::MAX, |a| a.max_failures as usize),
        canary: apply.and_then(|a| a.canary).map(|n| n as usize),
        history,
        ..run_options(g, &tables)
    };
    // The journal exists before the first AWS call of an apply.
    let journal = match apply {
        Some(_) => {
            let path = journal::path_for(&g.report);
            Some(Arc::new(
                JournalSink::create(&path, command, &inventory_ref.path)
                    .map_err(CliError::writing(&path))?,
            ))
        }
        None => None,
    };
    let runtime = new_runtime()?;

    let started_at = report::now_rfc3339();
    let ledger = Arc::new(Ledger::default());
    let cancel = Arc::new(Cancel::default());
    let report_path = g.report.clone();
    let make_report = {
        let ledger = ledger.clone();
        let inventory_ref = inventory_ref.clone();
        let started_at = started_at.clone();
        move |interrupted: bool, last: bool| {
            // The final report takes the ledger's entries; an early one (second Ctrl-C) copies.
            let tables = if last {
                ledger.take()
            } else {
                ledger.snapshot()
            };
            Report {
                schema_version: SCHEMA_VERSION,
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
                command: command.to_string(),
                started_at: started_at.clone(),
                finished_at: report::now_rfc3339(),
                interrupted,
                inventory: inventory_ref.clone(),
                summary: Summary::of(&tables),
                tables,
            }
        }
    };
    let make_report = Arc::new(make_report);

    let outcome = runtime.block_on(async {
        {
            let cancel = cancel.clone();
            let make_report = make_report.clone();
            let report_path = report_path.clone();
            let ledger = ledger.clone();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::warn!("interrupted: starting no new tables; finishing the calls in flight (interrupt again to exit now)");
                cancel.request();
                wait_for_signal().await;
                if ledger.is_taken() {
                    // The run is over and its report is being written: let it finish.
                    return;
                }
                let r = make_report(true, false);
                let _ = report::write_atomic(&report_path, &r);
                eprintln!("interrupted again: report written to {}", report_path.display());
                std::process::exit(exit_codes::INTERRUPTED);
            });
        }
        let factory = Arc::new(ClientFactory::new(settings).await);
        let mut sinks: Vec<Box<dyn EventSink>> = vec![Box::new(LogSink), Box::new(progress.clone())];
        if let Some(j) = &journal {
            sinks.push(Box::new(j.clone()));
        }
        let sinks = Arc::new(Sinks(sinks));
        let rows = expand_selected(&factory, tables, opts.concurrency, &sel).await;
        if rows.is_empty() {
            return Outcome::NothingSelected;
        }
        ledger.init(rows.iter().map(|(t, _)| t));
        if let Some(j) = &journal {
            j.selected(ledger.snapshot());
        }
        let context = || {
            Arc::new(runner::ApplyContext::new(
                factory.clone(),
                opts.clone(),
                sinks.clone(),
                ledger.clone(),
                cancel.clone(),
            ))
        };
        // With --yes and no guardrail that needs the whole plan, each table is applied as soon
        // as it is planned: both services' quotas are used at once.
        if apply.is_some_and(|a| yes && a.max_changes.is_none() && a.canary.is_none()) {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let plan = async {
                runner::observe_and_plan(&factory, rows, &opts, &sinks, &ledger, false, Some(tx))
                    .await;
            };
            futures::join!(plan, runner::apply_fleet(context(), rx));
            return Outcome::Ran;
        }
        let planned = runner::observe_and_plan(
            &factory,
            rows,
            &opts,
            &sinks,
            &ledger,
            apply.is_none(),
            None,
        )
        .await;
        let Some(apply) = apply else {
            return Outcome::Ran;
        };
        if cancel.is_requested() {
            return Outcome::Ran;
        }
        let to_change = planned.iter().filter(|p| p.changes_anything()).count();
        if let Some(max) = apply.max_changes {
            if to_change > max {
                return Outcome::NotApplied(format!(
                    "the plan would change {to_change} tables, more than --max-changes {max}: nothing was changed"
                ));
            }
        }
        if to_change > 0 && !yes {
            let mut summary_tables = ledger.snapshot();
            summary_tables.iter_mut().for_each(report::TableReport::mark_not_applied);
            let confirmed = progress.bar().suspend(|| {
                print!("{}", render::render("plan", &summary_tables));
                print!("\n{}", render::change_summary(&summary_tables));
                confirm(to_change)
            });
            if !confirmed {
                return Outcome::NotApplied("apply declined: nothing was changed".into());
            }
            // The bar's clock starts with the changes, not with the question.
            progress.bar().reset_elapsed();
            progress.bar().reset_eta();
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for w in runner::gated_work(planned, &opts, &*sinks, &ledger) {
            let _ = tx.send(w);
        }
        drop(tx);
        runner::apply_fleet(context(), rx).await;
        Outcome::Ran
    });
    progress.finish();
    let refusal = match outcome {
        Outcome::NotApplied(why) => {
            for i in 0..ledger.len() {
                ledger.mark_not_applied(i);
            }
            Some(why)
        }
        Outcome::NothingSelected => {
            if let Some(j) = &journal {
                j.remove();
            }
            return Err(CliError::Usage(
                "no table is selected: the patterns and filters match no existing table".into(),
            ));
        }
        Outcome::Ran => None,
    };

    let report = make_report(cancel.is_requested(), true);
    let mode = if apply.is_some() { "apply" } else { "plan" };
    // The text is rendered while the report is written (each takes a fifth of a second at
    // 10,000 tables), and printed only once the report is safe.
    let (written, text) = std::thread::scope(|s| {
        let text = s.spawn(|| render::render(mode, &report.tables));
        let written = report::write_atomic(&report_path, &report);
        (written, text.join())
    });
    written.map_err(CliError::writing(&report_path))?;
    // The report now holds everything the journal recorded.
    if let Some(j) = &journal {
        j.remove();
    }
    let text = text.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    print!("{text}");
    println!("Report: {}", report_path.display());
    let s = &report.summary;
    if let Some(why) = refusal {
        eprintln!("{why}");
        return Ok(exit_codes::INVALID_INPUT);
    }
    if apply.and_then(|a| a.canary).is_some() && s.would_change > 0 {
        println!(
            "Canary: {} table(s) applied; {} more would change. Run again to continue.",
            s.changed, s.would_change
        );
    }
    Ok(if report.interrupted {
        exit_codes::INTERRUPTED
    } else if s.failed > 0 || s.interrupted > 0 {
        exit_codes::FAILURES
    } else if detailed && (s.would_change > 0 || s.skipped > 0) {
        exit_codes::DRIFT
    } else {
        exit_codes::SUCCESS
    })
}

enum Outcome {
    Ran,
    /// Once patterns were expanded, the selection held no table.
    NothingSelected,
    /// Nothing was applied, for this reason (declined, or refused by a guardrail).
    NotApplied(String),
}

fn aws_settings(g: &GlobalArgs) -> AwsSettings {
    AwsSettings {
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        role_session_name: g.role_session_name.clone(),
        rates: Rates {
            dynamodb: g.dynamodb_rps,
            autoscaling: g.autoscaling_rps,
            sts: g.sts_rps,
        },
        retry: RetryPolicy {
            max_attempts: g.max_attempts,
            base_delay: Duration::from_millis(g.retry_base_ms),
            ..RetryPolicy::default()
        },
        attempt_timeout: Duration::from_secs(30),
    }
}

/// Options of a read-only run (plan, export); apply adds its guardrails.
/// `--concurrency`, or 6 tables in flight per (account, region) of `tables`, from 32 to 2048.
/// A table spends part of its time on DynamoDB (switch, wait, read-back) and part on Auto
/// Scaling: 6 keep both services' limits busy (4 left Auto Scaling idle a third of the time
/// in the benchmark); each table in flight costs memory and CPU.
fn concurrency(g: &GlobalArgs, tables: &[DesiredTable]) -> usize {
    match g.concurrency {
        Some(n) => n as usize,
        None => {
            let groups: std::collections::HashSet<(&str, &str)> = tables
                .iter()
                .map(|t| (t.account_id.as_str(), t.region.as_str()))
                .collect();
            (groups.len() * 6).clamp(32, 2048)
        }
    }
}

fn run_options(g: &GlobalArgs, tables: &[DesiredTable]) -> RunOptions {
    RunOptions {
        concurrency: concurrency(g, tables),
        wait: WaitPolicy {
            timeout: g.wait_timeout,
            first_poll: Duration::from_millis(g.poll_ms),
            ..WaitPolicy::default()
        },
        max_attempts: g.max_attempts,
        max_failures: usize::MAX,
        canary: None,
        history: Default::default(),
    }
}

/// Pattern rows become the tables they match; the selection then applies to the tables
/// themselves, and to a pattern row that could not be expanded by its location.
async fn expand_selected(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    concurrency: usize,
    sel: &Selection,
) -> Vec<(DesiredTable, Option<AwsError>)> {
    runner::expand_patterns(factory, tables, concurrency)
        .await
        .into_iter()
        .filter(|(t, failed)| {
            if failed.is_some() {
                sel.keeps_location(t)
            } else {
                sel.keeps(t)
            }
        })
        .collect()
}

fn new_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    // Each table of an apply runs as its own task, on one worker per core (tokio's default).
    // Measured with the fleet benchmark on 2 cores, two workers cost more CPU per table than
    // one thread but finish a 10,000-table apply 14% sooner, where one thread was saturated;
    // at 1,000 tables the wall time is the same. Checking timers and I/O more often than
    // tokio's default (`event_interval` 11 instead of 61) made that apply far slower (0.53 to
    // 0.66 of the bound), less often (200) no faster.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))
}

/// `export`: read the tables (an inventory's, or every table of --account x --region), then
/// write them as an inventory. Exit 1 if a table could not be read.
fn run_export(g: &GlobalArgs, a: &ExportArgs, limits: &Limits) -> Result<i32, CliError> {
    use crate::export::{self, Exported};
    use crate::model::{DesiredMode, IndexScope, RoleSpec, Source as RowSource};
    let toml = match a.output.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        Some(e) if e.eq_ignore_ascii_case("toml") => true,
        _ => {
            return Err(CliError::Usage(format!(
                "-o {}: name the file *.csv or *.toml",
                a.output.display()
            )))
        }
    };
    if !report_dir_exists(&a.output) {
        return Err(CliError::Usage(format!(
            "the output's directory does not exist: {}",
            a.output.display()
        )));
    }
    let sel = Selection {
        accounts: a.accounts.clone(),
        regions: a.regions.clone(),
        tables: a.tables.clone(),
        ..Selection::default()
    };
    sel.validate().map_err(CliError::Usage)?;
    let (source, rows) = match &a.inventory {
        Some(path) => {
            let inv = inventory::load(path, limits)?;
            (inv.path, preselect(inv.tables, &sel)?)
        }
        None => {
            if a.accounts.is_empty() || a.regions.is_empty() {
                return Err(CliError::Usage(
                    "export needs an inventory, or --account and --region".into(),
                ));
            }
            let patterns = if a.tables.is_empty() {
                vec!["*".to_string()]
            } else {
                a.tables.clone()
            };
            let mut rows = Vec::new();
            for account in &a.accounts {
                for region in &a.regions {
                    for pattern in &patterns {
                        rows.push(DesiredTable {
                            source: RowSource {
                                file: "(command line)".into(),
                                line: 0,
                            },
                            account_id: account.clone(),
                            role: a.role_name.as_ref().map(|n| RoleSpec {
                                role_arn: format!("arn:aws:iam::{account}:role/{n}"),
                                external_id: None,
                            }),
                            region: region.clone(),
                            table: pattern.clone(),
                            mode: DesiredMode::OnDemand,
                            indexes: IndexScope::All,
                            index_overrides: Default::default(),
                            restore: None,
                        });
                    }
                }
            }
            ("(command line)".to_string(), rows)
        }
    };
    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    init_logging(g.log_format, SuspendingWriter::new(progress.bar()));
    let opts = run_options(g, &rows);
    let ledger = Ledger::default();
    new_runtime()?.block_on(async {
        let factory = ClientFactory::new(aws_settings(g)).await;
        let rows = expand_selected(&factory, rows, opts.concurrency, &sel).await;
        ledger.init(rows.iter().map(|(t, _)| t));
        let sinks = Sinks(vec![Box::new(progress.clone())]);
        runner::observe_and_plan(&factory, rows, &opts, &sinks, &ledger, true, None).await;
    });
    progress.finish();
    let mut items = Vec::new();
    let (mut tables, mut failed) = (0, 0);
    for t in ledger.take() {
        match (&t.before, &t.error) {
            (Some(before), _) => {
                tables += 1;
                let role = t.desired.role_arn.clone().map(|role_arn| RoleSpec {
                    role_arn,
                    external_id: t.desired.external_id.clone(),
                });
                items.extend(export::export_table(
                    &t.account_id,
                    &t.region,
                    &t.table,
                    role.as_ref(),
                    before,
                    limits.max_capacity_units,
                ));
            }
            (None, e) => {
                failed += 1;
                let why = e
                    .as_ref()
                    .map(|e| format!("{}: {}", e.code, e.message))
                    .unwrap_or_default();
                items.push(Exported::Note(format!(
                    "not exported: {} {} {} could not be read: {why}",
                    t.account_id, t.region, t.table
                )));
            }
        }
    }
    let notes = items
        .iter()
        .filter(|i| matches!(i, Exported::Note(_)))
        .count();
    let header = format!(
        "ddb-fleet {} export of {source}, {}\nplan on this file reports every listed table unchanged; comments say what could not be exported",
        env!("CARGO_PKG_VERSION"),
        report::now_rfc3339()
    );
    let text = if toml {
        export::to_toml(&header, &items)
    } else {
        export::to_csv(&header, &items)
    };
    report::write_bytes_atomic(&a.output, text.trim_end().as_bytes())
        .map_err(CliError::writing(&a.output))?;
    println!(
        "{}: {tables} tables read, {notes} note(s) in comments, {failed} could not be read",
        a.output.display()
    );
    Ok(if failed > 0 {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

fn merge_reports(paths: &[PathBuf], output: &Path) -> Result<i32, CliError> {
    let mut reports = Vec::new();
    for p in paths {
        reports.push(read_report(p)?.0);
    }
    let merged = report::merge(reports).map_err(CliError::Usage)?;
    report::write_atomic(output, &merged).map_err(CliError::writing(output))?;
    let s = &merged.summary;
    println!(
        "{}: {} tables from {} reports: {} changed, {} unchanged, {} would change, {} failed, {} skipped, {} interrupted",
        output.display(), s.total, paths.len(), s.changed, s.unchanged, s.would_change, s.failed, s.skipped, s.interrupted
    );
    Ok(if s.failed > 0 || s.interrupted > 0 {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

fn count_accounts(tables: &[DesiredTable]) -> usize {
    tables
        .iter()
        .map(|t| t.account_id.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

fn confirm(n: usize) -> bool {
    print!(
        "\nddb-fleet will change {n} table{} as shown above. Only 'yes' will be accepted to approve.\nApply? ",
        if n == 1 { "" } else { "s" }
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes"
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Whether the report's directory exists: checked before any AWS call, so a run never ends
/// with changes made and nowhere to record them.
fn report_dir_exists(path: &Path) -> bool {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.is_dir(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DesiredMode, Thresholds};

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
        assert!(
            d.sts.get() >= 20,
            "a fleet of hundreds of accounts must not wait minutes on STS"
        );
    }

    #[test]
    fn concurrency_default_grows_with_the_fleet() {
        let g = |args: &[&str]| {
            let mut argv = vec!["ddb-fleet", "plan", "x.csv"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).unwrap().global
        };
        let table = |account: usize, region: &str| DesiredTable {
            account_id: format!("{account:012}"),
            region: region.into(),
            ..DesiredTable::on_demand("t01")
        };
        let small: Vec<_> = (0..3).map(|a| table(a, "us-east-1")).collect();
        assert_eq!(concurrency(&g(&[]), &small), 32);
        let fleet: Vec<_> = (0..50)
            .flat_map(|a| {
                ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"].map(|r| table(a, r))
            })
            .collect();
        assert_eq!(concurrency(&g(&[]), &fleet), 1200);
        let huge: Vec<_> = (0..500).map(|a| table(a, "us-east-1")).collect();
        assert_eq!(concurrency(&g(&[]), &huge), 2048);
        assert_eq!(concurrency(&g(&["--concurrency", "7"]), &huge), 7);
    }

    /// The help is the user's manual: changes to it are reviewed as snapshots.
    #[test]
    fn help_snapshots() {
        use clap::CommandFactory;
        let mut cmd = Cli::command().term_width(100);
        insta::assert_snapshot!("help", cmd.render_long_help().to_string());
        for sub in ["apply", "rollback", "export"] {
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

    fn seed(args: &[&str]) -> Result<Vec<DesiredTable>, InventoryErrors> {
        let mut argv = vec!["ddb-fleet", "plan"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        match cli.command {
            Command::Plan(p) => single_table(&p.single, &Limits::default()),
            _ => unreachable!(),
        }
    }

    #[test]
    fn seed_flags_build_one_row() {
        let t = seed(&[
            "--tableName",
            "orders",
            "--region",
            "us-east-1",
            "--readMode",
            "provisioned",
            "--writeMode",
            "provisioned",
            "--minRead",
            "5",
            "--maxRead",
            "100",
            "--targetRead",
            "70",
            "--minWrite",
            "1",
            "--maxWrite",
            "10",
            "--targetWrite",
            "50",
        ])
        .unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].table, "orders");
        assert_eq!(
            t[0].account_id, "",
            "resolved later from the caller's identity"
        );
        match t[0].mode {
            DesiredMode::Provisioned(a) => {
                assert_eq!(
                    a.read,
                    Thresholds {
                        min: 5,
                        max: 100,
                        target: 70.0
                    }
                );
                assert_eq!(
                    a.write,
                    Thresholds {
                        min: 1,
                        max: 10,
                        target: 50.0
                    }
                );
            }
            _ => panic!(),
        }
        let t = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "ondemand",
        ])
        .unwrap();
        assert_eq!(t[0].mode, DesiredMode::OnDemand);
    }

    #[test]
    fn seed_flag_errors_name_the_flag() {
        let e = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "ondemand",
            "--writeMode",
            "provisioned",
        ])
        .unwrap_err()
        .0;
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field.as_deref(), Some("--readMode"));
        assert!(
            e[0].to_string().contains("billing mode is table-wide"),
            "{}",
            e[0]
        );

        let e = seed(&[
            "--tableName",
            "t01",
            "--region",
            "eu-west-1",
            "--readMode",
            "provisioned",
            "--writeMode",
            "provisioned",
            "--minRead",
            "9",
            "--maxRead",
            "3",
            "--targetRead",
            "70",
            "--minWrite",
            "1",
            "--maxWrite",
            "2",
            "--targetWrite",
            "99",
        ])
        .unwrap_err()
        .0;
        let fields: Vec<_> = e.iter().map(|e| e.field.clone().unwrap()).collect();
        assert_eq!(fields, ["--minRead", "--targetWrite"], "{e:?}");
        assert!(e
            .iter()
            .all(|e| e.file == "command line" && e.line.is_none()));
    }
}
