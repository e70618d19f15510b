//! Reading back, the run's last stage: a changed table is described again after its actions,
//! its auto scaling read back in batches per group ([`ReadBacks`]), and the table concluded
//! ([`conclude`]): verified by planning again against what AWS now reports.

use super::{table_not_found, Group, Ledger};
use crate::aws::ops;
use crate::aws::{AwsError, ClientFactory, ErrorKind};
use crate::events::{Event, EventSink};
use crate::model::*;
use crate::planner::{plan_table, Action, SkipReason};
use crate::report::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// At most this many applied tables wait for one batched read-back of their auto scaling.
const READ_BACK_BATCH: usize = 100;

/// How running a table's actions went.
pub(super) struct Ran {
    pub(super) started: Instant,
    /// Something was changed.
    pub(super) mutated: bool,
    /// The error that stopped the actions, and whether anything had changed before it.
    pub(super) failure: Option<(AwsError, bool)>,
    pub(super) interrupted: bool,
    /// Planned again before an UpdateTable, the table is to be left alone (already recorded).
    pub(super) skipped: bool,
}

impl Ran {
    /// The actions stopped on `e`: a failure, or the run's interruption.
    pub(super) fn stopped_by(&mut self, e: AwsError) {
        if e.is_interrupted() {
            self.interrupted = true;
        } else {
            self.failure = Some((e, self.mutated));
        }
    }
}

/// What the read-back needs of the run: its clients, where it records, and the count of
/// tables failed (for `--max-failures`).
pub(super) struct Recording<'a> {
    pub factory: &'a ClientFactory,
    pub ledger: &'a Ledger,
    pub events: &'a dyn EventSink,
    pub failures: &'a AtomicUsize,
}

/// A table whose actions ran, waiting for the batched read-back of its auto scaling.
pub(super) struct Pending {
    pub(super) i: usize,
    pub(super) desired: DesiredTable,
    pub(super) ran: Ran,
    /// DescribeTable's answer after the actions (`Ok`), then with its auto scaling.
    pub(super) after: Result<ObservedTable, AwsError>,
}

/// Per (account, role, region): tables applied and waiting for their read-back.
#[derive(Default)]
pub(super) struct ReadBacks(Mutex<HashMap<Group, Backlog>>);

#[derive(Default)]
struct Backlog {
    /// Tables handed to apply whose actions have not finished.
    outstanding: usize,
    /// Whether every table of the group has been planned (no more will come).
    planned: bool,
    pending: Vec<Pending>,
}

impl Backlog {
    /// The batch to read back now: when nothing else of the group can join it, or it is full.
    fn due(&mut self) -> Vec<Pending> {
        if (self.outstanding == 0 && self.planned) || self.pending.len() >= READ_BACK_BATCH {
            std::mem::take(&mut self.pending)
        } else {
            Vec::new()
        }
    }
}

impl ReadBacks {
    fn with<R>(&self, group: &Group, f: impl FnOnce(&mut Backlog) -> R) -> R {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(m.entry(group.clone()).or_default())
    }

    pub(super) fn expect(&self, group: &Group) {
        self.with(group, |b| b.outstanding += 1);
    }

    pub(super) fn deposit(&self, group: &Group, pending: Option<Pending>) -> Vec<Pending> {
        self.with(group, |b| {
            b.outstanding = b.outstanding.saturating_sub(1);
            b.pending.extend(pending);
            b.due()
        })
    }

    pub(super) fn planned(&self, group: &Group) -> Vec<Pending> {
        self.with(group, |b| {
            b.planned = true;
            b.due()
        })
    }

    pub(super) fn all_planned(&self) -> Vec<(Group, Vec<Pending>)> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter_mut()
            .map(|(g, b)| {
                b.planned = true;
                (g.clone(), b.due())
            })
            .filter(|(_, due)| !due.is_empty())
            .collect()
    }
}

