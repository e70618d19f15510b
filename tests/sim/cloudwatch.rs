//! CloudWatch's GetMetricData, as the simulator serves it over rpc-v2-cbor (the protocol of
//! the current `aws-sdk-cloudwatch`, which moto cannot serve): the `AWS/DynamoDB` metrics of
//! the simulator's tables, generated from each table's usage profile (the demand) and how it
//! is provisioned now ([`Serving`]):
//! - `Consumed*CapacityUnits` (Sum): the demand served: all of it on-demand, up to the maximum
//!   on-demand throughput when capped, up to the capacity when provisioned;
//! - `Read/WriteThrottleEvents` (Sum): demand over provisioned capacity,
//!   `Read/WriteMaxOnDemandThroughputThrottleEvents` (Sum): demand over the cap, each unit
//!   one request (a throttled request consumes nothing);
//! - `Provisioned*CapacityUnits` (Average): the capacity in force, provisioned tables only.
//!
//! The simulator keeps no history of capacity: the whole window is served as the table is now.
//! Auto scaling is served as AWS's target tracking aims for, capacity at demand / target within
//! [min, max] each minute, without its minutes of lag (so it throttles only above max): the
//! lag is what ddb-fleet's own model simulates, and the simulator must not copy that model.
//!
//! As AWS does: at most 500 queries per call; answers in time order with `ScanBy =
//! TimestampAscending` (newest first otherwise); pages of at most `MaxDatapoints` (default
//! 100,800) datapoints with a `NextToken`, a query cut mid-way marked `PartialData`; periods of
//! 60 s or multiples of 60; no datapoint for a period without requests or before the table
//! existed; buckets start at `StartTime` (ddb-fleet aligns it to the period, as AWS advises).

use super::cbor::Cbor;
use serde_json::Value;

/// How a table's consumption (units per second) moves over time.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// About `level` every minute (a few percent of noise).
    Steady(f64),
    /// `base` x (1 + `amplitude` x sin), one cycle a day.
    Daily { base: f64, amplitude: f64 },
    /// `base`, and `spike` for one minute every `every` minutes.
    Spiky { base: f64, spike: f64, every: u64 },
    /// Nothing: no datapoint at all.
    Idle,
    /// From `from` to `to`, linearly over the last 14 days.
    Growing { from: f64, to: f64 },
}

impl Profile {
    /// Units per second in the minute starting at `t` (epoch seconds); `now` anchors growth.
    pub fn rate(&self, t: i64, now: i64) -> f64 {
        let minute = t.div_euclid(60) as u64;
        match *self {
            Profile::Steady(level) => {
                // A fixed pseudo-random wobble per minute, within +-3 %.
                let h = minute.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54;
                level * (1.0 + (h as f64 / 1024.0 - 0.5) * 0.06)
            }
            Profile::Daily { base, amplitude } => {
                let day = (t.rem_euclid(86_400)) as f64 / 86_400.0;
                base * (1.0 + amplitude * (day * std::f64::consts::TAU).sin())
            }
            Profile::Spiky { base, spike, every } => {
                if minute.is_multiple_of(every.max(1)) {
                    spike
                } else {
                    base
                }
            }
            Profile::Idle => 0.0,
            Profile::Growing { from, to } => {
                let span = 14.0 * 86_400.0;
                let x = (1.0 - (now - t) as f64 / span).clamp(0.0, 1.0);
                from + (to - from) * x
            }
        }
    }
}

/// A table's usage: reads and writes of the table; each GSI consumes `gsi_share` of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SimUsage {
    pub read: Profile,
    pub write: Profile,
    pub gsi_share: f64,
}

/// How one side (reads or writes) of a table or GSI is provisioned now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Serving {
    /// On-demand, with its maximum on-demand throughput if capped.
    OnDemand(Option<i64>),
    Fixed(i64),
    /// Target tracking: (min, max, target %).
    AutoScaled(i64, i64, f64),
}

