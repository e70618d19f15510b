//! `advise`: every flag, the price file and the inventory checked before any AWS call; then
//! each table read and advised (`crate::advise::run`); then the JSON report, the advice
//! inventory (`-o`), the HTML page (`--html`) and the summary on stdout. Read-only in AWS.
//! Exit 1 if a table could not be advised, 130 if interrupted (the report is still written).

use super::args::{DiscoveryArgs, GlobalArgs, OwnershipArgs, ReportArgs};
use super::base::{self, limits, Signals};
use super::identity;
use super::source::{rows_to_read_from, Discovery};
use super::{refuse_overwriting, report_dir_exists, CliError};
use crate::advise::report::{self as advice, AdviceReport, AdviceSettings};
use crate::advise::run::{advise_fleet, AdviseJob};
use crate::advise::{html, outputs};
use crate::aws::AwsError;
use crate::cancel::Cancel;
use crate::cost::{Policy, PriceBook, DAYS_PER_MONTH};
use crate::events::{EventSink, Sinks};
use crate::exit_codes;
use crate::export;
use crate::inventory::{InventoryError, InventoryErrors};
use crate::model::DesiredTable;
use crate::progress::{ProgressSink, SuspendingWriter};
use crate::report;
use crate::report::{OrgReport, RegionNote};
use crate::select::Selection;
use crate::select::Shard;
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct AdviseArgs {
    #[command(flatten)]
    pub discover: DiscoveryArgs,
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
    #[arg(long, default_value_t = Policy::DEFAULT.min_days, value_name = "DAYS")]
    pub min_days: f64,
    /// Recommend a change only if it saves at least this share of the table's monthly cost.
    #[arg(long, default_value_t = Policy::DEFAULT.min_savings_percent, value_name = "PERCENT")]
    pub min_savings_percent: f64,
    /// ... and at least this much a month, in the price file's currency.
    #[arg(long, default_value_t = Policy::DEFAULT.min_savings, value_name = "AMOUNT")]
    pub min_savings: f64,
    /// For on-demand recommendations: maximum on-demand throughput at FACTOR x the observed
    /// peak per second (table and GSIs).
    #[arg(long, value_name = "FACTOR")]
    pub cap_on_demand: Option<f64>,
    /// No maximum on-demand throughput under this many units per second (a quiet table capped
    /// at its quiet peak would throttle its first backfill or scan).
    #[arg(long, default_value_t = Policy::DEFAULT.cap_floor, value_name = "UNITS")]
    pub cap_floor: i64,
    /// An earlier report or journal of apply: its switches to on-demand and table-class
    /// changes count against AWS's limits, as apply counts them (repeatable).
    #[arg(long, value_name = "FILE")]
    pub history: Vec<PathBuf>,
    /// Prices replacing or adding to the built-in list prices (TOML; see the README).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Write the recommended settings as an inventory: .csv or .toml.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write a one-page HTML report (self-contained).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub ownership: OwnershipArgs,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// CloudWatch's retention per period: (seconds per period, days kept).
const RETENTION: [(u32, u32); 3] = [(60, 15), (300, 63), (3600, 455)];

/// The period for `--days`: the one given, or the finest CloudWatch keeps that long.
fn period(a: &AdviseArgs) -> Result<u32, CliError> {
    let usage = |m: String| CliError::Usage(m);
    if a.days == 0 {
        return Err(usage("--days 0: give at least one day".into()));
    }
    match a.period {
        Some(p) => {
            let Some((_, kept)) = RETENTION.iter().find(|(s, _)| *s == p) else {
                return Err(usage(format!("--period {p}: use 60, 300 or 3600")));
            };
            if a.days > *kept {
                return Err(usage(format!(
                    "--days {}: CloudWatch keeps {p}-second data {kept} days; use --days {kept} or less, or a longer --period",
                    a.days
                )));
            }
            Ok(p)
        }
        None => RETENTION
            .iter()
            .find(|(_, kept)| a.days <= *kept)
            .map(|(p, _)| *p)
            .ok_or_else(|| {
                usage(format!(
                    "--days {}: CloudWatch keeps DynamoDB metrics at most 455 days (hourly)",
                    a.days
                ))
            }),
    }
}

/// Where the window starts: `days` before `end`; an hour later at the longest `days` the
/// period is kept (CloudWatch answers no datapoint for a start beyond the retention of the
/// period asked, and provisioned capacity is read from the start's hour).
fn window_start(end: i64, days: u32, period: u32) -> i64 {
    let start = end - i64::from(days) * 86_400;
    match RETENTION.iter().find(|(p, _)| *p == period) {
        Some((_, kept)) if days >= *kept => start + 3600,
        _ => start,
    }
}

/// The thresholds, checked.
fn policy(a: &AdviseArgs, max_capacity_units: i64) -> Result<Policy, CliError> {
    let usage = |m: String| Err(CliError::Usage(m));
    if !(0.0..=100.0).contains(&a.min_savings_percent) {
        return usage(format!(
            "--min-savings-percent {}: give a percentage from 0 to 100",
            a.min_savings_percent
        ));
    }
    if !a.min_savings.is_finite() || a.min_savings < 0.0 {
        return usage(format!(
            "--min-savings {}: give an amount of 0 or more",
            a.min_savings
        ));
    }
    if !a.min_days.is_finite() || a.min_days < 0.0 || a.min_days > f64::from(a.days) {
        return usage(format!(
            "--min-days {}: give 0 to --days ({})",
            a.min_days, a.days
        ));
    }
    if let Some(f) = a.cap_on_demand {
        if !f.is_finite() || !(1.0..=100.0).contains(&f) {
            return usage(format!(
                "--cap-on-demand {f}: give a factor from 1 to 100 (a cap under the observed peak would throttle real traffic)"
            ));
        }
    }
    if a.cap_floor < 1 {
        return usage(format!(
            "--cap-floor {}: give 1 or more units per second",
            a.cap_floor
        ));
    }
    Ok(Policy {
        min_savings_percent: a.min_savings_percent,
        min_savings: a.min_savings,
        min_days: a.min_days,
        cap_factor: a.cap_on_demand,
        cap_floor: a.cap_floor,
        max_capacity_units,
    })
}

/// Whether the inventory output is TOML (else CSV), and the report's path; checked with the
/// directories, and that no output is an input.
fn check_outputs(a: &AdviseArgs) -> Result<(Option<bool>, PathBuf), CliError> {
    let toml = match &a.output {
        None => None,
        Some(o) => match o.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => Some(false),
            Some(e) if e.eq_ignore_ascii_case("toml") => Some(true),
            _ => {
                return Err(CliError::Usage(format!(
                    "-o {}: name the file *.csv or *.toml",
                    o.display()
                )))
            }
        },
    };
    let report = a.report.path("advise");
    let mut inputs: Vec<(&Path, &str)> = Vec::new();
    inputs.extend(
        a.discover
            .inventory
            .as_deref()
            .map(|p| (p, "the inventory")),
    );
    inputs.extend(a.prices.as_deref().map(|p| (p, "the price file")));
    inputs.extend(a.history.iter().map(|p| (p.as_path(), "a --history file")));
    for (p, flag) in [
        (Some(&report), "--report"),
        (a.output.as_ref(), "-o"),
        (a.html.as_ref(), "--html"),
    ] {
        let Some(p) = p else { continue };
        if !report_dir_exists(p) {
            return Err(CliError::Usage(format!(
                "the directory of {} does not exist",
                p.display()
            )));
        }
        refuse_overwriting(p, flag, &inputs)?;
    }
    Ok((toml, report))
}

