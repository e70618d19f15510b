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
/// (14 days of minutes: 20,160 values per dimension) while it is advised. Enough for the model
/// to keep two cores busy while the next tables' usage is read. Measured at 10,000 tables after
/// an apply: 8 took 155 s and 279 MB, 6 178 s and 268 MB (the target is under 300 MB).
pub const IN_FLIGHT: usize = 6;

/// Of those, at most this many from one (account, region). Its CloudWatch calls go at its own
/// rate: when one group's batch of 16 tables held every slot, they queued for that rate while
/// the CPU idled (10,000 tables after an apply: 365 s, now 178 s).
const GROUP_IN_FLIGHT: usize = 2;

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
/// (`cost::commitments`); nothing to do without reserved capacity in the prices.
pub fn share_reserved(tables: &mut [TableAdvice], job: &AdviseJob) {
    let reserved =
        job.prices.regions.values().any(|r| {
            r.commitments.reserved_read.is_some() || r.commitments.reserved_write.is_some()
        });
    if !reserved {
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
    // Sharing only makes each table's current setting cheaper against its other options (its
    // share covers what it has now): a recommendation may be withdrawn, never made, so the
    // owners read for recommended tables are all that is needed.
    for t in tables {
        if let Some(a) = &t.advice {
            let status = TableAdvice::status_of(a);
            if !(t.status == AdviceStatus::Managed && status == AdviceStatus::Recommended) {
                t.status = status;
            }
            t.reason = a.reason.clone();
        }
    }
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
    Collected {
        tables: collector.tables.into_iter().flatten().collect(),
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
        let ownership = &shared.job.ownership;
        match ops::read_owner(c, &d.table, &o, ownership).await {
            Ok(owner) => {
                if owner.is_managed() && !ownership.include_managed {
                    status = AdviceStatus::Managed;
                }
                o.owner = Some(owner);
            }
            Err(_) => {
                return TableAdvice {
                    reason: "interrupted before its owner was read".into(),
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

/// What is asked of CloudWatch for one dimension: its consumed units, its throttled requests
/// (for provisioned capacity and at the maximum on-demand throughput) at the job's period,
/// and, for a provisioned table, the capacity in force by the hour.
const CONSUMED: usize = 0;
const THROTTLED: usize = 1;
const CAP_THROTTLED: usize = 2;
const PROVISIONED: usize = 3;

/// The metrics of one table, per dimension (the table's and each GSI's reads and writes) in
/// the order of [`CONSUMED`], [`THROTTLED`], [`CAP_THROTTLED`] (and [`PROVISIONED`] for a
/// provisioned table); and the dimensions.
fn requests(table: &str, o: &ObservedTable, period: u32) -> (Vec<MetricRequest>, Vec<ScalingKey>) {
    let mut keys: Vec<ScalingKey> = Side::BOTH.iter().map(|s| ScalingKey::table(*s)).collect();
    for i in &o.indexes {
        keys.extend(Side::BOTH.iter().map(|s| ScalingKey::index(&i.name, *s)));
    }
    let provisioned = o.billing_mode == BillingMode::Provisioned;
    let mut requests = Vec::new();
    for k in &keys {
        let read = k.side == Side::Read;
        let mut metrics = vec![
            (
                if read {
                    metrics::CONSUMED_READ
                } else {
                    metrics::CONSUMED_WRITE
                },
                metrics::SUM,
                period,
            ),
            (
                if read {
                    metrics::READ_THROTTLES
                } else {
                    metrics::WRITE_THROTTLES
                },
                metrics::SUM,
                period,
            ),
            (
                if read {
                    metrics::READ_CAP_THROTTLES
                } else {
                    metrics::WRITE_CAP_THROTTLES
                },
                metrics::SUM,
                period,
            ),
        ];
        if provisioned {
            let metric = if read {
                metrics::PROVISIONED_READ
            } else {
                metrics::PROVISIONED_WRITE
            };
            metrics.push((metric, metrics::AVERAGE, 3600));
        }
        requests.extend(
            metrics
                .into_iter()
                .map(|(metric, stat, period)| MetricRequest {
                    table: table.to_string(),
                    index: k.index.clone(),
                    metric,
                    stat,
                    period,
                }),
        );
    }
    (requests, keys)
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
    let (requests, keys) = requests(table, o, job.period);
    // The capacity by the hour: from the hour the window starts in.
    let fetch_start = start.div_euclid(3600) * 3600;
    let mut fetched = metrics::get_metric_data(c, &requests, fetch_start, job.end).await?;
    let counters = &shared.counters;
    counters.calls.fetch_add(fetched.calls, Ordering::Relaxed);
    counters
        .metrics
        .fetch_add(fetched.metrics, Ordering::Relaxed);
    counters
        .datapoints
        .fetch_add(fetched.datapoints, Ordering::Relaxed);
    let periods = ((job.end - start) / period).max(0) as usize;
    let per_dim = if o.billing_mode == BillingMode::Provisioned {
        4
    } else {
        3
    };
    let mut dims = Vec::with_capacity(keys.len());
    for (n, key) in keys.into_iter().enumerate() {
        let mut take = |what: usize| std::mem::take(&mut fetched.series[n * per_dim + what]);
        let consumed = take(CONSUMED);
        let mut s = Series::zeros(job.period, start, periods);
        for (k, v) in indexed(&consumed, start, period, periods) {
            s.sums[k] += v;
        }
        let measured = (per_dim > PROVISIONED)
            .then(|| crate::cost::usage::average_in_force(&take(PROVISIONED), start, job.end, 3600))
            .flatten();
        dims.push(DimUsage {
            key,
            series: s,
            throttled: indexed(&take(THROTTLED), start, period, periods),
            cap_throttled: indexed(&take(CAP_THROTTLED), start, period, periods),
            measured_capacity: measured,
        });
    }
    Ok(TableUsage {
        dims,
        days_of_data: (job.end - start) as f64 / 86_400.0,
        window_days: (job.end - job.start) as f64 / 86_400.0,
    })
}