impl Serving {
    /// Units per second served of `demand`, and the capacity in force (provisioned).
    fn serve(self, demand: f64) -> (f64, Option<f64>) {
        match self {
            Serving::OnDemand(cap) => (cap.map_or(demand, |c| demand.min(c as f64)), None),
            Serving::Fixed(c) => (demand.min(c as f64), Some(c as f64)),
            Serving::AutoScaled(min, max, target) => {
                let c = ((demand * 100.0 / target).ceil() as i64).clamp(min, max.max(min)) as f64;
                (demand.min(c), Some(c))
            }
        }
    }
}

/// What a query asks about a table the simulator knows.
pub struct Lookup {
    pub usage: Option<SimUsage>,
    /// When the table was created, epoch seconds.
    pub created: i64,
    pub has_index: bool,
    /// How the table (or the GSI asked about) serves reads and writes.
    pub read: Serving,
    pub write: Serving,
}

type SimError = (&'static str, String);

struct Query {
    id: String,
    table: String,
    index: Option<String>,
    metric: String,
    stat: String,
    period: i64,
}

fn queries(body: &Value) -> Result<Vec<Query>, SimError> {
    let list = body["MetricDataQueries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return Err((
            "ValidationException",
            "MetricDataQueries is required".into(),
        ));
    }
    if list.len() > 500 {
        return Err((
            "ValidationException",
            "The collection MetricDataQueries must not have a size greater than 500.".into(),
        ));
    }
    list.iter()
        .map(|q| {
            let stat = &q["MetricStat"];
            let dims = stat["Metric"]["Dimensions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let dim = |name: &str| {
                dims.iter()
                    .find(|d| d["Name"] == name)
                    .and_then(|d| d["Value"].as_str())
                    .map(str::to_string)
            };
            let period = stat["Period"].as_i64().unwrap_or(0);
            if period < 60 || period % 60 != 0 {
                return Err((
                    "ValidationException",
                    format!("Period must be a multiple of 60, found {period}"),
                ));
            }
            if stat["Stat"] != "Sum" && stat["Stat"] != "Average" {
                return Err((
                    "ValidationException",
                    "the simulator serves the Sum and Average statistics".into(),
                ));
            }
            Ok(Query {
                id: q["Id"].as_str().unwrap_or_default().to_string(),
                table: dim("TableName").unwrap_or_default(),
                index: dim("GlobalSecondaryIndexName"),
                metric: stat["Metric"]["MetricName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                stat: stat["Stat"].as_str().unwrap_or_default().to_string(),
                period,
            })
        })
        .collect()
}

/// What a metric reports in one minute of a side: (the side, what of the minute it reports).
type Measure = fn(served: f64, demand: f64, capacity: Option<f64>) -> Option<f64>;

/// The side a metric is about and how a minute gives its value (`None`: no datapoint).
fn measure(metric: &str) -> Option<(bool, Measure)> {
    let consumed: Measure = |served, _, _| Some(served);
    let over: Measure = |served, demand, capacity| capacity.map(|_| demand - served);
    let over_cap: Measure =
        |served, demand, capacity| capacity.is_none().then_some(demand - served);
    let capacity: Measure = |_, _, capacity| capacity;
    Some(match metric {
        "ConsumedReadCapacityUnits" => (true, consumed),
        "ConsumedWriteCapacityUnits" => (false, consumed),
        "ReadThrottleEvents" => (true, over),
        "WriteThrottleEvents" => (false, over),
        "ReadMaxOnDemandThroughputThrottleEvents" => (true, over_cap),
        "WriteMaxOnDemandThroughputThrottleEvents" => (false, over_cap),
        "ProvisionedReadCapacityUnits" => (true, capacity),
        "ProvisionedWriteCapacityUnits" => (false, capacity),
        _ => return None,
    })
}