/// [`read_back`], a panic kept to its batch: each of its tables not concluded yet fails with
/// the reason (its actions say what was done), instead of staying `interrupted` with no
/// `after`.
pub(super) async fn read_back_guarded(run: &Recording<'_>, group: &Group, batch: Vec<Pending>) {
    let tables: Vec<usize> = batch.iter().map(|p| p.i).collect();
    let read = std::panic::AssertUnwindSafe(read_back(run, group, batch));
    if futures::FutureExt::catch_unwind(read).await.is_ok() {
        return;
    }
    tracing::error!(
        tables = tables.len(),
        "reading back a batch of tables panicked"
    );
    for i in tables {
        let report = run.ledger.update(i, |t| {
            if t.status != TableStatus::Interrupted {
                return None; // concluded before the panic
            }
            t.status = TableStatus::Failed;
            t.error = Some(ErrorReport {
                code: "Panic".into(),
                message: "ddb-fleet failed while reading this table back after its changes (a bug): its actions say what was done; plan it to see its state".into(),
                retryable: true,
                detail: None,
            });
            Some(t.clone())
        });
        if let Some(report) = report {
            run.events.event(&Event::TableFinished { report: &report });
        }
    }
}

/// Reads back the auto scaling of a batch of one group's tables in one go, and concludes each.
async fn read_back(run: &Recording<'_>, group: &Group, mut batch: Vec<Pending>) {
    if batch.is_empty() {
        return;
    }
    match run
        .factory
        .account_region(&group.0, group.1.as_ref(), &group.2)
        .await
    {
        Ok(c) => {
            let described = batch
                .iter_mut()
                .map(|p| (p.desired.table.as_str(), &mut p.after))
                .collect();
            let policies = ops::NamespacePolicies::default();
            crate::aws::finishing(ops::attach_scaling(&c, described, &policies)).await;
        }
        Err(e) => batch.iter_mut().for_each(|p| p.after = Err(e.clone())),
    }
    for p in batch {
        conclude(run, p.i, &p.desired, &p.ran, p.after.map(Some));
    }
}

