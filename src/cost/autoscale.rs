//! Provisioned capacity over time: target-tracking auto scaling simulated period by period as
//! AWS runs it ([`simulate`]), or a fixed capacity. Both count the unit-hours paid for and the
//! minutes where capacity was below demand (throttled).
//!
//! A table's reads and writes (or one GSI's) are simulated together, as one [`Unit`]: AWS counts
//! capacity decreases per table (and per GSI), reads and writes together.
//!
//! The rules (AWS-RULES.md, "Auto scaling"; the alarms target tracking creates for DynamoDB):
//! - **AlarmHigh**: utilisation above the target for [`SCALE_OUT_MINUTES`] consecutive
//!   1-minute datapoints: scale out to the peak consumption of those minutes / target. The
//!   alarm sees consumption, which a throttled request does not add to: at most the capacity
//!   in force, so a steep rise is followed in steps of at most 100 / target (2x at 50 %), as
//!   AWS's alarms follow it;
//! - **AlarmLow**: utilisation below the target minus [`SCALE_IN_GAP_POINTS`] percentage points
//!   for [`SCALE_IN_MINUTES`] consecutive datapoints (70 % target: below 50 %): scale in to the
//!   peak of those minutes / target (the highest of the consumption the alarm saw: no lower);
//! - decreases, per table or GSI: [`FREE_DECREASES_PER_DAY`] at any time in a UTC day, then
//!   one more once [`DECREASE_INTERVAL_MINUTES`] have passed without one;
//! - the policy's own settings ([`Behaviour`]): `DisableScaleIn` (capacity never goes down),
//!   `ScaleInCooldown` (no scale-in until that long after the last one landed; a scale-out is
//!   never held by it, and ends it). `ScaleOutCooldown` holds only a scale-out no larger than
//!   the capacity already added (AWS: "unless a larger scale out is triggered"), and target
//!   tracking only ever asks for a larger one: it changes nothing here. AWS's defaults are 0 s
//!   and scale-in enabled;
//! - a change lands [`LANDING_MINUTES`] after it is decided (AWS does not publish how long an
//!   UpdateTable takes to change capacity; "a few minutes" is all it says: this model takes
//!   two, where the anchors take none, which flatters provisioned capacity);
//! - capacity stays within [min, max].
//!
//! With data coarser than a minute (5-minute or hourly periods for long windows), each period is
//! one step of the simulation and the minute counts round up to whole periods.
//!
//! The simulation runs only the periods where something can happen. A stretch where no change
//! lands, demand stays within capacity and at most the target, and utilisation either stays
//! above AlarmLow's threshold or no scale-in could start anyway (`DisableScaleIn`, capacity at
//! `min`, a cooldown, the day's decreases used) is paid for at once, found through the demand's
//! index ([`Demand`]). The outcome is the one a period-by-period run gives (the tests compare
//! them); capacity is counted in whole unit-periods.

use super::demand::{whole_units, Demand};
use crate::model::Thresholds;

pub const SCALE_OUT_MINUTES: u32 = 2;
pub const SCALE_IN_MINUTES: u32 = 15;
/// AlarmLow sits this many percentage points under the target.
pub const SCALE_IN_GAP_POINTS: f64 = 20.0;
pub const FREE_DECREASES_PER_DAY: u32 = 4;
pub const DECREASE_INTERVAL_MINUTES: u32 = 60;
pub const LANDING_MINUTES: u32 = 2;

/// A target-tracking policy's settings beyond its thresholds (what changes its capacity:
/// `ScaleOutCooldown` does not, see the module's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    pub scale_in_cooldown_secs: u32,
    pub disable_scale_in: bool,
}

/// How one side (reads or writes) of a unit is provisioned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting {
    Fixed(i64),
    Scaled(Thresholds, Behaviour),
}

/// One side's demand (units per second, one per period) and setting.
#[derive(Debug, Clone, Copy)]
pub struct SideRun<'a> {
    pub rates: &'a [f64],
    pub setting: Setting,
}

/// A table's (or one GSI's) reads and writes: `[reads, writes]`, `None` for a side that is not
/// provisioned. Their periods start at `start` (epoch seconds) and last `period` seconds.
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    pub sides: [Option<SideRun<'a>>; 2],
    pub period: u32,
    pub start: i64,
}

/// What a capacity setting came to over the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Capacity units paid for, in unit-hours.
    pub unit_hours: f64,
    /// Minutes in which demand exceeded capacity.
    pub throttled_minutes: u64,
    /// Capacity decreases auto scaling made.
    pub decreases: u32,
    /// Average capacity of each hour (for charts).
    pub hourly_capacity: Vec<f32>,
}

