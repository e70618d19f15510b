//! Reading every table's state and usage, and advising it ([`advise_fleet`]): per (account,
//! role, region), DescribeTable for each table, its auto scaling in batches, then its
//! CloudWatch usage (GetMetricData) and the cost model, table by table. Read-only.
//!
//! Memory stays bounded however large the fleet: a table's minute-by-minute series live only
//! while it is advised (at most [`IN_FLIGHT`] tables at once, at most [`GROUP_IN_FLIGHT`] of
//! one account and region), and only the
//! [`CHARTED`] tables with the largest savings keep their hourly profiles for the HTML page.

use super::report::{AdviceStatus, CloudWatchUse, TableAdvice};
use crate::aws::metrics::{self, MetricRequest};
use crate::aws::{ops, AccountRegion, AwsError, ClientFactory};
use crate::cancel::Cancel;
use crate::cost::recommend::{DimUsage, TableUsage};
use crate::cost::{advise_table, Policy, PriceBook, Series};
use crate::events::{Event, EventSink};
use crate::model::*;
use crate::runner::{table_not_found, Group};
use futures::StreamExt;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Tables whose usage is being read or modelled at once, fleet-wide: each holds its series
/// (14 days of minutes: 20,160 values per dimension) and CloudWatch's answer while it is
/// advised. The model takes under 2 ms a table: what these slots wait on is CloudWatch. Measured
/// (2026-12-05, 20 ms a call): 6 slots (2 a group) gave 1,000 tables 0.44 of the quota bound;
/// 12 (4 a group) 0.61, and 10,000 tables 278 MB; 16 295 MB (the target is under 300 MB).
pub const IN_FLIGHT: usize = 12;

/// Of those, at most this many from one (account, region). Its CloudWatch calls go at its own
/// rate: when one group's batch of 16 tables held every slot, they queued for that rate while
/// the rest idled.
const GROUP_IN_FLIGHT: usize = 4;

/// Tables whose hourly profiles are kept for the HTML page: those with the largest savings.
pub const CHARTED: usize = 50;

/// Tables described before their auto scaling is read in one batch.
const READ_BATCH: usize = 16;

/// What an `advise` run works with.
#[derive(Debug, Clone)]
pub struct AdviseJob {
    /// What the report says the run used.
    pub settings: super::report::AdviceSettings,
    pub prices: PriceBook,
    pub policy: Policy,
    /// Seconds per CloudWatch period.
    pub period: u32,
    /// The window, epoch seconds, aligned to the period: [start, end).
    pub start: i64,
    pub end: i64,
    /// When the run started (the limits' windows end here), epoch seconds.
    pub now: i64,
    /// Limited changes earlier runs recorded (`--history`).
    pub history: crate::history::History,
    pub concurrency: usize,
    /// Which tags mark a managed table, and whether its recommendation is written anyway.
    pub ownership: crate::ownership::Ownership,
}

/// Shares each region's reserved capacity out over its advised tables and decides them again
/// (`cost::commitments`); nothing to do without reserved capacity in the prices. A table the
/// sharing makes recommended has its owner read then, as any recommended table has.
async fn share_reserved(factory: &ClientFactory, tables: &mut [TableAdvice], job: &AdviseJob) {
    if !job
        .prices
        .regions
        .values()
        .any(|r| r.commitments.has_reserved())
    {
        return;
    }
    let advised = tables
        .iter_mut()
        .filter_map(|t| {
            let (Some(advice), Some(observed)) = (t.advice.as_deref_mut(), t.state.as_deref())
            else {
                return None;
            };
            Some(crate::cost::commitments::Advised {
                region: &t.region,
                observed,
                advice,
            })
        })
        .collect();
    crate::cost::commitments::share_reserved(advised, &job.prices, &job.policy);
    let unread: Vec<&mut TableAdvice> = tables
        .iter_mut()
        .filter_map(|t| settle_after_sharing(t).then_some(t))
        .collect();
    futures::stream::iter(unread)
        .for_each_concurrent(job.concurrency.max(1), |t| async move {
            let role = t.role_arn.clone().map(|role_arn| RoleSpec {
                role_arn,
                external_id: t.external_id.clone(),
            });
            let Some(o) = t.state.as_deref_mut() else {
                return;
            };
            let status = match factory
                .account_region(&t.account_id, role.as_ref(), &t.region)
                .await
            {
                Ok(c) => owned_status(&c, &t.table, o, &job.ownership).await,
                Err(e) => Err(e),
            };
            match status {
                Ok(s) => t.status = s,
                Err(_) => {
                    t.status = AdviceStatus::Skipped;
                    t.reason = OWNER_INTERRUPTED.into();
                }
            }
        })
        .await;
}

