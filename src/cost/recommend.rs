//! The recommendation for one table ([`advise_table`]): pure, from the table's state, its
//! usage and its region's prices.
//!
//! - Every dimension (the table and each GSI, reads and writes) is priced on-demand (units
//!   consumed x the price per request unit), under its current setting (on-demand, a fixed
//!   capacity, or its own auto scaling simulated as `autoscale` does), and under the cheapest
//!   auto scaling thresholds the model finds that throttle no more minutes than the current
//!   setting (`search`).
//! - Billing mode is table-wide: each option sums the table's and its GSIs' costs; the table
//!   class multiplies in with storage (`TableSizeBytes`) at each class's prices.
//! - The cheapest option is recommended only if it saves at least `min_savings_percent` % and
//!   `min_savings` a month against what the table costs now; otherwise the table stays as it
//!   is, with the reason. A table whose settings are the recommendation gets it again: the
//!   current thresholds are among the candidates and ties keep what is there.

use super::autoscale::{Behaviour, Setting};
use super::prices::{ClassPrices, RegionPrices};
use super::search::{self, Floor, SideInput};
use super::usage::{Series, UsageSummary};
use crate::model::*;
use crate::planner::{SWITCHES_TO_ON_DEMAND_PER_DAY, TABLE_CLASS_CHANGES_PER_30_DAYS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days in the average month, for monthly figures: 365 / 12.
pub const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

/// Bytes in a GB of storage as DynamoDB bills it.
const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// How one dimension's capacity is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Capacity {
    OnDemand,
    /// Provisioned without (complete) auto scaling.
    Fixed {
        units: i64,
    },
    /// Provisioned with target-tracking auto scaling.
    AutoScaled(Thresholds),
}

/// One dimension: the table or a GSI, reads or writes.
#[derive(Debug, Clone, PartialEq)]
pub struct DimUsage {
    pub key: ScalingKey,
    pub series: Series,
}

/// A table's usage over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct TableUsage {
    pub dims: Vec<DimUsage>,
    /// Days the window covers for this table (a newer table: since it was created).
    pub days_of_data: f64,
    /// Days asked for (`--days`).
    pub window_days: f64,
    /// Read and write throttle events CloudWatch counted in the window.
    pub throttle_events: f64,
}

/// The thresholds `advise` works to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub min_savings_percent: f64,
    pub min_savings: f64,
    pub min_days: f64,
    /// `--cap-on-demand`: caps at this many times the observed peak per second.
    pub cap_factor: Option<f64>,
    pub max_capacity_units: i64,
}

/// A table's capacity settings: what it has, or what is recommended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub mode: BillingMode,
    pub table_class: TableClass,
    /// Per dimension, for provisioned tables.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub capacity: Vec<DimCapacity>,
    /// Maximum on-demand throughput, for on-demand tables (the table's).
    #[serde(flatten)]
    pub caps: OnDemandCaps,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub index_caps: BTreeMap<String, OnDemandCaps>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimCapacity {
    #[serde(flatten)]
    pub key: ScalingKey,
    #[serde(flatten)]
    pub capacity: Capacity,
}

/// The monthly cost of one way to run the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionCost {
    /// `current`, `on_demand` or `provisioned`.
    pub option: String,
    pub mode: BillingMode,
    pub table_class: TableClass,
    pub throughput_monthly: f64,
    pub storage_monthly: f64,
    pub monthly: f64,
    /// Minutes the simulation throttled, all dimensions together.
    pub throttled_minutes: u64,
}

/// One dimension's usage and what each setting does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimAdvice {
    #[serde(flatten)]
    pub key: ScalingKey,
    pub usage: UsageSummary,
    pub current: Capacity,
    pub current_throttled_minutes: u64,
    /// The cheapest auto scaling the model found within the throttling of the current
    /// setting, and its throttled minutes; absent when none was found.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provisioned: Option<Thresholds>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub provisioned_throttled_minutes: Option<u64>,
    /// Hourly capacity under the current and the provisioned setting (charts only).
    #[serde(skip)]
    pub current_hourly: Vec<f32>,
    #[serde(skip)]
    pub provisioned_hourly: Vec<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A change saves enough: `recommended` differs from `current`.
    Recommended,
    /// Stays as it is (already the cheapest, or the saving is too small): see `reason`.
    Unchanged,
    /// Under `--min-days` of data: no change.
    InsufficientData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// The advice for one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    pub verdict: Verdict,
    pub reason: String,
    pub confidence: Confidence,
    pub days_of_data: f64,
    /// Share of the window the data covers (0 to 1).
    pub data_coverage: f64,
    pub current: Settings,
    pub recommended: Settings,
    pub monthly_now: f64,
    pub monthly_recommended: f64,
    pub monthly_saving: f64,
    pub options: Vec<OptionCost>,
    pub dimensions: Vec<DimAdvice>,
    /// Things a reader should know: idle table or GSIs, recent switches, limits.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

