//! The recommendation for one table ([`advise_table`]): pure, from the table's state, its
//! usage and its region's prices.
//!
//! - Every dimension (the table and each GSI, reads and writes) is priced on-demand (units
//!   asked for x the price per request unit), under its current setting, and under the
//!   cheapest auto scaling thresholds the model finds that throttle no more minutes than the
//!   current setting (`options`, `search`). Units asked for are those consumed plus the
//!   requests throttled (`throttling`).
//! - Billing mode is table-wide: each option sums the table's and its GSIs' costs; the table
//!   class multiplies in with storage (the table's and its GSIs') at each class's prices.
//! - What the table costs now is what it was billed ([`Advice::monthly_now`]: consumed units
//!   on-demand, CloudWatch's provisioned capacity), beside the simulation of its current
//!   setting ([`Advice::monthly_now_simulated`], the yardstick for throttling).
//! - The cheapest option is recommended only if it saves at least `min_savings_percent` % and
//!   `min_savings` a month against what the table costs now; otherwise the table stays as it
//!   is, with the reason ([`decide`], which `commitments` runs again once reserved capacity
//!   is shared out). A table whose settings are the recommendation gets it again: the current
//!   thresholds are among the candidates and ties keep what is there.

use super::options::{self, Basis, Choice, DimCosts};
use super::prices::RegionPrices;
use super::throttling::{self, CapCase, Throttling};
use super::usage::UsageSummary;
pub use super::usage::{DimUsage, TableUsage};
use crate::model::*;
use crate::planner::{
    next_class_change_allowed, next_switch_allowed, SWITCHES_TO_ON_DEMAND_PER_DAY,
    TABLE_CLASS_CHANGES_PER_30_DAYS,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Days in the average month, for monthly figures: 365 / 12.
pub const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

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

/// The thresholds `advise` works to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub min_savings_percent: f64,
    pub min_savings: f64,
    pub min_days: f64,
    /// `--cap-on-demand`: caps at this many times the observed peak per second.
    pub cap_factor: Option<f64>,
    /// `--cap-floor`: no cap under this many units per second.
    pub cap_floor: i64,
    pub max_capacity_units: i64,
}

impl Policy {
    /// `advise`'s defaults (its flags take theirs from here).
    pub const DEFAULT: Policy = Policy {
        min_savings_percent: 15.0,
        min_savings: 5.0,
        min_days: 7.0,
        cap_factor: None,
        cap_floor: super::throttling::DEFAULT_CAP_FLOOR,
        max_capacity_units: 40_000,
    };
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

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The monthly cost of one way to run the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionCost {
    /// `current` (as billed), `current_simulated`, `on_demand` or `provisioned`.
    pub option: String,
    pub mode: BillingMode,
    pub table_class: TableClass,
    /// Throughput at list prices (the price file's), before commitments.
    pub list_throughput_monthly: f64,
    /// Throughput as paid: reserved capacity and Savings Plans taken off.
    pub throughput_monthly: f64,
    pub storage_monthly: f64,
    pub monthly: f64,
    /// Minutes the simulation throttled, all dimensions together.
    pub throttled_minutes: u64,
    /// Priced as billed (the current option): consumed units, CloudWatch's provisioned
    /// capacity.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub measured: bool,
    /// What reserved capacity takes off this option: the capacity it covers at list prices,
    /// less the share's fee (paid whatever the option; negative when the option leaves it).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub reserved_discount: f64,
    /// What the reserved units this option leaves save the region's other tables (their
    /// uncovered capacity takes them up), counted to it.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub reserved_taken_up: f64,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub savings_plan_discount: f64,
    /// Provisioned Standard-class unit-hours a month (reads, writes): what reserved capacity
    /// can cover.
    #[serde(skip)]
    pub reservable_unit_hours: [f64; 2],
}

/// One dimension's usage and what each setting does with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimAdvice {
    #[serde(flatten)]
    pub key: ScalingKey,
    pub usage: UsageSummary,
    /// The highest demand per second of any period: consumed plus throttled.
    pub demand_peak_per_second: f64,
    /// What CloudWatch counted of its throttled requests; absent when none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttling: Option<Throttling>,
    /// The average provisioned capacity CloudWatch reported (what was billed), when read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub measured_capacity: Option<f64>,
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
    /// What the table costs now, as billed (see [`OptionCost::measured`]).
    pub monthly_now: f64,
    /// What the model's simulation of the current setting costs, on the demand.
    pub monthly_now_simulated: f64,
    pub monthly_recommended: f64,
    pub monthly_saving: f64,
    /// The reserved capacity discount the recommendation gives up, a month.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub reserved_discount_given_up: f64,
    /// The current option as billed first, then as simulated (`current_simulated`), then the
    /// others.
    pub options: Vec<OptionCost>,
    pub dimensions: Vec<DimAdvice>,
    /// Things a reader should know: idle table or GSIs, throttling, recent switches, limits.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

impl Advice {
    /// Whether any dimension was throttled in the window.
    pub fn throttled(&self) -> bool {
        self.dimensions.iter().any(|d| d.throttling.is_some())
    }