/// The tables' advice, in input order, and the CloudWatch requests made.
pub struct Collected {
    pub tables: Vec<TableAdvice>,
    pub cloudwatch: CloudWatchUse,
}

/// Every result as it comes, and which tables keep their charts.
struct Collector {
    tables: Vec<Option<TableAdvice>>,
    /// The charted tables: (saving in cents, index), smallest first.
    charted: BinaryHeap<std::cmp::Reverse<(i64, usize)>>,
}

impl Collector {
    fn put(&mut self, i: usize, mut t: TableAdvice) {
        let saving = t
            .advice
            .as_ref()
            .map_or(i64::MIN, |a| (a.monthly_saving * 100.0).round() as i64);
        self.charted.push(std::cmp::Reverse((saving, i)));
        let dropped = if self.charted.len() > CHARTED {
            self.charted.pop().map(|std::cmp::Reverse((_, j))| j)
        } else {
            None
        };
        match dropped {
            Some(j) if j == i => strip_charts(&mut t),
            Some(j) => {
                if let Some(Some(other)) = self.tables.get_mut(j) {
                    strip_charts(other);
                }
            }
            None => {}
        }
        self.tables[i] = Some(t);
    }
}

fn strip_charts(t: &mut TableAdvice) {
    if let Some(a) = &mut t.advice {
        for d in &mut a.dimensions {
            d.usage.hourly = Vec::new();
            d.usage.hourly_peak = Vec::new();
            d.current_hourly = Vec::new();
            d.provisioned_hourly = Vec::new();
        }
    }
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    metrics: AtomicU64,
    datapoints: AtomicU64,
}

/// What every group's task shares.
struct Shared<'a> {
    factory: &'a ClientFactory,
    job: &'a AdviseJob,
    events: &'a dyn EventSink,
    cancel: &'a Cancel,
    collector: Mutex<Collector>,
    counters: Counters,
    slots: tokio::sync::Semaphore,
    /// The model runs one table per core at a time: more at once only multiplies its working
    /// memory (several copies of each dimension's 20,160 rates) without finishing sooner.
    models: tokio::sync::Semaphore,
}

impl Shared<'_> {
    fn done(&self, i: usize, t: TableAdvice) {
        self.events.event(&Event::TableAdvised { advice: &t });
        self.collector
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .put(i, t);
    }
}