/// The current setting of one dimension.
fn current_capacity(o: &ObservedTable, key: &ScalingKey) -> Capacity {
    if o.billing_mode == BillingMode::OnDemand {
        return Capacity::OnDemand;
    }
    let target = o.target(key);
    let mut policies = o.scaling_policies.iter().filter(|p| p.is_managed_kind(key));
    match (target, policies.next(), policies.next()) {
        (Some(t), Some(p), None) if p.target_value.is_some() => Capacity::AutoScaled(Thresholds {
            min: t.min,
            max: t.max,
            target: p.target_value.unwrap_or_default(),
        }),
        _ => Capacity::Fixed {
            units: provisioned_units(o, key),
        },
    }
}

fn provisioned_units(o: &ObservedTable, key: &ScalingKey) -> i64 {
    let (r, w) = match &key.index {
        None => (o.read_capacity, o.write_capacity),
        Some(name) => o
            .indexes
            .iter()
            .find(|i| i.name == *name)
            .map_or((0, 0), |i| (i.read_capacity, i.write_capacity)),
    };
    match key.side {
        Side::Read => r,
        Side::Write => w,
    }
}

/// How the current policy of `key` behaves beyond its thresholds (AWS's defaults without one).
fn behaviour(o: &ObservedTable, key: &ScalingKey) -> Behaviour {
    let secs = |s: Option<i32>| s.map_or(0, |s| s.max(0) as u32);
    o.scaling_policies
        .iter()
        .find(|p| p.is_managed_kind(key))
        .map_or(Behaviour::default(), |p| Behaviour {
            scale_in_cooldown_secs: secs(p.scale_in_cooldown),
            scale_out_cooldown_secs: secs(p.scale_out_cooldown),
            disable_scale_in: p.disable_scale_in.unwrap_or(false),
        })
}

/// The simulation's view of a current setting (`None`: on-demand).
fn setting(capacity: &Capacity, b: Behaviour) -> Option<Setting> {
    match capacity {
        Capacity::OnDemand => None,
        Capacity::Fixed { units } => Some(Setting::Fixed(*units)),
        Capacity::AutoScaled(t) => Some(Setting::Scaled(*t, b)),
    }
}

/// Per dimension: unit-hours and throttling of the current and the best provisioned setting,
/// and the units consumed.
struct DimCosts {
    advice: DimAdvice,
    units: f64,
    current_hours: Option<f64>,
    provisioned_hours: Option<f64>,
}

/// The table's dimensions grouped by unit (the table, each GSI): `[reads, writes]`, in the
/// order they first appear.
fn units(dims: &[DimUsage]) -> Vec<[Option<&DimUsage>; 2]> {
    let mut out: Vec<[Option<&DimUsage>; 2]> = Vec::new();
    for d in dims {
        let k = d.key.side as usize;
        match out.iter_mut().find(|u| {
            u.iter()
                .flatten()
                .any(|other| other.key.index == d.key.index)
        }) {
            Some(u) => u[k] = Some(d),
            None => {
                let mut u = [None, None];
                u[k] = Some(d);
                out.push(u);
            }
        }
    }
    out
}

/// One unit's dimensions: the current setting and the best auto scaling, simulated together.
fn unit_costs(o: &ObservedTable, pair: [Option<&DimUsage>; 2], limit: i64) -> Vec<DimCosts> {
    let rates = pair.map(|d| d.map(|d| d.series.rates()).unwrap_or_default());
    let current = pair.map(|d| d.map(|d| current_capacity(o, &d.key)));
    let inputs = [0, 1].map(|k| {
        let d = pair[k]?;
        let c = current[k]?;
        let own = behaviour(o, &d.key);
        Some(SideInput {
            rates: &rates[k],
            current: setting(&c, own),
            // Apply keeps the policy's own settings when it updates its thresholds.
            behaviour: match c {
                Capacity::AutoScaled(_) => own,
                _ => Behaviour::default(),
            },
            floor: Floor::default(),
        })
    });
    let series = pair.iter().flatten().map(|d| &d.series).next();
    let (period, start) = series.map_or((60, 0), |s| (s.period, s.start));
    let result = search::search_unit(inputs, period, start, limit);
    let mut out = Vec::new();
    for (k, d) in pair.into_iter().enumerate() {
        let (Some(d), Some(current)) = (d, current[k]) else {
            continue;
        };
        let now = result.now[k].clone();
        let best = result.best[k].clone();
        out.push(DimCosts {
            units: d.series.total(),
            current_hours: now.as_ref().map(|n| n.unit_hours),
            provisioned_hours: best.as_ref().map(|(_, b)| b.unit_hours),
            advice: DimAdvice {
                key: d.key.clone(),
                usage: d.series.summary(),
                current,
                current_throttled_minutes: now.as_ref().map_or(0, |n| n.throttled_minutes),
                provisioned: best.as_ref().map(|(t, _)| *t),
                provisioned_throttled_minutes: best.as_ref().map(|(_, b)| b.throttled_minutes),
                current_hourly: now.map(|n| n.hourly_capacity).unwrap_or_default(),
                provisioned_hourly: best.map(|(_, b)| b.hourly_capacity).unwrap_or_default(),
            },
        });
    }
    out
}

