//! The fleet runner: reads every table's state, plans it, and (for `apply`) realises the
//! plans concurrently, table by table, recording every step in the [`Ledger`].
//!
//! `plan` and `apply` share [`observe_and_plan`]; `apply` then calls [`apply_fleet`]. One
//! table's failure never stops the others: it is recorded and the run goes on.

use crate::aws::ops::{self, Performed, WaitPolicy};
use crate::aws::{AccountRegion, AwsError, ClientFactory, ErrorKind};
use crate::cancel::Cancel;
use crate::events::{Event, EventSink};
use crate::history::{recent_changes, History};
use crate::model::*;
use crate::planner::{
    next_allowed, plan_table, simulate, Action, SkipReason, TablePlan, SWITCH_WINDOW_SECS,
    TABLE_CLASS_WINDOW_SECS,
};
use crate::report::*;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tables in flight at once.
    pub concurrency: usize,
    pub wait: WaitPolicy,
    /// Attempts per AWS call (UpdateTable on a busy table counts its waits too).
    pub max_attempts: u32,
    /// Once this many tables have failed to apply, start no more.
    pub max_failures: usize,
    /// Apply only this many tables (spread over accounts), then stop.
    pub canary: Option<usize>,
    /// Limited changes recorded by earlier runs (`--history`).
    pub history: History,
    /// Tables of one (account, region) UPDATING at once because of this run.
    pub max_updating: usize,
    /// A table planned longer ago than this is read again before its first UpdateTable.
    pub reread_after: Duration,
}

/// (account, role, region): the tables that share clients, credentials and rate limits.
pub type Group = (String, Option<RoleSpec>, String);

/// A table, planned. The state it was planned from is the ledger's `before` and its actions
/// are the ledger's `actions`, each kept once: at 10,000 tables, every copy of the fleet's
/// state or plans is tens of megabytes, and a table can wait for its turn most of a run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub desired: DesiredTable,
    /// Whether the state could be read (a missing table is an error, in the ledger).
    pub read: bool,
    /// Whether the plan changes anything.
    changes: bool,
    /// How many actions the plan has.
    steps: usize,
    /// When it was planned (its state read just before).
    planned_at: Instant,
}

impl Planned {
    pub fn changes_anything(&self) -> bool {
        self.read && self.changes
    }
}

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

    fn update<R>(&self, i: usize, f: impl FnOnce(&mut TableReport) -> R) -> R {
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

/// Indexes of `items` ordered round-robin across (region, account) groups: the first table of
/// every group, then the second of every group, and so on. Work taken from the front of this
/// order spreads over every account's rate limit instead of queueing on one, and a canary
/// taken from the front lands in as many accounts as it can.
fn interleave<'a, T>(items: &[T], desired: impl Fn(usize) -> &'a DesiredTable) -> Vec<usize> {
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for i in 0..items.len() {
        let d = desired(i);
        groups
            .entry((d.region.as_str(), d.account_id.as_str()))
            .or_default()
            .push(i);
    }
    let mut queues: Vec<std::collections::VecDeque<usize>> =
        groups.into_values().map(Into::into).collect();
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        for q in &mut queues {
            if let Some(i) = q.pop_front() {
                order.push(i);
            }
        }
    }
    order
}

/// The error of a row whose table does not exist.
pub fn table_not_found(d: &DesiredTable) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!(
            "table {} does not exist in account {} region {}",
            d.table, d.account_id, d.region
        ),
        ErrorKind::NotFound,
    )
}

