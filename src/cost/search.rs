//! The cheapest target-tracking thresholds for a table's (or one GSI's) reads and writes
//! ([`search_unit`]): candidates tried against the usage, the current setting simulated as the
//! yardstick. Pure: `recommend` prices what this finds.
//!
//! The two sides share the unit's capacity decreases, so each is searched with the other in
//! place: reads with the writes' current auto scaling, then writes with the reads' choice, and
//! the reads again if the pair throttles them more than the search allowed.
//!
//! The cheapest candidate is the one with the fewest unit-hours (the earliest on a tie) among
//! those that throttle no more than allowed. Finding it does not need every candidate's full
//! run: each side's demand is prepared once ([`Demand`]), identical candidates run once, the
//! current thresholds' run is the current setting's, and the rest run in the order most likely
//! to find the cheapest early (higher targets first), each stopping as soon as what it paid
//! plus the least it must still pay is over the best so far. Unit-hours are compared in whole
//! unit-periods; only a tie there is settled on unit-hours added up as the bill does.

use super::autoscale::{self, Behaviour, Keep, Outcome, Run, Setting, Watch};
use super::demand::{whole_units, Demand};
use crate::model::Thresholds;

/// Target utilisations the model tries, in percent (within DynamoDB's 20 to 90).
pub const TARGETS: [f64; 4] = [50.0, 60.0, 70.0, 80.0];
/// Quantiles of the per-second demand the model tries as the capacity floor (`min` x target).
pub const MIN_QUANTILES: [f64; 5] = [0.0, 0.5, 0.9, 0.99, 1.0];
/// `max` leaves this much room over the observed peak.
pub const MAX_HEADROOM: f64 = 1.5;

/// Lowest `min` and `max` a candidate may have, and its highest target (a dimension that
/// throttled keeps its bounds, and a higher target would run it on less capacity for the same
/// demand).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Floor {
    pub min: i64,
    pub max: i64,
    pub target: Option<f64>,
}

impl Floor {
    /// Whether thresholds `t` keep to it.
    pub fn allows(&self, t: &Thresholds) -> bool {
        t.min >= self.min && t.max >= self.max && self.target.is_none_or(|x| t.target <= x)
    }
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

/// `rates`' values at each of [`MIN_QUANTILES`], as a sorted copy gives them (0 if empty).
fn quantiles(rates: &[f64]) -> [f64; MIN_QUANTILES.len()] {
    // `f64::total_cmp`'s order, as integers: selecting them is cheaper than sorting floats.
    let key = |x: i64| x ^ ((((x >> 63) as u64) >> 1) as i64);
    let mut keys: Vec<i64> = rates.iter().map(|r| key(r.to_bits() as i64)).collect();
    let mut from = 0;
    MIN_QUANTILES.map(|q| {
        let Some(last) = keys.len().checked_sub(1) else {
            return 0.0;
        };
        // Ascending quantiles: each is at or after the one before.
        let at = ((last as f64 * q).floor() as usize).max(from);
        let rest = &mut keys[from..];
        let k = if at == last {
            rest.iter().copied().max().unwrap_or_default()
        } else {
            let k = *rest.select_nth_unstable(at - from).1;
            from = at;
            k
        };
        f64::from_bits(key(k) as u64)
    })
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
    candidates_at(&quantiles(rates), current, limit, floor)
}

fn candidates_at(
    quantile: &[f64; MIN_QUANTILES.len()],
    current: Option<Thresholds>,
    limit: i64,
    floor: Floor,
) -> Vec<Thresholds> {
    let peak = quantile[MIN_QUANTILES.len() - 1];
    let mut out: Vec<Thresholds> = current.filter(|t| floor.allows(t)).into_iter().collect();
    for target in TARGETS {
        if floor.target.is_some_and(|x| target > x) {
            continue;
        }
        for q in quantile {
            let min = whole_units(q * 100.0 / target).max(1).max(floor.min);
            let max = whole_units(peak * 100.0 / target * MAX_HEADROOM)
                .max(floor.max)
                .clamp(min, limit.max(min));
            if min <= limit {
                out.push(Thresholds { min, max, target });
            }
        }
    }
    out
}

/// A lower bound of the unit-hours any thresholds the search may choose for `side` pay over
/// its usage (periods of `period` seconds) while throttling at most `allowed_minutes` (what
/// [`search_unit`] allows a side: the current setting's throttled minutes, 0 on-demand): in each
/// period it does not throttle, capacity is at least the demand in whole units, and never
/// under one unit (every candidate's `min`; the current thresholds' own `min` if lower).
///
/// Cheap (one pass): a table whose provisioned unit-hours at this bound already cost more than
/// another option can skip the threshold search ([`current_outcomes`] still prices its
/// current setting).
pub fn min_unit_hours(side: &SideInput, period: u32, allowed_minutes: u64) -> f64 {
    let least = match side.current {
        Some(Setting::Scaled(t, _)) => t.min.clamp(0, 1),
        _ => 1,
    };
    let mut need: Vec<i64> = side
        .rates
        .iter()
        .map(|r| whole_units(*r).max(least))
        .collect();
    let step = u64::from((period / 60).max(1));
    let spare = usize::try_from(allowed_minutes / step).unwrap_or(usize::MAX);
    // The periods that may throttle are the dearest: each of them pays the least.
    if spare >= need.len() {
        need.fill(least);
    } else if spare > 0 {
        let at = need.len() - spare;
        need.select_nth_unstable(at);
        need[at..].fill(least);
    }
    let units: i128 = need.iter().map(|u| i128::from(*u)).sum();
    units as f64 * f64::from(period) / 3600.0
}

/// One side prepared for the search.
struct Prepared<'a> {
    input: SideInput<'a>,
    demand: Demand<'a>,
    /// The candidates, each once, in their order (a tie keeps the earlier).
    candidates: Vec<Thresholds>,
    /// Whether the first candidate is the current setting's thresholds.
    current_first: bool,
    /// The order they are tried in: the current thresholds, then higher targets first.
    order: Vec<usize>,
}

