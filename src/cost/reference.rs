//! The reference the fast simulation and search must match: the straightforward period-by-period
//! simulation and the threshold search as they were first written (each candidate simulated
//! over every period), kept verbatim, and the property tests that compare the two on generated
//! usage: winning thresholds, throttled minutes and decreases identical, unit-hours within
//! 1e-9 relative.

use super::autoscale::{
    Behaviour, Bounds, Outcome, Setting, SideRun, Unit, DECREASE_INTERVAL_MINUTES,
    FREE_DECREASES_PER_DAY, LANDING_MINUTES, SCALE_IN_GAP_POINTS, SCALE_IN_MINUTES,
    SCALE_OUT_MINUTES,
};
use super::search::{Floor, SideInput, UnitResult, MAX_HEADROOM, MIN_QUANTILES, TARGETS};
use crate::model::Thresholds;

// ---- The simulation, as first written ----

/// Periods needed to cover `minutes` with periods of `step` minutes (at least one).
fn periods(minutes: u32, step: u32) -> usize {
    minutes.div_ceil(step).max(1) as usize
}

/// The capacity that serves `rate` units per second at `target` percent, within [min, max].
fn capacity_for(rate: f64, t: &Thresholds) -> i64 {
    let want = (rate * 100.0 / t.target).ceil() as i64;
    want.clamp(t.min, t.max.max(t.min))
}

/// Accumulates what a capacity costs and throttles, period by period.
struct Meter {
    step: u32,
    out: Outcome,
    hour_sum: f64,
    hour_len: usize,
    per_hour: usize,
    /// Keep the hourly capacity (for charts).
    charts: bool,
    hours_per_period: f64,
}

impl Meter {
    fn new(period: u32, charts: bool) -> Meter {
        Meter {
            step: (period / 60).max(1),
            out: Outcome::default(),
            hour_sum: 0.0,
            hour_len: 0,
            per_hour: (3600 / period).max(1) as usize,
            charts,
            hours_per_period: f64::from(period) / 3600.0,
        }
    }

    /// Whether the run so far is past `b`.
    fn beyond(&self, b: &Bounds) -> bool {
        self.out.throttled_minutes > b.throttled_minutes || self.out.unit_hours > b.unit_hours
    }

    fn record(&mut self, capacity: f64, rate: f64) {
        self.out.unit_hours += capacity * self.hours_per_period;
        if rate > capacity {
            self.out.throttled_minutes += u64::from(self.step);
        }
        if !self.charts {
            return;
        }
        self.hour_sum += capacity;
        self.hour_len += 1;
        if self.hour_len == self.per_hour {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.hour_len > 0 {
            self.out
                .hourly_capacity
                .push((self.hour_sum / self.hour_len as f64) as f32);
            (self.hour_sum, self.hour_len) = (0.0, 0);
        }
    }

    fn finish(mut self) -> Outcome {
        self.flush();
        self.out
    }
}

/// The unit's capacity decreases: counted per UTC day, shared by its reads and writes.
struct Decreases {
    day: i64,
    today: u32,
    last: Option<usize>,
    interval: usize,
}

impl Decreases {
    /// Whether a decrease may start in period `i` of UTC day `day`.
    fn allowed(&mut self, i: usize, day: i64) -> bool {
        if day != self.day {
            (self.day, self.today) = (day, 0);
        }
        self.today < FREE_DECREASES_PER_DAY || self.last.is_none_or(|l| i - l >= self.interval)
    }

    fn take(&mut self, i: usize) {
        self.today += 1;
        self.last = Some(i);
    }
}

/// Periods each rule waits, at the unit's period.
#[derive(Clone, Copy)]
struct Waits {
    out: usize,
    scale_in: usize,
    land: usize,
}

/// A scale-out or scale-in decided and not landed yet: (period it lands in, capacity).
type Pending = Option<(usize, i64)>;

/// One auto scaled side's state.
struct Scaler<'a> {
    rates: &'a [f64],
    t: Thresholds,
    /// Scale-in cooldown in periods, and whether scale-in is off.
    in_cooldown: usize,
    disable_scale_in: bool,
    capacity: i64,
    /// The capacity in force in each period so far.
    in_force: Vec<i64>,
    pending: Pending,
    /// Whether the pending change is a scale-in (its landing starts the scale-in cooldown).
    pending_in: bool,
    above: usize,
    below: usize,
    landed_in: Option<usize>,
    decreases: u32,
}

