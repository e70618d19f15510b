//! The command line: what the user typed ([`Cli`]), turned into validated settings and a
//! validated inventory before the first AWS call, then dispatched. Errors travel up to
//! [`main`], which maps them to the exit codes of [`crate::exit_codes`].

use crate::aws::ops::WaitPolicy;
use crate::aws::{AwsSettings, ClientFactory, Rates, RetryPolicy};
use crate::cancel::Cancel;
use crate::events::{LogSink, Sinks};
use crate::exit_codes;
use crate::inventory::{self, InventoryError, InventoryErrors, Limits, Raw, RawRow};
use crate::model::DesiredTable;
use crate::progress::{ProgressSink, SuspendingWriter};
use crate::render;
use crate::report::{self, InventoryRef, Report, Summary, SCHEMA_VERSION};
use crate::runner::{self, Ledger, RunOptions};
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
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inventory file (.csv or .toml); or use the single-table flags.
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub single: SingleTableArgs,
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
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The original single-table script's flags, with their exact spellings.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Single table (the original script's flags)")]
pub struct SingleTableArgs {
    #[arg(long = "tableName", value_name = "TABLE")]
    pub table_name: Option<String>,
    /// AWS region of the table.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
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
    fn is_empty(&self) -> bool {
        self.flags().iter().all(|(_, _, v)| v.is_none())
    }

    /// (flag, inventory field, value)
    fn flags(&self) -> [(&'static str, &'static str, &Option<String>); 8] {
        [
            ("--tableName", "table", &self.table_name),
            ("--region", "region", &self.region),
            ("--minRead", "min_read", &self.min_read),
            ("--maxRead", "max_read", &self.max_read),
            ("--targetRead", "target_read", &self.target_read),
            ("--minWrite", "min_write", &self.min_write),
            ("--maxWrite", "max_write", &self.max_write),
            ("--targetWrite", "target_write", &self.target_write),
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
    /// Tables processed at once.
    #[arg(long, global = true, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Attempts per AWS call, retries of throttling and transient errors included.
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub max_attempts: u32,
    /// How long to wait for a table to become ACTIVE (e.g. 900, 90s, 15m, 1h).
    #[arg(long, global = true, default_value = "15m", value_parser = parse_duration)]
    pub wait_timeout: Duration,
    /// DynamoDB control-plane requests per second, per account and region.
    #[arg(long, global = true, default_value = "20")]
    pub dynamodb_rps: NonZeroU32,
    /// Application Auto Scaling requests per second, per account and region.
    #[arg(long, global = true, default_value = "10")]
    pub autoscaling_rps: NonZeroU32,
    /// STS AssumeRole requests per second, per account.
    #[arg(long, global = true, default_value = "2")]
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

/// The inventory for `plan`/`apply`: a file, or one row built from the single-table flags.
fn load_tables(
    inventory: &Option<PathBuf>,
    single: &SingleTableArgs,
    limits: &Limits,
) -> Result<(InventoryRef, Vec<DesiredTable>), CliError> {
    match (inventory, single.is_empty() && single.read_mode.is_none() && single.write_mode.is_none()) {
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
            Ok((
                InventoryRef {
                    path: inv.path,
                    sha256: inv.sha256,
                },
                inv.tables,
            ))
        }
        (None, false) => Ok((
            InventoryRef {
                path: "(command line)".into(),
                sha256: String::new(),
            },
            single_table(single, limits)?,
        )),
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
    let (command, inventory, single, detailed, yes) = match &cli.command {
        Command::Validate { inventory } => {
            let inv = inventory::load(inventory, &limits)?;
            println!(
                "{}: valid, {} table{} in {} account{}",
                inv.path,
                inv.tables.len(),
                if inv.tables.len() == 1 { "" } else { "s" },
                count_accounts(&inv.tables),
                if count_accounts(&inv.tables) == 1 {
                    ""
                } else {
                    "s"
                },
            );
            return Ok(exit_codes::SUCCESS);
        }
        Command::Plan(p) => ("plan", &p.inventory, &p.single, p.detailed_exitcode, false),
        Command::Apply(a) => ("apply", &a.inventory, &a.single, false, a.yes),
    };
    // Everything the user gave is validated before anything talks to AWS.
    let (inventory_ref, tables) = load_tables(inventory, single, &limits)?;
    if !report_dir_exists(&g.report) {
        return Err(CliError::Usage(format!(
            "the report's directory does not exist: {}",
            g.report.display()
        )));
    }
    if command == "apply" && !yes && !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "apply asks for confirmation and stdin is not a terminal: pass --yes to apply without asking"
                .into(),
        ));
    }

    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    init_logging(g.log_format, SuspendingWriter::new(progress.bar()));
    let settings = AwsSettings {
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
    };
    let opts = RunOptions {
        concurrency: g.concurrency as usize,
        wait: WaitPolicy {
            timeout: g.wait_timeout,
            first_poll: Duration::from_millis(g.poll_ms),
            ..WaitPolicy::default()
        },
        max_attempts: g.max_attempts,
    };
    // One thread: table tasks and HTTP connections wake each other without crossing threads,
    // and a fleet run is bound by AWS's quotas and latency, not by CPU.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))?;

    let started_at = report::now_rfc3339();
    let ledger = Arc::new(Ledger::new(&tables));
    let cancel = Arc::new(Cancel::default());
    let report_path = g.report.clone();
    let make_report = {
        let ledger = ledger.clone();
        let inventory_ref = inventory_ref.clone();
        let started_at = started_at.clone();
        move |interrupted: bool| {
            let tables = ledger.snapshot();
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
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::warn!("interrupted: starting no new tables; finishing the calls in flight (interrupt again to exit now)");
                cancel.request();
                wait_for_signal().await;
                let r = make_report(true);
                let _ = report::write_atomic(&report_path, &r);
                eprintln!("interrupted again: report written to {}", report_path.display());
                std::process::exit(exit_codes::INTERRUPTED);
            });
        }
        let factory = ClientFactory::new(settings).await;
        let sinks = Sinks(vec![Box::new(LogSink), Box::new(ProgressSinkRef(progress.clone()))]);
        let planned =
            runner::observe_and_plan(&factory, tables, &opts, &sinks, &ledger, command == "plan")
                .await;
        if command == "apply" && !cancel.is_requested() {
            let to_change = planned.iter().filter(|p| p.changes_anything()).count();
            if to_change > 0 && !yes {
                progress.bar().suspend(|| {
                    print!("{}", render::render("plan", &ledger.snapshot()));
                });
                if !confirm(to_change) {
                    return Outcome::Declined;
                }
            }
            runner::apply_fleet(&factory, &planned, &opts, &sinks, &ledger, &cancel).await;
        }
        Outcome::Ran
    });
    progress.finish();
    if matches!(outcome, Outcome::Declined) {
        eprintln!("apply cancelled: nothing was changed");
        return Ok(exit_codes::INVALID_INPUT);
    }

    let report = make_report(cancel.is_requested());
    report::write_atomic(&report_path, &report).map_err(|source| CliError::Report {
        path: report_path.display().to_string(),
        source,
    })?;
    print!("{}", render::render(command, &report.tables));
    println!("Report: {}", report_path.display());
    let s = &report.summary;
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
    Declined,
}

/// Lets the `Arc`'d progress sink sit in the sink list while the CLI keeps its handle.
struct ProgressSinkRef(Arc<ProgressSink>);

impl crate::events::EventSink for ProgressSinkRef {
    fn event(&self, event: &crate::events::Event<'_>) {
        self.0.event(event)
    }
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
