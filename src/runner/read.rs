//! Reading, the run's second stage: every table is described, its auto scaling read in
//! batches per (account, role, region) group (and, for a switch to provisioned, its recent
//! peaks from CloudWatch), planned, and recorded in the ledger. With `apply`, a table whose
//! plan changes something is handed to the execute stage as soon as it is planned.

use super::ledger::mark_skipped;
use super::{
    group_of, table_not_found, unix_now, Group, Ledger, Planned, RunOptions, Work, WorkSender,
};
use crate::aws::ops;
use crate::aws::{AccountRegion, AwsError, ClientFactory};
use crate::events::{Event, EventSink};
use crate::history::fill_recent;
use crate::model::*;
use crate::ownership::Ownership;
use crate::planner::{leave_managed, plan_table, TablePlan};
use crate::report::*;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Tables described before their auto scaling is read in one batch: with up to two GSIs
/// each, their ResourceIds fit one DescribeScalableTargets call (50).
const READ_BATCH: usize = 16;

/// Streaming, a batch of described tables waits this long for more before its auto scaling
/// is read, if Auto Scaling has calls to spare (else it fills up to `READ_BATCH`): each table
/// is switched soon after its DescribeTable, and a batch read (one DescribeScalableTargets,
/// one GetMetricData) serves a few tables, not one.
const BATCH_WAIT: Duration = Duration::from_millis(150);

/// Reads every table's state and plans it (each row's account known: see
/// `commands::identity`). AWS calls: AssumeRole once per role, DescribeTable per table, and
/// DescribeScalableTargets / DescribeScalingPolicies in batches per (account, region).
/// Rows that come with an error (a failed pattern expansion) are failed as they are.
/// Fills the ledger's `before`, `actions` (as planned) and status.
///
/// Every (account, role, region) group is read at once, in batches of up to `READ_BATCH`
/// tables, so each account's quota is used from the start. With `ready`, each table whose plan changes
/// something is handed on as soon as it is planned (apply starts while the rest is read), and
/// the plans are not returned.
pub async fn observe_and_plan(
    factory: &ClientFactory,
    rows: Vec<(DesiredTable, Option<AwsError>)>,
    opts: &RunOptions,
    events: &dyn EventSink,
    ledger: &Ledger,
    plan_only: bool,
    ready: Option<WorkSender>,
) -> Vec<Planned> {
    let (tables, known_errors): (Vec<DesiredTable>, Vec<Option<AwsError>>) =
        rows.into_iter().unzip();
    events.event(&Event::ReadStarted {
        tables: tables.len(),
    });
    let started = Instant::now();

    let now = unix_now();
    let settle = |i: usize, observed: Result<ObservedTable, AwsError>| {
        let p = settle_planned(
            i,
            tables[i].clone(),
            observed,
            opts,
            events,
            ledger,
            plan_only,
            started.elapsed().as_millis() as u64,
            now,
        );
        match &ready {
            // Handed over, not kept: the caller that streams does not need the plans back.
            Some(tx) => {
                if p.changes_anything() {
                    let _ = tx.send(Work::Table(i, Box::new(p)));
                }
                None
            }
            None => Some((i, p)),
        }
    };

    // Rows that cannot be read settle at once; the others are read by group.
    let mut done: Vec<(usize, Planned)> = Vec::with_capacity(tables.len());
    let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
    for (i, d) in tables.iter().enumerate() {
        match known_errors[i].clone() {
            Some(e) => done.extend(settle(i, Err(e))),
            None => groups.entry(group_of(d)).or_default().push(i),
        }
    }
    // The concurrency is shared out between the groups, each reading at least one at a time.
    let per_group = (opts.concurrency / groups.len().max(1)).max(1);
    let (tables_ref, settle_ref, ready_ref) = (&tables, &settle, &ready);
    let read: Vec<Vec<(usize, Planned)>> = futures::stream::iter(groups)
        .map(|(group, members)| async move {
            let clients = factory
                .account_region(&group.0, group.1.as_ref(), &group.2)
                .await;
            let out = match &clients {
                Err(e) => members
                    .iter()
                    .filter_map(|&i| settle_ref(i, Err(e.clone())))
                    .collect(),
                Ok(c) => {
                    let streaming = ready_ref.is_some();
                    let how = (per_group, streaming, &opts.ownership);
                    read_group(c, tables_ref, &members, how, settle_ref).await
                }
            };
            if let Some(tx) = ready_ref {
                let _ = tx.send(Work::GroupPlanned(group));
            }
            out
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    done.extend(read.into_iter().flatten());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, p)| p).collect()
}

