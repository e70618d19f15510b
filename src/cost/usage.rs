//! Usage as CloudWatch reports it ([`Series`]: consumed units per period, CloudWatch's `Sum`),
//! turned into what the model needs: units per second per period ([`Series::rates`]) and a
//! summary ([`UsageSummary`]: peak, average, idle, and an hourly profile for charts); a
//! dimension's consumed units with what CloudWatch counted beside them ([`DimUsage`]: throttled
//! requests, the capacity billed), and a table's ([`TableUsage`]).

use crate::model::ScalingKey;
use serde::{Deserialize, Serialize};

/// One dimension (the table or a GSI, reads or writes) over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct DimUsage {
    pub key: ScalingKey,
    /// Units consumed (`Consumed*CapacityUnits`, Sum per period).
    pub series: Series,
    /// Requests throttled for want of provisioned capacity (`Read/WriteThrottleEvents`):
    /// (period of `series`, events), only periods with events.
    pub throttled: Vec<(usize, f64)>,
    /// Requests throttled at the maximum on-demand throughput
    /// (`Read/WriteMaxOnDemandThroughputThrottleEvents`), the same way.
    pub cap_throttled: Vec<(usize, f64)>,
    /// The provisioned capacity in force on average over the window
    /// (`Provisioned*CapacityUnits`): what was billed. `None` when not read or not reported.
    pub measured_capacity: Option<f64>,
}

impl DimUsage {
    /// Consumed units alone: no throttling seen, no capacity measured.
    pub fn consumed(key: ScalingKey, series: Series) -> DimUsage {
        DimUsage {
            key,
            series,
            throttled: Vec::new(),
            cap_throttled: Vec::new(),
            measured_capacity: None,
        }
    }
}

/// A table's usage over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct TableUsage {
    pub dims: Vec<DimUsage>,
    /// Days the window covers for this table (a newer table: since it was created).
    pub days_of_data: f64,
    /// Days asked for (`--days`).
    pub window_days: f64,
}

/// One dimension's consumed units (table or GSI, read or write) over the analysis window:
/// `sums[i]` is what was consumed in the `i`-th period from `start`; a period CloudWatch
/// reported nothing for is 0 (DynamoDB publishes no datapoint for a minute without requests).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Seconds per period (60, 300 or 3600).
    pub period: u32,
    /// Start of the first period, epoch seconds (aligned to the period).
    pub start: i64,
    pub sums: Vec<f64>,
}

impl Series {
    /// An empty series (nothing consumed) of `periods` periods.
    pub fn zeros(period: u32, start: i64, periods: usize) -> Series {
        Series {
            period,
            start,
            sums: vec![0.0; periods],
        }
    }

    /// Units per second in each period: CloudWatch's Sum over the period's length.
    pub fn rates(&self) -> Vec<f64> {
        let p = f64::from(self.period);
        self.sums.iter().map(|s| s / p).collect()
    }

    pub fn total(&self) -> f64 {
        self.sums.iter().sum()
    }

    /// Summary of the series.
    pub fn summary(&self) -> UsageSummary {
        let p = f64::from(self.period);
        let total = self.total();
        let peak = self.sums.iter().fold(0.0f64, |m, s| m.max(*s)) / p;
        let secs = p * self.sums.len() as f64;
        let per_hour = (3600 / self.period).max(1) as usize;
        let hourly = self
            .sums
            .chunks(per_hour)
            .map(|c| (c.iter().sum::<f64>() / (p * c.len() as f64)) as f32)
            .collect();
        let hourly_peak = self
            .sums
            .chunks(per_hour)
            .map(|c| (c.iter().fold(0.0f64, |m, v| m.max(*v)) / p) as f32)
            .collect();
        UsageSummary {
            total_units: total,
            peak_per_second: peak,
            average_per_second: if secs > 0.0 { total / secs } else { 0.0 },
            idle: total == 0.0,
            hourly,
            hourly_peak,
        }
    }
}