/// Advises every row (patterns already expanded; a row with an error fails as it is). AWS
/// calls: AssumeRole once per role, DescribeTable per table, DescribeScalableTargets /
/// DescribeScalingPolicies in batches, CloudWatch GetMetricData per table (every page), and
/// ListTagsOfResource per table with a recommended change (who manages it).
pub async fn advise_fleet(
    factory: &ClientFactory,
    rows: Vec<(DesiredTable, Option<AwsError>)>,
    job: &AdviseJob,
    events: &dyn EventSink,
    cancel: &Cancel,
) -> Collected {
    events.event(&Event::ReadStarted { tables: rows.len() });
    let shared = Shared {
        factory,
        job,
        events,
        cancel,
        collector: Mutex::new(Collector {
            tables: (0..rows.len()).map(|_| None).collect(),
            charted: BinaryHeap::new(),
        }),
        counters: Counters::default(),
        slots: tokio::sync::Semaphore::new(IN_FLIGHT),
        models: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        ),
    };
    let mut groups: BTreeMap<Group, Vec<(usize, DesiredTable)>> = BTreeMap::new();
    for (i, (d, err)) in rows.into_iter().enumerate() {
        match err {
            Some(e) => shared.done(i, failed(&d, &e)),
            None => groups
                .entry((d.account_id.clone(), d.role.clone(), d.region.clone()))
                .or_default()
                .push((i, d)),
        }
    }
    let per_group = (job.concurrency / groups.len().max(1)).max(1);
    let shared_ref = &shared;
    futures::stream::iter(groups)
        .map(
            |(key, members)| async move { advise_group(shared_ref, key, members, per_group).await },
        )
        .buffer_unordered(job.concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
    let collector = shared
        .collector
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut tables: Vec<TableAdvice> = collector.tables.into_iter().flatten().collect();
    share_reserved(factory, &mut tables, job).await;
    Collected {
        tables,
        cloudwatch: CloudWatchUse {
            calls: shared.counters.calls.into_inner(),
            metrics_requested: shared.counters.metrics.into_inner(),
            datapoints: shared.counters.datapoints.into_inner(),
        },
    }
}

fn entry(d: &DesiredTable, status: AdviceStatus) -> TableAdvice {
    TableAdvice {
        account_id: d.account_id.clone(),
        region: d.region.clone(),
        table: d.table.clone(),
        source: d.source.clone(),
        role_arn: d.role.as_ref().map(|r| r.role_arn.clone()),
        external_id: d.role.as_ref().and_then(|r| r.external_id.clone()),
        status,
        reason: String::new(),
        advice: None,
        state: None,
        error: None,
    }
}

fn failed(d: &DesiredTable, e: &AwsError) -> TableAdvice {
    TableAdvice {
        error: Some(e.into()),
        ..entry(d, AdviceStatus::Failed)
    }
}

async fn advise_group(
    shared: &Shared<'_>,
    (account, role, region): (String, Option<RoleSpec>, String),
    members: Vec<(usize, DesiredTable)>,
    parallel: usize,
) {
    let c = match shared
        .factory
        .account_region(&account, role.as_ref(), &region)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            for (i, d) in &members {
                shared.done(*i, failed(d, &e));
            }
            return;
        }
    };
    let c = &*c;
    let namespace = ops::NamespacePolicies::for_group(members.len());
    let namespace = &namespace;
    let own_slots = &tokio::sync::Semaphore::new(GROUP_IN_FLIGHT);
    futures::stream::iter(members)
        .map(|(i, d)| async move {
            if shared.cancel.is_requested() {
                return (i, d, Err(AwsError::interrupted()));
            }
            let r = ops::describe_table(c, &d.table)
                .await
                .result
                .and_then(|o| o.ok_or_else(|| table_not_found(&d)));
            (i, d, r)
        })
        .buffered(parallel)
        .chunks(READ_BATCH)
        .map(|mut batch| async move {
            let described = batch
                .iter_mut()
                .map(|(_, d, r)| (d.table.as_str(), r))
                .collect();
            ops::attach_scaling(c, described, namespace).await;
            futures::future::join_all(batch.into_iter().map(|(i, d, r)| async move {
                let t = match r {
                    Err(e) if e.is_interrupted() => TableAdvice {
                        reason: "interrupted before it was advised".into(),
                        ..entry(&d, AdviceStatus::Skipped)
                    },
                    Err(e) => failed(&d, &e),
                    Ok(_) if shared.cancel.is_requested() => TableAdvice {
                        reason: "interrupted before it was advised".into(),
                        ..entry(&d, AdviceStatus::Skipped)
                    },
                    Ok(o) => advise_one(shared, c, own_slots, &d, o).await,
                };
                shared.done(i, t);
            }))
            .await;
        })
        .buffer_unordered(2)
        .collect::<Vec<()>>()
        .await;
}