impl<'a> Scaler<'a> {
    fn new(rates: &'a [f64], t: Thresholds, b: Behaviour, period: u32) -> Self {
        let cooldown = |secs: u32| (secs as usize).div_ceil(period as usize);
        Scaler {
            rates,
            t,
            in_cooldown: cooldown(b.scale_in_cooldown_secs),
            disable_scale_in: b.disable_scale_in,
            capacity: capacity_for(rates.first().copied().unwrap_or(0.0), &t),
            in_force: Vec::new(),
            pending: None,
            pending_in: false,
            above: 0,
            below: 0,
            landed_in: None,
            decreases: 0,
        }
    }

    /// The capacity in force in period `i` (a pending change due lands first).
    fn land(&mut self, i: usize) -> i64 {
        if let Some((at, c)) = self.pending {
            if i >= at {
                self.capacity = c;
                self.pending = None;
                if self.pending_in {
                    self.landed_in = Some(i);
                }
            }
        }
        self.in_force.push(self.capacity);
        self.capacity
    }

    /// The most consumed in a period of the last `n` to `i`: demand up to the capacity then in
    /// force (a throttled request consumes nothing; the alarm sees consumption).
    fn peak(&self, i: usize, n: usize) -> f64 {
        let from = i + 1 - n.min(i + 1);
        (from..=i)
            .map(|j| self.rates[j].min(self.in_force[j] as f64))
            .fold(0.0f64, f64::max)
    }

    fn cooled(landed: Option<usize>, i: usize, wait: usize) -> bool {
        landed.is_none_or(|l| i - l >= wait)
    }

    /// The alarms' view of period `i`, and what the policy decides.
    fn decide(&mut self, i: usize, w: Waits, day: i64, decreases: &mut Decreases) {
        let utilisation = self.rates[i] * 100.0 / self.capacity as f64;
        self.above = if utilisation > self.t.target {
            self.above + 1
        } else {
            0
        };
        self.below = if utilisation < self.t.target - SCALE_IN_GAP_POINTS {
            self.below + 1
        } else {
            0
        };
        if self.above >= w.out {
            let want = capacity_for(self.peak(i, w.out), &self.t);
            let have = self
                .pending
                .map_or(self.capacity, |(_, c)| c.max(self.capacity));
            if want > have {
                self.pending = Some((i + 1 + w.land, want));
                self.pending_in = false;
                // A scale-out ends the scale-in cooldown.
                self.landed_in = None;
            }
        } else if self.below >= w.scale_in
            && self.pending.is_none()
            && !self.disable_scale_in
            && Self::cooled(self.landed_in, i, self.in_cooldown)
        {
            let want = capacity_for(self.peak(i, w.scale_in), &self.t);
            if want < self.capacity && decreases.allowed(i, day) {
                decreases.take(i);
                self.decreases += 1;
                self.pending = Some((i + 1 + w.land, want));
                self.pending_in = true;
                self.below = 0;
            }
        }
    }
}

/// One side while the unit is simulated.
enum Runner<'a> {
    Fixed(&'a [f64], i64),
    Scaled(Box<Scaler<'a>>),
}

impl<'a> Runner<'a> {
    fn new(s: &SideRun<'a>, period: u32) -> Self {
        match s.setting {
            Setting::Fixed(units) => Runner::Fixed(s.rates, units),
            Setting::Scaled(t, b) => Runner::Scaled(Box::new(Scaler::new(s.rates, t, b, period))),
        }
    }

    fn rates(&self) -> &'a [f64] {
        match self {
            Runner::Fixed(r, _) => r,
            Runner::Scaled(s) => s.rates,
        }
    }
}

/// Simulates `unit` period by period. With `watch = Some((side, bounds))`, stops (`None`) once
/// that side is past `bounds`: what a search over many thresholds needs. Otherwise each side
/// provisioned gets its outcome, with hourly capacity when `charts`.
pub fn simulate(
    unit: &Unit,
    watch: Option<(usize, Bounds)>,
    charts: bool,
) -> Option<[Option<Outcome>; 2]> {
    let mut runners: Vec<(usize, Runner, Meter)> = unit
        .sides
        .iter()
        .enumerate()
        .filter_map(|(k, s)| {
            s.as_ref().map(|s| {
                (
                    k,
                    Runner::new(s, unit.period),
                    Meter::new(unit.period, charts),
                )
            })
        })
        .collect();
    let step = (unit.period / 60).max(1);
    let waits = Waits {
        out: periods(SCALE_OUT_MINUTES, step),
        scale_in: periods(SCALE_IN_MINUTES, step),
        land: periods(LANDING_MINUTES, step),
    };
    let mut decreases = Decreases {
        day: i64::MIN,
        today: 0,
        last: None,
        interval: periods(DECREASE_INTERVAL_MINUTES, step),
    };
    let len = runners
        .iter()
        .map(|(_, r, _)| r.rates().len())
        .max()
        .unwrap_or(0);
    for i in 0..len {
        let day = (unit.start + i as i64 * i64::from(unit.period)).div_euclid(86_400);
        for (k, runner, meter) in &mut runners {
            let rate = runner.rates().get(i).copied().unwrap_or(0.0);
            let capacity = match runner {
                Runner::Fixed(_, units) => *units,
                Runner::Scaled(s) => s.land(i),
            };
            meter.record(capacity as f64, rate);
            if let Some((side, b)) = &watch {
                if side == k && meter.beyond(b) {
                    return None;
                }
            }
            if let Runner::Scaled(s) = runner {
                if i < s.rates.len() {
                    s.decide(i, waits, day, &mut decreases);
                }
            }
        }
    }
    let mut out = [None, None];
    for (k, runner, meter) in runners {
        let mut o = meter.finish();
        if let Runner::Scaled(s) = runner {
            o.decreases = s.decreases;
        }
        out[k] = Some(o);
    }
    Some(out)
}