/// Every row's region must have prices: one error per region, at the first row using it.
fn check_prices(rows: &[DesiredTable], prices: &PriceBook) -> Result<(), CliError> {
    let mut errors: Vec<InventoryError> = Vec::new();
    // A `*` region is every region enabled in the account: one without prices fails its
    // tables when they are reached.
    for d in rows.iter().filter(|d| d.region != crate::org::ALL_REGIONS) {
        if prices.region(&d.region).is_none()
            && !errors
                .iter()
                .any(|e| e.message.contains(&format!("`{}`", d.region)))
        {
            let known: Vec<&str> = prices.regions.keys().map(String::as_str).collect();
            errors.push(InventoryError::at(
                &d.source,
                "region",
                format!(
                    "no prices for region `{}` (the built-in prices cover {})",
                    d.region,
                    known.join(", ")
                ),
                Some("give its prices with --prices FILE".into()),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(
            InventoryErrors(errors).to_string().replacen(
                "invalid inventory",
                "cannot price the fleet",
                1,
            ),
        ))
    }
}

/// The rows of regions with prices. A `*` region is every region enabled in the account,
/// and the built-in prices cover a few: the tables of a region without prices are not
/// advised, and the region is noted once as skipped (in each account of the organisation's
/// report, and in the log), not failed. Explicit regions were checked before any AWS call
/// ([`check_prices`]); rows that failed before their region was known are kept.
fn priced(
    rows: Vec<(DesiredTable, Option<AwsError>)>,
    prices: &PriceBook,
    mut org: Option<&mut OrgReport>,
) -> Vec<(DesiredTable, Option<AwsError>)> {
    let note = "no prices for this region: its tables are not advised (give its prices with --prices FILE)";
    let mut unpriced = std::collections::BTreeSet::new();
    let mut kept = Vec::with_capacity(rows.len());
    for (t, e) in rows {
        if e.is_some() || t.region == crate::org::ALL_REGIONS || prices.region(&t.region).is_some()
        {
            kept.push((t, e));
            continue;
        }
        if !unpriced.insert((t.account_id.clone(), t.region.clone())) {
            continue;
        }
        let account = org
            .as_deref_mut()
            .and_then(|o| o.accounts.iter_mut().find(|a| a.account_id == t.account_id));
        if let Some(a) = account {
            a.regions.retain(|r| *r != t.region);
            a.skipped_regions.push(RegionNote {
                region: t.region.clone(),
                note: note.into(),
            });
        }
    }
    let regions: std::collections::BTreeSet<&str> =
        unpriced.iter().map(|(_, r)| r.as_str()).collect();
    if !regions.is_empty() {
        let list: Vec<&str> = regions.into_iter().collect();
        tracing::warn!("regions skipped, {note}: {}", list.join(", "));
    }
    kept
}

/// `advise`.
pub fn run(a: &AdviseArgs) -> Result<i32, CliError> {
    let g = &a.global;
    let limits = limits(&g.limits);
    let period = period(a)?;
    let policy = policy(a, limits.max_capacity_units)?;
    let (toml, report_path) = check_outputs(a)?;
    let prices = match &a.prices {
        Some(p) => PriceBook::with_file(p).map_err(|e| {
            CliError::Usage(InventoryErrors(e).to_string().replacen(
                "invalid inventory",
                "invalid price file",
                1,
            ))
        })?,
        None => PriceBook::builtin(),
    };
    let history = crate::history::load(&a.history).map_err(CliError::Usage)?;
    let sel = a.discover.selection(a.shard).map_err(CliError::Usage)?;
    let discovery = Discovery::of(&a.discover, "advise");
    let (source, rows) =
        rows_to_read_from(a.discover.inventory.as_deref(), &discovery, &sel, &limits)?;
    check_prices(&rows, &prices)?;

    let now = crate::runner::unix_now();
    let end = now.div_euclid(i64::from(period)) * i64::from(period);
    let mut job = AdviseJob {
        settings: settings(a, period, &prices),
        prices,
        policy,
        period,
        start: window_start(end, a.days, period),
        end,
        now,
        history,
        // Set once the rows are expanded (`read`).
        concurrency: 0,
        ownership: a.ownership.ownership(),
    };
    let started_at = report::now_rfc3339();
    let (collected, organization, interrupted) = read(g, rows, &sel, &mut job)?;
    let report = AdviceReport {
        schema_version: advice::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "advise".into(),
        started_at,
        finished_at: report::now_rfc3339(),
        interrupted,
        inventory: source,
        settings: job.settings.clone(),
        cloudwatch: collected.cloudwatch,
        summary: advice::AdviceSummary::of(&collected.tables),
        accounts: advice::accounts(&collected.tables, organization.as_ref()),
        tables: collected.tables,
        organization,
    };
    write_outputs(a, &report_path, &report, toml, limits.max_capacity_units)?;
    out!("{}", outputs::summary(&report, 10));
    outln!("Report: {}", report_path.display());
    Ok(if report.interrupted {
        exit_codes::INTERRUPTED
    } else if report.summary.failed > 0 {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

fn settings(a: &AdviseArgs, period: u32, prices: &PriceBook) -> AdviceSettings {
    AdviceSettings {
        days: a.days,
        period,
        min_days: a.min_days,
        min_savings_percent: a.min_savings_percent,
        min_savings: a.min_savings,
        cap_on_demand: a.cap_on_demand,
        days_per_month: DAYS_PER_MONTH,
        currency: prices.currency.clone(),
        prices_source: prices.source.clone(),
        prices_date: prices.date.clone(),
        commitments: commitments(prices),
        cap_floor: a.cap_floor,
        managed_tags: a
            .ownership
            .managed_tags
            .iter()
            .map(ToString::to_string)
            .collect(),
        include_managed: a.ownership.include_managed,
    }
}

/// What the prices include beyond list prices, in words.
fn commitments(prices: &PriceBook) -> String {
    let mut parts = Vec::new();
    for (region, r) in &prices.regions {
        let c = &r.commitments;
        let mut what = Vec::new();
        if let Some(rr) = c.reserved_read {
            what.push(format!("{} RCU reserved", rr.units));
        }
        if let Some(rw) = c.reserved_write {
            what.push(format!("{} WCU reserved", rw.units));
        }
        if c.savings_plan_percent > 0.0 {
            what.push(format!("Savings Plans {} % off", c.savings_plan_percent));
        }
        if !what.is_empty() {
            parts.push(format!("{region}: {}", what.join(", ")));
        }
    }
    let free_tier = "the free tier (25 GB, 25 RCU and 25 WCU per account and region) is ignored";
    if parts.is_empty() {
        format!("list prices: no reserved capacity or Savings Plans in the prices; {free_tier}")
    } else {
        format!("{}; {free_tier}", parts.join("; "))
    }
}

/// Expands the patterns and advises every table, with a progress bar; Ctrl-C stops it
/// (tables not reached are `skipped`, the report says `interrupted`).
fn read(
    g: &GlobalArgs,
    mut rows: Vec<DesiredTable>,
    sel: &Selection,
    job: &mut AdviseJob,
) -> Result<(crate::advise::run::Collected, Option<OrgReport>, bool), CliError> {
    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    base::init_logging(g, SuspendingWriter::new(progress.bar()));
    let cancel = Arc::new(Cancel::default());
    let out = base::new_runtime()?.block_on(async {
        let c = cancel.clone();
        let mut signals = Signals::new();
        tokio::spawn(async move {
            signals.next().await;
            c.request();
            tracing::warn!(
                "interrupted: advising no more tables; the report will say which were not reached"
            );
        });
        let (factory, _) = identity::connect(g, &mut rows, cancel.clone()).await?;
        let (rows, mut org) = base::expand_selected(&factory, rows, g, sel).await?;
        let rows = priced(rows, &job.prices, org.as_mut());
        job.concurrency = base::concurrency(g, rows.iter().map(|(t, _)| t));
        let job = &*job;
        let sinks: Vec<Box<dyn EventSink>> =
            vec![Box::new(base::log_sink(g)), Box::new(progress.clone())];
        let collected = advise_fleet(&factory, rows, job, &Sinks(sinks), &cancel).await;
        Ok::<_, CliError>((collected, org))
    });
    progress.finish();
    let (collected, org) = out?;
    Ok((collected, org, cancel.is_requested()))
}

fn write_outputs(
    a: &AdviseArgs,
    report_path: &Path,
    report: &AdviceReport,
    toml: Option<bool>,
    max_units: i64,
) -> Result<(), CliError> {
    crate::report::write_json_atomic(report_path, report)
        .map_err(CliError::writing(report_path))?;
    if let (Some(path), Some(toml)) = (&a.output, toml) {
        let items = outputs::inventory_items(report, max_units);
        let header = format!(
            "ddb-fleet {} advice for {}, {}\nplan on this file shows the recommended changes; each table's comment gives its monthly cost now and recommended ({})",
            env!("CARGO_PKG_VERSION"),
            report.inventory.path,
            report.finished_at,
            report.settings.currency
        );
        let text = if toml {
            export::to_toml(&header, &items)
        } else {
            export::to_csv(&header, &items)
        };
        report::write_bytes_atomic(path, text.trim_end().as_bytes())
            .map_err(CliError::writing(path))?;
        outln!(
            "Inventory: {} (plan it to see the changes; apply it to make them)",
            path.display()
        );
    }
    if let Some(path) = &a.html {
        report::write_bytes_atomic(path, html::page(report).as_bytes())
            .map_err(CliError::writing(path))?;
        outln!("HTML: {}", path.display());
    }
    Ok(())
}

/// Whether a report file holds an advice report (for `report merge`).
pub fn is_advice(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v["command"] == "advise")
}

#[cfg(test)]
mod tests {
    use super::window_start;

    #[test]
    fn the_window_stays_inside_cloudwatchs_retention_of_its_period() {
        let end = 1_800_000_000;
        assert_eq!(window_start(end, 14, 60), end - 14 * 86_400);
        // 15 days of 1-minute data is all CloudWatch keeps: from a start beyond it, no
        // datapoint; so, and as capacity is read from the start's hour, an hour later.
        assert_eq!(window_start(end, 15, 60), end - 15 * 86_400 + 3600);
        assert_eq!(window_start(end, 63, 300), end - 63 * 86_400 + 3600);
        assert_eq!(window_start(end, 30, 300), end - 30 * 86_400);
    }
}
