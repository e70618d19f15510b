//! The journal: a JSON-lines record written while `apply` runs ([`JournalSink`]), so that a
//! crash or `kill -9` still leaves a readable record of what may have been done.
//!
//! Every AWS write appears twice: an `action_started` line, on disk (written and fsynced,
//! fsyncs shared by the writes that wait for one at the same time) before the request is
//! sent, and an `action_finished` line with its outcome. An `action_started` that cannot be
//! put on disk stops its write: it is not sent. An `action_started` without its
//! `action_finished` means the call may or may not have reached AWS. `table_finished` lines
//! carry the table's whole report entry. The journal sits beside the report
//! (`REPORT.journal`) and is removed once the final report is written. A journal an earlier
//! run left there (it was killed before its report) is never truncated: it is kept under a
//! new name, `REPORT.journal.<time>` ([`JournalSink::create`] says which).
//! `table_planned` lines carry every selected table's entry before anything is read
//! (`interrupted`, nothing planned), then each table's planned entry before its first change,
//! so [`recover`] can rebuild a report (for `--resume`) from a journal alone: a table the crash
//! left unread is still there, `interrupted`.
//!
//! `history::load` reads the changes AWS limits back out of journals and reports.

use crate::events::{Durable, Event, EventSink};
use crate::report::{now_rfc3339, ActionRecord, Report, TableReport};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JournalLine {
    RunStarted {
        at: String,
        command: String,
        tool_version: String,
        inventory: String,
    },
    /// Written before the request is sent.
    ActionStarted(ActionLine),
    /// Written once its outcome is known.
    ActionFinished(ActionLine),
    /// A table's entry as planned, before any change (for recovery).
    TablePlanned { report: Box<TableReport> },
    TableFinished {
        at: String,
        report: Box<TableReport>,
    },
}

/// One action of one table, as journalled before and after it is sent. Each line names its
/// table, so a journal reads on its own (with jq, say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    pub at: String,
    pub account_id: String,
    pub region: String,
    pub table: String,
    /// 1-based position in the table's plan.
    pub step: usize,
    #[serde(flatten)]
    pub record: ActionRecord,
}

impl ActionLine {
    fn new(table: &crate::model::DesiredTable, index: usize, record: &ActionRecord) -> Self {
        ActionLine {
            at: now_rfc3339(),
            account_id: table.account_id.clone(),
            region: table.region.clone(),
            table: table.table.clone(),
            step: index + 1,
            record: record.clone(),
        }
    }

    /// (account, region, table).
    pub(crate) fn key(&self) -> (&str, &str, &str) {
        (&self.account_id, &self.region, &self.table)
    }

    pub(crate) fn is_of(&self, other: &ActionLine) -> bool {
        (&self.account_id, &self.region, &self.table, self.step)
            == (&other.account_id, &other.region, &other.table, other.step)
    }
}

/// Where the journal of a report lives.
pub fn path_for(report: &Path) -> PathBuf {
    let mut p = report.as_os_str().to_owned();
    p.push(".journal");
    PathBuf::from(p)
}