/// Periods needed to cover `minutes` with periods of `step` minutes (at least one).
fn periods(minutes: u32, step: u32) -> usize {
    minutes.div_ceil(step).max(1) as usize
}

/// The capacity that serves `rate` units per second at `target` percent, within [min, max].
fn capacity_for(rate: f64, t: &Thresholds) -> i64 {
    let want = whole_units(rate * 100.0 / t.target);
    want.clamp(t.min, t.max.max(t.min))
}

/// Utilisation in percent, as the alarms see it.
fn utilisation(rate: f64, capacity: i64) -> f64 {
    rate * 100.0 / capacity as f64
}

/// Where a simulation may stop early: once the side it watches throttles more minutes or
/// costs more unit-hours than this, it cannot be the one chosen.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub throttled_minutes: u64,
    pub unit_hours: f64,
}

impl Bounds {
    pub const NONE: Bounds = Bounds {
        throttled_minutes: u64::MAX,
        unit_hours: f64::INFINITY,
    };
}

/// What a run keeps beyond the totals.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keep {
    /// The hourly capacity (for charts).
    pub charts: bool,
    /// The unit-hours added up period by period, as the bill does (otherwise: whole
    /// unit-periods times the period, equal within rounding).
    pub exact_hours: bool,
}

/// Where a search's run of the side it watches may stop: once it throttles more than
/// `allowed_minutes`, or once what it paid plus the least it must still pay is over `units`
/// (unit-periods of the best so far).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Watch {
    pub side: usize,
    pub allowed_minutes: u64,
    pub units: Option<i128>,
}

/// One side's outcome, and the capacity it paid for in whole unit-periods.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub outcome: Outcome,
    pub units: i128,
}

/// Accumulates what a capacity costs and throttles, a stretch of periods at a time.
struct Meter {
    /// Minutes per period.
    step: u64,
    units: i128,
    throttled: u64,
    hours_per_period: f64,
    exact_hours: Option<f64>,
    hourly: Option<Hourly>,
}

/// The average capacity of each hour.
struct Hourly {
    per_hour: usize,
    sum: f64,
    len: usize,
    out: Vec<f32>,
}

impl Hourly {
    fn add(&mut self, capacity: f64, mut periods: usize) {
        while periods > 0 {
            let take = (self.per_hour - self.len).min(periods);
            // Whole units: exact, as adding them one period at a time is.
            self.sum += capacity * take as f64;
            self.len += take;
            periods -= take;
            if self.len == self.per_hour {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            self.out.push((self.sum / self.len as f64) as f32);
            (self.sum, self.len) = (0.0, 0);
        }
    }
}

impl Meter {
    fn new(period: u32, keep: Keep) -> Meter {
        Meter {
            step: u64::from((period / 60).max(1)),
            units: 0,
            throttled: 0,
            hours_per_period: f64::from(period) / 3600.0,
            exact_hours: keep.exact_hours.then_some(0.0),
            hourly: keep.charts.then(|| Hourly {
                per_hour: (3600 / period).max(1) as usize,
                sum: 0.0,
                len: 0,
                out: Vec::new(),
            }),
        }
    }

    fn throttled_minutes(&self) -> u64 {
        self.throttled * self.step
    }

    /// `periods` periods at `capacity`, `throttled` of them under demand.
    fn add(&mut self, capacity: i64, periods: usize, throttled: usize) {
        self.units += i128::from(capacity) * periods as i128;
        self.throttled += throttled as u64;
        if let Some(h) = &mut self.exact_hours {
            let each = capacity as f64 * self.hours_per_period;
            for _ in 0..periods {
                *h += each;
            }
        }
        if let Some(h) = &mut self.hourly {
            h.add(capacity as f64, periods);
        }
    }

    fn record(&mut self, capacity: i64, rate: f64) {
        self.add(capacity, 1, usize::from(rate > capacity as f64));
    }

    fn finish(self, decreases: u32) -> Run {
        let throttled_minutes = self.throttled_minutes();
        let hourly_capacity = self.hourly.map_or_else(Vec::new, |mut h| {
            h.flush();
            h.out
        });
        Run {
            outcome: Outcome {
                unit_hours: self
                    .exact_hours
                    .unwrap_or(self.units as f64 * self.hours_per_period),
                throttled_minutes,
                decreases,
                hourly_capacity,
            },
            units: self.units,
        }
    }
}

/// Periods against UTC days.
#[derive(Clone, Copy)]
struct Clock {
    start: i64,
    period: i64,
}

impl Clock {
    fn day(&self, i: usize) -> i64 {
        (self.start + i as i64 * self.period).div_euclid(86_400)
    }

