//! The cheapest target-tracking thresholds for a table's (or one GSI's) reads and writes
//! ([`search_unit`]): candidates tried against the usage, the current setting simulated as the
//! yardstick. Pure: `recommend` prices what this finds.
//!
//! The two sides share the unit's capacity decreases, so each is searched with the other in
//! place: reads with the writes' current auto scaling, then writes with the reads' choice, and
//! the reads again if the pair throttles them more than the search allowed.

use super::autoscale::{self, Behaviour, Bounds, Outcome, Setting, SideRun, Unit};
use crate::model::Thresholds;

/// Target utilisations the model tries, in percent (within DynamoDB's 20 to 90).
pub const TARGETS: [f64; 4] = [50.0, 60.0, 70.0, 80.0];
/// Quantiles of the per-second demand the model tries as the capacity floor (`min` x target).
pub const MIN_QUANTILES: [f64; 5] = [0.0, 0.5, 0.9, 0.99, 1.0];
/// `max` leaves this much room over the observed peak.
pub const MAX_HEADROOM: f64 = 1.5;

/// Lowest `min` and `max` a candidate may have (a dimension that throttled keeps its bounds).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Floor {
    pub min: i64,
    pub max: i64,
}

/// One side of a unit as the search sees it.
#[derive(Debug, Clone, Copy)]
pub struct SideInput<'a> {
    /// Demand, units per second per period.
    pub rates: &'a [f64],
    /// How it is provisioned now (`None`: on-demand).
    pub current: Option<Setting>,
    /// The policy behaviour a recommendation keeps (apply updates a policy in place).
    pub behaviour: Behaviour,
    pub floor: Floor,
}

/// What the current setting and the best thresholds come to, per side.
#[derive(Debug, Clone, Default)]
pub struct UnitResult {
    pub now: [Option<Outcome>; 2],
    pub best: [Option<(Thresholds, Outcome)>; 2],
}

/// The candidates for one side: targets of 50 to 80 %, floors at quantiles of the demand,
/// ceilings at 1.5 x the peak (within `limit`, at least `floor`), and the current thresholds
/// first, so that a tie keeps them.
pub fn candidates(
    rates: &[f64],
    current: Option<Thresholds>,
    limit: i64,
    floor: Floor,
) -> Vec<Thresholds> {
    let mut sorted: Vec<f64> = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| match sorted.len() {
        0 => 0.0,
        n => sorted[((n - 1) as f64 * q).floor() as usize],
    };
    let peak = quantile(1.0);
    let mut out: Vec<Thresholds> = current
        .filter(|t| t.min >= floor.min && t.max >= floor.max)
        .into_iter()
        .collect();
    for target in TARGETS {
        for q in MIN_QUANTILES {
            let min = ((quantile(q) * 100.0 / target).ceil() as i64)
                .max(1)
                .max(floor.min);
            let max = ((peak * 100.0 / target * MAX_HEADROOM).ceil() as i64)
                .max(floor.max)
                .clamp(min, limit.max(min));
            if min <= limit {
                out.push(Thresholds { min, max, target });
            }
        }
    }
    out
}

fn unit<'a>(
    sides: &[Option<SideInput<'a>>; 2],
    settings: [Option<Setting>; 2],
    period: u32,
    start: i64,
) -> Unit<'a> {
    Unit {
        sides: [0, 1].map(|k| {
            Some(SideRun {
                rates: sides[k].as_ref()?.rates,
                setting: settings[k]?,
            })
        }),
        period,
        start,
    }
}

/// The cheapest candidate for side `k` that throttles at most `allowed` minutes, with the
/// other side set as `other`. Each candidate stops as soon as it throttles more than allowed
/// or costs more than the best so far.
fn best_for(
    sides: &[Option<SideInput>; 2],
    k: usize,
    other: Option<Setting>,
    allowed: u64,
    limit: i64,
    (period, start): (u32, i64),
) -> Option<Thresholds> {
    let side = sides[k].as_ref()?;
    let own = match side.current {
        Some(Setting::Scaled(t, _)) => Some(t),
        _ => None,
    };
    let mut best: Option<(Thresholds, f64)> = None;
    for t in candidates(side.rates, own, limit, side.floor) {
        if best.as_ref().is_some_and(|(b, _)| *b == t) {
            continue;
        }
        let mut settings = [None, None];
        settings[k] = Some(Setting::Scaled(t, side.behaviour));
        settings[1 - k] = other;
        let bounds = Bounds {
            throttled_minutes: allowed,
            unit_hours: best.as_ref().map_or(f64::INFINITY, |(_, h)| *h),
        };
        let u = unit(sides, settings, period, start);
        if let Some(out) = autoscale::simulate(&u, Some((k, bounds)), false) {
            let hours = out[k].as_ref().map_or(f64::INFINITY, |o| o.unit_hours);
            // Equal cost keeps the earlier candidate (the current thresholds first).
            if best.as_ref().is_none_or(|(_, h)| hours < *h) {
                best = Some((t, hours));
            }
        }
    }
    best.map(|(t, _)| t)
}

/// The current setting's outcome and the cheapest thresholds of each side of a unit, within
/// the current setting's throttled minutes (0 for a side on-demand now), within `limit`.
pub fn search_unit(
    sides: [Option<SideInput>; 2],
    period: u32,
    start: i64,
    limit: i64,
) -> UnitResult {
    let at = (period, start);
    let current = [0, 1].map(|k| sides[k].as_ref().and_then(|s| s.current));
    let now = autoscale::simulate(&unit(&sides, current, period, start), None, true)
        .expect("no bounds: it runs through");
    let allowed = [0, 1].map(|k| now[k].as_ref().map_or(0, |o| o.throttled_minutes));
    let scaled =
        |k: usize, t: Option<Thresholds>| Some(Setting::Scaled(t?, sides[k].as_ref()?.behaviour));
    let writes_now = current[1].filter(|s| matches!(s, Setting::Scaled(..)));
    let mut reads = best_for(&sides, 0, writes_now, allowed[0], limit, at);
    let writes = best_for(&sides, 1, scaled(0, reads), allowed[1], limit, at);
    let run = |r: Option<Thresholds>| {
        autoscale::simulate(
            &unit(&sides, [scaled(0, r), scaled(1, writes)], period, start),
            None,
            true,
        )
        .expect("no bounds: it runs through")
    };
    let mut pair = run(reads);
    if pair[0]
        .as_ref()
        .is_some_and(|o| o.throttled_minutes > allowed[0])
    {
        reads = best_for(&sides, 0, scaled(1, writes), allowed[0], limit, at);
        pair = run(reads);
    }
    let [r, w] = pair;
    UnitResult {
        now,
        best: [reads.zip(r), writes.zip(w)],
    }
}