/// One table: its usage from CloudWatch, then the model (on a blocking thread: a table's
/// simulations take milliseconds). It takes one of its (account, region)'s `own_slots`, then
/// one of the run's.
async fn advise_one(
    shared: &Shared<'_>,
    c: &AccountRegion,
    own_slots: &tokio::sync::Semaphore,
    d: &DesiredTable,
    o: ObservedTable,
) -> TableAdvice {
    let base = entry(d, AdviceStatus::Skipped);
    let mut o = o;
    let key = (d.account_id.clone(), d.region.clone(), d.table.clone());
    let (switches, classes) = shared.job.history.of(&key);
    crate::history::fill_recent(&mut o, switches, classes, shared.job.now);
    if !o.replicas.is_empty() {
        return TableAdvice {
            reason: format!(
                "global table (replicas in {}): a mode change applies to every replica; not advised",
                o.replicas.join(", ")
            ),
            state: Some(Box::new(o)),
            ..base
        };
    }
    let Some(prices) = shared.job.prices.region(&d.region).cloned() else {
        // Checked before any AWS call for inventories; a discovered region may still lack one.
        return TableAdvice {
            status: AdviceStatus::Failed,
            error: Some(crate::report::ErrorReport {
                code: "NoPrices".into(),
                message: format!("no prices for region {}: give them with --prices", d.region),
                retryable: false,
                detail: None,
            }),
            ..base
        };
    };
    let _own_slot = own_slots.acquire().await;
    let _slot = shared.slots.acquire().await;
    let usage = match usage(shared, c, &d.table, &o).await {
        Ok(u) => u,
        Err(e) => {
            return TableAdvice {
                state: Some(Box::new(o)),
                ..failed(d, &e)
            }
        }
    };
    let policy = shared.job.policy;
    let model = shared.models.acquire().await;
    let (advice, mut o) =
        tokio::task::spawn_blocking(move || (advise_table(&o, &usage, &prices, &policy), o))
            .await
            .expect("the cost model does not panic");
    // The owner is read with the table's slots given back: its series are gone.
    drop((model, _slot, _own_slot));
    let mut status = TableAdvice::status_of(&advice);
    if status == AdviceStatus::Recommended {
        match owned_status(c, &d.table, &mut o, &shared.job.ownership).await {
            Ok(s) => status = s,
            Err(_) => {
                return TableAdvice {
                    reason: OWNER_INTERRUPTED.into(),
                    state: Some(Box::new(o)),
                    ..base
                }
            }
        }
    }
    TableAdvice {
        status,
        reason: advice.reason.clone(),
        advice: Some(Box::new(advice)),
        state: Some(Box::new(o)),
        ..base
    }
}

/// A table's status once sharing reserved capacity decided it again; `true` when it is now
/// recommended and its owner was never read (it was not recommended before): its status
/// waits for the owner.
fn settle_after_sharing(t: &mut TableAdvice) -> bool {
    let Some(a) = &t.advice else {
        return false;
    };
    let status = TableAdvice::status_of(a);
    t.reason = a.reason.clone();
    let owner_read = t.state.as_ref().is_some_and(|o| o.owner.is_some());
    match (t.status, status) {
        (AdviceStatus::Managed, AdviceStatus::Recommended) => false,
        (_, AdviceStatus::Recommended) if !owner_read => true,
        (_, s) => {
            t.status = s;
            false
        }
    }
}

/// Why a recommended table was not advised after all.
const OWNER_INTERRUPTED: &str = "interrupted before its owner was read";

/// Who manages a recommended table (its tags), recorded in `o`: `Managed` when a stack or a
/// `--managed-tag` owns it and `--include-managed` is not given, else still `Recommended`.
async fn owned_status(
    c: &AccountRegion,
    table: &str,
    o: &mut ObservedTable,
    ownership: &crate::ownership::Ownership,
) -> Result<AdviceStatus, AwsError> {
    let owner = ops::read_owner(c, table, o, ownership).await?;
    let managed = owner.is_managed() && !ownership.include_managed;
    o.owner = Some(owner);
    Ok(if managed {
        AdviceStatus::Managed
    } else {
        AdviceStatus::Recommended
    })
}