/// Every dimension's costs, in the usage's order.
fn dimensions(o: &ObservedTable, usage: &TableUsage, limit: i64) -> Vec<DimCosts> {
    let mut out: Vec<DimCosts> = units(&usage.dims)
        .into_iter()
        .flat_map(|pair| unit_costs(o, pair, limit))
        .collect();
    let position = |key: &ScalingKey| usage.dims.iter().position(|d| d.key == *key);
    out.sort_by_key(|d| position(&d.advice.key));
    out
}

/// The price of one dimension's on-demand request units and provisioned unit-hours.
fn side_prices(p: &ClassPrices, side: Side) -> (f64, f64) {
    match side {
        Side::Read => (p.read_request, p.rcu_hour),
        Side::Write => (p.write_request, p.wcu_hour),
    }
}

/// Which settings an option uses per dimension.
#[derive(Clone, Copy, PartialEq)]
enum Choice {
    Current,
    OnDemand,
    Provisioned,
}

/// The monthly cost of running every dimension as `choice`, in `class`; `None` when a
/// dimension has no provisioned setting within its throttling.
fn option_cost(
    name: &str,
    choice: Choice,
    class: TableClass,
    dims: &[DimCosts],
    o: &ObservedTable,
    prices: &RegionPrices,
    per_month: f64,
) -> Option<OptionCost> {
    let p = prices.class(class);
    let mut throughput = 0.0;
    let mut throttled = 0;
    for d in dims {
        let (request, unit_hour) = side_prices(p, d.advice.key.side);
        let hours = match choice {
            Choice::OnDemand => None,
            Choice::Current => d.current_hours,
            Choice::Provisioned => Some(d.provisioned_hours?),
        };
        throughput += match hours {
            Some(h) => h * unit_hour,
            None => d.units * request,
        };
        throttled += match choice {
            Choice::OnDemand => 0,
            Choice::Current => d.advice.current_throttled_minutes,
            Choice::Provisioned => d.advice.provisioned_throttled_minutes.unwrap_or_default(),
        };
    }
    let mode = match choice {
        Choice::OnDemand => BillingMode::OnDemand,
        Choice::Provisioned => BillingMode::Provisioned,
        Choice::Current => o.billing_mode,
    };
    let storage = o.size_bytes.unwrap_or(0) as f64 / BYTES_PER_GB * p.storage_gb_month;
    let throughput_monthly = throughput * per_month;
    Some(OptionCost {
        option: name.to_string(),
        mode,
        table_class: class,
        throughput_monthly,
        storage_monthly: storage,
        monthly: throughput_monthly + storage,
        throttled_minutes: throttled,
    })
}

/// The settings an option stands for.
fn settings_of(
    choice: Choice,
    class: TableClass,
    dims: &[DimCosts],
    o: &ObservedTable,
) -> Settings {
    let capacity = |pick: &dyn Fn(&DimAdvice) -> Option<Capacity>| -> Vec<DimCapacity> {
        dims.iter()
            .filter_map(|d| {
                pick(&d.advice).map(|capacity| DimCapacity {
                    key: d.advice.key.clone(),
                    capacity,
                })
            })
            .collect()
    };
    let (mode, capacity) = match choice {
        Choice::OnDemand => (BillingMode::OnDemand, vec![]),
        Choice::Provisioned => (
            BillingMode::Provisioned,
            capacity(&|d| d.provisioned.map(Capacity::AutoScaled)),
        ),
        Choice::Current => (
            o.billing_mode,
            match o.billing_mode {
                BillingMode::OnDemand => vec![],
                BillingMode::Provisioned => capacity(&|d| Some(d.current)),
            },
        ),
    };
    let (caps, index_caps) =
        if mode == BillingMode::OnDemand && o.billing_mode == BillingMode::OnDemand {
            (
                o.caps,
                // GSIs without caps of their own are not listed (as in a recommendation).
                o.indexes
                    .iter()
                    .filter(|i| !i.caps.is_unset())
                    .map(|i| (i.name.clone(), i.caps))
                    .collect(),
            )
        } else {
            (OnDemandCaps::default(), BTreeMap::new())
        };
    Settings {
        mode,
        table_class: o.table_class.unwrap_or(TableClass::Standard),
        capacity,
        caps,
        index_caps,
    }
    .with_class(class)
}