impl<'a> Prepared<'a> {
    fn new(input: SideInput<'a>, limit: i64) -> Self {
        let own = match input.current {
            Some(Setting::Scaled(t, _)) => Some(t),
            _ => None,
        };
        let mut candidates = candidates(input.rates, own, limit, input.floor);
        let current_first = own.is_some() && candidates.first() == own.as_ref();
        let mut seen = Vec::with_capacity(candidates.len());
        candidates.retain(|t| {
            let new = !seen.contains(t);
            seen.push(*t);
            new
        });
        let mut order: Vec<usize> = (0..candidates.len()).collect();
        let first = usize::from(current_first);
        order[first..].sort_by(|a, b| candidates[*b].target.total_cmp(&candidates[*a].target));
        Prepared {
            input,
            demand: Demand::new(input.rates),
            candidates,
            current_first,
            order,
        }
    }

    fn scaled(&self, t: Thresholds) -> Setting {
        Setting::Scaled(t, self.input.behaviour)
    }
}

/// The best candidate so far: its position, whole unit-periods, and (once a tie needed them)
/// unit-hours as the bill adds them up.
#[derive(Clone, Copy)]
struct Best {
    at: usize,
    units: i128,
    hours: Option<f64>,
}

/// A unit's sides prepared, and where its periods are.
struct Search<'a> {
    sides: [Option<Prepared<'a>>; 2],
    period: u32,
    start: i64,
}

/// The setting a side's decreases are shared under (a fixed capacity never decreases).
fn scaling(s: Option<Setting>) -> Option<Setting> {
    s.filter(|s| matches!(s, Setting::Scaled(..)))
}

impl<'a> Search<'a> {
    /// Simulates the unit with these settings (a side without input stays out).
    fn simulate(
        &self,
        settings: [Option<Setting>; 2],
        watch: Option<Watch>,
        keep: Keep,
    ) -> Option<[Option<Run>; 2]> {
        let sides = [0, 1].map(|k| Some((&self.sides[k].as_ref()?.demand, settings[k]?)));
        autoscale::run(sides, self.period, self.start, watch, keep)
    }

    /// Periods the unit runs for with these settings.
    fn len(&self, settings: [Option<Setting>; 2]) -> usize {
        [0, 1]
            .into_iter()
            .filter(|k| settings[*k].is_some())
            .filter_map(|k| Some(self.sides[k].as_ref()?.input.rates.len()))
            .max()
            .unwrap_or(0)
    }

    fn with(&self, k: usize, t: Thresholds, other: Option<Setting>) -> [Option<Setting>; 2] {
        let mut settings = [None, None];
        settings[k] = self.sides[k].as_ref().map(|s| s.scaled(t));
        settings[1 - k] = other;
        settings
    }