/// What a metric of a dimension is for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Use {
    Consumed,
    Throttled,
    CapThrottled,
    Capacity,
}

/// The metrics of one dimension: its consumed units; the requests throttled that its mode can
/// throttle, for want of provisioned capacity or at the maximum on-demand throughput (asking
/// for the one its mode has, the two are never counted twice, whatever AWS's general metric
/// includes); and, provisioned, the capacity in force by the hour.
fn dimension_metrics(side: Side, provisioned: bool) -> Vec<(Use, &'static str, &'static str)> {
    let read = side == Side::Read;
    let pick = |r, w| if read { r } else { w };
    let mut out = vec![(
        Use::Consumed,
        pick(metrics::CONSUMED_READ, metrics::CONSUMED_WRITE),
        metrics::SUM,
    )];
    if provisioned {
        out.push((
            Use::Throttled,
            pick(metrics::READ_THROTTLES, metrics::WRITE_THROTTLES),
            metrics::SUM,
        ));
        out.push((
            Use::Capacity,
            pick(metrics::PROVISIONED_READ, metrics::PROVISIONED_WRITE),
            metrics::AVERAGE,
        ));
    } else {
        out.push((
            Use::CapThrottled,
            pick(metrics::READ_CAP_THROTTLES, metrics::WRITE_CAP_THROTTLES),
            metrics::SUM,
        ));
    }
    out
}

/// The metrics of one table (the table's and each GSI's reads and writes, each as
/// [`dimension_metrics`] says), each with its dimension's number and use.
fn requests(
    table: &str,
    o: &ObservedTable,
    period: u32,
) -> (Vec<MetricRequest>, Vec<(usize, Use)>, Vec<ScalingKey>) {
    let mut keys: Vec<ScalingKey> = Side::BOTH.iter().map(|s| ScalingKey::table(*s)).collect();
    for i in &o.indexes {
        keys.extend(Side::BOTH.iter().map(|s| ScalingKey::index(&i.name, *s)));
    }
    let provisioned = o.billing_mode == BillingMode::Provisioned;
    let (mut requests, mut uses) = (Vec::new(), Vec::new());
    for (n, k) in keys.iter().enumerate() {
        for (what, metric, stat) in dimension_metrics(k.side, provisioned) {
            requests.push(MetricRequest {
                table: table.to_string(),
                index: k.index.clone(),
                metric,
                stat,
                period: if what == Use::Capacity { 3600 } else { period },
            });
            uses.push((n, what));
        }
    }
    (requests, uses, keys)
}

/// Datapoints as (period of the series from `start`, value), those inside it.
fn indexed(points: &[(i64, f64)], start: i64, period: i64, periods: usize) -> Vec<(usize, f64)> {
    points
        .iter()
        .filter_map(|(t, v)| {
            let k = usize::try_from((t - start).div_euclid(period)).ok()?;
            (k < periods && *v > 0.0).then_some((k, *v))
        })
        .collect()
}