/// Expands pattern rows (`table = "orders-*"`) into one row per matching table, through
/// DynamoDB ListTables (once per account, role and region). Explicit rows win over pattern
/// rows for the same table, and an earlier pattern row over a later one. A pattern row whose
/// listing fails stays, with the error. Inventory order is kept.
pub async fn expand_patterns(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    concurrency: usize,
) -> Vec<(DesiredTable, Option<AwsError>)> {
    use crate::inventory::{glob_match, is_pattern};
    let explicit: std::collections::HashSet<(String, String, String)> = tables
        .iter()
        .filter(|t| !is_pattern(&t.table))
        .map(|t| (t.account_id.clone(), t.region.clone(), t.table.clone()))
        .collect();
    let groups: std::collections::BTreeSet<Group> = tables
        .iter()
        .filter(|t| is_pattern(&t.table))
        .map(|t| (t.account_id.clone(), t.role.clone(), t.region.clone()))
        .collect();
    let listings: HashMap<Group, Result<Vec<String>, AwsError>> = futures::stream::iter(groups)
        .map(|(account, role, region)| async move {
            let r = match factory
                .account_region(&account, role.as_ref(), &region)
                .await
            {
                Ok(c) => ops::list_tables(&c).await,
                Err(e) => Err(e),
            };
            ((account, role, region), r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut claimed = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        if !is_pattern(&t.table) {
            out.push((t, None));
            continue;
        }
        let key = (t.account_id.clone(), t.role.clone(), t.region.clone());
        match &listings[&key] {
            Err(e) => out.push((t, Some(e.clone()))),
            Ok(names) => {
                let mut names: Vec<&String> =
                    names.iter().filter(|n| glob_match(&t.table, n)).collect();
                names.sort();
                if names.is_empty() {
                    tracing::warn!(account = %t.account_id, region = %t.region, pattern = %t.table, source = %t.source, "the pattern matches no table");
                }
                for name in names {
                    let id = (t.account_id.clone(), t.region.clone(), name.clone());
                    if explicit.contains(&id) || !claimed.insert(id) {
                        continue;
                    }
                    out.push((
                        DesiredTable {
                            table: name.clone(),
                            ..t.clone()
                        },
                        None,
                    ));
                }
            }
        }
    }
    out
}

/// Tables described before their auto scaling is read in one batch: with up to two GSIs
/// each, their ResourceIds fit one DescribeScalableTargets call (50).
const READ_BATCH: usize = 16;

/// Streaming, a batch of described tables waits this long for more before its auto scaling
/// is read, if Auto Scaling has calls to spare (else it fills up to `READ_BATCH`): each table
/// is switched soon after its DescribeTable, and a batch read (one DescribeScalableTargets,
/// one GetMetricData) serves a few tables, not one.
const BATCH_WAIT: Duration = Duration::from_millis(150);

/// At most this many applied tables wait for one batched read-back of their auto scaling.
const READ_BACK_BATCH: usize = 100;

/// What planning hands to apply, as it goes.
#[derive(Debug)]
pub enum Work {
    /// Table `i`'s plan changes something.
    Table(usize, Box<Planned>),
    /// Every table of this group has been planned: its last read-back need wait for no more.
    /// (When `work` ends, every group is planned.)
    GroupPlanned(Group),
}

pub type WorkSender = tokio::sync::mpsc::UnboundedSender<Work>;

fn group_of(d: &DesiredTable) -> Group {
    (d.account_id.clone(), d.role.clone(), d.region.clone())
}

/// Reads every table's state and plans it. AWS calls: STS GetCallerIdentity (only for rows
/// without an account id), AssumeRole once per role, DescribeTable per table, and
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
    let (mut tables, known_errors): (Vec<DesiredTable>, Vec<Option<AwsError>>) =
        rows.into_iter().unzip();
    events.event(&Event::ReadStarted {
        tables: tables.len(),
    });
    let started = Instant::now();

    // Rows from the single-table flags carry no account id: it is the caller's own.
    let mut unresolved: Vec<Option<AwsError>> = vec![None; tables.len()];
    let mut caller_accounts: HashMap<String, Result<String, AwsError>> = HashMap::new();
    for (i, d) in tables.iter_mut().enumerate() {
        if !d.account_id.is_empty() {
            continue;
        }
        if !caller_accounts.contains_key(&d.region) {
            let r = factory.caller_account(&d.region).await;
            caller_accounts.insert(d.region.clone(), r);
        }
        match &caller_accounts[&d.region] {
            Ok(a) => d.account_id = a.clone(),
            Err(e) => unresolved[i] = Some(e.clone()),
        }
    }

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
        match known_errors[i].clone().or_else(|| unresolved[i].take()) {
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
                    read_group(c, tables_ref, &members, per_group, streaming, settle_ref).await
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
/// `READ_BATCH` tables, the fewest calls.
async fn read_group(
    c: &AccountRegion,
    tables: &[DesiredTable],
    members: &[usize],
    parallel: usize,
    streaming: bool,
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
    let plan = async {
        let namespace = ops::NamespacePolicies::for_group(members.len());
        let mut out = Vec::with_capacity(members.len());
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
            out.extend(batch.into_iter().filter_map(|(i, r)| settle(i, r)));
        }
        out
    };
    futures::join!(describe, plan).1
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
        o.recent_switches_to_on_demand = recent_changes(
            o.last_switch_to_on_demand.as_deref(),
            switches,
            now,
            SWITCH_WINDOW_SECS,
        );
        o.recent_table_class_changes = recent_changes(
            o.last_table_class_change.as_deref(),
            classes,
            now,
            TABLE_CLASS_WINDOW_SECS,
        );
    }
    // A table being deleted (or archived) cannot be changed: failed now, not planned to wait.
    let unusable = observed.as_ref().ok().and_then(ops::never_active);
    let plan = match &observed {
        Ok(o) if unusable.is_none() => plan_table(&desired, o),
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
        // The caller's account is known only now for single-table rows.
        t.account_id = p.desired.account_id.clone();
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

/// Records that a table is left alone, and for one of AWS's limits, when it is allowed again.
fn mark_skipped(t: &mut TableReport, (reason, message): &(SkipReason, String), o: &ObservedTable) {
    t.status = TableStatus::Skipped;
    t.skip_reason = Some(*reason);
    t.error = Some(skip_error(*reason, message));
    match reason {
        SkipReason::SwitchLimit => {
            t.next_switch_allowed_at =
                next_allowed(&o.recent_switches_to_on_demand, SWITCH_WINDOW_SECS)
        }
        SkipReason::TableClassLimit => {
            t.next_table_class_change_allowed_at =
                next_allowed(&o.recent_table_class_changes, TABLE_CLASS_WINDOW_SECS)
        }
        _ => {}
    }
}

fn skip_error(reason: SkipReason, message: &str) -> ErrorReport {
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

/// What every table task of an apply shares. Each table runs as its own task, so the tasks
/// (and their HTTP connections) spread over the runtime's threads.
pub struct ApplyContext {
    pub factory: Arc<ClientFactory>,
    pub opts: RunOptions,
    pub events: Arc<dyn EventSink>,
    pub ledger: Arc<Ledger>,
    pub cancel: Arc<Cancel>,
    /// Tables that failed to apply so far (for `--max-failures`).
    pub failures: AtomicUsize,
    read_backs: ReadBacks,
    /// Permits for tables UPDATING at once, per group.
    updating: crate::slots::Updating,
    /// Where table tasks give back and ask again for their slots (set by `apply_fleet`).
    slots: Mutex<Option<tokio::sync::mpsc::UnboundedSender<crate::slots::SlotMsg>>>,
}

impl ApplyContext {
    pub fn new(
        factory: Arc<ClientFactory>,
        opts: RunOptions,
        events: Arc<dyn EventSink>,
        ledger: Arc<Ledger>,
        cancel: Arc<Cancel>,
    ) -> Self {
        ApplyContext {
            factory,
            events,
            ledger,
            cancel,
            failures: AtomicUsize::new(0),
            read_backs: ReadBacks::default(),
            updating: crate::slots::Updating::new(opts.max_updating),
            slots: Mutex::new(None),
            opts,
        }
    }

    fn slot(&self, group: &Group) -> Option<crate::slots::SlotHandle> {
        let tx = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        Some(crate::slots::SlotHandle {
            tx,
            group: group.clone(),
        })
    }
}

/// The whole plan, once it is known (after a confirmation or a guardrail): the tables that
/// change, round-robin over accounts; with `--canary N`, the first N of them, the rest
/// recorded as not applied, for the next run.
pub fn gated_work(
    planned: Vec<Planned>,
    opts: &RunOptions,
    events: &dyn EventSink,
    ledger: &Ledger,
) -> Vec<Work> {
    let mut order: Vec<usize> = interleave(&planned, |i| &planned[i].desired)
        .into_iter()
        .filter(|&i| planned[i].changes_anything())
        .collect();
    if let Some(n) = opts.canary {
        for &i in &order[n.min(order.len())..] {
            ledger.mark_not_applied(i);
            events.event(&Event::TableFinished {
                report: &ledger.get(i),
            });
        }
        order.truncate(n);
    }
    events.event(&Event::ApplyStarted {
        tables: order.len(),
    });
    let mut planned: Vec<Option<Planned>> = planned.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| planned[i].take().map(|p| Work::Table(i, Box::new(p))))
        .collect()
}

/// Applies each table `work` hands over, until `work` ends: `concurrency` tables at a time,
/// shared out evenly between the (account, role, region) groups seen so far, so that work
/// arriving group by group never lets one account's tables take every slot.
/// AWS calls: the plan's actions (UpdateTable, RegisterScalableTarget, PutScalingPolicy,
/// DeleteScalingPolicy, DeregisterScalableTarget, DescribeTable while waiting), then a
/// read-back of each changed table: DescribeTable per table, its auto scaling in batches per
/// group. Stops starting tables once `cancel` is requested.
pub async fn apply_fleet(
    ctx: Arc<ApplyContext>,
    mut work: tokio::sync::mpsc::UnboundedReceiver<Work>,
) {
    use crate::slots::{Lane, Next, SlotMsg};
    let limit = ctx.opts.concurrency.max(1);
    let mut lanes: BTreeMap<Group, Lane<(usize, Box<Planned>)>> = BTreeMap::new();
    let mut total = 0usize;
    let (slot_tx, mut slot_rx) = tokio::sync::mpsc::unbounded_channel::<SlotMsg>();
    *ctx.slots.lock().unwrap_or_else(|e| e.into_inner()) = Some(slot_tx);
    // Table tasks return their group; read-back tasks return `None`.
    let mut tasks: tokio::task::JoinSet<Option<Group>> = tokio::task::JoinSet::new();
    let spawn_read_back = |tasks: &mut tokio::task::JoinSet<Option<Group>>, group, due| {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            read_back(&ctx, &group, due).await;
            None
        });
    };
    let mut open = true;
    loop {
        // Give out what the limits allow, one table per group per round (in each group, tables
        // coming back from a wait and new ones by turns).
        let per_group = (limit / lanes.len().max(1)).max(1);
        let mut started = true;
        while started && total < limit {
            started = false;
            for (group, lane) in lanes.iter_mut() {
                if total >= limit || lane.running >= per_group {
                    continue;
                }
                let Some(next) = lane.take_turn() else {
                    continue;
                };
                lane.running += 1;
                total += 1;
                started = true;
                match next {
                    Next::Resume(resume) => {
                        let _ = resume.send(());
                    }
                    Next::Start((i, p)) => {
                        tasks.spawn(run_table(ctx.clone(), group.clone(), i, p));
                    }
                }
            }
        }
        if !open && tasks.is_empty() {
            break;
        }
        tokio::select! {
            w = work.recv(), if open => match w {
                Some(Work::Table(i, p)) => {
                    let group = group_of(&p.desired);
                    ctx.read_backs.expect(&group);
                    lanes.entry(group).or_default().push_new((i, p));
                }
                Some(Work::GroupPlanned(group)) => {
                    let due = ctx.read_backs.planned(&group);
                    spawn_read_back(&mut tasks, group, due);
                }
                None => {
                    // Every table is planned: no group waits for more.
                    open = false;
                    for (group, due) in ctx.read_backs.all_planned() {
                        spawn_read_back(&mut tasks, group, due);
                    }
                }
            },
            Some(msg) = slot_rx.recv() => match msg {
                SlotMsg::Release(group) => {
                    total = total.saturating_sub(1);
                    if let Some(lane) = lanes.get_mut(&group) {
                        lane.running = lane.running.saturating_sub(1);
                    }
                }
                SlotMsg::Resume(group, tx) => {
                    lanes.entry(group).or_default().push_back_from_wait(tx)
                }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(Some(group)) = done {
                    total = total.saturating_sub(1);
                    if let Some(lane) = lanes.get_mut(&group) {
                        lane.running = lane.running.saturating_sub(1);
                    }
                }
            }
        }
    }
    *ctx.slots.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// One table's task. A panic stays this table's: it is failed (with what its actions
/// recorded), its group's read-back does not wait for it, and its slot is freed.
async fn run_table(
    ctx: Arc<ApplyContext>,
    group: Group,
    i: usize,
    p: Box<Planned>,
) -> Option<Group> {
    let run = std::panic::AssertUnwindSafe(apply_one(&ctx, i, p));
    if futures::FutureExt::catch_unwind(run).await.is_err() {
        tracing::error!(table = i, "applying the table panicked");
        let report = ctx.ledger.update(i, |t| {
            t.status = TableStatus::Failed;
            t.error = Some(ErrorReport {
                code: "Panic".into(),
                message: "ddb-fleet failed while applying this table (a bug): its actions say what was done".into(),
                retryable: true,
                detail: None,
            });
            t.clone()
        });
        ctx.failures.fetch_add(1, Ordering::SeqCst);
        ctx.events.event(&Event::TableFinished { report: &report });
        let due = ctx.read_backs.deposit(&group, None);
        Box::pin(read_back(&ctx, &group, due)).await;
    }
    Some(group)
}

async fn apply_one(ctx: &ApplyContext, i: usize, p: Box<Planned>) {
    let (opts, events, ledger) = (&ctx.opts, &*ctx.events, &*ctx.ledger);
    let group = group_of(&p.desired);
    let pending = if ctx.failures.load(Ordering::SeqCst) >= opts.max_failures {
        ledger.update(i, |t| {
            t.status = TableStatus::Skipped;
            t.skip_reason = Some(SkipReason::MaxFailures);
            t.error = Some(skip_error(
                SkipReason::MaxFailures,
                &format!(
                    "not started: {} tables had failed (--max-failures)",
                    opts.max_failures
                ),
            ));
        });
        events.event(&Event::TableFinished {
            report: &ledger.get(i),
        });
        None
    } else {
        apply_table(ctx, i, *p).await
    };
    let due = ctx.read_backs.deposit(&group, pending);
    // Boxed, as every large future a table awaits: a table task waiting (for a permit, for
    // ACTIVE) is then the size of its own state, not of the SDK calls it may make (15 KB).
    Box::pin(read_back(ctx, &group, due)).await;
}

/// A table whose actions ran, waiting for the batched read-back of its auto scaling.
struct Pending {
    i: usize,
    desired: DesiredTable,
    ran: Ran,
    /// DescribeTable's answer after the actions (`Ok`), then with its auto scaling.
    after: Result<ObservedTable, AwsError>,
}

/// Per (account, role, region): tables applied and waiting for their read-back.
#[derive(Default)]
struct ReadBacks(Mutex<HashMap<Group, Backlog>>);

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

    fn expect(&self, group: &Group) {
        self.with(group, |b| b.outstanding += 1);
    }

    fn deposit(&self, group: &Group, pending: Option<Pending>) -> Vec<Pending> {
        self.with(group, |b| {
            b.outstanding = b.outstanding.saturating_sub(1);
            b.pending.extend(pending);
            b.due()
        })
    }

    fn planned(&self, group: &Group) -> Vec<Pending> {
        self.with(group, |b| {
            b.planned = true;
            b.due()
        })
    }

    fn all_planned(&self) -> Vec<(Group, Vec<Pending>)> {
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

/// Reads back the auto scaling of a batch of one group's tables in one go, and concludes each.
async fn read_back(ctx: &ApplyContext, group: &Group, mut batch: Vec<Pending>) {
    if batch.is_empty() {
        return;
    }
    match ctx
        .factory
        .account_region(&group.0, group.1.as_ref(), &group.2)
        .await
    {
        Ok(c) => {
            let described = batch
                .iter_mut()
                .map(|p| (p.desired.table.as_str(), &mut p.after))
                .collect();
            ops::attach_scaling(&c, described, &ops::NamespacePolicies::default()).await;
        }
        Err(e) => batch.iter_mut().for_each(|p| p.after = Err(e.clone())),
    }
    for p in batch {
        conclude(ctx, p.i, &p.desired, &p.ran, p.after.map(Some));
    }
}

/// How running a table's actions went.
struct Ran {
    started: Instant,
    /// Something was changed.
    mutated: bool,
    /// The error that stopped the actions, and whether anything had changed before it.
    failure: Option<(AwsError, bool)>,
    interrupted: bool,
    /// Planned again before an UpdateTable, the table is to be left alone (already recorded).
    skipped: bool,
}

impl Ran {
    /// The actions stopped on `e`: a failure, or the run's interruption.
    fn stopped_by(&mut self, e: AwsError) {
        if e.code == "Interrupted" {
            self.interrupted = true;
        } else {
            self.failure = Some((e, self.mutated));
        }
    }
}

/// What checking a table before an UpdateTable came to.
enum Rechecked {
    /// The actions left are those a plan made now would take.
    Same,
    /// The table had changed: it now has this many actions, from the same step on.
    Replanned(usize),
    /// The table had changed and is now to be left alone (recorded as skipped).
    Skipped,
}

/// Before the UpdateTable at step `k`: reads the table (unless the wait just before read it:
/// `ready`), waiting until it and its GSIs are ready, plans the table again from it, and
/// when that differs from the actions left, takes the new plan (the report and the journal
/// say why). The state recorded as `before` becomes today's if nothing was changed yet.
#[allow(clippy::too_many_arguments)]
async fn recheck(
    ctx: &ApplyContext,
    i: usize,
    k: usize,
    d: &DesiredTable,
    clients: &AccountRegion,
    slot: &Option<crate::slots::SlotHandle>,
    ready: Option<Box<ObservedTable>>,
    mutated: bool,
) -> Result<Rechecked, AwsError> {
    let now = match ready {
        Some(o) => *o,
        None => match ops::read_if_ready(clients, &d.table).await.result? {
            Some(o) => o,
            None => {
                // Not ready (an update or a GSI in progress): wait without the slot.
                let policy = ctx.opts.wait.settled();
                let wait = ops::wait_active(clients, &d.table, &policy, &ctx.cancel);
                match slot {
                    Some(s) => s.without(wait).await.result?,
                    None => wait.await.result?,
                }
            }
        },
    };
    let (planned, done, left) = ctx.ledger.update(i, |t| {
        let actions = |r: &[ActionRecord]| r.iter().map(|a| a.action.clone()).collect::<Vec<_>>();
        (
            t.before.clone(),
            actions(&t.actions[..k]),
            actions(&t.actions[k..]),
        )
    });
    let Some(planned) = planned else {
        return Ok(Rechecked::Same);
    };
    let state = crate::recheck::current_state(&planned, now, unix_now());
    let plan = plan_table(d, &state);
    if plan.skip.is_none() && plan.actions == left {
        return Ok(Rechecked::Same);
    }
    let mut why = crate::recheck::drift(&simulate(&planned, &done), &state);
    if why.is_empty() {
        why.push("the table changed since it was planned".into());
    }
    let (report, previous) = ctx.ledger.update(i, |t| {
        let previous = t.actions.len();
        t.actions.truncate(k);
        t.actions.extend(
            plan.actions
                .iter()
                .map(|a| ActionRecord::unsent(a, &d.table, Outcome::NotAttempted)),
        );
        t.replanned = Some(format!(
            "planned again before step {}: {}",
            k + 1,
            why.join("; ")
        ));
        if let Some(skip) = &plan.skip {
            mark_skipped(t, skip, &state);
        }
        if !mutated {
            t.before = Some(state.clone());
        }
        (t.clone(), previous)
    });
    ctx.events.event(&Event::TableReplanned {
        report: &report,
        previous_actions: previous,
    });
    Ok(match plan.skip {
        Some(_) => Rechecked::Skipped,
        None => Rechecked::Replanned(k + plan.actions.len()),
    })
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs a table's actions in order (recorded in `ran`): an UpdateTable takes an UPDATING
/// permit first and is checked against the table as it is now (`recheck`); a wait for ACTIVE
/// gives the table's slot back while it waits.
async fn run_actions(
    ctx: &ApplyContext,
    i: usize,
    p: &Planned,
    clients: &AccountRegion,
    ran: &mut Ran,
) {
    let d = &p.desired;
    let group = group_of(d);
    let slot = ctx.slot(&group);
    // The permit of an UpdateTable sent, kept until the table is ACTIVE again.
    let mut updating: Option<tokio::sync::OwnedSemaphorePermit> = None;
    // The table as the last wait for ACTIVE read it (boxed: kept across the next wait), and
    // the step last checked against it.
    let mut ready: Option<Box<ObservedTable>> = None;
    // AWS answered the last UpdateTable with the table UPDATING: its wait reads it later.
    let mut settle = false;
    let mut checked = None;
    let (mut k, mut steps) = (0, p.steps);
    while k < steps {
        if ctx.cancel.is_requested() {
            ran.interrupted = true;
            break;
        }
        let kind = ctx.ledger.update(i, |t| t.actions[k].action.operation());
        if kind == "UpdateTable" && updating.is_none() {
            // Waiting for a permit, the table holds no slot: ACTIVE tables' work goes on.
            let permit = ctx.updating.acquire(&group);
            updating = Some(match &slot {
                Some(s) => s.without(permit).await,
                None => permit.await,
            });
        }
        // A plan made moments ago (streaming, nothing queued) is as fresh as a read would be.
        let fresh = ready.is_none() && p.planned_at.elapsed() < ctx.opts.reread_after;
        if kind == "UpdateTable" && checked != Some(k) && !fresh {
            // Read with the permit in hand: what the switch is built from is fresh.
            checked = Some(k);
            let check = recheck(ctx, i, k, d, clients, &slot, ready.take(), ran.mutated);
            match Box::pin(check).await {
                Ok(Rechecked::Same) => {}
                Ok(Rechecked::Replanned(n)) => {
                    (steps, updating) = (n, None);
                    continue;
                }
                Ok(Rechecked::Skipped) => {
                    ran.skipped = true;
                    break;
                }
                Err(e) => {
                    ran.stopped_by(e);
                    break;
                }
            }
        }
        let r = if kind == "WaitForActive" {
            let wait = Box::pin(step(ctx, i, k, d, clients, settle));
            let r = match &slot {
                Some(s) => s.without(wait).await,
                None => wait.await,
            };
            updating = None;
            r
        } else {
            Box::pin(step(ctx, i, k, d, clients, false)).await
        };
        match r {
            Ok(stepped) => {
                ran.mutated |= stepped.mutating;
                (ready, settle) = (stepped.ready, stepped.updating);
            }
            Err(e) => {
                ran.stopped_by(e);
                break;
            }
        }
        k += 1;
    }
}

/// Runs a table's actions in order, journalled, and reads the table back. Returns the table
/// when its auto scaling is still to be read back (in a batch); otherwise it is concluded.
async fn apply_table(ctx: &ApplyContext, i: usize, p: Planned) -> Option<Pending> {
    let (events, ledger, cancel) = (&*ctx.events, &*ctx.ledger, &ctx.cancel);
    if cancel.is_requested() {
        // Never started: stays `interrupted` with every action `not_attempted`.
        events.event(&Event::TableFinished {
            report: &ledger.get(i),
        });
        return None;
    }
    let mut ran = Ran {
        started: Instant::now(),
        mutated: false,
        failure: None,
        interrupted: false,
        skipped: false,
    };
    let d = &p.desired;
    let clients = ctx
        .factory
        .account_region(&d.account_id, d.role.as_ref(), &d.region);
    let clients = match Box::pin(clients).await {
        Ok(c) => c,
        Err(e) => {
            ran.failure = Some((e, false));
            conclude(ctx, i, d, &ran, Ok(None));
            return None;
        }
    };

    Box::pin(run_actions(ctx, i, &p, &clients, &mut ran)).await;

    // Read back what AWS now has, whatever happened: the report must say the truth.
    if ran.skipped && !ran.mutated {
        let report = ledger.get(i);
        events.event(&Event::TableFinished { report: &report });
        return None;
    }
    if !ran.mutated {
        let before = ledger.update(i, |t| t.before.clone());
        conclude(ctx, i, d, &ran, Ok(before));
        return None;
    }
    match Box::pin(ops::describe_table(&clients, &d.table))
        .await
        .result
    {
        Ok(Some(after)) => Some(Pending {
            i,
            desired: p.desired,
            ran,
            after: Ok(after),
        }),
        other => {
            conclude(ctx, i, d, &ran, other);
            None
        }
    }
}

/// What a step came to, when it did not fail.
struct Stepped {
    /// It changed something.
    mutating: bool,
    /// A wait for ACTIVE: the table as it then was.
    ready: Option<Box<ObservedTable>>,
    /// An UpdateTable AWS answered with the table UPDATING.
    updating: bool,
}

/// Runs action `k` of table `i`: recorded as started (journal included) before the request
/// is sent, then with its outcome. A wait for ACTIVE after an UpdateTable AWS answered with
/// the table UPDATING (`settle`) lets it settle for one poll interval before the first read.
async fn step(
    ctx: &ApplyContext,
    i: usize,
    k: usize,
    d: &DesiredTable,
    clients: &AccountRegion,
    settle: bool,
) -> Result<Stepped, AwsError> {
    let (opts, events, ledger) = (&ctx.opts, &*ctx.events, &*ctx.ledger);
    let wait = if settle {
        opts.wait.after_update()
    } else {
        opts.wait
    };
    let at = crate::report::Stamp::now();
    let intent = ledger.update(i, |t| {
        t.actions[k].outcome = Outcome::Started;
        t.actions[k].started_at = Some(at);
        t.actions[k].clone()
    });
    let action = &intent.action;
    events.event(&Event::ActionStarted {
        table: d,
        index: k,
        record: &intent,
    });
    let t0 = Instant::now();
    let r = ops::perform(
        clients,
        &d.table,
        action,
        &wait,
        opts.max_attempts,
        &ctx.cancel,
    )
    .await;
    let record = ledger.update(i, |t| {
        let rec = &mut t.actions[k];
        rec.attempts = r.attempts;
        rec.duration_ms = Some(t0.elapsed().as_millis() as u64);
        match &r.result {
            Ok(Performed::Done | Performed::Ready(_) | Performed::Updating) => {
                rec.outcome = Outcome::Succeeded
            }
            Ok(Performed::ConfirmedByReading) => {
                rec.outcome = Outcome::Succeeded;
                rec.confirmed_by_reading = true;
            }
            Ok(Performed::AlreadyAbsent) => rec.outcome = Outcome::AlreadyAbsent,
            Err(e) => {
                rec.outcome = Outcome::Failed;
                rec.error = Some(Box::new(e.into()));
            }
        }
        rec.clone()
    });
    events.event(&Event::ActionFinished {
        table: d,
        index: k,
        record: &record,
    });
    r.result.map(|performed| Stepped {
        mutating: action.is_mutating(),
        updating: performed == Performed::Updating,
        ready: match performed {
            Performed::Ready(o) => Some(o),
            _ => None,
        },
    })
}

/// Records a table's final status from how its actions ran and what AWS reports after them.
fn conclude(
    ctx: &ApplyContext,
    i: usize,
    d: &DesiredTable,
    ran: &Ran,
    after: Result<Option<ObservedTable>, AwsError>,
) {
    let report = ctx.ledger.update(i, |t| {
        t.duration_ms += ran.started.elapsed().as_millis() as u64;
        match &after {
            Ok(a) => t.after = a.clone(),
            Err(_) => t.after = None,
        }
        if ran.interrupted {
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
    if report.status == TableStatus::Failed {
        ctx.failures.fetch_add(1, Ordering::SeqCst);
    }
    ctx.events.event(&Event::TableFinished { report: &report });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_robins_across_account_regions() {
        let row = |account: &str, region: &str, table: &str| DesiredTable {
            account_id: account.into(),
            region: region.into(),
            ..DesiredTable::on_demand(table)
        };
        let rows = vec![
            row("1", "r1", "a"),
            row("1", "r1", "b"),
            row("1", "r1", "c"),
            row("2", "r1", "d"),
            row("1", "r2", "e"),
            row("2", "r1", "f"),
        ];
        let order = interleave(&rows, |i| &rows[i]);
        let names: Vec<&str> = order.iter().map(|&i| rows[i].table.as_str()).collect();
        // Groups in (region, account) order: (r1, 1), (r1, 2), (r2, 1).
        assert_eq!(names, ["a", "d", "e", "b", "f", "c"]);
    }

    /// At 10,000 tables most table tasks wait (for a permit, for ACTIVE); a task's memory is
    /// its future's size, fixed when it is spawned. The SDK calls a table awaits are boxed, so
    /// a task is its own state, not the largest call's (15 KB each, unboxed, in a release
    /// build; this debug build's sizes are larger).
    #[test]
    fn a_table_task_is_small_while_it_waits() {
        use crate::aws::{AwsSettings, Rates, RetryPolicy};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let size = rt.block_on(async {
            let factory = ClientFactory::new(AwsSettings {
                profile: None,
                endpoint_url: Some("http://127.0.0.1:9".into()),
                role_session_name: "test".into(),
                rates: Rates::default(),
                retry: RetryPolicy::default(),
                attempt_timeout: std::time::Duration::from_secs(1),
            })
            .await;
            let opts = RunOptions {
                concurrency: 1,
                wait: WaitPolicy::default(),
                max_attempts: 1,
                max_failures: 1,
                canary: None,
                history: History::default(),
                max_updating: 1,
                reread_after: std::time::Duration::ZERO,
            };
            let desired = DesiredTable::on_demand("t");
            let ctx = Arc::new(ApplyContext::new(
                Arc::new(factory),
                opts,
                Arc::new(crate::events::Sinks::default()),
                Arc::new(Ledger::default()),
                Arc::new(Cancel::default()),
            ));
            let planned = Planned {
                desired: desired.clone(),
                read: true,
                changes: true,
                steps: 0,
                planned_at: Instant::now(),
            };
            // The futures' sizes, from their types: no clients needed.
            fn output_size<'a, F>(_: impl FnOnce(&'a AccountRegion) -> F) -> usize {
                std::mem::size_of::<F>()
            }
            let (wait, cancel) = (ctx.opts.wait, Cancel::default());
            let wait_step =
                output_size(|c| ops::perform(c, "t", &Action::WaitForActive, &wait, 1, &cancel));
            let waiting = output_size(|c| ops::wait_active(c, "t", &wait, &cancel));
            let task = run_table(ctx, group_of(&desired), 0, Box::new(planned));
            [std::mem::size_of_val(&task), wait_step, waiting]
        });
        let [task, wait_step, waiting] = size;
        assert!(task < 6 * 1024, "a table task takes {task} bytes");
        // Besides the task, a wait holds its step and the wait itself: neither reserves room
        // for an UpdateTable or a DescribeTable (3.6 KB and 1.8 KB more per table in a
        // release build, with thousands waiting at once).
        assert!(wait_step < 256, "a wait's step takes {wait_step} bytes");
        assert!(waiting < 1024, "a wait between polls takes {waiting} bytes");
    }
}
