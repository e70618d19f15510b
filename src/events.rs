//! Events flow from the runner to whoever displays or records them ([`EventSink`]).
//!
//! The runner never prints: the progress bar, the log lines and the journal are sinks
//! consuming the same stream.

use crate::advise::report::TableAdvice;
use crate::model::DesiredTable;
use crate::report::{ActionRecord, TableReport};

#[derive(Debug)]
pub enum Event<'a> {
    /// Reading the state of `tables` tables has begun.
    ReadStarted { tables: usize },
    /// Applying changes to `tables` tables (those with a non-empty plan) has begun.
    ApplyStarted { tables: usize },
    /// An AWS write (or wait) is about to be sent.
    ActionStarted {
        table: &'a DesiredTable,
        index: usize,
        record: &'a ActionRecord,
    },
    /// It finished, successfully or not.
    ActionFinished {
        table: &'a DesiredTable,
        index: usize,
        record: &'a ActionRecord,
    },
    /// A table's plan changes something; it is to be applied.
    TablePlanned { report: &'a TableReport },
    /// Before an UpdateTable, the table had changed: its actions from there on were planned
    /// again (`report.replanned` says why); it had `previous_actions` actions before.
    TableReplanned {
        report: &'a TableReport,
        previous_actions: usize,
    },
    /// A table reached its final status for this phase.
    TableFinished { report: &'a TableReport },
    /// `advise` is done with a table.
    TableAdvised { advice: &'a TableAdvice },
}

/// What recording an event durably came to: nothing to wait for, a failure (the write it
/// announces must not be sent), or lines on their way to disk.
pub enum Durable {
    Done,
    Failed(String),
    Pending(Vec<tokio::sync::oneshot::Receiver<Result<(), String>>>),
}

impl Durable {
    /// Waits until the records are on disk; `Err` if one could not be put there.
    pub async fn on_disk(self) -> Result<(), String> {
        match self {
            Durable::Done => Ok(()),
            Durable::Failed(why) => Err(why),
            Durable::Pending(waiting) => {
                for rx in waiting {
                    rx.await
                        .map_err(|_| "the journal stopped before its fsync".to_string())??;
                }
                Ok(())
            }
        }
    }
}

pub trait EventSink: Send + Sync {
    fn event(&self, event: &Event<'_>);

    /// Records `event`, which announces a write about to be sent: a sink that keeps a record
    /// (the journal) has it on disk once the answer's [`Durable::on_disk`] is `Ok`; on `Err`
    /// the write must not be sent. Sinks that keep no record take it as any event.
    fn event_durably(&self, event: &Event<'_>) -> Durable {
        self.event(event);
        Durable::Done
    }
}

impl<T: EventSink + ?Sized> EventSink for std::sync::Arc<T> {
    fn event(&self, event: &Event<'_>) {
        (**self).event(event)
    }

    fn event_durably(&self, event: &Event<'_>) -> Durable {
        (**self).event_durably(event)
    }
}

/// Sends each event to several sinks in order.
#[derive(Default)]
pub struct Sinks(pub Vec<Box<dyn EventSink>>);

impl EventSink for Sinks {
    fn event(&self, event: &Event<'_>) {
        for s in &self.0 {
            s.event(event);
        }
    }

    /// Every sink gets the event; the first that could not record it says why, else every
    /// record on its way to disk is waited for.
    fn event_durably(&self, event: &Event<'_>) -> Durable {
        let mut waiting = Vec::new();
        let mut failed = None;
        for s in &self.0 {
            match s.event_durably(event) {
                Durable::Done => {}
                Durable::Failed(why) => failed = failed.or(Some(why)),
                Durable::Pending(w) => waiting.extend(w),
            }
        }
        match (failed, waiting.is_empty()) {
            (Some(why), _) => Durable::Failed(why),
            (None, true) => Durable::Done,
            (None, false) => Durable::Pending(waiting),
        }
    }
}

/// Logs events through `tracing` (JSON or text, as configured in the CLI): a line per table
/// (and every warning and failure); each action's start and finish too when `detail` (logs for
/// machines: stderr is not a terminal), else at debug level (`-v` or `RUST_LOG`).
pub struct LogSink {
    pub detail: bool,
    /// `--verbose`: an error's whole chain of causes (the report's `error.detail`) is logged
    /// too; otherwise an error is one line.
    pub chain: bool,
}

fn word<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl EventSink for LogSink {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::ReadStarted { tables } => tracing::info!(tables, "reading table state"),
            Event::ApplyStarted { tables } => tracing::info!(tables, "applying changes"),
            Event::TablePlanned { report } => tracing::debug!(
                account = %report.account_id, region = %report.region, table = %report.table,
                actions = report.actions.len(), "table planned"
            ),
            Event::TableReplanned { report, .. } => tracing::warn!(
                account = %report.account_id, region = %report.region, table = %report.table,
                actions = report.actions.len(),
                "{}", report.replanned.as_deref().unwrap_or("planned again")
            ),
            Event::ActionStarted {
                table,
                index,
                record,
            } => {
                let (level_info, describe) = (self.detail, record.action.describe());
                if level_info {
                    tracing::info!(
                        account = %table.account_id, region = %table.region, table = %table.table,
                        step = index + 1, operation = record.action.operation(),
                        target = %record.target, "starting {describe}"
                    );
                } else {
                    tracing::debug!(
                        account = %table.account_id, region = %table.region, table = %table.table,
                        step = index + 1, operation = record.action.operation(),
                        target = %record.target, "starting {describe}"
                    );
                }
            }
            Event::ActionFinished {
                table,
                index,
                record,
            } => {
                let outcome = word(record.outcome);
                match &record.error {
                    None if !self.detail => tracing::debug!(
                        account = %table.account_id, region = %table.region, table = %table.table,
                        step = index + 1, operation = record.action.operation(),
                        outcome = %outcome, attempts = record.attempts, "action finished"
                    ),
                    None => tracing::info!(
                        account = %table.account_id, region = %table.region, table = %table.table,
                        step = index + 1, operation = record.action.operation(),
                        outcome = %outcome, attempts = record.attempts, "action finished"
                    ),
                    Some(e) => tracing::warn!(
                        account = %table.account_id, region = %table.region, table = %table.table,
                        step = index + 1, operation = record.action.operation(),
                        outcome = %outcome, attempts = record.attempts,
                        code = %e.code, error = %e.message, "action failed"
                    ),
                }
            }
            Event::TableAdvised { advice } => {
                let status = word(advice.status);
                let (now, recommended) = advice.monthly();
                match &advice.error {
                    None => tracing::info!(
                        account = %advice.account_id, region = %advice.region, table = %advice.table,
                        status = %status, monthly_now = now, monthly_recommended = recommended,
                        "table advised: {}", advice.reason
                    ),
                    Some(e) => tracing::warn!(
                        account = %advice.account_id, region = %advice.region, table = %advice.table,
                        status = %status, code = %e.code, error = %e.message, "table advised"
                    ),
                }
            }
            Event::TableFinished { report } => {
                let status = word(report.status);
                match &report.error {
                    None => tracing::info!(
                        account = %report.account_id, region = %report.region, table = %report.table,
                        status = %status, actions = report.actions.len(), "table done"
                    ),
                    Some(e) => tracing::warn!(
                        account = %report.account_id, region = %report.region, table = %report.table,
                        status = %status, code = %e.code, error = %e.message,
                        detail = self.chain.then_some(e.detail.as_deref()).flatten(), "table done"
                    ),
                }
            }
        }
    }
}