/// Reads one group's tables: DescribeTable `parallel` at a time while the auto scaling of
/// the tables already described is read in batches (the namespace's policies, if needed,
/// listed once for the group). `settle` plans each table as its batch completes.
/// `streaming` (apply starts each table as it is planned): a batch is the tables described
/// within `BATCH_WAIT` of its first (more while Auto Scaling is busy), so each table is
/// applied soon after its DescribeTable, not after a whole batch of them; otherwise
/// `READ_BATCH` tables, the fewest calls. The tables whose plan changes something have
/// their owner read (`ownership`).
async fn read_group(
    c: &AccountRegion,
    tables: &[DesiredTable],
    members: &[usize],
    (parallel, streaming, ownership): (usize, bool, &Ownership),
    settle: &(dyn Fn(usize, Result<ObservedTable, AwsError>) -> Option<(usize, Planned)> + Sync),
) -> Vec<(usize, Planned)> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let describe = async move {
        let mut described = futures::stream::iter(members.iter().copied())
            .map(|i| async move {
                let d = &tables[i];
                let r = ops::describe_table(c, &d.table)
                    .await
                    .result
                    .and_then(|o| o.ok_or_else(|| table_not_found(d)));
                (i, r)
            })
            .buffered(parallel);
        while let Some(x) = described.next().await {
            let _ = tx.send(x);
        }
    };
    let (owned, owned_rx) = tokio::sync::mpsc::unbounded_channel();
    let plan = async move {
        let namespace = ops::NamespacePolicies::for_group(members.len());
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let close = tokio::time::Instant::now() + BATCH_WAIT;
            while batch.len() < READ_BATCH {
                let next = if streaming {
                    match tokio::time::timeout_at(close, rx.recv()).await {
                        Ok(x) => x,
                        // Past the wait: read now if Auto Scaling has calls to spare; while
                        // the switched tables' auto scaling keeps it busy, fewer reads do.
                        Err(_) if c.autoscaling_idle() => None,
                        Err(_) => rx.recv().await,
                    }
                } else {
                    rx.recv().await
                };
                match next {
                    Some(x) => batch.push(x),
                    None => break,
                }
            }
            let described = batch
                .iter_mut()
                .map(|(i, r)| (tables[*i].table.as_str(), r))
                .collect();
            ops::attach_scaling(c, described, &namespace).await;
            attach_recent_peaks(c, tables, &mut batch).await;
            for x in batch {
                let _ = owned.send(x);
            }
        }
        drop(owned);
    };
    // Each table is planned as soon as its owner is known: the tag reads go at their own
    // (per-account) rate while the next batches are read, not holding each batch back.
    let own = async {
        let out = std::sync::Mutex::new(Vec::with_capacity(members.len()));
        let warned = std::sync::atomic::AtomicBool::new(false);
        futures::stream::unfold(
            owned_rx,
            |mut rx| async move { Some((rx.recv().await?, rx)) },
        )
        .for_each_concurrent(None, |(i, mut r)| {
            let (out, warned) = (&out, &warned);
            async move {
                attach_owner(c, &tables[i], &mut r, ownership, warned).await;
                if let Some(p) = settle(i, r) {
                    out.lock().unwrap_or_else(|e| e.into_inner()).push(p);
                }
            }
        })
        .await;
        out.into_inner().unwrap_or_else(|e| e.into_inner())
    };
    futures::join!(describe, plan, own).2
}

/// For the tables of `batch` the plan will switch to provisioned: their recent peaks, for the
/// starting capacity (`planner::starting_capacity`). CloudWatch not readable (denied,
/// throttled beyond the retries, an emulator without it): the switch starts at `min`, with
/// the reason in the table's state and a warning in the log; never a failure.
async fn attach_recent_peaks(
    c: &AccountRegion,
    tables: &[DesiredTable],
    batch: &mut [(usize, Result<ObservedTable, AwsError>)],
) {
    let switching = |i: usize, r: &Result<ObservedTable, AwsError>| {
        let d = &tables[i];
        matches!(d.mode, DesiredMode::Provisioned(_))
            && d.restore.is_none()
            && r.as_ref()
                .is_ok_and(|o| o.billing_mode == BillingMode::OnDemand && o.replicas.is_empty())
    };
    let mut which: Vec<&mut (usize, Result<ObservedTable, AwsError>)> =
        batch.iter_mut().filter(|(i, r)| switching(*i, r)).collect();
    if which.is_empty() {
        return;
    }
    let now = unix_now();
    let peaks = {
        let list: Vec<(&str, &ObservedTable)> = which
            .iter()
            .filter_map(|(i, r)| r.as_ref().ok().map(|o| (tables[*i].table.as_str(), o)))
            .collect();
        crate::aws::metrics::recent_peaks(c, &list, now).await
    };
    match peaks {
        Ok(peaks) => {
            for ((_, r), p) in which.iter_mut().zip(peaks) {
                if let Ok(o) = r {
                    o.recent_peaks = p;
                }
            }
        }
        Err(e) => {
            tracing::warn!(account = %c.account_id, region = %c.region, code = %e.code, error = %e.message,
                "cannot read the recent consumption from CloudWatch: switches to provisioned start at min");
            for (_, r) in which.iter_mut() {
                if let Ok(o) = r {
                    o.recent_peaks_error = Some(format!("{}: {}", e.code, e.message));
                }
            }
        }
    }
}

