//! The [`Ledger`]: every table's report entry, kept current by each stage of the run, and the
//! entries of tables left alone (skipped, with the reason and, for AWS's limits, when the
//! change is allowed again).

use crate::model::*;
use crate::planner::{next_class_change_allowed, next_switch_allowed, SkipReason};
use crate::report::*;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Every table's report entry, kept current as the run goes, so that a report can be written
/// at any moment (a second Ctrl-C included) and always says what was done.
#[derive(Default)]
pub struct Ledger {
    tables: Mutex<Vec<TableReport>>,
    /// Set once the final report has taken the entries.
    taken: std::sync::atomic::AtomicBool,
}

impl Ledger {
    /// Starts the ledger over with these tables (once patterns are expanded): one entry per
    /// table, `interrupted` until the run says otherwise.
    pub fn init<'a>(&self, tables: impl IntoIterator<Item = &'a DesiredTable>) {
        *self.tables.lock().unwrap_or_else(|e| e.into_inner()) = tables
            .into_iter()
            .map(|d| TableReport::unstarted(d, TableStatus::Interrupted))
            .collect();
    }

    pub(super) fn update<R>(&self, i: usize, f: impl FnOnce(&mut TableReport) -> R) -> R {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut tables[i])
    }

    pub fn get(&self, i: usize) -> TableReport {
        self.update(i, |t| t.clone())
    }

    /// Marks a planned table as not applied (declined, refused, or outside the canary):
    /// `would_change`, its actions `planned`.
    pub fn mark_not_applied(&self, i: usize) {
        self.update(i, TableReport::mark_not_applied);
    }

    pub fn len(&self) -> usize {
        self.tables.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves every entry out (the run is over): the final report needs no second copy.
    pub fn take(&self) -> Vec<TableReport> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        self.taken.store(true, Ordering::SeqCst);
        std::mem::take(&mut *tables)
    }

    /// Whether the final report has taken the entries (and is being written).
    pub fn is_taken(&self) -> bool {
        self.taken.load(Ordering::SeqCst)
    }

    pub fn snapshot(&self) -> Vec<TableReport> {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Records that a table is left alone, and for one of AWS's limits, when it is allowed again.
pub(super) fn mark_skipped(
    t: &mut TableReport,
    (reason, message): &(SkipReason, String),
    o: &ObservedTable,
) {
    t.status = TableStatus::Skipped;
    t.skip_reason = Some(*reason);
    t.error = Some(skip_error(*reason, message));
    match reason {
        SkipReason::SwitchLimit => {
            t.next_switch_allowed_at = next_switch_allowed(&o.recent_switches_to_on_demand)
        }
        SkipReason::TableClassLimit => {
            t.next_table_class_change_allowed_at =
                next_class_change_allowed(&o.recent_table_class_changes)
        }
        _ => {}
    }
}

pub(super) fn skip_error(reason: SkipReason, message: &str) -> ErrorReport {
    let code = serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    ErrorReport {
        code,
        message: message.to_string(),
        retryable: reason.is_retryable(),
        detail: None,
    }
}