impl Settings {
    fn with_class(mut self, class: TableClass) -> Settings {
        self.table_class = class;
        self
    }
}

/// The advice for one table, from its state, its usage over the window and its region's
/// prices.
pub fn advise_table(
    o: &ObservedTable,
    usage: &TableUsage,
    prices: &RegionPrices,
    policy: &Policy,
) -> Advice {
    let dims = dimensions(o, usage, policy.max_capacity_units);
    let per_month = if usage.days_of_data > 0.0 {
        DAYS_PER_MONTH / usage.days_of_data
    } else {
        0.0
    };
    let current_class = o.table_class.unwrap_or(TableClass::Standard);
    let mut notes = notes(o, &dims, usage);
    let classes = class_choices(o, current_class, &mut notes);
    let on_demand_allowed = o.billing_mode == BillingMode::OnDemand
        || o.recent_switches_to_on_demand.len() < SWITCHES_TO_ON_DEMAND_PER_DAY;
    if !on_demand_allowed {
        notes.push(
            "four switches to on-demand in the last 24 hours: on-demand is not an option today"
                .into(),
        );
    }
    let current = option_cost(
        "current",
        Choice::Current,
        current_class,
        &dims,
        o,
        prices,
        per_month,
    )
    .expect("the current setting always has a cost");
    let mut options = vec![current.clone()];
    let mut candidates = vec![(Choice::Current, current_class, current.clone())];
    for &class in &classes {
        for (name, choice) in [
            ("on_demand", Choice::OnDemand),
            ("provisioned", Choice::Provisioned),
        ] {
            if choice == Choice::OnDemand && !on_demand_allowed {
                continue;
            }
            if let Some(c) = option_cost(name, choice, class, &dims, o, prices, per_month) {
                options.push(c.clone());
                candidates.push((choice, class, c));
            }
        }
    }
    // The cheapest; on a tie, the earlier (the current first).
    let (choice, class, best) = candidates
        .iter()
        .fold(None::<&(Choice, TableClass, OptionCost)>, |b, c| match b {
            Some(b) if b.2.monthly <= c.2.monthly => Some(b),
            _ => Some(c),
        })
        .cloned()
        .expect("the current option is always there");
    let current_settings = settings_of(Choice::Current, current_class, &dims, o);
    let mut best_settings = settings_of(choice, class, &dims, o);
    if best_settings.mode == BillingMode::OnDemand {
        apply_caps(&mut best_settings, o, &dims, policy.cap_factor);
    }
    let (coverage, confidence) = confidence(usage, policy);
    let saving = current.monthly - best.monthly;
    let percent = if current.monthly > 0.0 {
        saving / current.monthly * 100.0
    } else {
        0.0
    };
    let (verdict, reason, recommended) = if usage.days_of_data < policy.min_days {
        (
            Verdict::InsufficientData,
            format!(
                "{:.1} days of data, under --min-days {}",
                usage.days_of_data, policy.min_days
            ),
            current_settings.clone(),
        )
    } else if best_settings == current_settings {
        (
            Verdict::Unchanged,
            "already the cheapest option".into(),
            current_settings.clone(),
        )
    } else if choice == Choice::Current
        || best_settings.capacity == current_settings.capacity
            && best_settings.mode == current_settings.mode
            && best_settings.table_class == current_settings.table_class
    {
        // Only the caps differ: a bound on cost, not a saving.
        (
            Verdict::Recommended,
            "bounds what on-demand can cost: maximum on-demand throughput at --cap-on-demand x the observed peak".into(),
            best_settings.clone(),
        )
    } else if saving >= policy.min_savings && percent >= policy.min_savings_percent {
        (
            Verdict::Recommended,
            describe_change(&current_settings, &best_settings, saving, percent),
            best_settings.clone(),
        )
    } else {
        (
            Verdict::Unchanged,
            format!(
                "the cheapest option ({} {}) saves {saving:.2} a month ({percent:.1} %), under --min-savings {} and --min-savings-percent {}",
                best.mode, best.table_class, policy.min_savings, policy.min_savings_percent
            ),
            current_settings.clone(),
        )
    };
    let monthly_recommended = if verdict == Verdict::Recommended {
        best.monthly
    } else {
        current.monthly
    };
    Advice {
        verdict,
        reason,
        confidence,
        days_of_data: usage.days_of_data,
        data_coverage: coverage,
        current: current_settings,
        recommended,
        monthly_now: current.monthly,
        monthly_recommended,
        monthly_saving: current.monthly - monthly_recommended,
        options,
        dimensions: dims.into_iter().map(|d| d.advice).collect(),
        notes,
    }
}