/// For a table whose plan changes something (a rollback's aside: it puts back what the
/// owner had), who manages it (`ops::read_owner`): the plan leaves a managed table alone
/// unless `--include-managed`. A stop while reading fails the table as interrupted. Tags that
/// cannot be read are said once per group (`warned`).
async fn attach_owner(
    c: &AccountRegion,
    d: &DesiredTable,
    r: &mut Result<ObservedTable, AwsError>,
    ownership: &Ownership,
    warned: &std::sync::atomic::AtomicBool,
) {
    let changing = d.restore.is_none()
        && r.as_ref()
            .is_ok_and(|o| plan_table(d, o).changes_anything());
    let (true, Ok(o)) = (changing, r.as_mut()) else {
        return;
    };
    match ops::read_owner(c, &d.table, o, ownership).await {
        Ok(Owner::Unknown(why)) => {
            if !warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(account = %c.account_id, region = %c.region, error = %why,
                    "cannot read tables' tags (ListTagsOfResource): they are changed without knowing whether a stack manages them; grant dynamodb:ListTagsOfResource");
            }
            o.owner = Some(Owner::Unknown(why));
        }
        Ok(owner) => o.owner = Some(owner),
        Err(e) => *r = Err(e),
    }
}

/// Plans one table from what was read, and records it in the ledger: `before`, the planned
/// actions and the status. Tables that need nothing (or cannot be read) are finished here.
#[allow(clippy::too_many_arguments)]
fn settle_planned(
    i: usize,
    desired: DesiredTable,
    mut observed: Result<ObservedTable, AwsError>,
    opts: &RunOptions,
    events: &dyn EventSink,
    ledger: &Ledger,
    plan_only: bool,
    read_ms: u64,
    now: i64,
) -> Planned {
    if let Ok(o) = &mut observed {
        let key = (
            desired.account_id.clone(),
            desired.region.clone(),
            desired.table.clone(),
        );
        let (switches, classes) = opts.history.of(&key);
        fill_recent(o, switches, classes, now);
    }
    // A table being deleted (or archived) cannot be changed: failed now, not planned to wait.
    let unusable = observed.as_ref().ok().and_then(ops::never_active);
    let plan = match &observed {
        Ok(o) if unusable.is_none() => leave_managed(
            plan_table(&desired, o),
            &desired,
            o,
            opts.ownership.include_managed,
        ),
        _ => TablePlan::default(),
    };
    let p = Planned {
        read: observed.is_ok(),
        desired,
        changes: plan.changes_anything(),
        steps: plan.actions.len(),
        planned_at: Instant::now(),
    };
    let report = ledger.update(i, |t| {
        t.duration_ms = read_ms;
        t.actions = plan
            .actions
            .iter()
            .map(|a| {
                let outcome = if plan_only {
                    Outcome::Planned
                } else {
                    Outcome::NotAttempted
                };
                ActionRecord::unsent(a, &p.desired.table, outcome)
            })
            .collect();
        match observed {
            // The run was asked to stop before the table was read.
            Err(e) if e.is_interrupted() => t.status = TableStatus::Interrupted,
            Err(e) => {
                t.status = TableStatus::Failed;
                t.error = Some((&e).into());
            }
            Ok(o) => {
                if let Some(e) = &unusable {
                    t.status = TableStatus::Failed;
                    t.error = Some(e.into());
                } else if let Some(skip) = &plan.skip {
                    mark_skipped(t, skip, &o);
                } else if !p.changes {
                    t.status = TableStatus::Unchanged;
                    if !plan_only {
                        t.after = Some(o.clone());
                    }
                } else if plan_only {
                    t.status = TableStatus::WouldChange;
                } else {
                    // Not applied yet: interrupted until apply says otherwise.
                    t.status = TableStatus::Interrupted;
                }
                t.before = Some(o);
            }
        }
        t.clone()
    });
    if plan_only || !p.changes_anything() {
        events.event(&Event::TableFinished { report: &report });
    } else {
        events.event(&Event::TablePlanned { report: &report });
    }
    p
}
