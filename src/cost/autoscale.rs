//! Provisioned capacity over time: target-tracking auto scaling simulated period by period
//! ([`autoscaled`]) as AWS documents it, or a fixed capacity ([`fixed`]). Both count the
//! unit-hours paid for and the minutes where capacity was below consumption (throttled).
//!
//! The rules, from AWS's documentation and the anchors' simulation (COST-RULES.md):
//! - scale out once utilisation has been above the target for [`SCALE_OUT_MINUTES`], to the
//!   recent peak / target;
//! - scale in once it has been below the target for [`SCALE_IN_MINUTES`], to the recent peak /
//!   target, and only if that is more than [`SCALE_IN_MIN_DROP`] lower;
//! - decreases: [`FREE_DECREASES_PER_DAY`] at any time in a UTC day, then one per
//!   [`DECREASE_INTERVAL_MINUTES`];
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
pub const SCALE_IN_MIN_DROP: f64 = 0.20;
pub const FREE_DECREASES_PER_DAY: u32 = 4;
pub const DECREASE_INTERVAL_MINUTES: u32 = 60;
pub const LANDING_MINUTES: u32 = 2;

/// What a capacity setting came to over the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// Capacity units paid for, in unit-hours.
    pub unit_hours: f64,
    /// Minutes in which consumption exceeded capacity.
    pub throttled_minutes: u64,
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

/// Where a simulation may stop early: once it throttles more minutes or costs more
/// unit-hours than this, it cannot be the one chosen.
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

/// A fixed provisioned capacity (no auto scaling).
pub fn fixed(rates: &[f64], period: u32, capacity: i64) -> Outcome {
    let mut m = Meter::new(period, true);
    for &r in rates {
        m.record(capacity as f64, r);
    }
    m.finish()
}

/// Target-tracking auto scaling with `t`, over `rates` (units per second, one per period of
/// `period` seconds from `start`, epoch seconds). It starts at the capacity the first period
/// asks for, so the result depends only on the thresholds and the usage.
pub fn autoscaled(rates: &[f64], period: u32, start: i64, t: &Thresholds) -> Outcome {
    simulate(rates, period, start, t, &Bounds::NONE, true).expect("no bounds: it runs through")
}

/// [`autoscaled`] without charts, stopping (`None`) once past `bounds`: what a search over
/// many thresholds needs.
pub fn autoscaled_within(
    rates: &[f64],
    period: u32,
    start: i64,
    t: &Thresholds,
    bounds: &Bounds,
) -> Option<Outcome> {
    simulate(rates, period, start, t, bounds, false)
}

fn simulate(
    rates: &[f64],
    period: u32,
    start: i64,
    t: &Thresholds,
    bounds: &Bounds,
    charts: bool,
) -> Option<Outcome> {
    let mut m = Meter::new(period, charts);
    let step = m.step;
    let (out_n, in_n, land_n) = (
        periods(SCALE_OUT_MINUTES, step),
        periods(SCALE_IN_MINUTES, step),
        periods(LANDING_MINUTES, step),
    );
    let free_interval = periods(DECREASE_INTERVAL_MINUTES, step);
    let mut capacity = capacity_for(rates.first().copied().unwrap_or(0.0), t);
    let mut pending: Option<(usize, i64)> = None;
    let (mut above, mut below) = (0usize, 0usize);
    let (mut day, mut decreases, mut last_decrease) = (i64::MIN, 0u32, None::<usize>);
    for (i, &rate) in rates.iter().enumerate() {
        if let Some((at, c)) = pending {
            if i >= at {
                capacity = c;
                pending = None;
            }
        }
        m.record(capacity as f64, rate);
        if m.beyond(bounds) {
            return None;
        }
        let utilisation = rate * 100.0 / capacity as f64;
        (above, below) = if utilisation > t.target {
            (above + 1, 0)
        } else if utilisation < t.target {
            (0, below + 1)
        } else {
            (0, 0)
        };
        let today = (start + i as i64 * i64::from(period)).div_euclid(86_400);
        if today != day {
            (day, decreases) = (today, 0);
        }
        let recent_peak = |n: usize| {
            rates[i + 1 - n.min(i + 1)..=i]
                .iter()
                .fold(0.0f64, |a, b| a.max(*b))
        };
        if above >= out_n {
            let want = capacity_for(recent_peak(out_n), t);
            if want > pending.map_or(capacity, |(_, c)| c.max(capacity)) {
                pending = Some((i + 1 + land_n, want));
            }
        } else if below >= in_n && pending.is_none() {
            let want = capacity_for(recent_peak(in_n), t);
            let allowed = decreases < FREE_DECREASES_PER_DAY
                || last_decrease.is_none_or(|l| i - l >= free_interval);
            if (want as f64) < capacity as f64 * (1.0 - SCALE_IN_MIN_DROP) && allowed {
                pending = Some((i + 1 + land_n, want));
                decreases += 1;
                last_decrease = Some(i);
                below = 0;
            }
        }
    }
    Some(m.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn th(min: i64, max: i64, target: f64) -> Thresholds {
        Thresholds { min, max, target }
    }

    #[test]
    fn steady_use_is_served_at_the_target_without_throttling() {
        let rates = vec![70.0; 24 * 60];
        let o = autoscaled(&rates, 60, 0, &th(1, 1000, 70.0));
        assert_eq!(o.throttled_minutes, 0);
        // 100 units for 24 hours.
        assert!((o.unit_hours - 2400.0).abs() < 1e-6, "{}", o.unit_hours);
        assert_eq!(o.hourly_capacity.len(), 24);
    }

    #[test]
    fn a_jump_throttles_until_scale_out_lands_then_it_scales_in_after_15_minutes() {
        let mut rates = vec![10.0; 60];
        rates.extend(vec![100.0; 60]);
        rates.extend(vec![10.0; 60]);
        let t = th(1, 1000, 50.0);
        let o = autoscaled(&rates, 60, 0, &t);
        // Above target for 2 minutes, then 2 minutes to land: minutes 60..=63 throttle.
        assert_eq!(o.throttled_minutes, 4);
        // Decreasing needs 15 minutes below target, then lands 2 minutes later.
        let hours = o.unit_hours;
        let exact = (20.0 * 64.0 + 200.0 * 56.0 + 200.0 * 17.0 + 20.0 * 43.0) / 60.0;
        assert!((hours - exact).abs() < 1e-6, "{hours} vs {exact}");
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

    #[test]
    fn decreases_after_the_fourth_of_a_day_wait_an_hour() {
        // Alternate high and low every 30 minutes: each low asks for a decrease.
        let mut rates = Vec::new();
        for k in 0..48 {
            rates.extend(vec![if k % 2 == 0 { 100.0 } else { 1.0 }; 30]);
        }
        let t = th(1, 1000, 50.0);
        let o = autoscaled(&rates, 60, 0, &t);
        // Count the hours whose average capacity dropped well below the high level.
        let low_hours = o.hourly_capacity.iter().filter(|c| **c < 150.0).count();
        // Without the limit every hour would have a low half; with it, after 4 decreases only
        // one per hour lands, so fewer.
        let unlimited_lows = 24;
        assert!(low_hours < unlimited_lows, "{low_hours}");
        assert!(low_hours >= 4, "{low_hours}");
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
