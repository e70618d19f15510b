//! The run `plan`, `apply` and `rollback` share ([`run`]): checks that need nothing from
//! AWS, then clients → pattern expansion and selection → ledger → journal → reading and
//! planning (→ confirmation and guardrails → applying) → the report, rendered and written.
//!
//! The report is written however the run ends: at the end, on the first Ctrl-C once the
//! tables in flight have stopped, and at once on a second Ctrl-C. `apply` keeps a journal
//! beside the report until the report is safe.

use super::args::{GlobalArgs, Guards, ReportArgs};
use super::base::{self, Signals};
use super::identity;
use super::{refuse_overwriting, report_dir_exists, CliError};
use crate::cancel::Cancel;
use crate::events::{EventSink, Sinks};
use crate::exit_codes;
use crate::journal::{self, JournalSink};
use crate::model::DesiredTable;
use crate::progress::{ProgressSink, SuspendingWriter};
use crate::render::{self, plural};
use crate::report::{
    self, InventoryRef, OrgReport, Report, Summary, TableReport, TableStatus, SCHEMA_VERSION,
};
use crate::runner::{self, ApplyContext, Ledger, RunOptions};
use crate::select::Selection;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What one plan, apply or rollback run acts on, and how.
pub struct Job<'a> {
    /// `plan`, `apply` or `rollback`: the report's `command`.
    pub command: &'static str,
    pub inventory: InventoryRef,
    /// The rows the selection may keep (patterns not expanded yet).
    pub tables: Vec<DesiredTable>,
    pub selection: Selection,
    /// Where the report goes.
    pub report: &'a ReportArgs,
    /// `--all-tables`: every table and step printed, not the grouped view.
    pub all_tables: bool,
    /// Reports and journals of earlier runs (`--history`).
    pub history: &'a [PathBuf],
    /// The reports this run works from (`rollback REPORT...`, `apply --resume REPORT`).
    pub earlier_reports: &'a [PathBuf],
    /// `Some` when the run changes tables: its guardrails.
    pub guards: Option<&'a Guards>,
    /// `plan --detailed-exitcode`.
    pub detailed_exitcode: bool,
    /// `--managed-tag`, `--include-managed` (`plan`, `apply`).
    pub ownership: crate::ownership::Ownership,
}

/// How the run ended, before its report is written.
enum Outcome {
    Ran,
    /// Once patterns were expanded, the selection held no table.
    NothingSelected,
    /// Nothing was applied, for this reason (declined, or refused by a guardrail); `shown`:
    /// the plan was printed already (at the prompt), and is not printed again.
    NotApplied {
        why: String,
        shown: bool,
    },
    /// Ctrl-C at the prompt: nothing was applied, the tables to change are `interrupted`.
    InterruptedAtPrompt,
    /// Nothing was read: the input is wrong for these credentials (or they cannot be had).
    Refused(CliError),
}

/// Everything the run records into, shared with the signal handler: the report can be
/// written from either.
struct Record {
    command: &'static str,
    inventory: InventoryRef,
    started_at: String,
    path: PathBuf,
    /// An earlier run's journal found at this report's journal path, and kept aside.
    earlier_journal: Option<PathBuf>,
    /// `K/N` of `--shard`.
    shard: Option<String>,
    /// `--all-tables`.
    all_tables: bool,
    ledger: Arc<Ledger>,
    /// The organisation's accounts, when rows named many (known once discovery is done).
    organization: std::sync::Mutex<Option<OrgReport>>,
    cancel: Arc<Cancel>,
    /// Held while a report is made and written: the final report and a second Ctrl-C's never
    /// interleave, so the report on disk never loses entries.
    writing: std::sync::Mutex<()>,
}