/// The table's usage over the window (from its creation, if later).
async fn usage(
    shared: &Shared<'_>,
    c: &AccountRegion,
    table: &str,
    o: &ObservedTable,
) -> Result<TableUsage, AwsError> {
    let job = shared.job;
    let period = i64::from(job.period);
    let created = o
        .created_at
        .as_deref()
        .and_then(|t| {
            aws_smithy_types::DateTime::from_str(t, aws_smithy_types::date_time::Format::DateTime)
                .ok()
        })
        .map_or(job.start, |t| t.secs());
    // The first whole period the table existed in; at least the last period is read, so a
    // table created minutes ago still shows whether its metrics can be read.
    let start = job
        .start
        .max((created + period - 1).div_euclid(period) * period)
        .min(job.end - period);
    let (requests, uses, keys) = requests(table, o, job.period);
    // The capacity by the hour: from the hour the window starts in (`advise` keeps the
    // window's start inside CloudWatch's retention for that).
    let fetch_start = start.div_euclid(3600) * 3600;
    let fetched = metrics::get_metric_data(c, &requests, fetch_start, job.end).await?;
    let counters = &shared.counters;
    counters.calls.fetch_add(fetched.calls, Ordering::Relaxed);
    counters
        .metrics
        .fetch_add(fetched.metrics, Ordering::Relaxed);
    counters
        .datapoints
        .fetch_add(fetched.datapoints, Ordering::Relaxed);
    let periods = ((job.end - start) / period).max(0) as usize;
    let mut dims: Vec<DimUsage> = keys
        .into_iter()
        .map(|key| DimUsage::consumed(key, Series::zeros(job.period, start, periods)))
        .collect();
    for ((n, what), points) in uses.into_iter().zip(fetched.series) {
        let d = &mut dims[n];
        match what {
            Use::Consumed => {
                for (k, v) in indexed(&points, start, period, periods) {
                    d.series.sums[k] += v;
                }
            }
            Use::Throttled => d.throttled = indexed(&points, start, period, periods),
            Use::CapThrottled => d.cap_throttled = indexed(&points, start, period, periods),
            Use::Capacity => {
                d.measured_capacity =
                    crate::cost::usage::average_in_force(&points, start, job.end, 3600)
            }
        }
    }
    Ok(TableUsage {
        dims,
        days_of_data: (job.end - start) as f64 / 86_400.0,
        window_days: (job.end - job.start) as f64 / 86_400.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::recommend::Verdict;

    fn advised(status: AdviceStatus, verdict: Verdict, owner: Option<Owner>) -> TableAdvice {
        let mut o = ObservedTable::active(BillingMode::OnDemand, 0, &[]);
        o.owner = owner;
        let d = DesiredTable::on_demand("t");
        let mut advice = crate::cost::advise_table(
            &o,
            &crate::cost::TableUsage {
                dims: vec![],
                days_of_data: 14.0,
                window_days: 14.0,
            },
            crate::cost::PriceBook::builtin()
                .region("us-east-1")
                .unwrap(),
            &Policy::DEFAULT,
        );
        advice.verdict = verdict;
        TableAdvice {
            advice: Some(Box::new(advice)),
            state: Some(Box::new(o)),
            ..entry(&d, status)
        }
    }

    #[test]
    fn a_table_sharing_makes_recommended_waits_for_its_owner() {
        // Not recommended before (its owner never read), recommended now: the owner first.
        let mut t = advised(AdviceStatus::Unchanged, Verdict::Recommended, None);
        assert!(settle_after_sharing(&mut t));
        assert_eq!(
            t.status,
            AdviceStatus::Unchanged,
            "not recommended until its owner is read"
        );
        // A managed table stays managed; one read and free is recommended; a withdrawn one is
        // unchanged.
        let stack = Owner::Stack("s".into());
        let mut t = advised(AdviceStatus::Managed, Verdict::Recommended, Some(stack));
        assert!(!settle_after_sharing(&mut t));
        assert_eq!(t.status, AdviceStatus::Managed);
        let mut t = advised(
            AdviceStatus::Recommended,
            Verdict::Recommended,
            Some(Owner::None),
        );
        assert!(!settle_after_sharing(&mut t));
        assert_eq!(t.status, AdviceStatus::Recommended);
        let mut t = advised(
            AdviceStatus::Recommended,
            Verdict::Unchanged,
            Some(Owner::None),
        );
        assert!(!settle_after_sharing(&mut t));
        assert_eq!(t.status, AdviceStatus::Unchanged);
    }

    #[test]
    fn each_mode_asks_for_the_throttling_it_can_have() {
        let names = |provisioned| -> Vec<&str> {
            dimension_metrics(Side::Read, provisioned)
                .into_iter()
                .map(|(_, m, _)| m)
                .collect()
        };
        assert_eq!(
            names(true),
            [
                "ConsumedReadCapacityUnits",
                "ReadThrottleEvents",
                "ProvisionedReadCapacityUnits"
            ]
        );
        assert_eq!(
            names(false),
            [
                "ConsumedReadCapacityUnits",
                "ReadMaxOnDemandThroughputThrottleEvents"
            ]
        );
    }
}
