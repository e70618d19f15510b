//! Executing, the run's third stage: [`apply_fleet`] runs each planned table as its own task,
//! within the work slots (`--concurrency`, given back while a table waits), the UPDATING
//! permits (`--max-updating`) and the rate limits. Each action is recorded as started before
//! it is sent; before each UpdateTable the table is read and planned again ([`recheck`]).
//! A table whose actions changed something goes on to the read-back stage.

use super::ledger::{mark_skipped, skip_error};
use super::read_back::{conclude, read_back_guarded, Pending, Ran, ReadBacks, Recording};
use super::{group_of, unix_now, Group, Ledger, Planned, RunOptions, Work};
use crate::aws::ops::{self, Performed};
use crate::aws::{AccountRegion, AwsError, ClientFactory, ErrorKind};
use crate::cancel::Cancel;
use crate::events::{Event, EventSink};
use crate::model::*;
use crate::planner::{plan_table, simulate, SkipReason};
use crate::report::*;
use crate::slots::{Lane, Next, SlotHandle, SlotMsg, Updating};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    pub(super) read_backs: ReadBacks,
    /// Permits for tables UPDATING at once, per (account, region): AWS's concurrent
    /// operations are counted there, whichever role the rows use.
    updating: Updating<(String, String)>,
    /// Where table tasks give back and ask again for their slots (set by `apply_fleet`).
    slots: Mutex<Option<tokio::sync::mpsc::UnboundedSender<SlotMsg<Group>>>>,
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
            updating: Updating::new(opts.max_updating),
            slots: Mutex::new(None),
            opts,
        }
    }

    /// Keeps the UPDATING permit of a table not seen ACTIVE (its wait timed out or failed):
    /// it may still be UPDATING. A task of its own polls the table and gives the permit back
    /// once it is ACTIVE, or after one more `--wait-timeout`, or at a stop.
    fn hold_until_active(
        &self,
        permit: tokio::sync::OwnedSemaphorePermit,
        clients: Arc<AccountRegion>,
        table: String,
    ) {
        let (wait, cancel) = (self.opts.wait, self.cancel.clone());
        tokio::spawn(async move {
            let _ = ops::wait_active(&clients, &table, &wait, &cancel).await;
            drop(permit);
        });
    }

    /// What the read-back stage records with.
    fn recording(&self) -> Recording<'_> {
        Recording {
            factory: &self.factory,
            ledger: &self.ledger,
            events: &*self.events,
            failures: &self.failures,
        }
    }

    fn slot(&self, group: &Group) -> Option<SlotHandle<Group>> {
        let tx = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        Some(SlotHandle::new(tx, group.clone()))
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
    let limit = ctx.opts.concurrency.max(1);
    let mut lanes: BTreeMap<Group, Lane<(usize, Box<Planned>)>> = BTreeMap::new();
    let mut total = 0usize;
    let (slot_tx, mut slot_rx) = tokio::sync::mpsc::unbounded_channel::<SlotMsg<Group>>();
    *ctx.slots.lock().unwrap_or_else(|e| e.into_inner()) = Some(slot_tx);
    // Table tasks return their group; read-back tasks return `None`.
    let mut tasks: tokio::task::JoinSet<Option<Group>> = tokio::task::JoinSet::new();
    let spawn_read_back = |tasks: &mut tokio::task::JoinSet<Option<Group>>, group, due| {
        let ctx = ctx.clone();
        tasks.spawn(async move {
            read_back_guarded(&ctx.recording(), &group, due).await;
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
/// recorded), its group's read-back does not wait for it, and its slot is freed, once: the
/// task returns its group only if it holds its slot (one given back before a wait is not
/// given back again).
async fn run_table(
    ctx: Arc<ApplyContext>,
    group: Group,
    i: usize,
    p: Box<Planned>,
) -> Option<Group> {
    let slot = ctx.slot(&group);
    let run = std::panic::AssertUnwindSafe(apply_one(&ctx, i, p, slot.clone()));
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
        Box::pin(read_back_guarded(&ctx.recording(), &group, due)).await;
    }
    slot.is_none_or(|s| s.holds()).then_some(group)
}

async fn apply_one(ctx: &ApplyContext, i: usize, p: Box<Planned>, slot: Option<SlotHandle<Group>>) {
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
        apply_table(ctx, i, *p, slot).await
    };
    let due = ctx.read_backs.deposit(&group, pending);
    // Boxed, as every large future a table awaits: a table task waiting (for a permit, for
    // ACTIVE) is then the size of its own state, not of the SDK calls it may make (15 KB).
    Box::pin(read_back_guarded(&ctx.recording(), &group, due)).await;
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
    slot: &Option<SlotHandle<Group>>,
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

/// Runs a table's actions in order (recorded in `ran`): an UpdateTable takes an UPDATING
/// permit first and is checked against the table as it is now (`recheck`); a wait for ACTIVE
/// gives the table's slot back while it waits.
async fn run_actions(
    ctx: &ApplyContext,
    i: usize,
    p: &Planned,
    clients: &Arc<AccountRegion>,
    ran: &mut Ran,
    slot: Option<SlotHandle<Group>>,
) {
    let d = &p.desired;
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
            // Waiting for a permit, the table holds no slot: ACTIVE tables' work goes on. A
            // stop ends the wait: a table parked here sends nothing.
            let key = (d.account_id.clone(), d.region.clone());
            let permit = async {
                tokio::select! {
                    biased;
                    _ = ctx.cancel.requested() => None,
                    p = ctx.updating.acquire(&key) => Some(p),
                }
            };
            let permit = match &slot {
                Some(s) => s.without(permit).await,
                None => permit.await,
            };
            match permit {
                Some(p) => updating = Some(p),
                None => {
                    ran.interrupted = true;
                    break;
                }
            }
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
            // The permit goes back once the table is seen ACTIVE; a table not seen so (the
            // wait timed out or failed) may still be UPDATING: it keeps the permit until it is.
            if let (Err(e), Some(p)) = (&r, updating.take()) {
                if !e.is_interrupted() {
                    ctx.hold_until_active(p, clients.clone(), d.table.clone());
                }
            }
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
                ran.mutated |= e.may_have_landed;
                ran.stopped_by(e);
                break;
            }
        }
        k += 1;
    }
}