    /// The current setting's run of side `k`, if it is the run of side `k`'s first candidate
    /// with the other side set as `other`.
    fn known<'r>(
        &self,
        k: usize,
        other: Option<Setting>,
        now: &'r [Option<Run>; 2],
        current: [Option<Setting>; 2],
    ) -> Option<&'r Run> {
        let side = self.sides[k].as_ref().filter(|s| s.current_first)?;
        let settings = self.with(k, side.candidates[0], other);
        let same = current[k] == settings[k]
            && scaling(current[1 - k]) == scaling(other)
            && self.len(current) == self.len(settings);
        now[k].as_ref().filter(|_| same)
    }

    /// Side `k`'s whole unit-periods with thresholds `t`, unless it throttles more than
    /// `allowed` minutes or costs more than `best`.
    fn units(
        &self,
        k: usize,
        t: Thresholds,
        other: Option<Setting>,
        allowed: u64,
        best: Option<i128>,
    ) -> Option<i128> {
        let watch = Watch {
            side: k,
            allowed_minutes: allowed,
            units: best,
        };
        let out = self.simulate(self.with(k, t, other), Some(watch), Keep::default())?;
        Some(out[k].as_ref()?.units)
    }

    /// Side `k`'s unit-hours with thresholds `t`, added up period by period.
    fn exact_hours(&self, k: usize, t: Thresholds, other: Option<Setting>) -> f64 {
        let keep = Keep {
            exact_hours: true,
            ..Keep::default()
        };
        self.simulate(self.with(k, t, other), None, keep)
            .and_then(|out| out[k].as_ref().map(|r| r.outcome.unit_hours))
            .unwrap_or(f64::INFINITY)
    }

    /// Whether the candidate at `at`, of `units` unit-periods as the best so far, beats it:
    /// the bill's rounding decides, then the candidates' order.
    fn wins_tie(&self, k: usize, at: usize, best: &mut Best, other: Option<Setting>) -> bool {
        let Some(side) = self.sides[k].as_ref() else {
            return false;
        };
        let mine = self.exact_hours(k, side.candidates[at], other);
        let theirs = *best
            .hours
            .get_or_insert_with(|| self.exact_hours(k, side.candidates[best.at], other));
        if mine < theirs || (mine == theirs && at < best.at) {
            best.hours = Some(mine);
            return true;
        }
        false
    }

    /// The cheapest candidate for side `k` that throttles at most `allowed` minutes, with the
    /// other side set as `other` (`known`: the first candidate's run, already simulated).
    fn best_for(
        &self,
        k: usize,
        other: Option<Setting>,
        allowed: u64,
        known: Option<&Run>,
    ) -> Option<Thresholds> {
        let side = self.sides[k].as_ref()?;
        let mut best: Option<Best> = None;
        for &at in &side.order {
            let units = match known.filter(|_| at == 0) {
                Some(run) => Some(run.units).filter(|_| run.outcome.throttled_minutes <= allowed),
                None => self.units(
                    k,
                    side.candidates[at],
                    other,
                    allowed,
                    best.map(|b| b.units),
                ),
            };
            let Some(units) = units else {
                continue;
            };
            let wins = match &mut best {
                None => true,
                Some(b) if units != b.units => units < b.units,
                Some(b) => self.wins_tie(k, at, b, other),
            };
            if wins {
                let hours = best.filter(|b| b.units == units).and_then(|b| b.hours);
                best = Some(Best { at, units, hours });
            }
        }
        best.map(|b| side.candidates[b.at])
    }
}

/// What the current setting of each side of a unit comes to (`search_unit`'s `now`), alone.
pub fn current_outcomes(
    sides: [Option<SideInput>; 2],
    period: u32,
    start: i64,
) -> [Option<Outcome>; 2] {
    let demand = sides.map(|s| s.map(|s| Demand::new(s.rates)));
    let demand = demand.each_ref().map(Option::as_ref);
    now(demand, sides, period, start).map(|n| n.map(|n| n.outcome))
}

/// The current setting's run of each side, with hourly capacity.
fn now(
    demand: [Option<&Demand>; 2],
    sides: [Option<SideInput>; 2],
    period: u32,
    start: i64,
) -> [Option<Run>; 2] {
    let current = [0, 1].map(|k| Some((demand[k]?, sides[k]?.current?)));
    autoscale::run(current, period, start, None, CHARTS).expect("no bounds: it runs through")
}