/// Records a table's final status from how its actions ran and what AWS reports after them.
pub(super) fn conclude(
    run: &Recording<'_>,
    i: usize,
    d: &DesiredTable,
    ran: &Ran,
    after: Result<Option<ObservedTable>, AwsError>,
) {
    let report = run.ledger.update(i, |t| {
        t.duration_ms += ran.started.elapsed().as_millis() as u64;
        match &after {
            Ok(a) => t.after = a.clone(),
            Err(_) => t.after = None,
        }
        // Stopped, or reading back after the actions was cut short by the stop.
        if ran.interrupted || matches!(&after, Err(e) if e.is_interrupted()) {
            t.status = TableStatus::Interrupted;
            return t.clone();
        }
        if ran.skipped {
            return t.clone(); // recorded when it was planned again
        }
        if let Some((e, changed_before)) = &ran.failure {
            match e.kind {
                ErrorKind::SwitchLimit => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::SwitchLimit);
                    t.next_switch_allowed_at = e.next_change_allowed_at();
                }
                ErrorKind::TableClassLimit => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::TableClassLimit);
                    t.next_table_class_change_allowed_at = e.next_change_allowed_at();
                }
                ErrorKind::DecreaseLimit => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::DecreaseLimit);
                    t.next_decrease_allowed_at = e.next_change_allowed_at();
                }
                _ if e.code == "WaitTimeout" && !changed_before => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::NotActive);
                }
                _ => t.status = TableStatus::Failed,
            }
            t.error = Some(e.into());
            return t.clone();
        }
        // Every action succeeded: verify by planning again against what AWS now reports.
        match &after {
            Ok(Some(a)) => {
                let again = plan_table(d, a);
                if again.changes_anything() {
                    let remaining: Vec<String> = again
                        .actions
                        .iter()
                        .filter(|x| x.is_mutating())
                        .map(Action::describe)
                        .collect();
                    t.status = TableStatus::Failed;
                    t.error = Some(ErrorReport {
                        code: "VerificationFailed".into(),
                        message: format!(
                            "after apply the table still differs: {}",
                            remaining.join("; ")
                        ),
                        retryable: true,
                        detail: None,
                    });
                } else if ran.mutated {
                    t.status = TableStatus::Changed;
                } else {
                    // Planned again, nothing was left to do: someone else had done it.
                    t.status = TableStatus::Unchanged;
                }
            }
            Ok(None) => {
                t.status = TableStatus::Failed;
                t.error = Some((&table_not_found(d)).into());
            }
            Err(e) => {
                t.status = TableStatus::Failed;
                t.error = Some(ErrorReport {
                    code: e.code.clone(),
                    message: format!(
                        "changes were made but reading the table back failed: {}",
                        e.message
                    ),
                    retryable: true,
                    detail: None,
                });
            }
        }
        t.clone()
    });
    // `--max-failures` counts changes that failed, not a read-back that did (AWS or the
    // network failing to answer says nothing of the next table's changes).
    let read_back_failed = ran.failure.is_none() && after.is_err();
    if report.status == TableStatus::Failed && !read_back_failed {
        run.failures.fetch_add(1, Ordering::SeqCst);
    }
    run.events.event(&Event::TableFinished { report: &report });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concluded(failure: AwsError, mutated: bool) -> TableReport {
        concluded_with(Some(failure), mutated, Ok(None)).0
    }

    /// Concludes table 0 after actions that ran as given; the entry and `--max-failures`'s count.
    fn concluded_with(
        failure: Option<AwsError>,
        mutated: bool,
        after: Result<Option<ObservedTable>, AwsError>,
    ) -> (TableReport, usize) {
        let ledger = Ledger::default();
        let d = DesiredTable::on_demand("t");
        ledger.init([&d]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let factory = rt.block_on(ClientFactory::new(crate::aws::AwsSettings {
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".into()),
            role_session_name: "test".into(),
            rates: Default::default(),
            retry: Default::default(),
            attempt_timeout: std::time::Duration::from_secs(1),
        }));
        let failures = AtomicUsize::new(0);
        let run = Recording {
            factory: &factory,
            ledger: &ledger,
            events: &crate::events::Sinks::default(),
            failures: &failures,
        };
        let ran = Ran {
            started: Instant::now(),
            mutated,
            failure: failure.map(|f| (f, mutated)),
            interrupted: false,
            skipped: false,
        };
        conclude(&run, 0, &d, &ran, after);
        (ledger.get(0), failures.load(Ordering::SeqCst))
    }

    /// A read-back that failed after every change succeeded fails the table (the report must
    /// not say "changed" unverified) but is not a failed change: `--max-failures` does not
    /// count it.
    #[test]
    fn a_failed_read_back_does_not_count_toward_max_failures() {
        let e = AwsError::from_code("AccessDeniedException", "no", Some(400));
        let (t, failures) = concluded_with(None, true, Err(e.clone()));
        assert_eq!((t.status, failures), (TableStatus::Failed, 0));
        let (t, failures) = concluded_with(Some(e), true, Ok(None));
        assert_eq!((t.status, failures), (TableStatus::Failed, 1));
    }

    /// Regression: AWS's refusal of a decrease was waited out as "busy" until
    /// `--wait-timeout`, then failed; it is a skip with the time AWS gives, for `--resume`.
    #[test]
    fn a_refused_decrease_is_skipped_with_the_time_aws_gives() {
        let e = AwsError::from_code(
            "LimitExceededException",
            "Provisioned throughput decreases are limited within a given UTC day. Next decrease can be made at 2026-12-05T10:00:00Z",
            Some(400),
        );
        let t = concluded(e, false);
        assert_eq!(t.status, TableStatus::Skipped);
        assert_eq!(t.skip_reason, Some(SkipReason::DecreaseLimit));
        assert_eq!(
            t.next_decrease_allowed_at.as_deref(),
            Some("2026-12-05T10:00:00Z")
        );
        assert!(t.error.unwrap().retryable);
    }
}