/// Runs a table's actions in order, journalled, and reads the table back. Returns the table
/// when its auto scaling is still to be read back (in a batch); otherwise it is concluded.
async fn apply_table(
    ctx: &ApplyContext,
    i: usize,
    p: Planned,
    slot: Option<SlotHandle<Group>>,
) -> Option<Pending> {
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
            ran.stopped_by(e);
            conclude(&ctx.recording(), i, d, &ran, Ok(None));
            return None;
        }
    };

    Box::pin(run_actions(ctx, i, &p, &clients, &mut ran, slot)).await;

    // Read back what AWS now has, whatever happened: the report must say the truth.
    if ran.skipped && !ran.mutated {
        let report = ledger.get(i);
        events.event(&Event::TableFinished { report: &report });
        return None;
    }
    if !ran.mutated {
        let before = ledger.update(i, |t| t.before.clone());
        conclude(&ctx.recording(), i, d, &ran, Ok(before));
        return None;
    }
    match Box::pin(crate::aws::finishing(ops::describe_table(
        &clients, &d.table,
    )))
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
            conclude(&ctx.recording(), i, d, &ran, other);
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
    let started = Event::ActionStarted {
        table: d,
        index: k,
        record: &intent,
    };
    // A write's intent is on disk before it is sent: the table waits (holding no runtime worker)
    // for the journal's fsync, which serves every write waiting at that moment.
    if !action.is_mutating() {
        events.event(&started);
    } else if let Err(why) = events.event_durably(&started).on_disk().await {
        // Not recorded, not sent: a write must never be without its record.
        let e = AwsError::new(
            "JournalWriteFailed",
            format!("{why}: the change was not sent"),
            ErrorKind::Permanent,
        );
        let record = ledger.update(i, |t| {
            let rec = &mut t.actions[k];
            rec.outcome = Outcome::Failed;
            rec.error = Some(Box::new((&e).into()));
            rec.clone()
        });
        events.event(&Event::ActionFinished {
            table: d,
            index: k,
            record: &record,
        });
        return Err(e);
    }
    let t0 = Instant::now();
    let mut r = ops::perform(
        clients,
        &d.table,
        action,
        &wait,
        opts.max_attempts,
        &ctx.cancel,
    )
    .await;
    if let Err(e) = &mut r.result {
        // Only a write can have landed; a read whose answer was lost changed nothing.
        e.may_have_landed &= action.is_mutating();
        if e.may_have_landed {
            e.message = format!(
                "no answer, and it could not be read whether it landed (it may have): {}",
                e.message
            );
        }
    }
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
            // Rollback and `--history` count it: AWS may have done it.
            Err(e) if e.may_have_landed => {
                rec.outcome = Outcome::Started;
                rec.error = Some(Box::new(e.into()));
            }
            // The stop came before anything was sent.
            Err(e) if e.is_interrupted() && r.attempts == 0 => {
                rec.outcome = Outcome::NotAttempted;
                rec.started_at = None;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ops::WaitPolicy;
    use crate::history::History;
    use crate::planner::Action;

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
                ownership: Default::default(),
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