impl Record {
    /// The report as it stands. The final one (`last`) takes the ledger's entries; an early
    /// one (second Ctrl-C) copies them.
    fn report(&self, last: bool) -> Report {
        let tables = if last {
            self.ledger.take()
        } else {
            self.ledger.snapshot()
        };
        let summary = Summary::of(&tables);
        Report {
            schema_version: SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            command: self.command.to_string(),
            started_at: self.started_at.clone(),
            finished_at: report::now_rfc3339(),
            interrupted: interrupted(self.cancel.is_requested(), &summary),
            inventory: self.inventory.clone(),
            summary,
            tables,
            earlier_journal: self
                .earlier_journal
                .as_ref()
                .map(|p| p.display().to_string()),
            shard: self.shard.clone(),
            organization: self
                .organization
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// Runs `job` to its report and exit code.
pub fn run(g: &GlobalArgs, job: Job) -> Result<i32, CliError> {
    let Job {
        command,
        inventory,
        tables,
        selection,
        report,
        all_tables,
        history,
        earlier_reports,
        guards,
        detailed_exitcode,
        ownership,
    } = job;
    // Everything the user gave is validated before anything talks to AWS.
    let report_path = report.path(command);
    if !report_dir_exists(&report_path) {
        return Err(CliError::Usage(format!(
            "the report's directory does not exist: {}",
            report_path.display()
        )));
    }
    let mut inputs: Vec<(&Path, &str)> = earlier_reports
        .iter()
        .map(|p| (p.as_path(), "the report"))
        .collect();
    inputs.push((Path::new(&inventory.path), "the inventory"));
    inputs.extend(history.iter().map(|p| (p.as_path(), "a --history file")));
    refuse_overwriting(&report_path, "--report", &inputs)?;
    let history = crate::history::load(history).map_err(CliError::Usage)?;
    let yes = guards.is_some_and(|a| a.yes);
    if guards.is_some() && !yes && !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            format!("{command} asks for confirmation and stdin is not a terminal: pass --yes to go ahead without asking"),
        ));
    }

    let progress = Arc::new(ProgressSink::new(!g.no_progress));
    base::init_logging(g, SuspendingWriter::new(progress.bar()));
    let opts = RunOptions {
        max_failures: guards.map_or(usize::MAX, |a| a.max_failures as usize),
        canary: guards.and_then(|a| a.canary).map(|n| n as usize),
        history,
        ownership,
        ..base::run_options(g, &tables)
    };
    // One run at a time writes this report (and its journal).
    let _lock = lock_report(&report_path)?;
    // The journal exists before the first AWS call of an apply.
    let (journal, earlier_journal) = match guards {
        Some(_) => {
            let path = journal::path_for(&report_path);
            let (sink, kept) = JournalSink::create(&path, command, &inventory.path)
                .map_err(CliError::writing(&path))?;
            if let Some(kept) = &kept {
                eprintln!(
                    "warning: an earlier run left its journal at {} (it was stopped before its report was written): kept as {}; `ddb-fleet report recover {} -o REPORT` rebuilds that run's report",
                    path.display(),
                    kept.display(),
                    kept.display()
                );
            }
            (Some(Arc::new(sink)), kept)
        }
        None => (None, None),
    };
    let runtime = base::new_runtime()?;
    let record = Arc::new(Record {
        command,
        inventory,
        started_at: report::now_rfc3339(),
        path: report_path,
        earlier_journal,
        shard: selection.shard.map(|s| s.to_string()),
        all_tables,
        ledger: Arc::new(Ledger::default()),
        organization: Default::default(),
        cancel: Arc::new(Cancel::default()),
        writing: std::sync::Mutex::new(()),
    });
    let run = Running {
        g,
        opts,
        guards,
        record: record.clone(),
        progress: progress.clone(),
        journal: journal.clone(),
    };
    let outcome = runtime.block_on(run.execute(tables, &selection));
    progress.finish();
    finish(
        &record,
        journal.as_deref(),
        guards,
        detailed_exitcode,
        outcome,
    )
}

/// The parts of a run that its async half needs.
struct Running<'a> {
    g: &'a GlobalArgs,
    opts: RunOptions,
    guards: Option<&'a Guards>,
    record: Arc<Record>,
    progress: Arc<ProgressSink>,
    journal: Option<Arc<JournalSink>>,
}

