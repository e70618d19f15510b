//! `report merge` (the reports of a sharded run, as one; `advise` reports too) and `report recover` (a killed run's
//! report, rebuilt from its journal).

use super::{read_report, refuse_overwriting, CliError};
use crate::advise::report::AdviceReport;
use crate::exit_codes;
use crate::journal;
use crate::render::plural;
use crate::report;
use clap::Subcommand;
use std::path::{Path, PathBuf};

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

/// `report merge`: one report, summary recomputed; exit 1 if a table failed or was
/// interrupted.
pub fn merge(paths: &[PathBuf], output: &Path) -> Result<i32, CliError> {
    let inputs: Vec<(&Path, &str)> = paths.iter().map(|p| (p.as_path(), "a report")).collect();
    refuse_overwriting(output, "-o", &inputs)?;
    let mut advice = Vec::new();
    for p in paths {
        let bytes = std::fs::read(p)
            .map_err(|e| CliError::Usage(format!("{}: cannot read: {e}", p.display())))?;
        if super::advise::is_advice(&bytes) {
            advice.push(serde_json::from_slice(&bytes).map_err(|e| {
                CliError::Usage(format!(
                    "{}: not a ddb-fleet advice report: {e}",
                    p.display()
                ))
            })?);
        }
    }
    match advice.len() {
        0 => {}
        n if n == paths.len() => return merge_advice(advice, paths.len(), output),
        _ => {
            return Err(CliError::Usage(
                "the reports are of different commands (advise and others)".into(),
            ))
        }
    }
    let mut reports = Vec::new();
    for p in paths {
        reports.push((p.display().to_string(), read_report(p)?.0));
    }
    check_shards(&reports).map_err(CliError::Usage)?;
    let merged = report::merge(reports).map_err(CliError::Usage)?;
    report::write_atomic(output, &merged).map_err(CliError::writing(output))?;
    let s = &merged.summary;
    outln!(
        "{}: {} from {}: {} changed, {} unchanged, {} would change, {} failed, {} skipped, {} interrupted",
        output.display(), plural(s.total, "table"), plural(paths.len(), "report"), s.changed, s.unchanged, s.would_change, s.failed, s.skipped, s.interrupted
    );
    Ok(if s.failed > 0 || s.interrupted > 0 {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

/// `report recover`: the report of a killed run, from its journal, for `apply --resume`.
pub fn recover(journal_path: &Path, output: &Path) -> Result<i32, CliError> {
    refuse_overwriting(output, "-o", &[(journal_path, "the journal")])?;
    let r = journal::recover(journal_path).map_err(CliError::Usage)?;
    report::write_atomic(output, &r).map_err(CliError::writing(output))?;
    let s = &r.summary;
    outln!(
        "{}: {}: {} changed, {} unchanged, {} interrupted, {} failed, {} skipped",
        output.display(),
        plural(s.total, "table"),
        s.changed,
        s.unchanged,
        s.interrupted,
        s.failed,
        s.skipped
    );
    Ok(exit_codes::SUCCESS)
}

/// `report merge` of `advise` reports: tables and totals of every shard.
fn merge_advice(reports: Vec<AdviceReport>, count: usize, output: &Path) -> Result<i32, CliError> {
    let merged = crate::advise::report::merge(reports).map_err(CliError::Usage)?;
    report::write_json_atomic(output, &merged).map_err(CliError::writing(output))?;
    let s = &merged.summary;
    outln!(
        "{}: {} from {}: {} to change, {} unchanged, {} failed; monthly now {:.2}, recommended {:.2} {}",
        output.display(), plural(s.tables, "table"), plural(count, "advice report"), s.recommended, s.unchanged, s.failed, s.monthly_now, s.monthly_recommended, merged.settings.currency
    );
    Ok(if s.failed > 0 || merged.interrupted {
        exit_codes::FAILURES
    } else {
        exit_codes::SUCCESS
    })
}

/// The shards of a sharded run, each named by its file: every K of one N, once each.
fn check_shards(reports: &[(String, crate::report::Report)]) -> Result<(), String> {
    let shards: Vec<(&str, Option<crate::select::Shard>)> = reports
        .iter()
        .map(|(name, r)| {
            (
                name.as_str(),
                r.shard.as_deref().and_then(|s| s.parse().ok()),
            )
        })
        .collect();
    if shards.iter().all(|(_, s)| s.is_none()) {
        return Ok(());
    }
    if let Some((name, _)) = shards.iter().find(|(_, s)| s.is_none()) {
        return Err(format!(
            "{name} is not a shard's report, and the others are"
        ));
    }
    let n = shards[0].1.map_or(0, |s| s.count);
    let mut seen: std::collections::BTreeMap<u64, &str> = Default::default();
    for (name, s) in &shards {
        let s = s.expect("checked above");
        if s.count != n {
            return Err(format!(
                "{name} is shard {s} of another run ({n} shards in {}): it is foreign to this set",
                shards[0].0
            ));
        }
        if let Some(first) = seen.insert(s.index, name) {
            return Err(format!("shard {s} is there twice: {first} and {name}"));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        let (shards, are) = match missing.len() {
            1 => ("shard", "is"),
            _ => ("shards", "are"),
        };
        return Err(format!(
            "{shards} {} {are} missing: merge every shard of the run",
            missing.join(", ")
        ));
    }
    Ok(())
}