/// The datapoints of one query: (period start, Sum or Average), oldest first.
fn points(q: &Query, lookup: &Lookup, start: i64, end: i64, now: i64) -> Vec<(i64, f64)> {
    let (Some(usage), Some((read, measure))) = (&lookup.usage, measure(&q.metric)) else {
        return vec![];
    };
    if q.index.is_some() && !lookup.has_index {
        return vec![];
    }
    let share = if q.index.is_some() {
        usage.gsi_share
    } else {
        1.0
    };
    let (profile, serving) = if read {
        (&usage.read, lookup.read)
    } else {
        (&usage.write, lookup.write)
    };
    let average = q.stat == "Average";
    let mut out = Vec::new();
    let mut t = start;
    while t + q.period <= end {
        if t >= lookup.created {
            let minutes: Vec<f64> = (0..q.period / 60)
                .filter_map(|m| {
                    let demand = profile.rate(t + m * 60, now) * share;
                    let (served, capacity) = serving.serve(demand);
                    measure(served, demand, capacity)
                })
                .collect();
            let value = if average {
                minutes.iter().sum::<f64>() / minutes.len().max(1) as f64
            } else {
                minutes.iter().sum::<f64>() * 60.0
            };
            // DynamoDB publishes no datapoint for a minute without requests or throttles.
            if !minutes.is_empty() && (value > 0.0 || average) {
                out.push((t, value));
            }
        }
        t += q.period;
    }
    out
}

/// GetMetricData. `lookup(table, index)` tells what the simulator knows of a table (and
/// whether it has that GSI); the answer and how many datapoints it holds.
pub fn get_metric_data(
    body: &Value,
    now: i64,
    lookup: impl Fn(&str, Option<&str>) -> Option<Lookup>,
) -> Result<(Cbor, usize), SimError> {
    let queries = queries(body)?;
    let (start, end) = match (body["StartTime"].as_f64(), body["EndTime"].as_f64()) {
        (Some(s), Some(e)) if s < e => (s as i64, e as i64),
        _ => {
            return Err((
                "ValidationException",
                format!(
                    "StartTime must be before EndTime, found {} and {}",
                    body["StartTime"], body["EndTime"]
                ),
            ))
        }
    };
    let ascending = body["ScanBy"] == "TimestampAscending";
    let max = body["MaxDatapoints"].as_u64().unwrap_or(100_800) as usize;
    let (mut qi, mut pi) = match body["NextToken"].as_str().and_then(|t| t.split_once(':')) {
        Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
        None => (0usize, 0usize),
    };
    let mut results = Vec::new();
    let mut budget = max;
    let mut served = 0;
    while qi < queries.len() && budget > 0 {
        let q = &queries[qi];
        let mut pts = lookup(&q.table, q.index.as_deref())
            .map(|l| points(q, &l, start, end, now))
            .unwrap_or_default();
        if !ascending {
            pts.reverse();
        }
        let take = (pts.len() - pi.min(pts.len())).min(budget);
        let page = &pts[pi.min(pts.len())..pi.min(pts.len()) + take];
        let complete = pi + take >= pts.len();
        results.push(Cbor::Map(vec![
            ("Id".into(), Cbor::Text(q.id.clone())),
            ("Label".into(), Cbor::Text(q.metric.clone())),
            (
                "Timestamps".into(),
                Cbor::Array(page.iter().map(|(t, _)| Cbor::Time(*t)).collect()),
            ),
            (
                "Values".into(),
                Cbor::Array(page.iter().map(|(_, v)| Cbor::Float(*v)).collect()),
            ),
            (
                "StatusCode".into(),
                Cbor::Text(if complete { "Complete" } else { "PartialData" }.into()),
            ),
        ]));
        budget -= take;
        served += take;
        if complete {
            (qi, pi) = (qi + 1, 0);
        } else {
            pi += take;
        }
    }
    let mut answer = vec![
        ("MetricDataResults".into(), Cbor::Array(results)),
        ("Messages".into(), Cbor::Array(vec![])),
    ];
    if qi < queries.len() {
        answer.push(("NextToken".into(), Cbor::Text(format!("{qi}:{pi}"))));
    }
    Ok((Cbor::Map(answer), served))
}