/// Runs whose outcome is reported keep the hourly capacity.
const CHARTS: Keep = Keep {
    charts: true,
    exact_hours: false,
};

/// The current setting's outcome and the cheapest thresholds of each side of a unit, within
/// the current setting's throttled minutes (0 for a side on-demand now), within `limit`.
pub fn search_unit(
    sides: [Option<SideInput>; 2],
    period: u32,
    start: i64,
    limit: i64,
) -> UnitResult {
    let search = Search {
        sides: sides.map(|s| s.map(|s| Prepared::new(s, limit))),
        period,
        start,
    };
    let current = [0, 1].map(|k| sides[k].as_ref().and_then(|s| s.current));
    let demand = search
        .sides
        .each_ref()
        .map(|s| s.as_ref().map(|s| &s.demand));
    let now = now(demand, sides, period, start);
    let allowed = [0, 1].map(|k| now[k].as_ref().map_or(0, |r| r.outcome.throttled_minutes));
    let scaled = |k: usize, t: Option<Thresholds>| Some(search.sides[k].as_ref()?.scaled(t?));
    let best = |k: usize, other: Option<Setting>| {
        let known = search.known(k, other, &now, current);
        search.best_for(k, other, allowed[k], known)
    };
    let mut reads = best(0, scaling(current[1]));
    let writes = best(1, scaled(0, reads));
    let run = |r: Option<Thresholds>| {
        search
            .simulate([scaled(0, r), scaled(1, writes)], None, CHARTS)
            .expect("no bounds: it runs through")
    };
    let mut pair = run(reads);
    if pair[0]
        .as_ref()
        .is_some_and(|r| r.outcome.throttled_minutes > allowed[0])
    {
        reads = best(0, scaled(1, writes));
        pair = run(reads);
    }
    let [r, w] = pair.map(|p| p.map(|p| p.outcome));
    UnitResult {
        now: now.map(|n| n.map(|n| n.outcome)),
        best: [reads.zip(r), writes.zip(w)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(rates: &[f64], current: Option<Setting>) -> SideInput<'_> {
        SideInput {
            rates,
            current,
            behaviour: Behaviour::default(),
            floor: Floor::default(),
        }
    }

    fn scaled(min: i64, max: i64) -> Option<Setting> {
        let t = Thresholds {
            min,
            max,
            target: 70.0,
        };
        Some(Setting::Scaled(t, Behaviour::default()))
    }

    #[test]
    fn min_unit_hours_counts_the_whole_units_demand_needs() {
        let rates = [0.5, 2.2, 0.0, 10.0];
        // Each minute needs its demand in whole units, at least one: 1 + 3 + 1 + 10.
        let side = side(&rates, None);
        assert!((min_unit_hours(&side, 60, 0) - 15.0 / 60.0).abs() < 1e-12);
        // One minute may throttle: the dearest (10) pays one unit.
        assert!((min_unit_hours(&side, 60, 1) - 6.0 / 60.0).abs() < 1e-12);
        // 5-minute periods: a throttled period counts 5 minutes; 4 minutes allow none.
        assert!((min_unit_hours(&side, 300, 4) - 15.0 / 12.0).abs() < 1e-12);
        assert!((min_unit_hours(&side, 300, 5) - 6.0 / 12.0).abs() < 1e-12);
        // Current thresholds with `min` 0 may pay nothing when idle.
        let zero = SideInput {
            current: scaled(0, 100),
            ..side
        };
        assert!((min_unit_hours(&zero, 60, 0) - 14.0 / 60.0).abs() < 1e-12);
    }

    #[test]
    fn current_outcomes_are_the_searchs_yardstick() {
        let rates: Vec<f64> = (0..600)
            .map(|m| if m % 90 < 30 { 80.0 } else { 5.0 })
            .collect();
        let sides = [
            Some(side(&rates, scaled(5, 400))),
            Some(side(&rates, Some(Setting::Fixed(50)))),
        ];
        let now = current_outcomes(sides, 60, 0);
        let searched = search_unit(sides, 60, 0, 40_000);
        assert_eq!(now, searched.now);
        // Fixed at 50: the 80-unit half hours throttle, 7 of 20 hours' worth of minutes.
        assert_eq!(now[1].as_ref().map(|o| o.throttled_minutes), Some(7 * 30));
    }
}