/// The average of a value CloudWatch reports every `step` seconds while it exists (a
/// provisioned table's capacity: a point at least every few minutes while it is provisioned),
/// over [start, end), in steps aligned to `step`: each whole step has its own report
/// (CloudWatch stamps a period's statistic with the period's start); a last step cut by `end`
/// may have none yet and takes the one before. `None` unless every whole step has one: a step
/// without, at the start, in the middle or at the end, means the table was not provisioned
/// all the while (it switched), and its bill is then not known from this alone.
pub fn average_in_force(points: &[(i64, f64)], start: i64, end: i64, step: i64) -> Option<f64> {
    let first = start.div_euclid(step) * step;
    if points.first()?.0 > first {
        return None;
    }
    let (mut sum, mut steps, mut next, mut value, mut last) = (0.0, 0u64, 0usize, 0.0, first);
    let mut t = first;
    while t < end {
        while next < points.len() && points[next].0 <= t {
            (value, last) = (points[next].1, points[next].0);
            next += 1;
        }
        let whole = t + step <= end;
        if t - last >= step && (whole || t - last >= 2 * step) {
            return None;
        }
        sum += value;
        steps += 1;
        t += step;
    }
    (steps > 0).then(|| sum / steps as f64)
}

/// What one dimension consumed over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    pub total_units: f64,
    /// The highest per-second rate of any period (shorter spikes are invisible).
    pub peak_per_second: f64,
    pub average_per_second: f64,
    /// Nothing consumed in the window.
    pub idle: bool,
    /// Average units per second of each hour (for charts; not in the report).
    #[serde(skip)]
    pub hourly: Vec<f32>,
    /// The highest per-second rate of each hour's periods (for charts).
    #[serde(skip)]
    pub hourly_peak: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_summary() {
        let s = Series {
            period: 60,
            start: 0,
            sums: vec![60.0, 120.0, 0.0, 60.0],
        };
        assert_eq!(s.rates(), vec![1.0, 2.0, 0.0, 1.0]);
        let u = s.summary();
        assert_eq!(u.total_units, 240.0);
        assert_eq!(u.peak_per_second, 2.0);
        assert_eq!(u.average_per_second, 1.0);
        assert!(!u.idle);
        assert_eq!(u.hourly, vec![1.0]);
        assert_eq!(u.hourly_peak, vec![2.0]);
        assert!(Series::zeros(60, 0, 10).summary().idle);
    }

    #[test]
    fn capacity_in_force_is_known_only_where_reported_throughout() {
        let hours = |v: &[f64]| -> Vec<(i64, f64)> {
            v.iter()
                .enumerate()
                .map(|(h, c)| (h as i64 * 3600, *c))
                .collect()
        };
        // 10 units for two hours, then 30: 20 on average.
        let points = hours(&[10.0, 10.0, 30.0, 30.0]);
        assert_eq!(average_in_force(&points, 0, 4 * 3600, 3600), Some(20.0));
        // A window starting inside an hour takes that hour's report.
        assert_eq!(average_in_force(&points, 1800, 4 * 3600, 3600), Some(20.0));
        // No report in the first hour (the table became provisioned later), or an hour
        // missing (on-demand for a while): not known.
        assert_eq!(average_in_force(&points[1..], 0, 4 * 3600, 3600), None);
        let gap = [points[0], points[2], points[3]];
        assert_eq!(average_in_force(&gap, 0, 4 * 3600, 3600), None);
        // Reports stopping before the end (switched to on-demand): not known either.
        assert_eq!(average_in_force(&points[..2], 0, 4 * 3600, 3600), None);
        // A last hour cut short by the window's end may have no report yet.
        assert_eq!(
            average_in_force(&points, 0, 4 * 3600 + 600, 3600),
            Some(22.0)
        );
        assert_eq!(average_in_force(&[], 0, 3600, 3600), None);
    }
}