/// Appends journal lines to a file, one `write` per line. A line that must be on disk before
/// what it announces is done ([`EventSink::event_durably`]) is fsynced by the journal's own
/// thread: the writers waiting at one moment share one fsync, and wait for it without holding
/// a runtime worker (an fsync takes milliseconds; at 10,000 tables, thousands of writes wait).
pub struct JournalSink {
    file: Mutex<std::fs::File>,
    path: PathBuf,
    /// A write or an fsync failed: what follows in the file cannot be trusted (a partial line
    /// may stand before it; Linux reports a failed writeback to one fsync only), so no later
    /// line is said to be on disk.
    poisoned: Arc<AtomicBool>,
    /// Lines written and waiting for an fsync, each with whom to tell.
    to_sync: std::sync::mpsc::Sender<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

impl JournalSink {
    /// Starts the journal at `path`. A journal already there (an earlier run's, killed
    /// before its report was written) is moved aside first, never truncated: its new path is
    /// returned with the sink.
    pub fn create(
        path: &Path,
        command: &str,
        inventory: &str,
    ) -> std::io::Result<(JournalSink, Option<PathBuf>)> {
        let kept = match path.symlink_metadata() {
            Ok(_) => {
                let aside = aside_path(path);
                std::fs::rename(path, &aside)?;
                Some(aside)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(path)?;
        // The file's name is on disk too, not only its lines.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
        let sync_file = file.try_clone()?;
        let poisoned = Arc::new(AtomicBool::new(false));
        let (to_sync, waiting) = std::sync::mpsc::channel();
        let sink = JournalSink {
            file: Mutex::new(file),
            path: path.to_path_buf(),
            poisoned: poisoned.clone(),
            to_sync,
        };
        sink.append(&JournalLine::RunStarted {
            at: now_rfc3339(),
            command: command.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            inventory: inventory.into(),
        })?;
        sync_file.sync_data()?;
        let label = path.display().to_string();
        std::thread::Builder::new()
            .name("journal-fsync".into())
            .spawn(move || sync_loop(&sync_file, &waiting, &poisoned, &label))?;
        Ok((sink, kept))
    }

    /// Appends one line (one `write` call: lines never interleave, and each is complete or
    /// absent).
    fn append(&self, line: &JournalLine) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        check(&self.poisoned)?;
        f.write_all(&text)
            .inspect_err(|_| self.poisoned.store(true, Ordering::SeqCst))
    }

    fn write(&self, line: &JournalLine) {
        if self.poisoned.load(Ordering::SeqCst) {
            return; // said once, when it failed
        }
        if let Err(e) = self.append(line) {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write the journal");
        }
    }

    /// Appends one line; what it comes to once the line is on disk. The fsync that follows
    /// covers it (and every line written before it).
    fn write_durably(&self, line: &JournalLine) -> Durable {
        let failed = |e: std::io::Error| {
            Durable::Failed(format!(
                "cannot write the journal {}: {e}",
                self.path.display()
            ))
        };
        if let Err(e) = self.append(line) {
            return failed(e);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        match self.to_sync.send(tx) {
            Ok(()) => Durable::Pending(vec![rx]),
            Err(_) => failed(std::io::Error::other("its fsync thread is gone")),
        }
    }

    /// Records every selected table before anything is read: after a crash, [`recover`]
    /// starts from these. Rows whose account is not known yet (the single-table flags) are
    /// recorded once planned.
    pub fn selected(&self, tables: Vec<TableReport>) {
        for t in tables.into_iter().filter(|t| !t.account_id.is_empty()) {
            self.write(&JournalLine::TablePlanned {
                report: Box::new(t),
            });
        }
    }

    /// The run ended and its report is written: the journal is no longer needed.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// An error once a write or an fsync of the journal has failed.
fn check(poisoned: &AtomicBool) -> std::io::Result<()> {
    match poisoned.load(Ordering::SeqCst) {
        true => Err(std::io::Error::other(
            "an earlier write to it failed: nothing after it can be trusted to be on disk",
        )),
        false => Ok(()),
    }
}

/// The journal's fsync thread: each round takes every writer waiting, makes one fsync (it
/// covers every line written before it, theirs included) and tells them; it ends with the
/// sink.
fn sync_loop(
    file: &std::fs::File,
    waiting: &std::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<Result<(), String>>>,
    poisoned: &AtomicBool,
    label: &str,
) {
    while let Ok(first) = waiting.recv() {
        let mut round = vec![first];
        round.extend(waiting.try_iter());
        let synced = check(poisoned).and_then(|()| {
            file.sync_data()
                .inspect_err(|_| poisoned.store(true, Ordering::SeqCst))
        });
        let answer = synced.map_err(|e| format!("cannot write the journal {label}: {e}"));
        for tx in round {
            let _ = tx.send(answer.clone());
        }
    }
}

/// The lines of a journal. A line that is not one (torn by a crash or a full disk, wherever
/// it stands) is skipped, and the skipped lines are counted in a warning; a file in which no
/// line is a journal line is not a journal.
pub fn parse_lines(path: &Path, text: &str) -> Result<Vec<JournalLine>, String> {
    let mut lines = Vec::new();
    let mut torn = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(l) => lines.push(l),
            Err(_) => torn.push(n + 1),
        }
    }
    if lines.is_empty() && !torn.is_empty() {
        return Err(format!(
            "{}:{}: neither a ddb-fleet report nor a journal line",
            path.display(),
            torn[0]
        ));
    }
    if !torn.is_empty() {
        // Read before logging is set up (`--history`): said on stderr directly.
        let at: Vec<String> = torn.iter().take(5).map(usize::to_string).collect();
        eprintln!(
            "warning: {}: skipped {} torn journal line{} (cut by a crash or a full disk; line {}{})",
            path.display(),
            torn.len(),
            if torn.len() == 1 { "" } else { "s" },
            at.join(", "),
            if torn.len() > 5 { ", ..." } else { "" }
        );
    }
    Ok(lines)
}

/// Where an earlier run's journal is kept: `REPORT.journal.<UTC time>` (a number added if
/// that exists too).
fn aside_path(path: &Path) -> PathBuf {
    let stamp = now_rfc3339().replace([':', '-'], "");
    let stamp = stamp.split('.').next().unwrap_or(&stamp).to_string();
    let name = |n: usize| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{stamp}"));
        if n > 0 {
            p.push(format!("-{n}"));
        }
        PathBuf::from(p)
    };
    (0..)
        .map(name)
        .find(|p| p.symlink_metadata().is_err())
        .unwrap_or_else(|| name(0))
}

impl JournalSink {
    fn line(event: &Event<'_>) -> Option<JournalLine> {
        Some(match event {
            Event::ActionStarted {
                table,
                index,
                record,
            } => JournalLine::ActionStarted(ActionLine::new(table, *index, record)),
            Event::ActionFinished {
                table,
                index,
                record,
            } => JournalLine::ActionFinished(ActionLine::new(table, *index, record)),
            Event::TablePlanned { report } | Event::TableReplanned { report, .. } => {
                JournalLine::TablePlanned {
                    report: Box::new((*report).clone()),
                }
            }
            Event::TableFinished { report } => JournalLine::TableFinished {
                at: now_rfc3339(),
                report: Box::new((*report).clone()),
            },
            _ => return None,
        })
    }
}

impl EventSink for JournalSink {
    fn event(&self, event: &Event<'_>) {
        if let Some(line) = Self::line(event) {
            self.write(&line);
        }
    }

