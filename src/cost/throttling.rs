//! Throttling: demand that CloudWatch's consumed units did not show. A throttled request
//! consumes nothing, so while a table throttles `Consumed*CapacityUnits` understates what was
//! asked of it (AWS-RULES.md, "Throttling metrics"). The model adds the throttled requests back
//! ([`demand_rates`]), a dimension that throttled keeps its bounds, and a maximum on-demand
//! throughput that throttled is raised ([`cap`]).

use super::usage::DimUsage;
use crate::model::Cap;
use serde::{Deserialize, Serialize};

/// Units a throttled request is counted as: the least a request costs when served (a write of
/// up to 1 KB; a strongly consistent read of up to 4 KB). SDKs retry throttled requests and
/// each retry counts again, so events over-count requests while this under-counts larger
/// ones: a floor of the demand, not a measure of it.
pub const UNITS_PER_THROTTLED_REQUEST: f64 = 1.0;

/// The factor a maximum on-demand throughput that throttled is raised by when
/// `--cap-on-demand` gives none.
pub const DEFAULT_CAP_FACTOR: f64 = 2.0;

/// The lowest maximum on-demand throughput `advise` sets, units per second (`--cap-floor`): a
/// quiet table capped at its quiet peak would throttle the first backfill or scan.
pub const DEFAULT_CAP_FLOOR: i64 = 100;

/// What CloudWatch counted of one dimension's throttled requests in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throttling {
    /// Requests throttled for want of provisioned capacity (`Read/WriteThrottleEvents`).
    pub events: f64,
    /// Requests throttled at the maximum on-demand throughput
    /// (`Read/WriteMaxOnDemandThroughputThrottleEvents`).
    pub cap_events: f64,
    /// Start of the first and of the last period with events (RFC 3339), and how many
    /// periods had some.
    pub first: String,
    pub last: String,
    pub periods: usize,
}

impl Throttling {
    /// "1234 requests throttled (at the on-demand maximum) in 12 periods, 2026-12-01T10:00:00Z to ...".
    pub fn describe(&self) -> String {
        let kinds = match (self.events > 0.0, self.cap_events > 0.0) {
            (true, true) => format!(
                "{} requests throttled ({} at the maximum on-demand throughput)",
                self.events + self.cap_events,
                self.cap_events
            ),
            (false, true) => format!(
                "{} requests throttled at the maximum on-demand throughput",
                self.cap_events
            ),
            _ => format!("{} requests throttled", self.events),
        };
        format!(
            "{kinds} in {} periods, {} to {}",
            self.periods, self.first, self.last
        )
    }
}

/// What CloudWatch counted of `d`'s throttling; `None` when nothing was throttled.
pub fn of(d: &DimUsage) -> Option<Throttling> {
    let sum = |v: &[(usize, f64)]| v.iter().map(|(_, e)| e).sum::<f64>();
    let (events, cap_events) = (sum(&d.throttled), sum(&d.cap_throttled));
    if events + cap_events <= 0.0 {
        return None;
    }
    let mut periods: Vec<usize> = d
        .throttled
        .iter()
        .chain(&d.cap_throttled)
        .filter(|(_, e)| *e > 0.0)
        .map(|(k, _)| *k)
        .collect();
    periods.sort_unstable();
    periods.dedup();
    let at = |k: usize| {
        let t = d.series.start + k as i64 * i64::from(d.series.period);
        aws_smithy_types::DateTime::from_secs(t)
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default()
    };
    Some(Throttling {
        events,
        cap_events,
        first: at(periods[0]),
        last: at(periods[periods.len() - 1]),
        periods: periods.len(),
    })
}

/// Demand per second in each period: units consumed plus the throttled requests.
pub fn demand_rates(d: &DimUsage) -> Vec<f64> {
    let mut sums = d.series.sums.clone();
    for (k, e) in d.throttled.iter().chain(&d.cap_throttled) {
        if let Some(s) = sums.get_mut(*k) {
            *s += e * UNITS_PER_THROTTLED_REQUEST;
        }
    }
    let p = f64::from(d.series.period);
    sums.iter().map(|s| s / p).collect()
}

/// Units asked for over the window: consumed plus the throttled requests (the same sum as
/// the consumed units where nothing throttled, so that options priced on demand and the
/// current one priced as billed agree to the last digit).
pub fn demand_units(d: &DimUsage) -> f64 {
    let throttled: f64 = d
        .throttled
        .iter()
        .chain(&d.cap_throttled)
        .map(|(_, e)| e)
        .sum();
    d.series.total() + throttled * UNITS_PER_THROTTLED_REQUEST
}

/// What a dimension's maximum on-demand throughput should be.
#[derive(Debug, Clone, Copy)]
pub struct CapCase {
    /// Its cap now (on-demand tables).
    pub have: Option<Cap>,
    pub on_demand_now: bool,
    /// Highest demand per second of any period (throttled requests included).
    pub peak: f64,
    /// Requests were throttled at the cap in the window.
    pub throttled_at_cap: bool,
}