// ---- The threshold search, as first written ----

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
        .filter(|t| {
            t.min >= floor.min && t.max >= floor.max && floor.target.is_none_or(|x| t.target <= x)
        })
        .into_iter()
        .collect();
    for target in TARGETS {
        if floor.target.is_some_and(|x| target > x) {
            continue;
        }
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
        if let Some(out) = simulate(&u, Some((k, bounds)), false) {
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
    let now = simulate(&unit(&sides, current, period, start), None, true)
        .expect("no bounds: it runs through");
    let allowed = [0, 1].map(|k| now[k].as_ref().map_or(0, |o| o.throttled_minutes));
    let scaled =
        |k: usize, t: Option<Thresholds>| Some(Setting::Scaled(t?, sides[k].as_ref()?.behaviour));
    let writes_now = current[1].filter(|s| matches!(s, Setting::Scaled(..)));
    let mut reads = best_for(&sides, 0, writes_now, allowed[0], limit, at);
    let writes = best_for(&sides, 1, scaled(0, reads), allowed[1], limit, at);
    let run = |r: Option<Thresholds>| {
        simulate(
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

#[cfg(test)]
mod tests {
    //! The fast simulation and search against the reference above, on generated usage.
    use super::*;
    use crate::cost::{autoscale, search};
    use proptest::prelude::*;
    use std::f64::consts::TAU;

    /// A usage shape built from what real tables show: a daily cycle, spikes, steps, idle
    /// stretches and noise, over `len` periods of `period` seconds.
    #[derive(Debug, Clone)]
    struct Shape {
        period: u32,
        len: usize,
        base: f64,
        daily: f64,
        phase: f64,
        noise: f64,
        /// (where, as a fraction of the window; periods; units per second)
        spikes: Vec<(f64, usize, f64)>,
        /// (where; factor from there on)
        steps: Vec<(f64, f64)>,
        /// (where; periods at zero)
        idle: Vec<(f64, usize)>,
        /// A square wave: (periods high then low; factor when low), as batch jobs make.
        wave: Option<(usize, f64)>,
        /// Whole units per period, as CloudWatch's sums mostly are.
        whole: bool,
        seed: u64,
    }

    fn shape() -> BoxedStrategy<Shape> {
        let period = prop_oneof![6 => Just(60u32), 2 => Just(300u32), 1 => Just(3600u32)];
        (period, 0.0f64..1.0)
            .prop_flat_map(|(period, size)| {
                let max = match period {
                    60 => 2 * 1440,
                    300 => 7 * 288,
                    _ => 60 * 24,
                };
                let len = 1 + (size * size * max as f64) as usize;
                (
                    Just(period),
                    Just(len),
                    prop_oneof![Just(0.0), 0.0f64..5.0, 1.0f64..800.0],
                    prop_oneof![Just(0.0), 0.0f64..0.95],
                    0.0f64..1.0,
                    prop_oneof![Just(0.0), 0.0f64..0.5],
                    prop::collection::vec((0.0f64..1.0, 1usize..40, 1.0f64..3000.0), 0..4),
                    prop::collection::vec(
                        (0.0f64..1.0, prop_oneof![0.01f64..0.3, 0.1f64..4.0]),
                        0..3,
                    ),
                    prop::collection::vec((0.0f64..1.0, 1usize..600), 0..3),
                    prop::option::weighted(0.3, (3usize..90, 0.0f64..0.3)),
                    any::<bool>(),
                    any::<u64>(),
                )
            })
            .prop_map(|t| Shape {
                period: t.0,
                len: t.1,
                base: t.2,
                daily: t.3,
                phase: t.4,
                noise: t.5,
                spikes: t.6,
                steps: t.7,
                idle: t.8,
                wave: t.9,
                whole: t.10,
                seed: t.11,
            })
            .boxed()
    }

    impl Shape {
        fn rates(&self) -> Vec<f64> {
            let mut state = self.seed | 1;
            let mut noise = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            let at = |f: f64| (f * self.len as f64) as usize;
            (0..self.len)
                .map(|i| {
                    let day = (i as f64 * f64::from(self.period) / 86_400.0 + self.phase) * TAU;
                    let mut v = self.base * (1.0 + self.daily * day.sin());
                    for (from, factor) in &self.steps {
                        if i >= at(*from) {
                            v *= factor;
                        }
                    }
                    for (from, width, height) in &self.spikes {
                        if (at(*from)..at(*from) + width).contains(&i) {
                            v += height;
                        }
                    }
                    if let Some((half, low)) = self.wave {
                        if (i / half) % 2 == 1 {
                            v *= low;
                        }
                    }
                    v *= 1.0 + self.noise * noise();
                    if self
                        .idle
                        .iter()
                        .any(|(from, n)| (at(*from)..at(*from) + n).contains(&i))
                    {
                        v = 0.0;
                    }
                    let p = f64::from(self.period);
                    let v = v.max(0.0);
                    if self.whole {
                        (v * p).round() / p
                    } else {
                        v
                    }
                })
                .collect()
        }
    }

    fn thresholds() -> BoxedStrategy<Thresholds> {
        let target = prop_oneof![
            Just(50.0),
            Just(70.0),
            Just(80.0),
            Just(90.0),
            20.0f64..90.0
        ];
        (target, 1i64..400, 0i64..3000)
            .prop_map(|(target, min, extra)| Thresholds {
                min,
                max: min + extra,
                target,
            })
            .boxed()
    }

    fn behaviour() -> BoxedStrategy<Behaviour> {
        let cooldown = prop_oneof![
            2 => Just(0u32),
            1 => Just(60),
            1 => Just(300),
            1 => Just(900),
            1 => Just(3600),
            1 => 0u32..7200
        ];
        (cooldown, prop::bool::weighted(0.2))
            .prop_map(|(i, d)| Behaviour {
                scale_in_cooldown_secs: i,
                disable_scale_in: d,
            })
            .boxed()
    }

    fn setting() -> BoxedStrategy<Setting> {
        prop_oneof![
            1 => (0i64..900).prop_map(Setting::Fixed),
            3 => (thresholds(), behaviour()).prop_map(|(t, b)| Setting::Scaled(t, b)),
        ]
        .boxed()
    }

    /// One side: its usage, current setting (`None`: on-demand), kept behaviour and floor.
    #[derive(Debug, Clone)]
    struct GenSide {
        rates: Vec<f64>,
        current: Option<Setting>,
        behaviour: Behaviour,
        floor: Floor,
    }

    fn side(shape: Shape) -> BoxedStrategy<GenSide> {
        let floor = prop_oneof![
            3 => Just(Floor::default()),
            1 => (0i64..200, 0i64..2000, prop::option::of(40.0f64..90.0))
                .prop_map(|(min, max, target)| Floor { min, max, target }),
        ];
        (
            Just(shape),
            prop::option::weighted(0.6, setting()),
            behaviour(),
            floor,
            prop::option::weighted(0.1, 0.0f64..1.0),
        )
            .prop_map(|(shape, current, behaviour, floor, cut)| {
                let mut rates = shape.rates();
                if let Some(cut) = cut {
                    rates.truncate((rates.len() as f64 * cut) as usize);
                }
                GenSide {
                    rates,
                    current,
                    behaviour,
                    floor,
                }
            })
            .boxed()
    }

    /// A unit: both sides or one, their periods, start and the capacity limit.
    #[derive(Debug, Clone)]
    struct GenUnit {
        sides: [Option<GenSide>; 2],
        period: u32,
        start: i64,
        limit: i64,
    }

    fn unit() -> BoxedStrategy<GenUnit> {
        (
            shape(),
            shape(),
            0u8..3,
            0i64..1440,
            prop_oneof![4 => Just(40_000i64), 1 => 1i64..2000],
        )
            .prop_flat_map(|(a, mut b, which, offset, limit)| {
                b.period = a.period;
                b.len = a.len;
                let period = a.period;
                let sides = (side(a), side(b));
                (sides, Just(which), Just(offset), Just(limit), Just(period))
            })
            .prop_map(|((r, w), which, offset, limit, period)| GenUnit {
                sides: match which {
                    0 => [Some(r), Some(w)],
                    1 => [Some(r), None],
                    _ => [None, Some(w)],
                },
                period,
                start: offset * 60 - 43_200,
                limit,
            })
            .boxed()
    }

    impl GenUnit {
        fn inputs(&self) -> [Option<SideInput<'_>>; 2] {
            [0, 1].map(|k| {
                let s = self.sides[k].as_ref()?;
                Some(SideInput {
                    rates: &s.rates,
                    current: s.current,
                    behaviour: s.behaviour,
                    floor: s.floor,
                })
            })
        }

        /// The unit with each side at `settings` (a side without usage stays out).
        fn simulated(&self, settings: [Option<Setting>; 2]) -> Unit<'_> {
            Unit {
                sides: [0, 1].map(|k| {
                    Some(SideRun {
                        rates: &self.sides[k].as_ref()?.rates,
                        setting: settings[k]?,
                    })
                }),
                period: self.period,
                start: self.start,
            }
        }
    }

    /// Equal but for unit-hours, which may differ in rounding only.
    fn same(fast: &Outcome, reference: &Outcome) -> Result<(), TestCaseError> {
        prop_assert_eq!(fast.throttled_minutes, reference.throttled_minutes);
        prop_assert_eq!(fast.decreases, reference.decreases);
        prop_assert_eq!(&fast.hourly_capacity, &reference.hourly_capacity);
        let scale = reference.unit_hours.abs().max(1e-300);
        prop_assert!(
            (fast.unit_hours - reference.unit_hours).abs() / scale <= 1e-9,
            "unit-hours {} vs {}",
            fast.unit_hours,
            reference.unit_hours
        );
        Ok(())
    }

    fn same_sides(
        fast: &[Option<Outcome>; 2],
        reference: &[Option<Outcome>; 2],
    ) -> Result<(), TestCaseError> {
        for k in 0..2 {
            prop_assert_eq!(fast[k].is_some(), reference[k].is_some());
            if let (Some(f), Some(r)) = (&fast[k], &reference[k]) {
                same(f, r)?;
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn simulation_matches_the_reference(
            u in unit(),
            settings in (setting(), setting()),
            bounds in (0u64..600, 0.0f64..2e5),
        ) {
            let unit = u.simulated([Some(settings.0), Some(settings.1)]);
            let fast = autoscale::simulate(&unit, None, true).unwrap();
            let reference = simulate(&unit, None, true).unwrap();
            // Added up period by period as before: equal to the last bit.
            prop_assert_eq!(&fast, &reference);
            let b = Bounds { throttled_minutes: bounds.0, unit_hours: bounds.1 };
            for k in 0..2 {
                prop_assert_eq!(
                    autoscale::simulate(&unit, Some((k, b)), false).is_some(),
                    simulate(&unit, Some((k, b)), false).is_some()
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn search_matches_the_reference(u in unit()) {
            let fast = search::search_unit(u.inputs(), u.period, u.start, u.limit);
            let reference = search_unit(u.inputs(), u.period, u.start, u.limit);
            same_sides(&fast.now, &reference.now)?;
            for k in 0..2 {
                let thresholds = |b: &[Option<(Thresholds, Outcome)>; 2]| b[k].as_ref().map(|b| b.0);
                prop_assert_eq!(thresholds(&fast.best), thresholds(&reference.best), "side {}", k);
                if let (Some(f), Some(r)) = (&fast.best[k], &reference.best[k]) {
                    same(&f.1, &r.1)?;
                }
            }
        }

        #[test]
        fn no_choice_pays_less_than_min_unit_hours(u in unit()) {
            let fast = search::search_unit(u.inputs(), u.period, u.start, u.limit);
            for k in 0..2 {
                let (Some(side), Some((_, best))) = (u.inputs()[k], &fast.best[k]) else {
                    continue;
                };
                let allowed = fast.now[k].as_ref().map_or(0, |o| o.throttled_minutes);
                if best.throttled_minutes <= allowed {
                    let bound = search::min_unit_hours(&side, u.period, allowed);
                    prop_assert!(bound <= best.unit_hours * (1.0 + 1e-9), "{} > {}", bound, best.unit_hours);
                }
            }
        }

        #[test]
        fn candidates_match_the_reference(
            rates in prop::collection::vec(prop_oneof![Just(0.0), Just(-0.0), 0.0f64..1e4], 0..300),
            current in prop::option::of(thresholds()),
            limit in 1i64..50_000,
        ) {
            prop_assert_eq!(
                search::candidates(&rates, current, limit, Floor::default()),
                candidates(&rates, current, limit, Floor::default())
            );
        }
    }
}
