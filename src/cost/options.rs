//! A table's options and what each costs a month: every dimension (the table and each GSI,
//! reads and writes) under its current setting, on-demand, and under the cheapest auto scaling
//! the search finds ([`dimensions`]); each option summed over the dimensions, with storage
//! (the table's and its GSIs') at its table class's price ([`option_cost`]), and the settings
//! it stands for ([`settings_of`]).
//!
//! Options are priced on demand: units consumed plus requests throttled (`throttling`). The
//! current option is also priced as billed ([`Basis::Measured`]): on-demand, the units
//! consumed; provisioned, the capacity CloudWatch reported in force.

use super::autoscale::{Behaviour, Setting};
use super::prices::{ClassPrices, Commitments, RegionPrices};
use super::recommend::{Capacity, DimAdvice, DimCapacity, OptionCost, Settings};
use super::search::{self, Floor, SideInput};
use super::throttling;
use super::usage::{DimUsage, TableUsage};
use crate::model::*;
use std::collections::BTreeMap;

/// Bytes in a GB of storage as DynamoDB bills it.
const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The current setting of one dimension.
pub fn current_capacity(o: &ObservedTable, key: &ScalingKey) -> Capacity {
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

/// The bounds a dimension that throttled keeps: its own (a lower min or max would throttle
/// more of a demand the metrics did not all see; a fixed capacity counts as both), and no
/// higher target than its own (which would run it on less capacity for the same demand).
fn floor(current: &Capacity, throttled: bool) -> Floor {
    match (current, throttled) {
        (Capacity::AutoScaled(t), true) => Floor {
            min: t.min,
            max: t.max,
            target: Some(t.target),
        },
        (Capacity::Fixed { units }, true) => Floor {
            min: *units,
            max: *units,
            target: None,
        },
        _ => Floor::default(),
    }
}

/// Per dimension: what the model found, and what it costs in units and unit-hours.
pub struct DimCosts {
    pub advice: DimAdvice,
    /// Units asked for (consumed plus throttled) and units consumed (billed on-demand).
    pub demand_units: f64,
    pub consumed_units: f64,
    pub current_hours: Option<f64>,
    pub provisioned_hours: Option<f64>,
    /// Unit-hours billed, from CloudWatch's provisioned capacity.
    pub measured_hours: Option<f64>,
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
fn unit_costs(
    o: &ObservedTable,
    pair: [Option<&DimUsage>; 2],
    limit: i64,
    hours_of_data: f64,
) -> Vec<DimCosts> {
    let rates = pair.map(|d| d.map(throttling::demand_rates).unwrap_or_default());
    let current = pair.map(|d| d.map(|d| current_capacity(o, &d.key)));
    let throttled = pair.map(|d| d.and_then(throttling::of));
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
            floor: floor(&c, throttled[k].is_some()),
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
        let peak_demand = rates[k].iter().fold(0.0f64, |m, r| m.max(*r));
        out.push(DimCosts {
            demand_units: throttling::demand_units(d),
            consumed_units: d.series.total(),
            current_hours: now.as_ref().map(|n| n.unit_hours),
            provisioned_hours: best.as_ref().map(|(_, b)| b.unit_hours),
            measured_hours: d
                .measured_capacity
                .filter(|_| current != Capacity::OnDemand)
                .map(|c| c * hours_of_data),
            advice: DimAdvice {
                key: d.key.clone(),
                usage: d.series.summary(),
                demand_peak_per_second: peak_demand,
                throttling: throttled[k].clone(),
                measured_capacity: d.measured_capacity,
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
pub fn dimensions(o: &ObservedTable, usage: &TableUsage, limit: i64) -> Vec<DimCosts> {
    let hours = usage.days_of_data * 24.0;
    let mut out: Vec<DimCosts> = units(&usage.dims)
        .into_iter()
        .flat_map(|pair| unit_costs(o, pair, limit, hours))
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
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    Current,
    OnDemand,
    Provisioned,
}

impl Choice {
    /// The option's name in the report (the current setting's, by how it is priced).
    pub fn name(self, basis: Basis) -> &'static str {
        match (self, basis) {
            (Choice::Current, Basis::Measured) => "current",
            (Choice::Current, Basis::Simulated) => "current_simulated",
            (Choice::OnDemand, _) => "on_demand",
            (Choice::Provisioned, _) => "provisioned",
        }
    }

    pub fn of_name(name: &str) -> Option<Choice> {
        [Choice::Current, Choice::OnDemand, Choice::Provisioned]
            .into_iter()
            .find(|c| {
                [Basis::Measured, Basis::Simulated]
                    .iter()
                    .any(|b| c.name(*b) == name)
            })
    }
}

/// How the current option's throughput is counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// As billed: units consumed on-demand, CloudWatch's provisioned capacity (the
    /// simulation where CloudWatch reported none).
    Measured,
    /// As the model simulates it, on the demand (what the options are compared on).
    Simulated,
}

/// Storage of the table and its GSIs (`IndexSizeBytes`), in GB.
pub fn storage_gb(o: &ObservedTable) -> f64 {
    let indexes: i64 = o.indexes.iter().filter_map(|i| i.size_bytes).sum();
    (o.size_bytes.unwrap_or(0) + indexes) as f64 / BYTES_PER_GB
}

/// The monthly cost of running every dimension as `choice`, in `class`; `None` when a
/// dimension has no provisioned setting within its throttling.
pub fn option_cost(
    choice: Choice,
    class: TableClass,
    basis: Basis,
    dims: &[DimCosts],
    o: &ObservedTable,
    prices: &RegionPrices,
    per_month: f64,
) -> Option<OptionCost> {
    let p = prices.class(class);
    let mut throughput = 0.0;
    let mut throttled = 0;
    let mut reservable = [0.0; 2];
    for d in dims {
        let (request, unit_hour) = side_prices(p, d.advice.key.side);
        let current_hours = match basis {
            Basis::Measured => d.measured_hours.or(d.current_hours),
            Basis::Simulated => d.current_hours,
        };
        let hours = match choice {
            Choice::OnDemand => None,
            Choice::Current => current_hours,
            Choice::Provisioned => Some(d.provisioned_hours?),
        };
        let units = match (choice, basis) {
            (Choice::Current, Basis::Measured) => d.consumed_units,
            _ => d.demand_units,
        };
        throughput += match hours {
            Some(h) => h * unit_hour,
            None => units * request,
        };
        if let (Some(h), TableClass::Standard) = (hours, class) {
            reservable[d.advice.key.side as usize] += h * per_month;
        }
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
    let mut c = OptionCost {
        option: choice.name(basis).to_string(),
        mode,
        table_class: class,
        list_throughput_monthly: throughput * per_month,
        throughput_monthly: 0.0,
        storage_monthly: storage_gb(o) * p.storage_gb_month,
        monthly: 0.0,
        throttled_minutes: throttled,
        measured: choice == Choice::Current && basis == Basis::Measured,
        reserved_discount: 0.0,
        reserved_taken_up: 0.0,
        savings_plan_discount: 0.0,
        reservable_unit_hours: reservable,
    };
    price_commitments(
        &mut c,
        Share::default(),
        &prices.commitments,
        &prices.standard,
    );
    Some(c)
}

/// A table's part of its region's reserved capacity, per side (reads, writes).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Share {
    /// Reserved unit-hours a month the table is allotted (its fee is paid whatever it runs).
    pub unit_hours: [f64; 2],
    /// The share of units it leaves that other tables take up (their capacity not covered),
    /// 0 to 1; the rest would be paid for and unused.
    pub taken_up: [f64; 2],
}

/// Prices `c`'s throughput with `share` of reserved capacity and the Savings Plans discount:
/// the share's fee is paid whatever the option; the option's provisioned Standard capacity up
/// to the share is covered; units it leaves are either taken up by other tables' uncovered
/// capacity (saving them list prices, counted to this option) or paid for and unused. Savings
/// Plans take their discount off what reserved capacity does not cover.
pub fn price_commitments(
    c: &mut OptionCost,
    share: Share,
    commitments: &Commitments,
    standard: &ClassPrices,
) {
    let sp = commitments.savings_plan_percent / 100.0;
    let (mut covered_list, mut fee, mut taken_up_list) = (0.0, 0.0, 0.0);
    for side in Side::BOTH {
        let k = side as usize;
        let Some(r) = commitments.reserved(side) else {
            continue;
        };
        let (_, list) = side_prices(standard, side);
        let covered = share.unit_hours[k].min(c.reservable_unit_hours[k]);
        covered_list += covered * list;
        taken_up_list += (share.unit_hours[k] - covered) * share.taken_up[k] * list;
        fee += share.unit_hours[k] * r.hourly;
    }
    let rest = (c.list_throughput_monthly - covered_list).max(0.0);
    c.savings_plan_discount = rest * sp;
    c.reserved_discount = covered_list * (1.0 - sp) - fee;
    c.reserved_taken_up = taken_up_list * (1.0 - sp);
    c.throughput_monthly = fee + rest * (1.0 - sp) - c.reserved_taken_up;
    c.monthly = c.throughput_monthly + c.storage_monthly;
}

/// The settings an option stands for.
pub fn settings_of(
    choice: Choice,
    class: TableClass,
    dims: &[DimAdvice],
    o: &ObservedTable,
) -> Settings {
    let capacity = |pick: &dyn Fn(&DimAdvice) -> Option<Capacity>| -> Vec<DimCapacity> {
        dims.iter()
            .filter_map(|d| {
                pick(d).map(|capacity| DimCapacity {
                    key: d.key.clone(),
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
        table_class: class,
        capacity,
        caps,
        index_caps,
    }
}