/// The cap `c` gets under `--cap-on-demand factor` (none: caps are left as they are, but a cap
/// that throttled is raised by [`DEFAULT_CAP_FACTOR`]), never under `floor`:
/// - a cap that throttled: the peak demand (throttled requests included, so above the cap) x
///   the factor, or the cap it has if higher (a capped table is never seen above its cap, so
///   keeping "a cap at least the peak seen" would keep it forever while the table grows);
/// - a table already on-demand keeps a cap that is at least its peak (no flapping);
/// - nothing observed: left as it is (no peak to scale from);
/// - otherwise the peak x the factor.
pub fn cap(c: CapCase, factor: Option<f64>, floor: i64) -> Option<Cap> {
    let scaled = |x: f64, f: f64| ((x * f).ceil() as i64).max(floor).max(1);
    let have = c.have.filter(|_| c.on_demand_now);
    if c.throttled_at_cap && c.on_demand_now {
        // The peak counts the throttled requests, so it is above the cap that throttled them;
        // the cap it had is kept if higher (the window still holds the events of an older,
        // lower cap: raising from the cap itself would double it every night).
        let kept = match have {
            Some(Cap::Max(n)) => n,
            _ => 0,
        };
        let f = factor.unwrap_or(DEFAULT_CAP_FACTOR);
        return Some(Cap::Max(scaled(c.peak, f).max(kept)));
    }
    let Some(factor) = factor else {
        return have;
    };
    match have {
        Some(Cap::Max(n)) if n as f64 >= c.peak => Some(Cap::Max(n.max(floor))),
        _ if c.peak <= 0.0 => have,
        _ => Some(Cap::Max(scaled(c.peak, factor))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Series;
    use crate::model::{ScalingKey, Side};

    fn dim(sums: Vec<f64>, throttled: Vec<(usize, f64)>, cap: Vec<(usize, f64)>) -> DimUsage {
        DimUsage {
            throttled,
            cap_throttled: cap,
            ..DimUsage::consumed(
                ScalingKey::table(Side::Read),
                Series {
                    period: 60,
                    start: 1_800_000_000,
                    sums,
                },
            )
        }
    }

    #[test]
    fn throttled_requests_are_demand_and_are_summarised_with_when() {
        let d = dim(vec![60.0, 60.0, 60.0], vec![(1, 120.0)], vec![(2, 30.0)]);
        // 60 units a minute is 1 a second; 120 throttled requests in minute 1 add 2 a second.
        assert_eq!(demand_rates(&d), vec![1.0, 3.0, 1.5]);
        let t = of(&d).unwrap();
        assert_eq!((t.events, t.cap_events, t.periods), (120.0, 30.0, 2));
        assert_eq!(t.first, "2027-01-15T08:01:00Z");
        assert_eq!(t.last, "2027-01-15T08:02:00Z");
        assert!(t
            .describe()
            .contains("150 requests throttled (30 at the maximum"));
        assert!(of(&dim(vec![60.0], vec![], vec![])).is_none());
    }

    fn case(have: Option<Cap>, peak: f64, throttled: bool) -> CapCase {
        CapCase {
            have,
            on_demand_now: true,
            peak,
            throttled_at_cap: throttled,
        }
    }

    #[test]
    fn a_cap_that_throttled_is_raised_above_the_demand_and_the_cap() {
        // Capped at 100 and throttled: seen at 100 plus 20 throttled a second.
        let raised = cap(case(Some(Cap::Max(100)), 120.0, true), Some(1.5), 10);
        assert_eq!(raised, Some(Cap::Max(180)));
        // Without --cap-on-demand too, by the default factor.
        assert_eq!(
            cap(case(Some(Cap::Max(100)), 120.0, true), None, 10),
            Some(Cap::Max(240))
        );
        // The next night the window still holds those events; the cap raised to 180 is kept,
        // not raised again.
        assert_eq!(
            cap(case(Some(Cap::Max(180)), 120.0, true), Some(1.5), 10),
            Some(Cap::Max(180))
        );
    }

    #[test]
    fn caps_never_go_under_the_floor_and_untouched_caps_stay() {
        // A quiet table peaking at 2 reads a second gets the floor, not 4.
        let quiet = CapCase {
            on_demand_now: false,
            ..case(None, 2.0, false)
        };
        assert_eq!(cap(quiet, Some(2.0), 100), Some(Cap::Max(100)));
        assert_eq!(cap(quiet, None, 100), None, "no --cap-on-demand: no cap");
        // Kept when at least the peak, raised to the floor when under it.
        assert_eq!(
            cap(case(Some(Cap::Max(500)), 200.0, false), Some(2.0), 100),
            Some(Cap::Max(500))
        );
        assert_eq!(
            cap(case(Some(Cap::Max(50)), 20.0, false), Some(2.0), 100),
            Some(Cap::Max(100))
        );
        assert_eq!(
            cap(case(Some(Cap::Max(50)), 20.0, false), None, 100),
            Some(Cap::Max(50)),
            "no --cap-on-demand: caps are left as they are"
        );
    }
}
