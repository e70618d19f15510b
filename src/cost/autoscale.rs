//! Provisioned capacity over time: target-tracking auto scaling simulated period by period as
//! AWS runs it ([`simulate`]), or a fixed capacity. Both count the unit-hours paid for and the
//! minutes where capacity was below demand (throttled).
//!
//! A table's reads and writes (or one GSI's) are simulated together, as one [`Unit`]: AWS counts
//! capacity decreases per table (and per GSI), reads and writes together.
//!
//! The rules (AWS-RULES.md, "Auto scaling"; the alarms target tracking creates for DynamoDB):
//! - **AlarmHigh**: utilisation above the target for [`SCALE_OUT_MINUTES`] consecutive
//!   1-minute datapoints: scale out to the peak of those minutes / target;
//! - **AlarmLow**: utilisation below the target minus [`SCALE_IN_GAP_POINTS`] percentage points
//!   for [`SCALE_IN_MINUTES`] consecutive datapoints (70 % target: below 50 %): scale in to the
//!   peak of those minutes / target (the highest of the consumption the alarm saw: no lower);
//! - decreases, per table or GSI: [`FREE_DECREASES_PER_DAY`] at any time in a UTC day, then
//!   one more once [`DECREASE_INTERVAL_MINUTES`] have passed without one;
//! - the policy's own settings ([`Behaviour`]): `DisableScaleIn` (capacity never goes down),
//!   `ScaleInCooldown` (no scale-in until that long after the last one landed; a scale-out is
//!   never held by it), `ScaleOutCooldown` (no further scale-out until that long after the last
//!   one landed); AWS's defaults are 0 s and scale-in enabled;
//! - a change lands [`LANDING_MINUTES`] after it is decided (AWS does not publish how long an
//!   UpdateTable takes to change capacity; "a few minutes" is all it says: this model takes
//!   two, where the anchors take none, which flatters provisioned capacity);
//! - capacity stays within [min, max].
//!
//! With data coarser than a minute (5-minute or hourly periods for long windows), each period is
//! one step of the simulation and the minute counts round up to whole periods.

use crate::model::Thresholds;

pub const SCALE_OUT_MINUTES: u32 = 2;
pub const SCALE_IN_MINUTES: u32 = 15;
/// AlarmLow sits this many percentage points under the target.
pub const SCALE_IN_GAP_POINTS: f64 = 20.0;
pub const FREE_DECREASES_PER_DAY: u32 = 4;
pub const DECREASE_INTERVAL_MINUTES: u32 = 60;
pub const LANDING_MINUTES: u32 = 2;

/// A target-tracking policy's settings beyond its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Behaviour {
    pub scale_in_cooldown_secs: u32,
    pub scale_out_cooldown_secs: u32,
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
    let want = (rate * 100.0 / t.target).ceil() as i64;
    want.clamp(t.min, t.max.max(t.min))
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
    /// Cooldowns in periods, and whether scale-in is off.
    in_cooldown: usize,
    out_cooldown: usize,
    disable_scale_in: bool,
    capacity: i64,
    pending: Pending,
    /// Whether the pending change is a scale-out (its landing starts the scale-out cooldown).
    pending_out: bool,
    above: usize,
    below: usize,
    landed_in: Option<usize>,
    landed_out: Option<usize>,
    decreases: u32,
}

impl<'a> Scaler<'a> {
    fn new(rates: &'a [f64], t: Thresholds, b: Behaviour, period: u32) -> Self {
        let cooldown = |secs: u32| (secs as usize).div_ceil(period as usize);
        Scaler {
            rates,
            t,
            in_cooldown: cooldown(b.scale_in_cooldown_secs),
            out_cooldown: cooldown(b.scale_out_cooldown_secs),
            disable_scale_in: b.disable_scale_in,
            capacity: capacity_for(rates.first().copied().unwrap_or(0.0), &t),
            pending: None,
            pending_out: false,
            above: 0,
            below: 0,
            landed_in: None,
            landed_out: None,
            decreases: 0,
        }
    }

    /// The capacity in force in period `i` (a pending change due lands first).
    fn land(&mut self, i: usize) -> i64 {
        if let Some((at, c)) = self.pending {
            if i >= at {
                self.capacity = c;
                self.pending = None;
                if self.pending_out {
                    self.landed_out = Some(i);
                } else {
                    self.landed_in = Some(i);
                }
            }
        }
        self.capacity
    }

    fn peak(&self, i: usize, n: usize) -> f64 {
        self.rates[i + 1 - n.min(i + 1)..=i]
            .iter()
            .fold(0.0f64, |a, b| a.max(*b))
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
            if want > have && Self::cooled(self.landed_out, i, self.out_cooldown) {
                self.pending = Some((i + 1 + w.land, want));
                self.pending_out = true;
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
                self.pending_out = false;
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
        // AlarmHigh: 2 datapoints above 50 % (minutes 60, 61), decided at 61, lands 2 minutes
        // later at 64: minutes 60..=63 throttle.
        assert_eq!(o.throttled_minutes, 4);
        // AlarmLow: 10 of 200 is 5 %, under 50 - 20 = 30 %, from minute 120; the 15th datapoint
        // is minute 134, the decrease lands at 137, to 10 / 50 % = 20 units.
        let exact = (20.0 * 64.0 + 200.0 * 73.0 + 20.0 * 43.0) / 60.0;
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
        let [o, _] = simulate(
            &Unit {
                sides: [
                    Some(SideRun {
                        rates: &rates,
                        setting: Setting::Scaled(th(1, 1000, 50.0), b),
                    }),
                    None,
                ],
                period: 60,
                start: 0,
            },
            None,
            false,
        )
        .unwrap();
        let o = o.unwrap();
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
            let unit = Unit {
                sides: [
                    Some(SideRun {
                        rates: &rates,
                        setting: Setting::Scaled(th(1, 10_000, 50.0), b),
                    }),
                    None,
                ],
                period: 60,
                start: 0,
            };
            simulate(&unit, None, false).unwrap()[0].clone().unwrap()
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