impl Running<'_> {
    /// Reads, plans and (for a run that changes tables) applies.
    async fn execute(&self, mut tables: Vec<DesiredTable>, sel: &Selection) -> Outcome {
        spawn_signal_handler(self.record.clone());
        let (ledger, cancel) = (&self.record.ledger, &self.record.cancel);
        let factory = match identity::connect(self.g, &mut tables, cancel.clone()).await {
            Ok((factory, _caller)) => Arc::new(factory),
            Err(e) => return Outcome::Refused(e),
        };
        let report = self.record.path.display();
        tracing::info!(report = %report, "the report will be written to {report}");
        let mut sinks: Vec<Box<dyn EventSink>> = vec![
            Box::new(base::log_sink(self.g)),
            Box::new(self.progress.clone()),
        ];
        if let Some(j) = &self.journal {
            sinks.push(Box::new(j.clone()));
        }
        let sinks = Arc::new(Sinks(sinks));
        let rows = match base::expand_selected(&factory, tables, self.g, sel).await {
            Ok((rows, org)) => {
                *self
                    .record
                    .organization
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = org;
                rows
            }
            Err(e) => return Outcome::Refused(e),
        };
        if rows.is_empty() {
            return Outcome::NothingSelected;
        }
        // The default concurrency counts the (account, region) found, not the rows written.
        let opts = &RunOptions {
            concurrency: base::concurrency(self.g, rows.iter().map(|(t, _)| t)),
            ..self.opts.clone()
        };
        ledger.init(rows.iter().map(|(t, _)| t));
        if let Some(j) = &self.journal {
            j.selected(ledger.snapshot());
        }
        let context = || {
            Arc::new(ApplyContext::new(
                factory.clone(),
                (*opts).clone(),
                sinks.clone(),
                ledger.clone(),
                cancel.clone(),
            ))
        };
        // With --yes and no guardrail that needs the whole plan, each table is applied as soon
        // as it is planned: both services' quotas are used at once.
        if self
            .guards
            .is_some_and(|a| a.yes && a.max_changes.is_none() && a.canary.is_none())
        {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let plan = async {
                runner::observe_and_plan(&factory, rows, opts, &sinks, ledger, false, Some(tx))
                    .await;
            };
            futures::join!(plan, runner::apply_fleet(context(), rx));
            return Outcome::Ran;
        }
        let plan_only = self.guards.is_none();
        let planned =
            runner::observe_and_plan(&factory, rows, opts, &sinks, ledger, plan_only, None).await;
        let Some(guards) = self.guards else {
            return Outcome::Ran;
        };
        if cancel.is_requested() {
            return Outcome::Ran;
        }
        if let Some(stopped) = self.gate(&planned, guards) {
            return stopped;
        }
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for w in runner::gated_work(planned, opts, &*sinks, ledger) {
            let _ = tx.send(w);
        }
        drop(tx);
        runner::apply_fleet(context(), rx).await;
        Outcome::Ran
    }

    /// The guardrails that need the whole plan: `--max-changes`, then the confirmation (unless
    /// `--yes`). `Some(outcome)` when nothing may be applied.
    fn gate(&self, planned: &[runner::Planned], guards: &Guards) -> Option<Outcome> {
        let to_change = planned.iter().filter(|p| p.changes_anything()).count();
        if let Some(max) = guards.max_changes {
            if to_change > max {
                return Some(Outcome::NotApplied {
                    why: format!(
                        "the plan would change {to_change} tables, more than --max-changes {max}: nothing was changed"
                    ),
                    shown: false,
                });
            }
        }
        if to_change == 0 || guards.yes {
            return None;
        }
        let mut summary_tables = self.record.ledger.snapshot();
        summary_tables
            .iter_mut()
            .for_each(TableReport::mark_not_applied);
        let bar = self.progress.bar();
        let answer = bar.suspend(|| {
            match self.record.all_tables {
                true => out!("{}", render::render("plan", &summary_tables)),
                false => out!("{}", render::grouped::render("plan", &summary_tables)),
            }
            out!("\n{}", render::change_summary(&summary_tables));
            confirm(to_change, &self.record.cancel)
        });
        match answer {
            Answer::Yes => {}
            Answer::Stopped => return Some(Outcome::InterruptedAtPrompt),
            Answer::No => {
                return Some(Outcome::NotApplied {
                    why: "apply declined: nothing was changed".into(),
                    shown: true,
                })
            }
        }
        // The bar's clock starts with the changes, not with the question.
        bar.reset_elapsed();
        bar.reset_eta();
        None
    }
}

/// The first Ctrl-C (or SIGTERM) asks the run to start nothing new; a second writes the
/// report as it stands and exits at once.
fn spawn_signal_handler(record: Arc<Record>) {
    let mut signals = Signals::new();
    tokio::spawn(async move {
        signals.next().await;
        // The stop first: logging waits for the terminal, which the prompt may hold.
        record.cancel.request();
        tracing::warn!("interrupted: sending nothing more; reading back what was changed (interrupt again to exit now)");
        signals.next().await;
        let _writing = record.writing.lock().unwrap_or_else(|e| e.into_inner());
        if record.ledger.is_taken() {
            // The run is over and its full report is written: nothing to add.
            return;
        }
        let r = record.report(false);
        let _ = report::write_atomic(&record.path, &r);
        eprintln!(
            "interrupted again: report written to {}",
            record.path.display()
        );
        std::process::exit(exit_codes::INTERRUPTED);
    });
}

