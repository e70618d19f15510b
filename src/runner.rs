//! The fleet runner: reads every table's state, plans it, and (for `apply`) realises the
//! plans concurrently, table by table, recording every step in the [`Ledger`].
//!
//! `plan` and `apply` share [`observe_and_plan`]; `apply` then calls [`apply_fleet`]. One
//! table's failure never stops the others: it is recorded and the run goes on.

use crate::aws::ops::{self, Performed, WaitPolicy};
use crate::aws::{AwsError, ClientFactory, ErrorKind};
use crate::cancel::Cancel;
use crate::events::{Event, EventSink};
use crate::model::*;
use crate::planner::{plan_table, Action, SkipReason, TablePlan};
use crate::report::*;
use futures::{FutureExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// Switches to on-demand recorded by earlier runs (`--history`).
    pub history: History,
}

/// (account, role, region): the tables that share clients, credentials and rate limits.
type Group = (String, Option<RoleSpec>, String);

/// Switch-to-on-demand times (RFC 3339) recorded by earlier runs, per (account, region, table).
pub type History = HashMap<(String, String, String), Vec<String>>;

/// The switches to on-demand of the last 24 hours before `now` (epoch seconds), oldest first:
/// the recorded ones (the same record read twice counts once) and the table's own
/// `LastUpdateToPayPerRequestDateTime`, unless a recorded switch is that same switch (AWS's
/// time follows the request by at most seconds).
pub fn recent_switches(observed: Option<&str>, recorded: &[String], now: i64) -> Vec<String> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let secs = |t: &str| {
        DateTime::from_str(t, Format::DateTime)
            .ok()
            .map(|d| d.secs())
    };
    let mut times: Vec<i64> = recorded.iter().filter_map(|t| secs(t)).collect();
    times.sort_unstable();
    times.dedup();
    if let Some(o) = observed.and_then(secs) {
        if !times.iter().any(|r| (o - r).abs() <= 60) {
            times.push(o);
        }
    }
    times.sort_unstable();
    times
        .into_iter()
        .filter(|&t| now - t < 86_400 && t <= now + 60)
        .filter_map(|t| DateTime::from_secs(t).fmt(Format::DateTime).ok())
        .collect()
}

/// A table's plan. The state it was planned from is the ledger's `before` (kept once: at
/// 10,000 tables, every copy of the fleet's state is tens of megabytes).
#[derive(Debug, Clone)]
pub struct Planned {
    pub desired: DesiredTable,
    /// Whether the state could be read (a missing table is an error, in the ledger).
    pub read: bool,
    pub plan: TablePlan,
}

