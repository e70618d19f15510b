//! The progress bar ([`ProgressSink`]) and a log writer that never garbles it.
//!
//! The bar is drawn on stderr only when stderr is a terminal and `--no-progress` is not given;
//! otherwise it is hidden and costs nothing. Log lines are written through
//! [`SuspendingWriter`], which lifts the bar out of the way while a line is printed.
//!
//! The bar counts work, not only finished tables, so that it moves in every phase: each table
//! is one unit when it has been read and planned, one per action it applies, and one when it
//! is finished (verified); its ETA is indicatif's, from the rate of that work. The message
//! says where each phase stands: tables read, actions done of actions planned, tables done,
//! changed and failed.

use crate::events::{Event, EventSink};
use crate::report::{Outcome, TableStatus};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct Counts {
    tables: AtomicUsize,
    read: AtomicUsize,
    actions: AtomicUsize,
    actions_done: AtomicUsize,
    done: AtomicUsize,
    changed: AtomicUsize,
    failed: AtomicUsize,
}

pub struct ProgressSink {
    bar: ProgressBar,
    counts: Counts,
    /// Tables handed to apply (their read is counted when planned).
    planned: std::sync::Mutex<std::collections::HashSet<(String, String, String)>>,
}

impl ProgressSink {
    /// A bar on stderr if it is a terminal and `enabled`, else a hidden one.
    pub fn new(enabled: bool) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {percent:>3}%  {msg}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(200));
            b
        } else {
            ProgressBar::hidden()
        };
        ProgressSink {
            bar,
            counts: Counts::default(),
            planned: Default::default(),
        }
    }

    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn message(&self) {
        let c = &self.counts;
        let get = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        self.bar.set_message(format!(
            "read {}/{} · actions {}/{} · done {}/{} · changed {} · failed {}",
            get(&c.read),
            get(&c.tables),
            get(&c.actions_done),
            get(&c.actions),
            get(&c.done),
            get(&c.tables),
            get(&c.changed),
            get(&c.failed),
        ));
    }

    /// A table is finished: its finish, and its read if it was not counted yet (a table that
    /// needs nothing finishes as it is read), and the actions it will not run.
    fn finished(&self, read_counted: bool, changed: bool, failed: bool, skipped_actions: usize) {
        let c = &self.counts;
        let units = 1 + usize::from(!read_counted) + skipped_actions;
        if !read_counted {
            c.read.fetch_add(1, Ordering::Relaxed);
        }
        c.done.fetch_add(1, Ordering::Relaxed);
        c.changed.fetch_add(usize::from(changed), Ordering::Relaxed);
        c.failed.fetch_add(usize::from(failed), Ordering::Relaxed);
        c.actions_done.fetch_add(skipped_actions, Ordering::Relaxed);
        self.bar.inc(units as u64);
        self.message();
    }
}

impl EventSink for ProgressSink {
    fn event(&self, event: &Event<'_>) {
        let c = &self.counts;
        match event {
            Event::ReadStarted { tables } => {
                c.tables.store(*tables, Ordering::Relaxed);
                // Read and planned, then finished: two units a table, plus its actions.
                self.bar.set_length(2 * *tables as u64);
                self.message();
            }
            Event::TablePlanned { report } => {
                self.planned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert((
                        report.account_id.clone(),
                        report.region.clone(),
                        report.table.clone(),
                    ));
                let n = report.actions.len();
                c.read.fetch_add(1, Ordering::Relaxed);
                c.actions.fetch_add(n, Ordering::Relaxed);
                self.bar.inc_length(n as u64);
                self.bar.inc(1);
                self.message();
            }
            Event::TableReplanned {
                report,
                previous_actions,
            } => {
                let (now, before) = (report.actions.len(), *previous_actions);
                if now >= before {
                    c.actions.fetch_add(now - before, Ordering::Relaxed);
                } else {
                    c.actions.fetch_sub(before - now, Ordering::Relaxed);
                }
                let length = self.bar.length().unwrap_or(0) + now as u64;
                self.bar.set_length(length.saturating_sub(before as u64));
                self.message();
            }
            Event::ActionFinished { .. } => {
                c.actions_done.fetch_add(1, Ordering::Relaxed);
                self.bar.inc(1);
                self.message();
            }
            Event::TableFinished { report } => {
                // A table handed to apply was counted as read when planned.
                let applied = self
                    .planned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&(
                        report.account_id.clone(),
                        report.region.clone(),
                        report.table.clone(),
                    ));
                let not_run = if applied {
                    report
                        .actions
                        .iter()
                        .filter(|a| matches!(a.outcome, Outcome::NotAttempted | Outcome::Planned))
                        .count()
                } else {
                    0
                };
                self.finished(
                    applied,
                    matches!(
                        report.status,
                        TableStatus::Changed | TableStatus::WouldChange
                    ),
                    report.status == TableStatus::Failed,
                    not_run,
                );
            }
            Event::TableAdvised { advice } => {
                use crate::advise::report::AdviceStatus;
                self.finished(
                    false,
                    advice.status == AdviceStatus::Recommended,
                    advice.status == AdviceStatus::Failed,
                    0,
                );
            }
            _ => {}
        }
    }
}

/// A `tracing` writer for stderr that suspends the progress bar around each line.
#[derive(Clone)]
pub struct SuspendingWriter {
    bar: ProgressBar,
}

impl SuspendingWriter {
    pub fn new(bar: ProgressBar) -> Self {
        SuspendingWriter { bar }
    }
}

pub struct LineWriter {
    bar: ProgressBar,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        self.bar.suspend(|| {
            let mut err = std::io::stderr().lock();
            err.write_all(&buf)?;
            err.flush()
        })
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SuspendingWriter {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            bar: self.bar.clone(),
            buf: Vec::new(),
        }
    }
}