/// Writes the report, then prints the rendered run and returns the exit code.
fn finish(
    record: &Record,
    journal: Option<&JournalSink>,
    guards: Option<&Guards>,
    detailed_exitcode: bool,
    outcome: Outcome,
) -> Result<i32, CliError> {
    let (refusal, shown) = match outcome {
        Outcome::NotApplied { why, shown } => {
            for i in 0..record.ledger.len() {
                record.ledger.mark_not_applied(i);
            }
            (Some(why), shown)
        }
        Outcome::InterruptedAtPrompt => (None, true),
        Outcome::Refused(e) => {
            if let Some(j) = journal {
                j.remove();
            }
            return Err(e);
        }
        // An empty shard: a success, with its (empty) report.
        Outcome::NothingSelected if record.shard.is_some() => (None, false),
        Outcome::NothingSelected => {
            if let Some(j) = journal {
                j.remove();
            }
            return Err(CliError::Usage(
                "no table is selected: the patterns and filters match no existing table".into(),
            ));
        }
        Outcome::Ran => (None, false),
    };
    let writing = record.writing.lock().unwrap_or_else(|e| e.into_inner());
    let report = record.report(true);
    // What was done titles the text: a plan (also a rollback's `--plan-only`), or the command.
    let mode = if guards.is_some() {
        report.command.as_str()
    } else {
        "plan"
    };
    let view = (!shown).then_some((mode, record.all_tables));
    write_and_print(&record.path, &report, view, journal)?;
    drop(writing);
    if report.interrupted && guards.is_some() {
        outln!("{}", unfinished(&report, &record.path));
    }
    let s = &report.summary;
    if let Some(why) = refusal {
        eprintln!("{why}");
        return Ok(exit_codes::INVALID_INPUT);
    }
    if guards.and_then(|a| a.canary).is_some() && s.would_change > 0 {
        outln!(
            "Canary: {} table(s) applied; {} more would change. Run again to continue.",
            s.changed,
            s.would_change
        );
    }
    Ok(if report.interrupted {
        exit_codes::INTERRUPTED
    } else if s.failed > 0 || s.interrupted > 0 {
        exit_codes::FAILURES
    } else if detailed_exitcode && (s.would_change > 0 || s.skipped > 0) {
        exit_codes::DRIFT
    } else {
        exit_codes::SUCCESS
    })
}

/// Writes the report (the journal goes once it is safe) while the run's rendering is printed.
fn write_and_print(
    path: &Path,
    report: &Report,
    view: Option<(&str, bool)>,
    journal: Option<&JournalSink>,
) -> Result<(), CliError> {
    // Each takes a fifth of a second at 10,000 tables, so they run side by side; the text is
    // printed as it is made (megabytes at that size, never held whole), and a slow terminal
    // does not hold up the report.
    let (written, printed) = std::thread::scope(|s| {
        let printed = s.spawn(|| {
            let Some((mode, all_tables)) = view else {
                return Ok(()); // shown already, at the prompt
            };
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match all_tables {
                true => render::write(&mut out, mode, &report.tables),
                false => render::grouped::write(&mut out, mode, &report.tables),
            }
            .and_then(|()| match &report.organization {
                Some(org) => render::org::write(&mut out, org),
                None => Ok(()),
            })
            .and_then(|()| out.flush())
        });
        let written = report::write_atomic(path, report);
        (written, printed.join())
    });
    written.map_err(CliError::writing(path))?;
    // The report now holds everything the journal recorded.
    if let Some(j) = journal {
        j.remove();
    }
    // A closed stdout (a pager quit early) loses only the text: the report is written.
    let _ = printed.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    outln!("Report: {}", path.display());
    Ok(())
}

/// Holds `REPORT.lock` for the run: a second run writing the same report (and journal) at
/// the same time refuses to start instead of interleaving with the first. The lock is the
/// operating system's (released when the run ends, or dies); the file stays: removed while
/// held, a third run could lock a new file beside a second one that locked the old.
struct ReportLock {
    _file: std::fs::File,
}