impl Planned {
    pub fn changes_anything(&self) -> bool {
        self.read && self.plan.changes_anything()
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
    /// One entry per desired table, `interrupted` until the run says otherwise.
    pub fn new(tables: &[DesiredTable]) -> Self {
        let ledger = Ledger::default();
        ledger.init(tables);
        ledger
    }

    /// Starts the ledger over with these tables (once patterns are expanded).
    pub fn init(&self, tables: &[DesiredTable]) {
        *self.tables.lock().unwrap_or_else(|e| e.into_inner()) = tables
            .iter()
            .map(|d| TableReport {
                account_id: d.account_id.clone(),
                region: d.region.clone(),
                table: d.table.clone(),
                source: d.source.clone(),
                desired: d.into(),
                status: TableStatus::Interrupted,
                skip_reason: None,
                next_switch_allowed_at: None,
                actions: vec![],
                before: None,
                after: None,
                error: None,
                duration_ms: 0,
            })
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

fn table_not_found(d: &DesiredTable) -> AwsError {
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

/// Reads every table's state and plans it. AWS calls: STS GetCallerIdentity (only for rows
/// without an account id), AssumeRole once per role, DescribeTable per table, and
/// DescribeScalableTargets / DescribeScalingPolicies in batches per (account, region).
/// Rows that come with an error (a failed pattern expansion) are failed as they are.
/// Fills the ledger's `before`, `actions` (as planned) and status.
pub async fn observe_and_plan(
    factory: &ClientFactory,
    rows: Vec<(DesiredTable, Option<AwsError>)>,
    opts: &RunOptions,
    events: &dyn EventSink,
    ledger: &Ledger,
    plan_only: bool,
) -> Vec<Planned> {
    let (mut tables, known_errors): (Vec<DesiredTable>, Vec<Option<AwsError>>) =
        rows.into_iter().unzip();
    events.event(&Event::ReadStarted {
        tables: tables.len(),
    });
    let started = Instant::now();

    // Rows from the single-table flags carry no account id: it is the caller's own.
    let mut caller_accounts: HashMap<String, Result<String, AwsError>> = HashMap::new();
    for d in tables.iter_mut().filter(|d| d.account_id.is_empty()) {
        if !caller_accounts.contains_key(&d.region) {
            let r = factory.caller_account(&d.region).await;
            caller_accounts.insert(d.region.clone(), r);
        }
        if let Some(Ok(a)) = caller_accounts.get(&d.region) {
            d.account_id = a.clone();
        }
    }

    // DescribeTable for every table, `concurrency` at a time, spread across accounts.
    let order = interleave(&tables, |i| &tables[i]);
    let mut described: Vec<(usize, Result<ObservedTable, AwsError>)> = futures::stream::iter(order)
        .map(|i| {
            let d = &tables[i];
            let caller = caller_accounts.get(&d.region).cloned();
            let known = known_errors[i].clone();
            async move {
                if let Some(e) = known {
                    return Err(e);
                }
                if let Some(Err(e)) = caller {
                    return Err(e);
                }
                let c = factory
                    .account_region(&d.account_id, d.role.as_ref(), &d.region)
                    .await?;
                ops::describe_table(&c, &d.table)
                    .await
                    .result?
                    .ok_or_else(|| table_not_found(d))
            }
            .map(move |r: Result<ObservedTable, AwsError>| (i, r))
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;
    described.sort_by_key(|(i, _)| *i);
    let described: Vec<Result<ObservedTable, AwsError>> =
        described.into_iter().map(|(_, r)| r).collect();

    // Auto scaling for every (account, role, region) group, in batches.
    let mut groups: BTreeMap<Group, Vec<usize>> = BTreeMap::new();
    for (i, d) in tables.iter().enumerate() {
        if described[i].is_ok() {
            groups
                .entry((d.account_id.clone(), d.role.clone(), d.region.clone()))
                .or_default()
                .push(i);
        }
    }
    let (described_ref, tables_ref) = (&described, &tables);
    let scaling: Vec<(Vec<usize>, Result<ops::Scaling, AwsError>)> = futures::stream::iter(groups)
        .map(|((account, role, region), members)| async move {
            let mut ids = Vec::new();
            for &i in &members {
                if let Ok(o) = &described_ref[i] {
                    ids.extend(ops::resource_ids(&tables_ref[i].table, o));
                }
            }
            let r = match factory
                .account_region(&account, role.as_ref(), &region)
                .await
            {
                Ok(c) => ops::describe_scaling(&c, &ids).await,
                Err(e) => Err(e),
            };
            (members, r)
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect()
        .await;

    let mut observed = described;
    for (members, result) in scaling {
        match result {
            Ok(mut s) => {
                for i in members {
                    if let Ok(o) = &mut observed[i] {
                        s.attach(&tables[i].table, o);
                    }
                }
            }
            Err(e) => {
                for i in members {
                    observed[i] = Err(e.clone());
                }
            }
        }
    }

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    for (i, o) in observed.iter_mut().enumerate() {
        if let Ok(o) = o {
            let d = &tables[i];
            let key = (d.account_id.clone(), d.region.clone(), d.table.clone());
            let recorded = opts
                .history
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or_default();
            o.recent_switches_to_on_demand =
                recent_switches(o.last_switch_to_on_demand.as_deref(), recorded, now);
        }
    }

    let read_ms = started.elapsed().as_millis() as u64;
    let mut planned: Vec<Planned> = Vec::with_capacity(tables.len());
    for (i, (desired, observed)) in tables.into_iter().zip(observed).enumerate() {
        let plan = match &observed {
            Ok(o) => plan_table(&desired, o),
            Err(_) => TablePlan::default(),
        };
        let p = Planned {
            read: observed.is_ok(),
            desired,
            plan,
        };
        ledger.update(i, |t| {
            // The caller's account is known only now for single-table rows.
            t.account_id = p.desired.account_id.clone();
            t.duration_ms = read_ms;
            t.actions = p
                .plan
                .actions
                .iter()
                .map(|a| ActionRecord {
                    action: a.clone(),
                    target: a.target(&p.desired.table),
                    outcome: if plan_only {
                        Outcome::Planned
                    } else {
                        Outcome::NotAttempted
                    },
                    attempts: 0,
                    started_at: None,
                    duration_ms: None,
                    error: None,
                })
                .collect();
            match observed {
                Err(e) => {
                    t.status = TableStatus::Failed;
                    t.error = Some((&e).into());
                }
                Ok(o) => {
                    if let Some((reason, message)) = &p.plan.skip {
                        t.status = TableStatus::Skipped;
                        t.skip_reason = Some(*reason);
                        t.error = Some(skip_error(*reason, message));
                        if *reason == SkipReason::SwitchLimit {
                            t.next_switch_allowed_at = o
                                .recent_switches_to_on_demand
                                .first()
                                .and_then(|first| crate::planner::add_day(first));
                        }
                    } else if !p.plan.changes_anything() {
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
        });
        if plan_only || !p.changes_anything() {
            events.event(&Event::TableFinished {
                report: &ledger.get(i),
            });
        }
        planned.push(p);
    }
    planned
}

fn skip_error(reason: SkipReason, message: &str) -> ErrorReport {
    let code = serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    ErrorReport {
        code,
        message: message.to_string(),
        retryable: matches!(
            reason,
            SkipReason::SwitchLimit | SkipReason::NotActive | SkipReason::MaxFailures
        ),
    }
}

/// Applies every plan that changes something, `concurrency` tables at a time. AWS calls: the
/// plan's actions (UpdateTable, RegisterScalableTarget, PutScalingPolicy,
/// DeleteScalingPolicy, DeregisterScalableTarget, DescribeTable while waiting), then a
/// read-back of each changed table. Stops starting tables once `cancel` is requested.
/// What every table task of an apply shares. Each table runs as its own task, so the tasks
/// (and their HTTP connections) spread over the runtime's threads.
pub struct ApplyContext {
    pub factory: Arc<ClientFactory>,
    pub planned: Vec<Planned>,
    pub opts: RunOptions,
    pub events: Arc<dyn EventSink>,
    pub ledger: Arc<Ledger>,
    pub cancel: Arc<Cancel>,
}

pub async fn apply_fleet(ctx: Arc<ApplyContext>) {
    let (planned, opts, events, ledger) = (&ctx.planned, &ctx.opts, &*ctx.events, &*ctx.ledger);
    let mut work: Vec<usize> = interleave(planned, |i| &planned[i].desired)
        .into_iter()
        .filter(|&i| planned[i].changes_anything())
        .collect();
    if let Some(n) = opts.canary {
        // The canary is the first `n` of the interleaved order: spread over accounts. The rest
        // stays as planned, for the next run.
        for &i in &work[n.min(work.len())..] {
            ledger.mark_not_applied(i);
            events.event(&Event::TableFinished {
                report: &ledger.get(i),
            });
        }
        work.truncate(n);
    }
    events.event(&Event::ApplyStarted { tables: work.len() });
    let failures = Arc::new(AtomicUsize::new(0));
    futures::stream::iter(work)
        .map(|i| {
            let ctx = ctx.clone();
            let failures = failures.clone();
            tokio::spawn(async move { apply_one(&ctx, i, &failures).await })
        })
        .buffer_unordered(opts.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
}

async fn apply_one(ctx: &ApplyContext, i: usize, failures: &AtomicUsize) {
    let (opts, events, ledger) = (&ctx.opts, &*ctx.events, &*ctx.ledger);
    if failures.load(Ordering::SeqCst) >= opts.max_failures {
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
        return;
    }
    apply_table(
        &ctx.factory,
        i,
        &ctx.planned[i],
        opts,
        events,
        ledger,
        &ctx.cancel,
    )
    .await;
    if ledger.update(i, |t| t.status == TableStatus::Failed) {
        failures.fetch_add(1, Ordering::SeqCst);
    }
}

async fn apply_table(
    factory: &ClientFactory,
    i: usize,
    p: &Planned,
    opts: &RunOptions,
    events: &dyn EventSink,
    ledger: &Ledger,
    cancel: &Cancel,
) {
    if cancel.is_requested() {
        // Never started: stays `interrupted` with every action `not_attempted`.
        events.event(&Event::TableFinished {
            report: &ledger.get(i),
        });
        return;
    }
    let started = Instant::now();
    let d = &p.desired;
    let finish = |f: &dyn Fn(&mut TableReport)| {
        ledger.update(i, |t| {
            f(t);
            t.duration_ms += started.elapsed().as_millis() as u64;
        });
        events.event(&Event::TableFinished {
            report: &ledger.get(i),
        });
    };
    let clients = match factory
        .account_region(&d.account_id, d.role.as_ref(), &d.region)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            finish(&|t| {
                t.status = TableStatus::Failed;
                t.error = Some((&e).into());
            });
            return;
        }
    };

    let mut failure: Option<(AwsError, bool)> = None; // (error, anything changed before it)
    let mut mutated = false;
    let mut interrupted = false;
    for (k, action) in p.plan.actions.iter().enumerate() {
        if cancel.is_requested() {
            interrupted = true;
            break;
        }
        let at = now_rfc3339();
        let intent = ledger.update(i, |t| {
            t.actions[k].outcome = Outcome::Started;
            t.actions[k].started_at = Some(at.clone());
            t.actions[k].clone()
        });
        // Recorded (journal included) before the request is sent.
        events.event(&Event::ActionStarted {
            table: d,
            index: k,
            record: &intent,
        });
        let t0 = Instant::now();
        let r = ops::perform(
            &clients,
            &d.table,
            action,
            &opts.wait,
            opts.max_attempts,
            cancel,
        )
        .await;
        let record = ledger.update(i, |t| {
            let rec = &mut t.actions[k];
            rec.attempts = r.attempts;
            rec.duration_ms = Some(t0.elapsed().as_millis() as u64);
            match &r.result {
                Ok(Performed::Done) => rec.outcome = Outcome::Succeeded,
                Ok(Performed::AlreadyAbsent) => rec.outcome = Outcome::AlreadyAbsent,
                Err(e) => {
                    rec.outcome = Outcome::Failed;
                    rec.error = Some(e.into());
                }
            }
            rec.clone()
        });
        events.event(&Event::ActionFinished {
            table: d,
            index: k,
            record: &record,
        });
        match r.result {
            Ok(_) => mutated |= action.is_mutating(),
            Err(e) if e.code == "Interrupted" => {
                interrupted = true;
                break;
            }
            Err(e) => {
                failure = Some((e, mutated));
                break;
            }
        }
    }

    // Read back what AWS now has, whatever happened: the report must say the truth.
    let after = if mutated {
        ops::observe_one(&clients, &d.table).await
    } else {
        Ok(ledger.update(i, |t| t.before.clone()))
    };

    finish(&|t| {
        match &after {
            Ok(a) => t.after = a.clone(),
            Err(_) => t.after = None,
        }
        if interrupted {
            t.status = TableStatus::Interrupted;
            return;
        }
        if let Some((e, changed_before)) = &failure {
            match e.kind {
                ErrorKind::SwitchLimit => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::SwitchLimit);
                    t.next_switch_allowed_at = e.next_switch_allowed_at();
                }
                _ if e.code == "WaitTimeout" && !changed_before => {
                    t.status = TableStatus::Skipped;
                    t.skip_reason = Some(SkipReason::NotActive);
                }
                _ => t.status = TableStatus::Failed,
            }
            t.error = Some(e.into());
            return;
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
                    });
                } else {
                    t.status = TableStatus::Changed;
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
                });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_robins_across_account_regions() {
        let row = |account: &str, region: &str, table: &str| DesiredTable {
            source: Source {
                file: "f".into(),
                line: 1,
            },
            account_id: account.into(),
            role: None,
            region: region.into(),
            table: table.into(),
            mode: DesiredMode::OnDemand,
            indexes: IndexScope::All,
            index_overrides: Default::default(),
            restore: None,
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
}

#[cfg(test)]
mod history_tests {
    use super::recent_switches;

    #[test]
    fn recent_switches_merge_dedupe_and_window() {
        let now = 1_795_000_000; // some time in 2026
        let at = |secs: i64| {
            aws_smithy_types::DateTime::from_secs(secs)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap()
        };
        let observed = at(now - 100);
        let recorded = vec![
            at(now - 100 - 2), // the same switch: recorded when sent, seen by DescribeTable
            at(now - 3_600),
            at(now - 3_590),  // a real switch ten seconds after another
            at(now - 3_600),  // the same record read twice
            at(now - 90_000), // older than 24 hours
            "not a time".to_string(),
        ];
        let r = recent_switches(Some(&observed), &recorded, now);
        assert_eq!(r, vec![at(now - 3_600), at(now - 3_590), at(now - 102)]);
        // A switch seen only by DescribeTable counts.
        assert_eq!(
            recent_switches(Some(&observed), &[], now),
            vec![at(now - 100)]
        );
        assert!(recent_switches(None, &[], now).is_empty());
    }
}