    fn event_durably(&self, event: &Event<'_>) -> Durable {
        match Self::line(event) {
            Some(line) => self.write_durably(&line),
            None => Durable::Done,
        }
    }
}

/// Rebuilds the report of an interrupted run from its journal: every planned table, with the
/// outcome of each action the journal recorded (`started` when only the intent was written:
/// the call may or may not have reached AWS), and the final entry of each finished table.
/// Unfinished tables are `interrupted`, so `apply --resume` takes them up.
pub fn recover(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let lines = parse_lines(path, &text)?;
    let mut started_at = String::new();
    let mut command = "apply".to_string();
    let mut inventory = String::new();
    let mut tables: Vec<TableReport> = Vec::new();
    let mut last_at = String::new();
    // Position of each (account, region, table) in `tables`, and which are finished.
    let mut positions: std::collections::HashMap<(String, String, String), usize> =
        Default::default();
    let mut finished = std::collections::HashSet::new();
    let key = |a: &str, r: &str, t: &str| (a.to_string(), r.to_string(), t.to_string());
    for parsed in lines {
        match parsed {
            JournalLine::RunStarted {
                at,
                command: c,
                inventory: i,
                ..
            } => {
                started_at = at;
                command = c;
                inventory = i;
            }
            // Every selected table is journalled as planned before the first read, then
            // again once its plan is known (and if it is planned again before an UpdateTable);
            // a finished entry is never replaced by a planned one.
            JournalLine::TablePlanned { report } => {
                let k = key(&report.account_id, &report.region, &report.table);
                match positions.get(&k) {
                    None => {
                        positions.insert(k, tables.len());
                        tables.push(*report);
                    }
                    Some(&i) if !finished.contains(&i) => tables[i] = *report,
                    Some(_) => {}
                }
            }
            JournalLine::ActionStarted(l) | JournalLine::ActionFinished(l) => {
                if let Some(&i) = positions.get(&key(&l.account_id, &l.region, &l.table)) {
                    if let Some(slot) = tables[i].actions.get_mut(l.step - 1) {
                        *slot = l.record;
                    }
                }
                last_at = l.at;
            }
            JournalLine::TableFinished { at, report } => {
                last_at = at;
                let k = key(&report.account_id, &report.region, &report.table);
                let i = *positions.entry(k).or_insert(tables.len());
                if i == tables.len() {
                    tables.push(*report);
                } else {
                    tables[i] = *report;
                }
                finished.insert(i);
            }
        }
    }
    if tables.is_empty() {
        return Err(format!(
            "{}: the journal records no planned table (was it written by ddb-fleet apply?)",
            path.display()
        ));
    }
    Ok(Report {
        schema_version: crate::report::SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        command,
        started_at,
        finished_at: last_at,
        interrupted: true,
        inventory: crate::report::InventoryRef {
            path: inventory,
            sha256: String::new(),
        },
        summary: crate::report::Summary::of(&tables),
        tables,
        earlier_journal: None,
        shard: None,
        organization: None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::*;
    use crate::planner::{Action, Throughput};
    use crate::report::Outcome;

    /// A switch to `mode`, journalled with `outcome`.
    pub(crate) fn record(mode: BillingMode, outcome: Outcome, at: &str) -> ActionRecord {
        let action = match mode {
            BillingMode::OnDemand => Action::to_on_demand(OnDemandCaps::default(), vec![]),
            BillingMode::Provisioned => {
                Action::to_provisioned(Throughput { read: 1, write: 1 }, vec![])
            }
        };
        ActionRecord {
            action,
            target: "t".into(),
            outcome,
            attempts: 1,
            started_at: crate::report::Stamp::parse(at),
            duration_ms: None,
            error: None,
            confirmed_by_reading: false,
        }
    }

    #[test]
    fn journal_lines_round_trip_and_history_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json.journal");
        let line = |step, record: ActionRecord| ActionLine {
            at: "x".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            table: "t".into(),
            step,
            record,
        };
        let started = |step, r| JournalLine::ActionStarted(line(step, r));
        let finished = |step, r| JournalLine::ActionFinished(line(step, r));
        let lines = [
            started(
                1,
                record(
                    BillingMode::OnDemand,
                    Outcome::Started,
                    "2026-11-24T01:00:00Z",
                ),
            ),
            finished(
                1,
                record(
                    BillingMode::OnDemand,
                    Outcome::Succeeded,
                    "2026-11-24T01:00:00Z",
                ),
            ),
            started(
                1,
                record(
                    BillingMode::Provisioned,
                    Outcome::Started,
                    "2026-11-24T02:00:00Z",
                ),
            ),
            finished(
                1,
                record(
                    BillingMode::Provisioned,
                    Outcome::Succeeded,
                    "2026-11-24T02:00:00Z",
                ),
            ),
            finished(
                1,
                record(
                    BillingMode::OnDemand,
                    Outcome::Failed,
                    "2026-11-24T03:00:00Z",
                ),
            ),
            // Started, never finished: may have happened.
            started(
                1,
                record(
                    BillingMode::OnDemand,
                    Outcome::Started,
                    "2026-11-24T04:00:00Z",
                ),
            ),
        ];
        let mut text = String::new();
        for (n, l) in lines.iter().enumerate() {
            let json = serde_json::to_string(l).unwrap();
            assert_eq!(&serde_json::from_str::<JournalLine>(&json).unwrap(), l);
            text.push_str(&json);
            text.push('\n');
            if n == 2 {
                // Regression: a torn line anywhere but the last was an error.
                text.push_str("{\"event\":\"action_fin\n");
            }
        }
        text.push_str("{\"event\":\"action_sta"); // cut by a crash
        std::fs::write(&path, text).unwrap();
        let h = crate::history::load(&[path]).unwrap().switches_to_on_demand;
        let key = (
            "111111111111".to_string(),
            "us-east-1".to_string(),
            "t".to_string(),
        );
        assert_eq!(
            h[&key],
            vec![
                "2026-11-24T01:00:00Z".to_string(),
                "2026-11-24T04:00:00Z".to_string()
            ]
        );
    }

    #[test]
    fn recover_rebuilds_every_planned_table_once() {
        let entry = |table: &str, status: crate::report::TableStatus| TableReport {
            actions: vec![record(BillingMode::OnDemand, Outcome::NotAttempted, "x")],
            ..TableReport::unstarted(&DesiredTable::on_demand(table), status)
        };
        use crate::report::TableStatus::*;
        // Every selected table, before anything is read: interrupted, nothing planned.
        let selected = |table: &str| JournalLine::TablePlanned {
            report: Box::new(TableReport {
                actions: vec![],
                ..entry(table, Interrupted)
            }),
        };
        let lines = [
            JournalLine::RunStarted {
                at: "t0".into(),
                command: "apply".into(),
                tool_version: "v".into(),
                inventory: "inv.csv".into(),
            },
            selected("same"),
            selected("busy"),
            selected("unread"),
            // Settled while planning, so journalled as finished before the planned lines.
            JournalLine::TableFinished {
                at: "t1".into(),
                report: Box::new(entry("same", Unchanged)),
            },
            JournalLine::TablePlanned {
                report: Box::new(entry("same", Unchanged)),
            },
            JournalLine::TablePlanned {
                report: Box::new(entry("busy", Interrupted)),
            },
            JournalLine::ActionStarted(ActionLine {
                at: "t2".into(),
                account_id: "111111111111".into(),
                region: "us-east-1".into(),
                table: "busy".into(),
                step: 1,
                record: record(BillingMode::OnDemand, Outcome::Started, "t2"),
            }),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut text: Vec<String> = lines
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect();
        // Regression: a torn line before the last made the whole journal unrecoverable.
        text.insert(2, "{\"event\":\"table_pla\n".into());
        std::fs::write(&path, text.concat()).unwrap();
        let r = recover(&path).unwrap();
        let names: Vec<&str> = r.tables.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(names, ["same", "busy", "unread"]);
        assert_eq!(r.summary.unchanged, 1, "a finished entry is not replaced");
        assert_eq!(r.summary.interrupted, 2);
        assert_eq!(
            r.tables[1].actions[0].outcome,
            Outcome::Started,
            "may have reached AWS"
        );
        // The crash came before this table was read: it is still there for --resume.
        assert!(r.tables[2].actions.is_empty());
        assert!(crate::select::unfinished(&r).contains(&(
            "111111111111".to_string(),
            "us-east-1".to_string(),
            "unread".to_string()
        )));
        assert_eq!(
            (r.started_at.as_str(), r.inventory.path.as_str()),
            ("t0", "inv.csv")
        );
        assert!(r.interrupted);
    }

    #[test]
    fn history_rejects_other_files_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.txt");
        std::fs::write(&path, "hello\nworld\n").unwrap();
        let e = crate::history::load(&[path]).unwrap_err();
        assert!(
            e.contains("x.txt:1: neither a ddb-fleet report nor a journal line"),
            "{e}"
        );
    }

    #[test]
    fn journal_path_is_beside_the_report() {
        assert_eq!(
            path_for(Path::new("out/run.json")),
            PathBuf::from("out/run.json.journal")
        );
    }
}