fn lock_report(report: &Path) -> Result<ReportLock, CliError> {
    let mut path = report.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(CliError::writing(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(ReportLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(CliError::Usage(format!(
            "another ddb-fleet run is writing the report {} (it holds {}): wait for it to end, or give this run its own --report",
            report.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(CliError::writing(&path)(e)),
    }
}

/// Whether a run was interrupted: stopped with something left undone. A stop that came after
/// the last table was done (a plan that had read everything) is no interruption, so the
/// summary and the exit code agree.
fn interrupted(stop_requested: bool, summary: &Summary) -> bool {
    stop_requested && summary.interrupted > 0
}

/// The operator's answer at the prompt.
enum Answer {
    Yes,
    No,
    /// Ctrl-C (or SIGTERM) while the question was asked.
    Stopped,
}

/// Asks whether to apply; a stop while waiting for the answer is an answer too.
fn confirm(n: usize, cancel: &Cancel) -> Answer {
    out!(
        "\nddb-fleet will change {n} table{} as shown above. Only 'yes' will be accepted to approve.\nApply? ",
        if n == 1 { "" } else { "s" }
    );
    // The line is read on a thread of its own: a stop does not wait for Enter.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let yes = std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes";
        let _ = tx.send(yes);
    });
    loop {
        if cancel.is_requested() {
            outln!();
            return Answer::Stopped;
        }
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(true) => return Answer::Yes,
            Ok(false) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Answer::No,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// What an interrupted apply left undone: the tables half done (some of their changes made:
/// e.g. switched to provisioned, auto scaling not yet set) apart from those untouched, and the
/// command that finishes the job.
fn unfinished(report: &Report, path: &Path) -> String {
    let changed = |t: &&TableReport| {
        t.actions.iter().any(|a| {
            a.action.is_mutating()
                && matches!(
                    a.outcome,
                    report::Outcome::Succeeded | report::Outcome::Started
                )
        })
    };
    let stopped: Vec<&TableReport> = report
        .tables
        .iter()
        .filter(|t| t.status == TableStatus::Interrupted)
        .collect();
    let half: Vec<&TableReport> = stopped.iter().copied().filter(changed).collect();
    let mut text = format!(
        "Interrupted: {} half done (some changes made, not all), {} not started.",
        plural(half.len(), "table"),
        plural(stopped.len() - half.len(), "table")
    );
    for t in half.iter().take(20) {
        let done = t
            .actions
            .iter()
            .filter(|a| a.outcome == report::Outcome::Succeeded)
            .count();
        text.push_str(&format!(
            "\n  half done: {} {} {} ({done} of {} steps done)",
            t.account_id,
            t.region,
            t.table,
            t.actions.len()
        ));
    }
    if half.len() > 20 {
        text.push_str(&format!(
            "\n  ... and {} more (see the report)",
            half.len() - 20
        ));
    }
    text.push_str(&format!(
        "\nTo finish the job: {}",
        resume_command(report, path)
    ));
    text
}

/// The command that takes up what this run left undone: the same one (its `--yes` and
/// `--canary` as they were: a canary stays a canary, a prompt stays a prompt), with `--resume`
/// of this run's report, and without `--report`, which would name this run's report, now an
/// input.
fn resume_command(report: &Report, path: &Path) -> String {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut kept: Vec<String> = Vec::new();
    let mut skip = false;
    for a in args.iter().skip(1) {
        if std::mem::take(&mut skip) {
            continue;
        }
        match a.as_str() {
            "--resume" | "--report" => skip = true,
            _ if a.starts_with("--resume=") || a.starts_with("--report=") => {}
            _ => kept.push(a.clone()),
        }
    }
    if report.command == "apply" {
        kept.push("--resume".into());
        kept.push(path.display().to_string());
    }
    let quoted: Vec<String> = kept.iter().map(|a| shell_quote(a)).collect();
    format!("ddb-fleet {}", quoted.join(" "))
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a plan stopped after it had read every table said "0 interrupted" and
    /// exited 130.
    #[test]
    fn a_stop_after_the_last_table_is_no_interruption() {
        let summary = |interrupted| Summary {
            total: 3,
            unchanged: 3 - interrupted,
            interrupted,
            ..Summary::default()
        };
        assert!(!interrupted(true, &summary(0)), "nothing was left undone");
        assert!(interrupted(true, &summary(1)));
        assert!(!interrupted(false, &summary(0)));
    }
}