    /// Each dimension that throttled, as "reads of the table: 120 requests throttled ...".
    pub fn throttled_dimensions(&self) -> Vec<String> {
        throttled_dimensions(&self.dimensions)
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
    let dims = options::dimensions(o, usage, policy.max_capacity_units);
    let per_month = if usage.days_of_data > 0.0 {
        DAYS_PER_MONTH / usage.days_of_data
    } else {
        0.0
    };
    let current_class = o.table_class.unwrap_or(TableClass::Standard);
    let mut notes = notes(o, &dims);
    let classes = class_choices(o, current_class, &mut notes);
    let on_demand_allowed = o.billing_mode == BillingMode::OnDemand
        || o.recent_switches_to_on_demand.len() < SWITCHES_TO_ON_DEMAND_PER_DAY;
    if !on_demand_allowed {
        notes.push(format!(
            "{} switches to on-demand in the last 24 hours (AWS allows {SWITCHES_TO_ON_DEMAND_PER_DAY}): on-demand is not an option until {}",
            o.recent_switches_to_on_demand.len(),
            next_switch_allowed(&o.recent_switches_to_on_demand)
                .as_deref()
                .unwrap_or("an unknown time")
        ));
    }
    let cost = |choice, class, basis| {
        options::option_cost(choice, class, basis, &dims, o, prices, per_month)
    };
    let now = |basis| {
        cost(Choice::Current, current_class, basis).expect("the current setting always has a cost")
    };
    // The current setting as billed (what savings are against), then as simulated (what the
    // options are compared with, like for like).
    let mut all = vec![now(Basis::Measured), now(Basis::Simulated)];
    for &class in &classes {
        for choice in [Choice::OnDemand, Choice::Provisioned] {
            if choice == Choice::OnDemand && !on_demand_allowed {
                continue;
            }
            all.extend(cost(choice, class, Basis::Simulated));
        }
    }
    let (coverage, confidence) = confidence(usage, policy, &dims);
    let dimensions: Vec<DimAdvice> = dims.into_iter().map(|d| d.advice).collect();
    let current = options::settings_of(Choice::Current, current_class, &dimensions, o);
    let mut advice = Advice {
        verdict: Verdict::Unchanged,
        reason: String::new(),
        confidence,
        days_of_data: usage.days_of_data,
        data_coverage: coverage,
        recommended: current.clone(),
        current,
        monthly_now: all[0].monthly,
        monthly_now_simulated: all[1].monthly,
        monthly_recommended: all[0].monthly,
        monthly_saving: 0.0,
        reserved_discount_given_up: 0.0,
        options: all,
        dimensions,
        notes,
    };
    decide(&mut advice, o, policy);
    advice
}

/// Chooses among `a.options` (priced) and sets the verdict, the reason, the recommended
/// settings and the monthly figures. Options are compared like for like: the current setting
/// as simulated (`options[1]`) against the others, the current winning a tie. A change needs
/// the savings `policy` asks for both against what the table is billed now (`options[0]`) and
/// against its simulation (so that a gap between the bill and the model is never a saving),
/// except a change of caps alone (a bound on cost, or a cap that throttled).
pub fn decide(a: &mut Advice, o: &ObservedTable, policy: &Policy) {
    let best = a.options[1..]
        .iter()
        .fold(None::<&OptionCost>, |b, c| match b {
            Some(b) if b.monthly <= c.monthly => Some(b),
            _ => Some(c),
        })
        .cloned()
        .expect("the current option is always there");
    let (now, simulated) = (a.options[0].monthly, a.options[1].monthly);
    let choice = Choice::of_name(&best.option).unwrap_or(Choice::Current);
    let mut best_settings = options::settings_of(choice, best.table_class, &a.dimensions, o);
    if best_settings.mode == BillingMode::OnDemand {
        apply_caps(&mut best_settings, o, &a.dimensions, policy);
    }
    let current = &a.current;
    let percent = |saving: f64, of: f64| if of > 0.0 { saving / of * 100.0 } else { 0.0 };
    // The smaller of the two savings, and its share.
    let (saving, pct) = [
        (now - best.monthly, now),
        (simulated - best.monthly, simulated),
    ]
    .into_iter()
    .map(|(s, of)| (s, percent(s, of)))
    .fold((f64::INFINITY, f64::INFINITY), |m, x| {
        (m.0.min(x.0), m.1.min(x.1))
    });
    let throttled = throttle_summary(&a.dimensions);
    let (verdict, reason) = if a.days_of_data < policy.min_days {
        (
            Verdict::InsufficientData,
            format!(
                "{:.1} days of data, under --min-days {}",
                a.days_of_data, policy.min_days
            ),
        )
    } else if best_settings == *current {
        match &throttled {
            Some(t) => (
                Verdict::Unchanged,
                format!("throttled in the window ({t}): no cheaper setting serves the demand; the current setting stays, review its capacity"),
            ),
            None => (Verdict::Unchanged, "already the cheapest option".into()),
        }
    } else if choice == Choice::Current
        || best_settings.capacity == current.capacity
            && best_settings.mode == current.mode
            && best_settings.table_class == current.table_class
    {
        // Only the caps differ: a bound on cost or a cap that throttled, not a saving.
        (Verdict::Recommended, caps_reason(&a.dimensions, policy))
    } else if saving >= policy.min_savings && pct >= policy.min_savings_percent {
        (
            Verdict::Recommended,
            describe_change(
                current,
                &best_settings,
                now - best.monthly,
                percent(now - best.monthly, now),
            ),
        )
    } else {
        (
            Verdict::Unchanged,
            format!(
                "the cheapest option ({} {}) saves {saving:.2} a month ({pct:.1} %; the lesser of the saving against the bill and against the simulation of the current setting), under --min-savings {} and --min-savings-percent {}{}",
                best.mode, best.table_class, policy.min_savings, policy.min_savings_percent,
                throttled.map(|t| format!("; throttled in the window ({t})")).unwrap_or_default()
            ),
        )
    };
    let recommended = verdict == Verdict::Recommended;
    a.verdict = verdict;
    a.reason = reason;
    a.recommended = if recommended {
        best_settings
    } else {
        current.clone()
    };
    a.monthly_now = now;
    a.monthly_now_simulated = simulated;
    a.monthly_recommended = if recommended { best.monthly } else { now };
    a.monthly_saving = now - a.monthly_recommended;
    a.reserved_discount_given_up = if recommended {
        (a.options[0].reserved_discount - best.reserved_discount).max(0.0)
    } else {
        0.0
    };
}

/// The table classes to price: the current one, and the other unless two class changes in
/// the last 30 days forbid it (said in `notes`, with when a change is possible again).
fn class_choices(
    o: &ObservedTable,
    current: TableClass,
    notes: &mut Vec<String>,
) -> Vec<TableClass> {
    let recent = &o.recent_table_class_changes;
    if recent.len() >= TABLE_CLASS_CHANGES_PER_30_DAYS {
        notes.push(format!(
            "{} table-class changes in the last 30 days (AWS allows {TABLE_CLASS_CHANGES_PER_30_DAYS}): the class stays until {}",
            recent.len(),
            next_class_change_allowed(recent)
                .as_deref()
                .unwrap_or("an unknown time")
        ));
        return vec![current];
    }
    let other = match current {
        TableClass::Standard => TableClass::StandardInfrequentAccess,
        TableClass::StandardInfrequentAccess => TableClass::Standard,
    };
    vec![current, other]
}

/// The share of the window with data, and how far the figures can be trusted: low under
/// --min-days, high with 90 % of the window at one-minute resolution; one step lower when a
/// dimension throttled (its demand was not all seen).
fn confidence(usage: &TableUsage, policy: &Policy, dims: &[DimCosts]) -> (f64, Confidence) {
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
    let throttled = dims.iter().any(|d| d.advice.throttling.is_some());
    let confidence = match (confidence, throttled) {
        (Confidence::High, true) => Confidence::Medium,
        (_, true) => Confidence::Low,
        (c, false) => c,
    };
    (coverage, confidence)
}

/// The caps of an on-demand recommendation, per dimension (`throttling::cap`).
fn apply_caps(s: &mut Settings, o: &ObservedTable, dims: &[DimAdvice], policy: &Policy) {
    let on_demand_now = o.billing_mode == BillingMode::OnDemand;
    let cap_for = |index: Option<&str>, have: &OnDemandCaps| {
        let side = |side: Side, have: Option<Cap>| {
            let key = ScalingKey {
                index: index.map(str::to_string),
                side,
            };
            let d = dims.iter().find(|d| d.key == key);
            let case = CapCase {
                have,
                on_demand_now,
                peak: d.map_or(0.0, |d| d.demand_peak_per_second),
                throttled_at_cap: d
                    .and_then(|d| d.throttling.as_ref())
                    .is_some_and(|t| t.cap_events > 0.0),
            };
            throttling::cap(case, policy.cap_factor, policy.cap_floor)
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

/// Why a change of caps alone is recommended.
fn caps_reason(dims: &[DimAdvice], policy: &Policy) -> String {
    let at_cap: Vec<String> = dims
        .iter()
        .filter_map(|d| {
            let t = d.throttling.as_ref().filter(|t| t.cap_events > 0.0)?;
            Some(format!("{}: {}", d.key, t.describe()))
        })
        .collect();
    if at_cap.is_empty() {
        format!(
            "bounds what on-demand can cost: maximum on-demand throughput at --cap-on-demand x the observed peak, at least --cap-floor {}",
            policy.cap_floor
        )
    } else {
        format!(
            "raises the maximum on-demand throughput above the demand it throttled ({})",
            at_cap.join("; ")
        )
    }
}

/// "reads of the table: 120 requests throttled ..., writes of gsi1: ..." when any throttled.
fn throttle_summary(dims: &[DimAdvice]) -> Option<String> {
    let parts = throttled_dimensions(dims);
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Each dimension that throttled, as "reads of the table: 120 requests throttled ...".
fn throttled_dimensions(dims: &[DimAdvice]) -> Vec<String> {
    dims.iter()
        .filter_map(|d| Some(format!("{}: {}", d.key, d.throttling.as_ref()?.describe())))
        .collect()
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

fn notes(o: &ObservedTable, dims: &[DimCosts]) -> Vec<String> {
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
    for d in dims {
        if let Some(t) = &d.advice.throttling {
            notes.push(format!(
                "throttled, {}: {}; its demand is counted with the throttled requests and its bounds are not lowered",
                d.advice.key,
                t.describe()
            ));
        }
        if d.advice.measured_capacity.is_none() && d.advice.current != Capacity::OnDemand {
            notes.push(format!(
                "{}: CloudWatch did not report its provisioned capacity for the whole window (switched in it?): its cost now is simulated",
                d.advice.key
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{PriceBook, Series};
    use proptest::prelude::*;

    const DAY: usize = 1440;

    /// The defaults, with caps at any level (the cap floor is tested on its own).
    fn policy() -> Policy {
        Policy {
            cap_floor: 1,
            ..Policy::DEFAULT
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
            DimUsage::consumed(ScalingKey::table(Side::Read), series(read, 1.0)),
            DimUsage::consumed(ScalingKey::table(Side::Write), series(write, 1.0)),
        ];
        for i in &o.indexes {
            dims.push(DimUsage::consumed(
                ScalingKey::index(&i.name, Side::Read),
                series(read, gsi_share),
            ));
            dims.push(DimUsage::consumed(
                ScalingKey::index(&i.name, Side::Write),
                series(write, gsi_share),
            ));
        }
        let days = read.len() as f64 / DAY as f64;
        TableUsage {
            dims,
            days_of_data: days,
            window_days: days.max(14.0),
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
    }

    /// A provisioned table with auto scaling at `min`..`max` and 70 % on reads and writes.
    fn provisioned(min: i64, max: i64) -> ObservedTable {
        let mut o = ObservedTable::active(BillingMode::Provisioned, min, &[]);
        o.size_bytes = Some(1 << 30);
        o.scale(None, min, max, 70.0, "p");
        o
    }

    /// Throttled requests, `per_minute` in each minute where `when` holds, on `d`'s side.
    fn throttle(
        u: &mut TableUsage,
        side: Side,
        at_cap: bool,
        when: impl Fn(usize) -> bool,
        per_minute: f64,
    ) {
        let d = u
            .dims
            .iter_mut()
            .find(|d| d.key == ScalingKey::table(side))
            .unwrap();
        let events: Vec<(usize, f64)> = (0..d.series.sums.len())
            .filter(|m| when(*m))
            .map(|m| (m, per_minute))
            .collect();
        if at_cap {
            d.cap_throttled = events;
        } else {
            d.throttled = events;
        }
    }

    #[test]
    fn a_dimension_that_throttled_keeps_its_bounds_and_is_never_the_cheapest_as_it_is() {
        // Writes at 30/s with auto scaling at 100..1000: the model would lower min to 43.
        let o = provisioned(100, 1000);
        let quiet = usage(&o, &steady(30.0, 14), &steady(30.0, 14), 0.0);
        let a = advise_table(&o, &quiet, &prices(), &policy());
        let writes = |a: &Advice| {
            a.dimensions
                .iter()
                .find(|d| d.key == ScalingKey::table(Side::Write))
                .unwrap()
                .provisioned
                .unwrap()
        };
        assert!(writes(&a).min < 100, "{:?}", writes(&a));
        assert_eq!(a.confidence, Confidence::High);
        // The same with write throttling each noon: the bounds never go lower.
        let mut throttled = quiet.clone();
        throttle(
            &mut throttled,
            Side::Write,
            false,
            |m| m % DAY == 720,
            600.0,
        );
        let a = advise_table(&o, &throttled, &prices(), &policy());
        let w = writes(&a);
        assert!(w.min >= 100 && w.max >= 1000, "{w:?}");
        assert_eq!(a.confidence, Confidence::Medium);
        assert!(a.throttled());
        assert_ne!(a.reason, "already the cheapest option");
        assert!(
            a.notes.iter().any(|n| n
                .contains("throttled, writes of the table: 8400 requests throttled in 14 periods")),
            "{:?}",
            a.notes
        );
        let t = a.dimensions[1].throttling.as_ref().unwrap();
        assert_eq!((t.events, t.periods), (8400.0, 14));
        // 600 throttled requests in a minute are 10 a second more demand than consumed.
        assert!((a.dimensions[1].demand_peak_per_second - 40.0).abs() < 2.0);
    }

    #[test]
    fn a_dimension_that_throttled_gets_no_higher_target() {
        // Writes of 200 a second on auto scaling at 50 %, throttled each noon: an 80 % target
        // would run them on 250 units instead of 400. Not while they throttle.
        let mut o = ObservedTable::active(BillingMode::Provisioned, 400, &[]);
        o.size_bytes = Some(1 << 30);
        o.scale(None, 10, 1000, 50.0, "p");
        let mut u = usage(&o, &steady(200.0, 14), &steady(200.0, 14), 0.0);
        let writes = |a: &Advice| {
            a.dimensions
                .iter()
                .find(|d| d.key == ScalingKey::table(Side::Write))
                .and_then(|d| d.provisioned)
                .unwrap()
        };
        let free = advise_table(&o, &u, &prices(), &policy());
        assert!(writes(&free).target > 50.0, "{:?}", writes(&free));
        throttle(&mut u, Side::Write, false, |m| m % DAY == 720, 600.0);
        let a = advise_table(&o, &u, &prices(), &policy());
        assert!(writes(&a).target <= 50.0, "{:?}", writes(&a));
    }

    #[test]
    fn a_cap_that_throttled_is_raised_and_a_quiet_table_gets_the_floor() {
        // Capped at 100 reads a second.
        let mut o = on_demand(&[]);
        o.caps.read = Some(Cap::Max(100));
        // Spikes to the cap each hour, with 3,000 requests a minute throttled at it.
        let mut u = usage(&o, &spiky(2.0, 100.0, 60, 14), &steady(1.0, 14), 0.0);
        throttle(&mut u, Side::Read, true, |m| m % 60 == 0, 3000.0);
        let p = Policy {
            cap_factor: Some(1.5),
            cap_floor: 100,
            ..policy()
        };
        let a = advise_table(&o, &u, &prices(), &p);
        assert_eq!(a.verdict, Verdict::Recommended, "{}", a.reason);
        // Peak demand 100 + 50 a second, x 1.5: 225, well above the cap of 100 it had.
        match a.recommended.caps.read {
            Some(Cap::Max(n)) => assert_eq!(n, 225),
            other => panic!("{other:?}"),
        }
        assert!(
            a.reason.contains("raises the maximum on-demand throughput"),
            "{}",
            a.reason
        );
        // A quiet table (peaks of 2 reads and 1 write a second) is capped at the floor, not at
        // 4 and 2.
        let mut quiet = on_demand(&[]);
        quiet.size_bytes = Some(0);
        let u = usage(
            &quiet,
            &spiky(0.1, 2.0, 60, 14),
            &spiky(0.1, 1.0, 60, 14),
            0.0,
        );
        let a = advise_table(
            &quiet,
            &u,
            &prices(),
            &Policy {
                cap_factor: Some(2.0),
                cap_floor: 100,
                ..policy()
            },
        );
        assert_eq!(a.recommended.caps.read, Some(Cap::Max(100)), "{}", a.reason);
        assert_eq!(a.recommended.caps.write, Some(Cap::Max(100)));
    }

    #[test]
    fn cost_now_is_what_was_billed_beside_the_simulation() {
        // Fixed at 100 units, but CloudWatch reports 300 in force on average (someone raised it
        // for most of the window): billed 300 unit-hours an hour.
        let mut o = ObservedTable::active(BillingMode::Provisioned, 100, &[]);
        o.size_bytes = Some(0);
        let mut u = usage(&o, &steady(50.0, 14), &steady(50.0, 14), 0.0);
        for d in &mut u.dims {
            d.measured_capacity = Some(300.0);
        }
        let a = advise_table(&o, &u, &prices(), &policy());
        let hours = 14.0 * 24.0 * DAYS_PER_MONTH / 14.0;
        let billed = 300.0 * hours * (0.00013 + 0.00065);
        let simulated = 100.0 * hours * (0.00013 + 0.00065);
        assert!(
            (a.monthly_now - billed).abs() < 1e-6,
            "{} vs {billed}",
            a.monthly_now
        );
        assert!(
            (a.monthly_now_simulated - simulated).abs() < 1e-6,
            "{}",
            a.monthly_now_simulated
        );
        assert!(a.options[0].measured);
        assert!((a.monthly_saving - (a.monthly_now - a.monthly_recommended)).abs() < 1e-9);
        // Without the metric: the simulation, said in a note.
        let a = advise_table(
            &o,
            &usage(&o, &steady(50.0, 14), &steady(50.0, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert!((a.monthly_now - simulated).abs() < 1e-6);
        assert!(a
            .notes
            .iter()
            .any(|n| n.contains("did not report its provisioned capacity")));
    }

    #[test]
    fn a_gap_between_the_bill_and_the_model_is_never_a_saving() {
        // A steady table on near-best thresholds (its target 5 points under the best), billed
        // 25 % above what the model simulates for it: the best thresholds save about 6 % like
        // for like, and that is what counts, not the 25 % or so against the bill.
        let mut o = on_demand(&[]);
        let u = usage(&o, &steady(2000.0, 14), &steady(500.0, 14), 0.0);
        let a = advise_table(&o, &u, &prices(), &policy());
        o = applied(&o, &a.recommended);
        for p in &mut o.scaling_policies {
            p.target_value = p.target_value.map(|t| t - 5.0);
        }
        let mut u = usage(&o, &steady(2000.0, 14), &steady(500.0, 14), 0.0);
        let sim = advise_table(&o, &u, &prices(), &policy());
        assert_eq!(sim.verdict, Verdict::Unchanged, "{}", sim.reason);
        let hours = sim.days_of_data * 24.0;
        for d in &mut u.dims {
            let simulated = sim
                .dimensions
                .iter()
                .find(|x| x.key == d.key)
                .map(|x| x.current_hourly.iter().map(|c| f64::from(*c)).sum::<f64>() / hours)
                .unwrap();
            d.measured_capacity = Some(simulated * 1.25);
        }
        let a = advise_table(&o, &u, &prices(), &policy());
        assert!(a.monthly_now > a.monthly_now_simulated * 1.2);
        assert_eq!(a.verdict, Verdict::Unchanged, "{}", a.reason);
        assert!(
            a.reason.contains("the lesser of the saving"),
            "{}",
            a.reason
        );
    }

    #[test]
    fn disable_scale_in_is_priced_at_the_peak_it_keeps() {
        // A daily cycle between about 20 and 180 units a second at 70 %.
        let cycle: Vec<f64> = (0..14 * DAY)
            .map(|m| 100.0 + 80.0 * ((m % DAY) as f64 / DAY as f64 * std::f64::consts::TAU).sin())
            .collect();
        let mut o = provisioned(10, 1000);
        let scaling = advise_table(&o, &usage(&o, &cycle, &cycle, 0.0), &prices(), &policy());
        for p in &mut o.scaling_policies {
            p.disable_scale_in = Some(true);
        }
        let held = advise_table(&o, &usage(&o, &cycle, &cycle, 0.0), &prices(), &policy());
        // Never scaled in, it pays its peak (180 / 0.7 = 258 units) nearly all the time.
        let hours = 14.0 * 24.0;
        let per_side =
            held.monthly_now_simulated / (0.00013 + 0.00065) / (hours * DAYS_PER_MONTH / 14.0);
        assert!(per_side > 250.0, "{per_side}");
        assert!(held.monthly_now_simulated > scaling.monthly_now_simulated * 1.5);
    }

    #[test]
    fn history_forbids_what_aws_would_refuse_and_says_until_when() {
        let mut o = on_demand(&[]);
        o.size_bytes = Some(500 * (1 << 30));
        o.recent_table_class_changes =
            vec!["2026-11-20T10:00:00Z".into(), "2026-12-01T10:00:00Z".into()];
        let a = advise_table(
            &o,
            &usage(&o, &steady(1.0, 14), &steady(0.2, 14), 0.0),
            &prices(),
            &policy(),
        );
        assert_eq!(a.recommended.table_class, TableClass::Standard);
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("the class stays until 2026-12-20T10:00:00Z")),
            "{:?}",
            a.notes
        );
        // Four switches to on-demand in 24 hours: a spiky provisioned table stays provisioned.
        let mut o = provisioned(1, 100);
        o.recent_switches_to_on_demand =
            (0..4).map(|h| format!("2026-12-05T0{h}:00:00Z")).collect();
        let u = usage(
            &o,
            &spiky(1.0, 60.0, 60, 14),
            &spiky(1.0, 60.0, 60, 14),
            0.0,
        );
        let a = advise_table(&o, &u, &prices(), &policy());
        assert_ne!(a.recommended.mode, BillingMode::OnDemand);
        assert!(a.options.iter().all(|c| c.mode != BillingMode::OnDemand));
        assert!(
            a.notes
                .iter()
                .any(|n| n.contains("until 2026-12-06T00:00:00Z")),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn gsi_storage_counts_at_the_class_rate() {
        // A 1 GB table with a 2 TB index, little traffic: Standard-IA saves 0.6 x 2 TB of storage.
        let mut o = on_demand(&["big"]);
        o.size_bytes = Some(1 << 30);
        let u = usage(&o, &steady(1.0, 14), &steady(0.5, 14), 1.0);
        let without = advise_table(&o, &u, &prices(), &policy());
        assert_eq!(
            without.recommended.table_class,
            TableClass::Standard,
            "{}",
            without.reason
        );
        o.indexes[0].size_bytes = Some(2048 * (1 << 30));
        let a = advise_table(&o, &u, &prices(), &policy());
        assert_eq!(
            a.recommended.table_class,
            TableClass::StandardInfrequentAccess,
            "{}",
            a.reason
        );
        let storage = |a: &Advice, class| {
            a.options
                .iter()
                .find(|c| c.table_class == class)
                .unwrap()
                .storage_monthly
        };
        assert!((storage(&a, TableClass::Standard) - 2049.0 * 0.25).abs() < 1e-6);
        assert!((storage(&a, TableClass::StandardInfrequentAccess) - 2049.0 * 0.10).abs() < 1e-6);
    }

    #[test]
    fn savings_plans_take_their_discount_off_throughput_in_both_modes() {
        let o = on_demand(&[]);
        let u = usage(&o, &steady(2000.0, 14), &steady(500.0, 14), 0.0);
        let list = advise_table(&o, &u, &prices(), &policy());
        let mut p = prices();
        p.commitments.savings_plan_percent = 20.0;
        let a = advise_table(&o, &u, &p, &policy());
        for (l, c) in list.options.iter().zip(&a.options) {
            assert!(
                (c.throughput_monthly - 0.8 * l.throughput_monthly).abs() < 1e-6,
                "{}",
                c.option
            );
            assert!((c.savings_plan_discount - 0.2 * l.throughput_monthly).abs() < 1e-6);
        }
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