/// The table classes to price: the current one, and the other unless two class changes in
/// the last 30 days forbid it (said in `notes`).
fn class_choices(
    o: &ObservedTable,
    current: TableClass,
    notes: &mut Vec<String>,
) -> Vec<TableClass> {
    if o.recent_table_class_changes.len() >= TABLE_CLASS_CHANGES_PER_30_DAYS {
        notes.push("two table-class changes in the last 30 days: the class stays".into());
        return vec![current];
    }
    let other = match current {
        TableClass::Standard => TableClass::StandardInfrequentAccess,
        TableClass::StandardInfrequentAccess => TableClass::Standard,
    };
    vec![current, other]
}

/// The share of the window with data, and how far the figures can be trusted: low under
/// --min-days, high with 90 % of the window at one-minute resolution.
fn confidence(usage: &TableUsage, policy: &Policy) -> (f64, Confidence) {
    let coverage = if usage.window_days > 0.0 {
        (usage.days_of_data / usage.window_days).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let period = usage.dims.first().map_or(60, |d| d.series.period);
    let confidence = if usage.days_of_data < policy.min_days {
        Confidence::Low
    } else if coverage >= 0.9 && period <= 60 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    (coverage, confidence)
}

/// `--cap-on-demand F`: caps at F x the observed peak per second of each dimension. A table
/// already on-demand keeps caps that are at least its peak (no flapping from night to night).
fn apply_caps(s: &mut Settings, o: &ObservedTable, dims: &[DimCosts], factor: Option<f64>) {
    let Some(factor) = factor else {
        return;
    };
    let peak = |key: &ScalingKey| {
        dims.iter()
            .find(|d| d.advice.key == *key)
            .map_or(0.0, |d| d.advice.usage.peak_per_second)
    };
    let cap_for = |index: Option<&str>, have: &OnDemandCaps| {
        let side = |side: Side, have: Option<Cap>| {
            let p = peak(&ScalingKey {
                index: index.map(str::to_string),
                side,
            });
            match have {
                Some(Cap::Max(n)) if o.billing_mode == BillingMode::OnDemand && n as f64 >= p => {
                    Some(Cap::Max(n))
                }
                // Nothing observed: no peak to scale a cap from, and a cap of 1 would throttle
                // the first real traffic. Left as it is.
                _ if p <= 0.0 => have.filter(|_| o.billing_mode == BillingMode::OnDemand),
                _ => Some(Cap::Max(((p * factor).ceil() as i64).max(1))),
            }
        };
        OnDemandCaps {
            read: side(Side::Read, have.read),
            write: side(Side::Write, have.write),
        }
    };
    s.caps = cap_for(None, &o.caps);
    s.index_caps = o
        .indexes
        .iter()
        .map(|i| (i.name.clone(), cap_for(Some(&i.name), &i.caps)))
        .filter(|(_, c)| !c.is_unset())
        .collect();
}

fn describe_change(from: &Settings, to: &Settings, saving: f64, percent: f64) -> String {
    let mut parts = Vec::new();
    if from.mode != to.mode {
        parts.push(format!("{} to {}", from.mode, to.mode));
    } else if from.capacity != to.capacity {
        parts.push("auto scaling thresholds".to_string());
    }
    if from.table_class != to.table_class {
        parts.push(format!("class {} to {}", from.table_class, to.table_class));
    }
    format!(
        "{} saves {saving:.2} a month ({percent:.1} %)",
        parts.join(", ")
    )
}

fn notes(o: &ObservedTable, dims: &[DimCosts], usage: &TableUsage) -> Vec<String> {
    let mut notes = Vec::new();
    if !dims.is_empty() && dims.iter().all(|d| d.advice.usage.idle) {
        notes.push("idle: nothing was read or written in the window".into());
    } else {
        let mut idle_gsis: Vec<&str> = o
            .indexes
            .iter()
            .map(|i| i.name.as_str())
            .filter(|name| {
                dims.iter()
                    .filter(|d| d.advice.key.index.as_deref() == Some(*name))
                    .all(|d| d.advice.usage.idle)
            })
            .collect();
        idle_gsis.dedup();
        if !idle_gsis.is_empty() {
            notes.push(format!(
                "idle GSIs (nothing read or written in the window): {}",
                idle_gsis.join(", ")
            ));
        }
    }
    if !o.recent_switches_to_on_demand.is_empty() && o.billing_mode == BillingMode::OnDemand {
        notes.push("switched to on-demand in the last 24 hours (AWS allows four switches to on-demand per 24 hours)".into());
    }
    if usage.throttle_events > 0.0 {
        notes.push(format!(
            "{} throttle events in the window",
            usage.throttle_events
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::PriceBook;
    use proptest::prelude::*;

    const DAY: usize = 1440;

    fn policy() -> Policy {
        Policy {
            min_savings_percent: 15.0,
            min_savings: 5.0,
            min_days: 7.0,
            cap_factor: None,
            max_capacity_units: 40_000,
        }
    }

    fn prices() -> RegionPrices {
        PriceBook::builtin().region("us-east-1").unwrap().clone()
    }

    /// Usage of the table's reads and writes (per-second rates, one per minute) and of each
    /// GSI's (the same as the table's, scaled by `gsi_share`).
    fn usage(o: &ObservedTable, read: &[f64], write: &[f64], gsi_share: f64) -> TableUsage {
        let series = |rates: &[f64], k: f64| Series {
            period: 60,
            start: 1_790_000_000 / 86_400 * 86_400,
            sums: rates.iter().map(|r| r * 60.0 * k).collect(),
        };
        let mut dims = vec![
            DimUsage {
                key: ScalingKey::table(Side::Read),
                series: series(read, 1.0),
            },
            DimUsage {
                key: ScalingKey::table(Side::Write),
                series: series(write, 1.0),
            },
        ];
        for i in &o.indexes {
            dims.push(DimUsage {
                key: ScalingKey::index(&i.name, Side::Read),
                series: series(read, gsi_share),
            });
            dims.push(DimUsage {
                key: ScalingKey::index(&i.name, Side::Write),
                series: series(write, gsi_share),
            });
        }
        let days = read.len() as f64 / DAY as f64;
        TableUsage {
            dims,
            days_of_data: days,
            window_days: days.max(14.0),
            throttle_events: 0.0,
        }
    }

    fn on_demand(gsis: &[&str]) -> ObservedTable {
        let mut o = ObservedTable::active(BillingMode::OnDemand, 0, gsis);
        o.size_bytes = Some(1 << 30);
        o
    }

    fn steady(level: f64, days: usize) -> Vec<f64> {
        (0..days * DAY)
            .map(|m| level * (1.0 + 0.05 * ((m % 7) as f64 / 7.0 - 0.5)))
            .collect()
    }

    fn spiky(base: f64, spike: f64, every_minutes: usize, days: usize) -> Vec<f64> {
        (0..days * DAY)
            .map(|m| if m % every_minutes == 0 { spike } else { base })
            .collect()
    }

    #[test]
    fn steady_high_use_goes_provisioned_with_auto_scaling_on_every_dimension() {
        let o = on_demand(&["gsi1"]);
        let a = advise_table(
            &o,
            &usage(&o, &steady(2000.0, 14), &steady(500.0, 14), 0.5),
            &prices(),
            &policy(),
        );
        assert_eq!(a.verdict, Verdict::Recommended, "{}", a.reason);
        assert_eq!(a.recommended.mode, BillingMode::Provisioned);
        assert_eq!(
            a.recommended.capacity.len(),
            4,
            "table and GSI, reads and writes"
        );
        assert!(a
            .recommended
            .capacity
            .iter()
            .all(|c| matches!(c.capacity, Capacity::AutoScaled(_))));
        assert!(a.monthly_saving > 0.0 && a.monthly_recommended < a.monthly_now);
        // No dimension may throttle more than on-demand did (never).
        assert!(a
            .dimensions
            .iter()
            .all(|d| d.provisioned_throttled_minutes == Some(0)));
        assert_eq!(a.confidence, Confidence::High);
        // On-demand: 14 days of 500 writes/s at $0.625 per million, per month.
        let writes = a
            .dimensions
            .iter()
            .find(|d| d.key == ScalingKey::table(Side::Write))
            .unwrap();
        let od_month = writes.usage.total_units * 0.625e-6 * DAYS_PER_MONTH / 14.0;
        assert!((od_month - 500.0 * 86_400.0 * DAYS_PER_MONTH * 0.625e-6).abs() / od_month < 0.01);
    }

    #[test]
    fn spiky_or_low_use_goes_on_demand() {
        let mut o = ObservedTable::active(BillingMode::Provisioned, 3000, &[]);
        o.size_bytes = Some(1 << 30);
        let a = advise_table(
            &o,
            &usage(
                &o,
                &spiky(1.0, 2500.0, 180, 14),
                &spiky(1.0, 2500.0, 180, 14),
                0.0,
            ),
            &prices(),
            &policy(),
        );
        assert_eq!(a.verdict, Verdict::Recommended, "{}", a.reason);
        assert_eq!(a.recommended.mode, BillingMode::OnDemand);

        let mut o = ObservedTable::active(BillingMode::Provisioned, 100, &[]);
        o.scale(None, 100, 1000, 70.0, "p");
        // 0.05 units/s: even one unit of capacity would be 5 % used, far under the 29 %
        // break-even of COST-RULES.
        let a = advise_table(
            &o,
            &usage(&o, &steady(0.05, 14), &steady(0.05, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.recommended.mode, BillingMode::OnDemand, "{}", a.reason);
        // At 0.5 units/s, one unit is 50 % used: provisioned at 1 is cheaper than on-demand.
        let a = advise_table(
            &o,
            &usage(&o, &steady(0.5, 14), &steady(0.5, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.recommended.mode, BillingMode::Provisioned, "{}", a.reason);
    }

    #[test]
    fn idle_tables_go_on_demand_and_are_flagged() {
        let mut o = ObservedTable::active(BillingMode::Provisioned, 50, &["g"]);
        o.size_bytes = Some(0);
        let zeros = vec![0.0; 14 * DAY];
        let a = advise_table(&o, &usage(&o, &zeros, &zeros, 0.0), &prices(), &policy());
        assert_eq!(a.recommended.mode, BillingMode::OnDemand);
        assert_eq!(a.monthly_recommended, 0.0);
        assert!(
            a.notes.iter().any(|n| n.starts_with("idle")),
            "{:?}",
            a.notes
        );
        // A busy table with an idle GSI: the GSI is named.
        let o = on_demand(&["cold"]);
        let a = advise_table(
            &o,
            &usage(&o, &steady(5.0, 14), &steady(5.0, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("idle GSIs") && n.contains("cold")),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn a_large_cold_table_goes_standard_ia() {
        let mut o = on_demand(&[]);
        o.size_bytes = Some(500 * (1 << 30));
        let a = advise_table(
            &o,
            &usage(&o, &steady(1.0, 14), &steady(0.2, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.verdict, Verdict::Recommended, "{}", a.reason);
        assert_eq!(
            a.recommended.table_class,
            TableClass::StandardInfrequentAccess
        );
        assert_eq!(a.recommended.mode, BillingMode::OnDemand);
        // Storage is most of the bill: 500 GB x (0.25 - 0.10).
        assert!(
            (a.monthly_saving - (500.0 * 0.15 - 0.25 * (a.monthly_now - 125.0))).abs() < 1.0,
            "{}",
            a.monthly_saving
        );
        // Two class changes in 30 days: the class stays.
        o.recent_table_class_changes = vec!["a".into(), "b".into()];
        let a = advise_table(
            &o,
            &usage(&o, &steady(1.0, 14), &steady(0.2, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.recommended.table_class, TableClass::Standard);
        assert!(a.notes.iter().any(|n| n.contains("class stays")));
    }

    #[test]
    fn too_little_data_or_too_small_a_saving_changes_nothing() {
        let o = on_demand(&[]);
        let a = advise_table(
            &o,
            &usage(&o, &steady(2000.0, 3), &steady(500.0, 3), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.verdict, Verdict::InsufficientData);
        assert_eq!(a.recommended, a.current);
        assert_eq!(a.confidence, Confidence::Low);
        // A small table whose best option saves cents: unchanged, with the figures.
        let a = advise_table(
            &o,
            &usage(&o, &steady(3.0, 14), &steady(1.0, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.verdict, Verdict::Unchanged, "{}", a.reason);
        assert_eq!(a.recommended, a.current);
        assert_eq!(a.monthly_recommended, a.monthly_now);
    }

    /// Regression: an idle table going on-demand was capped at 1 request unit per second,
    /// which would throttle its first real traffic.
    #[test]
    fn idle_dimensions_get_no_cap() {
        let o = ObservedTable::active(BillingMode::Provisioned, 100, &["g"]);
        let zeros = vec![0.0; 14 * DAY];
        let p = Policy {
            cap_factor: Some(2.0),
            ..policy()
        };
        let a = advise_table(&o, &usage(&o, &zeros, &zeros, 0.0), &prices(), &p);
        assert_eq!(a.recommended.mode, BillingMode::OnDemand);
        assert!(a.recommended.caps.is_unset(), "{:?}", a.recommended.caps);
        assert!(a
            .recommended
            .index_caps
            .get("g")
            .is_none_or(OnDemandCaps::is_unset));
    }

    #[test]
    fn caps_are_factor_times_the_peak_and_kept_when_above_it() {
        let o = on_demand(&["g"]);
        let p = Policy {
            cap_factor: Some(2.0),
            ..policy()
        };
        let a = advise_table(
            &o,
            &usage(&o, &spiky(1.0, 40.0, 60, 14), &steady(2.0, 14), 0.5),
            &prices(),
            &p,
        );
        assert_eq!(a.recommended.mode, BillingMode::OnDemand);
        assert_eq!(a.recommended.caps.read, Some(Cap::Max(80)));
        assert_eq!(a.recommended.index_caps["g"].read, Some(Cap::Max(40)));
        assert_eq!(a.verdict, Verdict::Recommended, "{}", a.reason);
        // Applied, the caps are kept: nothing more to recommend.
        let mut capped = o.clone();
        capped.caps = a.recommended.caps;
        capped.indexes[0].caps = a.recommended.index_caps["g"];
        let again = advise_table(
            &capped,
            &usage(&capped, &spiky(1.0, 40.0, 60, 14), &steady(2.0, 14), 0.5),
            &prices(),
            &p,
        );
        assert_eq!(again.verdict, Verdict::Unchanged, "{}", again.reason);
        assert_eq!(again.recommended, a.recommended);
    }

    /// The table as it is once `s` is applied: what `apply` of the advice inventory does.
    fn applied(o: &ObservedTable, s: &Settings) -> ObservedTable {
        let mut n = o.clone();
        n.billing_mode = s.mode;
        n.table_class = Some(s.table_class);
        n.scalable_targets.clear();
        n.scaling_policies.clear();
        n.caps = s.caps;
        for i in &mut n.indexes {
            i.caps = s.index_caps.get(&i.name).copied().unwrap_or_default();
        }
        for c in &s.capacity {
            match c.capacity {
                Capacity::AutoScaled(t) => {
                    n.scalable_targets.push(ScalableTarget {
                        key: c.key.clone(),
                        min: t.min,
                        max: t.max,
                    });
                    n.scaling_policies
                        .push(ScalingPolicy::target_tracking(&c.key, "p", t.target));
                }
                Capacity::Fixed { .. } | Capacity::OnDemand => {}
            }
        }
        n
    }

    fn profile() -> impl Strategy<Value = Vec<f64>> {
        let days = 8;
        prop_oneof![
            (0.0f64..3000.0).prop_map(move |l| steady(l, days)),
            (1.0f64..500.0, 100.0f64..5000.0, 30usize..600)
                .prop_map(move |(b, s, e)| spiky(b, s, e, days)),
            (1.0f64..2000.0, 0.1f64..0.9).prop_map(move |(base, amp)| (0..days * DAY)
                .map(|m| base * (1.0 + amp * (m as f64 * std::f64::consts::TAU / DAY as f64).sin()))
                .collect()),
            Just(vec![0.0; days * DAY]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A nightly sweep that applied yesterday's advice recommends nothing today, and no
        /// recommendation throttles more than the current setting or costs more.
        #[test]
        fn the_recommendation_is_stable_once_applied(
            read in profile(),
            write in profile(),
            provisioned in any::<bool>(),
            gsi in any::<bool>(),
            gb in 0i64..400,
            caps in any::<bool>(),
        ) {
            let gsis: &[&str] = if gsi { &["g"] } else { &[] };
            let mut o = if provisioned {
                ObservedTable::active(BillingMode::Provisioned, 100, gsis)
            } else {
                on_demand(gsis)
            };
            o.size_bytes = Some(gb << 30);
            let p = Policy { cap_factor: caps.then_some(1.5), ..policy() };
            let a = advise_table(&o, &usage(&o, &read, &write, 0.3), &prices(), &p);
            prop_assert!(a.monthly_recommended <= a.monthly_now + 1e-9);
            for d in &a.dimensions {
                if let Some(t) = d.provisioned_throttled_minutes {
                    prop_assert!(t <= d.current_throttled_minutes);
                }
            }
            let n = applied(&o, &a.recommended);
            let again = advise_table(&n, &usage(&n, &read, &write, 0.3), &prices(), &p);
            prop_assert_ne!(again.verdict, Verdict::Recommended, "{}", again.reason);
            prop_assert_eq!(&again.recommended, &a.recommended);
        }
    }
}