    /// The first period of the UTC day after period `i`'s.
    fn next_day(&self, i: usize) -> usize {
        let from = (self.day(i) + 1) * 86_400 - self.start;
        (from.max(0) as u64).div_ceil(self.period as u64) as usize
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
        self.allowed_now(i, day)
    }

    /// `allowed`, without starting the day's count.
    fn allowed_now(&self, i: usize, day: i64) -> bool {
        let today = if day == self.day { self.today } else { 0 };
        today < FREE_DECREASES_PER_DAY || self.last.is_none_or(|l| i - l >= self.interval)
    }

    /// The earliest period from `i` a decrease may start in (later decreases only delay it).
    fn next_allowed(&self, i: usize, clock: Clock) -> usize {
        // The day is needed only once the day's free decreases are used up.
        if self.today < FREE_DECREASES_PER_DAY || self.allowed_now(i, clock.day(i)) {
            return i;
        }
        let interval = self.last.map_or(i, |l| l + self.interval);
        interval.min(clock.next_day(i))
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

/// The rules' waits and the UTC days, at the unit's period.
#[derive(Clone, Copy)]
struct Rules {
    waits: Waits,
    clock: Clock,
}

/// A scale-out or scale-in decided and not landed yet: (period it lands in, capacity).
type Pending = Option<(usize, i64)>;

/// Rates at which a capacity is quiet: not over the target, not under AlarmLow's threshold
/// (each `None` where no such rate can be relied on).
#[derive(Clone, Copy)]
struct Band {
    capacity: i64,
    /// Utilisation at most the target, demand within capacity, at and under this rate.
    ceiling: Option<f64>,
    /// Utilisation not under the target minus 20 points at and over this rate.
    floor: Option<f64>,
}

impl Band {
    fn new(capacity: i64, target: f64) -> Band {
        let usable = capacity > 0 && target.is_finite();
        let c = capacity as f64;
        let low = target - SCALE_IN_GAP_POINTS;
        // From the exact threshold to the first float on the safe side: a few steps at most,
        // both sides of the comparison being one rounding away.
        let ceiling = usable.then(|| {
            let quiet = |x: f64| utilisation(x, capacity) <= target && x <= c;
            settle((target * c / 100.0).min(c), quiet, f64::next_down)
        });
        let floor = usable.then(|| {
            let quiet = |x: f64| utilisation(x, capacity) >= low;
            settle(low * c / 100.0, quiet, f64::next_up)
        });
        Band {
            capacity,
            ceiling: ceiling.flatten(),
            floor: floor.flatten(),
        }
    }
}

/// The first float from `x`, stepping with `toward`, where `ok` holds (`None` past 64 steps).
fn settle(mut x: f64, ok: impl Fn(f64) -> bool, toward: fn(f64) -> f64) -> Option<f64> {
    for _ in 0..64 {
        if ok(x) {
            return Some(x);
        }
        x = toward(x);
    }
    None
}

/// One auto scaled side's state.
struct Scaler<'d, 'a> {
    demand: &'d Demand<'a>,
    t: Thresholds,
    /// Scale-in cooldown in periods, and whether scale-in is off.
    in_cooldown: usize,
    disable_scale_in: bool,
    capacity: i64,
    /// The capacity in force in the period before the last one landed or run.
    prev_capacity: i64,
    pending: Pending,
    /// Whether the pending change is a scale-in (its landing starts the scale-in cooldown).
    pending_in: bool,
    above: usize,
    /// Datapoints under AlarmLow's threshold in a row, counted up to the number that fires it.
    below: usize,
    landed_in: Option<usize>,
    decreases: u32,
    band: Band,
}

impl<'d, 'a> Scaler<'d, 'a> {
    fn new(demand: &'d Demand<'a>, t: Thresholds, b: Behaviour, period: u32) -> Self {
        let cooldown = |secs: u32| (secs as usize).div_ceil(period as usize);
        let capacity = capacity_for(demand.rates.first().copied().unwrap_or(0.0), &t);
        Scaler {
            demand,
            t,
            in_cooldown: cooldown(b.scale_in_cooldown_secs),
            disable_scale_in: b.disable_scale_in,
            capacity,
            prev_capacity: capacity,
            pending: None,
            pending_in: false,
            above: 0,
            below: 0,
            landed_in: None,
            decreases: 0,
            band: Band::new(capacity, t.target),
        }
    }

    /// The capacity in force in period `i` (a pending change due lands first).
    fn land(&mut self, i: usize) -> i64 {
        // Periods skipped since the last one run were all at `capacity`.
        self.prev_capacity = self.capacity;
        if let Some((at, c)) = self.pending {
            if i >= at {
                self.capacity = c;
                self.pending = None;
                if self.pending_in {
                    self.landed_in = Some(i);
                }
            }
        }
        self.capacity
    }

    /// The most demand in a period of the last `n` to `i`.
    fn peak(&self, i: usize, n: usize) -> f64 {
        self.demand.rates[i + 1 - n.min(i + 1)..=i]
            .iter()
            .fold(0.0f64, |a, b| a.max(*b))
    }

    /// The most consumed in period `i` and the one before (AlarmHigh's datapoints, at most
    /// [`SCALE_OUT_MINUTES`]): demand up to the capacity then in force.
    fn consumed_peak(&self, i: usize, n: usize) -> f64 {
        debug_assert!(n <= 2, "AlarmHigh looks at most two periods back");
        let rates = &self.demand.rates;
        let now = rates[i].min(self.capacity as f64);
        if n >= 2 && i >= 1 {
            now.max(rates[i - 1].min(self.prev_capacity as f64))
        } else {
            now
        }
    }

    fn cooled(landed: Option<usize>, i: usize, wait: usize) -> bool {
        landed.is_none_or(|l| i - l >= wait)
    }

    /// The alarms' view of period `i`, and what the policy decides.
    fn decide(&mut self, i: usize, rules: Rules, decreases: &mut Decreases) {
        let w = rules.waits;
        let utilisation = utilisation(self.demand.rates[i], self.capacity);
        self.above = if utilisation > self.t.target {
            self.above + 1
        } else {
            0
        };
        self.below = if utilisation < self.t.target - SCALE_IN_GAP_POINTS {
            (self.below + 1).min(w.scale_in)
        } else {
            0
        };
        if self.above >= w.out {
            let want = capacity_for(self.consumed_peak(i, w.out), &self.t);
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
            if want < self.capacity && decreases.allowed(i, rules.clock.day(i)) {
                decreases.take(i);
                self.decreases += 1;
                self.pending = Some((i + 1 + w.land, want));
                self.pending_in = true;
                self.below = 0;
            }
        }
    }

    /// Period `i` as AWS runs it: a pending change lands, the period is paid for, the alarms
    /// see it (while the side has data).
    fn step(&mut self, i: usize, rules: Rules, decreases: &mut Decreases, m: &mut Meter) {
        let capacity = self.land(i);
        m.record(capacity, self.demand.rates.get(i).copied().unwrap_or(0.0));
        if i < self.demand.rates.len() {
            self.decide(i, rules, decreases);
        }
    }

    /// Until when, from period `i`, no scale-in can start whatever the usage: `i` if one can.
    fn scale_in_held(&self, i: usize, clock: Clock, decreases: &Decreases) -> usize {
        // A scale-in goes to at least `min`: none from there.
        if self.disable_scale_in || self.pending.is_some() || self.capacity <= self.t.min {
            return usize::MAX;
        }
        let cooldown = self.landed_in.map_or(i, |l| (l + self.in_cooldown).max(i));
        cooldown.max(decreases.next_allowed(i, clock))
    }

    /// Datapoints under AlarmLow's threshold in a row at the end of periods `i..j` (all at
    /// the current capacity), counted on from before `i` if all were.
    fn below_after(&self, i: usize, j: usize, w: Waits) -> usize {
        let low = self.t.target - SCALE_IN_GAP_POINTS;
        let rates = &self.demand.rates[i..j];
        let run = rates
            .iter()
            .rev()
            .take(w.scale_in)
            .take_while(|r| utilisation(**r, self.capacity) < low)
            .count();
        if run == rates.len() {
            (run + self.below).min(w.scale_in)
        } else {
            run
        }
    }

    /// Pays for the periods from `i` where nothing can happen (no change lands, demand stays
    /// within capacity and at most the target, and either scale-in is held or utilisation stays
    /// above AlarmLow's threshold) and returns the first period that must be run.
    fn skip(
        &mut self,
        i: usize,
        end: usize,
        rules: Rules,
        decreases: &Decreases,
        m: &mut Meter,
    ) -> usize {
        let lands = self.pending.map_or(usize::MAX, |(at, _)| at);
        let own = self.demand.rates.len();
        if i >= end || lands <= i {
            return i;
        }
        if i >= own {
            // After its own data the side sees no demand: it pays until a change lands.
            let j = lands.min(end);
            let throttled = if 0.0 > self.capacity as f64 { j - i } else { 0 };
            m.add(self.capacity, j - i, throttled);
            return j;
        }
        if self.band.capacity != self.capacity {
            self.band = Band::new(self.capacity, self.t.target);
        }
        let (Some(ceiling), true) = (self.band.ceiling, self.demand.indexed()) else {
            return i;
        };
        if self.demand.rates[i] > ceiling {
            return i;
        }
        let held = self.scale_in_held(i, rules.clock, decreases);
        let (j, counted) = if held > i {
            let j = self.demand.next_outside(i, f64::NEG_INFINITY, ceiling);
            (j.min(held), true)
        } else if let Some(floor) = self.band.floor {
            (self.demand.next_outside(i, floor, ceiling), false)
        } else {
            return i;
        };
        let j = j.min(lands).min(own);
        if j > i {
            self.above = 0;
            self.below = if counted {
                self.below_after(i, j, rules.waits)
            } else {
                0
            };
            m.add(self.capacity, j - i, 0);
        }
        j
    }

    /// The least this side still pays from period `from` to `end`, throttling at most `spare`
    /// more periods: at least `min` each period, and what demand needs where it does not
    /// throttle.
    fn rest_at_least(&self, from: usize, end: usize, spare: u64) -> i128 {
        let floor = i128::from(self.t.min) * (end - from) as i128;
        if self.t.min < 0 {
            return floor;
        }
        let (sum, max) = self.demand.need_from(from);
        floor.max(sum - i128::from(spare).saturating_mul(i128::from(max)))
    }
}

/// Everything one simulation of a unit holds.
struct Sim<'d, 'a> {
    scalers: [Option<Scaler<'d, 'a>>; 2],
    meters: [Option<Meter>; 2],
    /// The next period each auto scaled side must be run in.
    next: [usize; 2],
    decreases: Decreases,
    rules: Rules,
    len: usize,
}

impl<'d, 'a> Sim<'d, 'a> {
    fn new(
        sides: [Option<(&'d Demand<'a>, Setting)>; 2],
        period: u32,
        start: i64,
        keep: Keep,
    ) -> Self {
        let step = (period / 60).max(1);
        let len = sides
            .iter()
            .flatten()
            .map(|(d, _)| d.rates.len())
            .max()
            .unwrap_or(0);
        let mut meters = sides.map(|s| s.map(|_| Meter::new(period, keep)));
        let scalers = [0, 1].map(|k| match sides[k]? {
            (d, Setting::Fixed(units)) => {
                let c = units as f64;
                let throttled = d.rates.iter().filter(|r| **r > c).count();
                let after = if 0.0 > c { len - d.rates.len() } else { 0 };
                meters[k].as_mut()?.add(units, len, throttled + after);
                None
            }
            (d, Setting::Scaled(t, b)) => Some(Scaler::new(d, t, b, period)),
        });
        Sim {
            scalers,
            meters,
            next: [0; 2],
            decreases: Decreases {
                day: i64::MIN,
                today: 0,
                last: None,
                interval: periods(DECREASE_INTERVAL_MINUTES, step),
            },
            rules: Rules {
                waits: Waits {
                    out: periods(SCALE_OUT_MINUTES, step),
                    scale_in: periods(SCALE_IN_MINUTES, step),
                    land: periods(LANDING_MINUTES, step),
                },
                clock: Clock {
                    start,
                    period: i64::from(period),
                },
            },
            len,
        }
    }

    /// Side `k` from period `i`: skips what it can, notes the next period to run.
    fn plan(&mut self, k: usize, i: usize) {
        let (Some(s), Some(m)) = (&mut self.scalers[k], &mut self.meters[k]) else {
            self.next[k] = usize::MAX;
            return;
        };
        self.next[k] = s.skip(i, self.len, self.rules, &self.decreases, m);
    }

    /// Whether the watched side is past what the search allows.
    fn beyond(&self, w: &Watch) -> bool {
        let Some(m) = &self.meters[w.side] else {
            return false;
        };
        let throttled = m.throttled_minutes();
        if throttled > w.allowed_minutes {
            return true;
        }
        let Some(best) = w.units else {
            return false;
        };
        let rest = self.scalers[w.side].as_ref().map_or(0, |s| {
            let spare = (w.allowed_minutes - throttled) / m.step;
            s.rest_at_least(self.next[w.side].min(self.len), self.len, spare)
        });
        m.units + rest > best
    }

    /// Runs to the end (`false`), or until the watched side is beyond its bounds (`true`).
    fn run(&mut self, watch: Option<Watch>) -> bool {
        for k in 0..2 {
            self.plan(k, 0);
        }
        let mut round = 0usize;
        loop {
            let i = self.next[0].min(self.next[1]);
            // Checked every few rounds (each costs a little), and at the end.
            round += 1;
            let check = round.is_multiple_of(16) || i >= self.len;
            if check && watch.as_ref().is_some_and(|w| self.beyond(w)) {
                return true;
            }
            if i >= self.len {
                return false;
            }
            for k in 0..2 {
                if self.next[k] != i {
                    continue;
                }
                if let (Some(s), Some(m)) = (&mut self.scalers[k], &mut self.meters[k]) {
                    s.step(i, self.rules, &mut self.decreases, m);
                }
                self.plan(k, i + 1);
            }
        }
    }

    fn finish(self) -> [Option<Run>; 2] {
        let [m0, m1] = self.meters;
        let [s0, s1] = self.scalers;
        [(m0, s0), (m1, s1)].map(|(m, s)| Some(m?.finish(s.map_or(0, |s| s.decreases))))
    }
}

/// Simulates a unit whose sides' demand is prepared: each side provisioned gets its run, or
/// `None` once the watched side is past `watch`.
pub(crate) fn run(
    sides: [Option<(&Demand, Setting)>; 2],
    period: u32,
    start: i64,
    watch: Option<Watch>,
    keep: Keep,
) -> Option<[Option<Run>; 2]> {
    let mut sim = Sim::new(sides, period, start, keep);
    if sim.run(watch) {
        return None;
    }
    Some(sim.finish())
}

/// Simulates `unit` period by period. With `watch = Some((side, bounds))`, `None` when that
/// side ends past `bounds`: what a search over many thresholds needs. Otherwise each side
/// provisioned gets its outcome, with hourly capacity when `charts`.
pub fn simulate(
    unit: &Unit,
    watch: Option<(usize, Bounds)>,
    charts: bool,
) -> Option<[Option<Outcome>; 2]> {
    let demand = unit.sides.map(|s| s.map(|s| Demand::new(s.rates)));
    let sides = [0, 1].map(|k| Some((demand[k].as_ref()?, unit.sides[k]?.setting)));
    let keep = Keep {
        charts,
        exact_hours: true,
    };
    let out = run(sides, unit.period, unit.start, None, keep)?.map(|r| r.map(|r| r.outcome));
    if let Some((k, b)) = watch {
        let past =
            |o: &Outcome| o.throttled_minutes > b.throttled_minutes || o.unit_hours > b.unit_hours;
        if out[k].as_ref().is_some_and(past) {
            return None;
        }
    }
    Some(out)
}

/// A fixed provisioned capacity (no auto scaling), alone.
pub fn fixed(rates: &[f64], period: u32, capacity: i64) -> Outcome {
    alone(rates, period, 0, Setting::Fixed(capacity))
}

/// Target-tracking auto scaling with `t` and AWS's default behaviour over `rates` (units per
/// second, one per period of `period` seconds from `start`, epoch seconds), with the unit's
/// other side not provisioned. It starts at the capacity the first period asks for, so the
/// result depends only on the thresholds and the usage.
pub fn autoscaled(rates: &[f64], period: u32, start: i64, t: &Thresholds) -> Outcome {
    alone(
        rates,
        period,
        start,
        Setting::Scaled(*t, Behaviour::default()),
    )
}

fn alone(rates: &[f64], period: u32, start: i64, setting: Setting) -> Outcome {
    let unit = Unit {
        sides: [Some(SideRun { rates, setting }), None],
        period,
        start,
    };
    let [out, _] = simulate(&unit, None, true).expect("no bounds: it runs through");
    out.expect("the side is provisioned")
}

#[cfg(test)]
mod tests {
    //! Expected figures come from AWS's documented rules (AWS-RULES.md, "Auto scaling"), worked
    //! out by hand in each test, never from the model's own output.
    use super::*;

    fn th(min: i64, max: i64, target: f64) -> Thresholds {
        Thresholds { min, max, target }
    }

    fn both(read: &[f64], write: &[f64], r: Setting, w: Setting) -> [Outcome; 2] {
        let unit = Unit {
            sides: [
                Some(SideRun {
                    rates: read,
                    setting: r,
                }),
                Some(SideRun {
                    rates: write,
                    setting: w,
                }),
            ],
            period: 60,
            start: 0,
        };
        let [r, w] = simulate(&unit, None, true).unwrap();
        [r.unwrap(), w.unwrap()]
    }

    fn scaled(t: Thresholds) -> Setting {
        Setting::Scaled(t, Behaviour::default())
    }

    #[test]
    fn steady_use_is_served_at_the_target_without_throttling() {
        let rates = vec![70.0; 24 * 60];
        let o = autoscaled(&rates, 60, 0, &th(1, 1000, 70.0));
        assert_eq!(o.throttled_minutes, 0);
        // 100 units for 24 hours.
        assert!((o.unit_hours - 2400.0).abs() < 1e-6, "{}", o.unit_hours);
        assert_eq!(o.hourly_capacity.len(), 24);
        assert_eq!(o.decreases, 0);
    }

    #[test]
    fn a_jump_throttles_until_scale_out_lands_then_it_scales_in_after_15_minutes() {
        let mut rates = vec![10.0; 60];
        rates.extend(vec![100.0; 60]);
        rates.extend(vec![10.0; 60]);
        let t = th(1, 1000, 50.0);
        let o = autoscaled(&rates, 60, 0, &t);
        // AlarmHigh sees consumption, at most the capacity (20): 100 %, over 50 % at minutes
        // 60 and 61; decided at 61 for 20 / 50 % = 40, landing 2 minutes later at 64. At 64
        // the alarm sees 40 of 40 (and 20 of 20 at 63): 80, landing at 67; then 160 at 70
        // (consumed 80 at 69); at 70 it sees 100 of 160 (62.5 %): 200, landing at 73. Demand
        // (100) is over capacity at 60..=69: 10 minutes throttle.
        assert_eq!(o.throttled_minutes, 10);
        // AlarmLow: 10 of 200 is 5 %, under 50 - 20 = 30 %, from minute 120; the 15th datapoint
        // is minute 134, the decrease lands at 137, to 10 / 50 % = 20 units.
        let minutes = [
            (20.0, 64.0),
            (40.0, 3.0),
            (80.0, 3.0),
            (160.0, 3.0),
            (200.0, 64.0),
            (20.0, 43.0),
        ];
        let exact = minutes.iter().map(|(c, m)| c * m).sum::<f64>() / 60.0;
        assert!(
            (o.unit_hours - exact).abs() < 1e-6,
            "{} vs {exact}",
            o.unit_hours
        );
        assert_eq!(o.decreases, 1);
    }

    #[test]
    fn scale_in_waits_for_utilisation_under_the_target_minus_20_points() {
        // 70 units/s at 70 % is 100 units. Then 55 units/s (55 %: over 70 - 20 = 50 %) for
        // two hours: AlarmLow never fires, capacity stays 100 (an 0.8 x target rule would scale
        // in to 79, as 79 < 80).
        let mut rates = vec![70.0; 60];
        rates.extend(vec![55.0; 120]);
        let o = autoscaled(&rates, 60, 0, &th(1, 1000, 70.0));
        assert!((o.unit_hours - 300.0).abs() < 1e-9, "{}", o.unit_hours);
        assert_eq!(o.decreases, 0);
        // 49 units/s (49 %, under 50 %): 15 datapoints (minutes 60..=74), decided at 74,
        // lands at 77, to ceil(49 / 0.7) = 70 units.
        let mut rates = vec![70.0; 60];
        rates.extend(vec![49.0; 120]);
        let o = autoscaled(&rates, 60, 0, &th(1, 1000, 70.0));
        let exact = (100.0 * 77.0 + 70.0 * 103.0) / 60.0;
        assert!(
            (o.unit_hours - exact).abs() < 1e-9,
            "{} vs {exact}",
            o.unit_hours
        );
        assert_eq!(o.decreases, 1);
    }

    #[test]
    fn capacity_stays_within_min_and_max_and_max_throttles() {
        let rates = vec![500.0; 120];
        let o = autoscaled(&rates, 60, 0, &th(5, 100, 70.0));
        assert_eq!(o.throttled_minutes, 120, "capped at 100");
        assert!((o.unit_hours - 200.0).abs() < 1e-6);
        let idle = autoscaled(&[0.0; 120], 60, 0, &th(5, 100, 70.0));
        assert!((idle.unit_hours - 10.0).abs() < 1e-6, "min 5 for two hours");
    }

    /// 30 minutes at 100 units/s, then 30 at 1, for a day: each low half asks for a decrease
    /// at its 15th minute (minute 44 of each hour).
    fn hourly_wave() -> Vec<f64> {
        (0..48)
            .flat_map(|k| vec![if k % 2 == 0 { 100.0 } else { 1.0 }; 30])
            .collect()
    }

    #[test]
    fn reads_and_writes_share_the_tables_decreases() {
        let wave = hourly_wave();
        let t = th(1, 1000, 50.0);
        let [r, w] = both(&wave, &wave, scaled(t), scaled(t));
        // Per table, reads and writes together: 4 at any time of the UTC day (hours 0 and 1:
        // one read and one write each), then one once 60 minutes passed since the last: one
        // a hour in hours 2..=23, each taken by the reads, which decide first. 4 + 22 = 26.
        assert_eq!(r.decreases + w.decreases, 26);
        assert_eq!((r.decreases, w.decreases), (24, 2));
        // Alone, a side gets the one a hour it asks for (24): the limit never binds.
        assert_eq!(autoscaled(&wave, 60, 0, &t).decreases, 24);
    }

    #[test]
    fn decrease_count_starts_again_each_utc_day() {
        let mut wave = hourly_wave();
        wave.extend(hourly_wave());
        let t = th(1, 1000, 50.0);
        let [r, w] = both(&wave, &wave, scaled(t), scaled(t));
        // Each UTC day as above: 26. Without the new day's 4, the second would get one a hour
        // (24).
        assert_eq!(r.decreases + w.decreases, 52);
    }

    #[test]
    fn disable_scale_in_keeps_the_peak_capacity() {
        let mut rates = vec![100.0; 60];
        rates.extend(vec![1.0; 120]);
        let b = Behaviour {
            disable_scale_in: true,
            ..Behaviour::default()
        };
        let o = alone(&rates, 60, 0, Setting::Scaled(th(1, 1000, 50.0), b));
        // 200 units for all three hours: nothing ever scales it in.
        assert!((o.unit_hours - 600.0).abs() < 1e-9, "{}", o.unit_hours);
        assert_eq!(o.decreases, 0);
    }

    #[test]
    fn scale_in_cooldown_holds_the_next_scale_in() {
        // 400 -> 40 -> 4 units/s at 50 %: two steps down. Without a cooldown the second comes
        // 17 minutes after the first landed; with a 3,600 s ScaleInCooldown, 60 minutes after.
        let mut rates = vec![400.0; 30];
        rates.extend(vec![40.0; 20]);
        rates.extend(vec![4.0; 150]);
        let run = |cooldown: u32| {
            let b = Behaviour {
                scale_in_cooldown_secs: cooldown,
                ..Behaviour::default()
            };
            alone(&rates, 60, 0, Setting::Scaled(th(1, 10_000, 50.0), b))
        };
        // No cooldown: 800 until the first decrease lands (15th datapoint at 44, lands 47),
        // 80 (= 40 / 50 %): at 80, 40 is 50 %, not under 30 %, so the second alarm counts
        // from minute 50 (4 of 80 is 5 %): 15th at 64, lands 67, to 8.
        let exact = (800.0 * 47.0 + 80.0 * 20.0 + 8.0 * 133.0) / 60.0;
        let o = run(0);
        assert!(
            (o.unit_hours - exact).abs() < 1e-9,
            "{} vs {exact}",
            o.unit_hours
        );
        // 3,600 s after the first landed (47): the second may start at 107, lands at 110.
        let exact = (800.0 * 47.0 + 80.0 * 63.0 + 8.0 * 90.0) / 60.0;
        let o = run(3600);
        assert!(
            (o.unit_hours - exact).abs() < 1e-9,
            "{} vs {exact}",
            o.unit_hours
        );
    }

    #[test]
    fn a_scale_out_ends_the_scale_in_cooldown() {
        // 400, 40, then 100 and 4 units/s at 50 %, ScaleInCooldown 3,600 s. The first scale-in
        // (800 -> 80) lands at 47; the rise to 100 scales out (decided at 61: 160, landing at
        // 64; at 64: 200, landing at 67), which ends that cooldown (AWS: "the scale-in cooldown
        // period stops"). From 90, 4 of 200 is 2 %: the 15th datapoint is 104, the decrease to
        // 8 lands at 107 (held to 107 by the cooldown, it would land at 110).
        let mut rates = vec![400.0; 30];
        rates.extend(vec![40.0; 30]);
        rates.extend(vec![100.0; 30]);
        rates.extend(vec![4.0; 120]);
        let b = Behaviour {
            scale_in_cooldown_secs: 3600,
            ..Behaviour::default()
        };
        let o = alone(&rates, 60, 0, Setting::Scaled(th(1, 10_000, 50.0), b));
        let minutes = [
            (800.0, 47.0),
            (80.0, 17.0),
            (160.0, 3.0),
            (200.0, 40.0),
            (8.0, 103.0),
        ];
        let exact = minutes.iter().map(|(c, m)| c * m).sum::<f64>() / 60.0;
        assert!(
            (o.unit_hours - exact).abs() < 1e-9,
            "{} vs {exact}",
            o.unit_hours
        );
        assert_eq!((o.throttled_minutes, o.decreases), (4, 2));
    }

    #[test]
    fn fixed_capacity_costs_its_hours_and_throttles_above_it() {
        let o = fixed(&[5.0, 15.0, 5.0, 20.0], 60, 10);
        assert_eq!(o.throttled_minutes, 2);
        assert!((o.unit_hours - 40.0 / 60.0).abs() < 1e-9);
        let coarse = fixed(&[5.0, 15.0], 300, 10);
        assert_eq!(
            coarse.throttled_minutes, 5,
            "a 5-minute period counts 5 minutes"
        );
    }
}
