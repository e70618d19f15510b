//! Reserved capacity shared out over a region's tables ([`share_reserved`]): a reservation is
//! bought per region and covers provisioned Standard-class capacity of any table in it, so it
//! cannot be priced table by table. Once every table is advised, each region's reserved units
//! are shared in proportion to the capacity the tables have now (the current option's
//! reservable unit-hours); each option of a table is priced with its share (up to what that
//! option provisions in Standard), and the advice decided again. An option that moves covered
//! capacity to on-demand or Standard-IA shows the discount it gives up.

use super::options::price_commitments;
use super::recommend::{decide, Advice, Policy};
use super::{PriceBook, DAYS_PER_MONTH};
use crate::model::{ObservedTable, Side};
use std::collections::BTreeMap;

/// Hours in the average month.
const HOURS_PER_MONTH: f64 = DAYS_PER_MONTH * 24.0;

/// One advised table: its region, its state and its advice.
pub struct Advised<'a> {
    pub region: &'a str,
    pub observed: &'a ObservedTable,
    pub advice: &'a mut Advice,
}

/// Prices every table's options with its share of its region's reserved capacity and decides
/// again. Regions without reserved capacity are left as they are.
pub fn share_reserved(tables: Vec<Advised>, book: &PriceBook, policy: &Policy) {
    let mut demand: BTreeMap<&str, [f64; 2]> = BTreeMap::new();
    for t in &tables {
        let d = demand.entry(t.region).or_default();
        for (total, now) in d.iter_mut().zip(t.advice.options[0].reservable_unit_hours) {
            *total += now;
        }
    }
    for t in tables {
        let Some(prices) = book.region(t.region) else {
            continue;
        };
        let c = &prices.commitments;
        if c.reserved_read.is_none() && c.reserved_write.is_none() {
            continue;
        }
        let total = demand[t.region];
        let share = [Side::Read, Side::Write].map(|side| {
            let k = side as usize;
            let reserved = c.reserved(side).map_or(0.0, |r| r.units * HOURS_PER_MONTH);
            let now = t.advice.options[0].reservable_unit_hours[k];
            if total[k] > 0.0 {
                now * (reserved / total[k]).min(1.0)
            } else {
                0.0
            }
        });
        for o in &mut t.advice.options {
            let covered = [0, 1].map(|k| share[k].min(o.reservable_unit_hours[k]));
            price_commitments(o, covered, c, &prices.standard);
        }
        decide(t.advice, t.observed, policy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::prices::Reserved;
    use crate::cost::recommend::Verdict;
    use crate::cost::{advise_table, DimUsage, Series, TableUsage};
    use crate::model::{BillingMode, ScalingKey};

    fn policy() -> Policy {
        Policy::DEFAULT
    }

    /// Fixed at 100 RCU and 100 WCU (56.94 a month at list prices), used in short bursts:
    /// on-demand costs less at list prices.
    fn table() -> (ObservedTable, TableUsage) {
        let mut o = ObservedTable::active(BillingMode::Provisioned, 100, &[]);
        o.size_bytes = Some(0);
        let sums: Vec<f64> = (0..14 * 1440)
            .map(|m| if m % 60 == 0 { 80.0 * 60.0 } else { 1.0 * 60.0 })
            .collect();
        let dims = Side::BOTH
            .iter()
            .map(|s| {
                let mut d = DimUsage::consumed(
                    ScalingKey::table(*s),
                    Series {
                        period: 60,
                        start: 0,
                        sums: sums.clone(),
                    },
                );
                d.measured_capacity = Some(100.0);
                d
            })
            .collect();
        let u = TableUsage {
            dims,
            days_of_data: 14.0,
            window_days: 14.0,
        };
        (o, u)
    }

    fn book(units: f64, hourly: [f64; 2]) -> PriceBook {
        let mut book = PriceBook::builtin();
        let r = book.regions.get_mut("us-east-1").unwrap();
        r.commitments.reserved_read = Some(Reserved {
            units,
            hourly: hourly[0],
        });
        r.commitments.reserved_write = Some(Reserved {
            units,
            hourly: hourly[1],
        });
        book
    }

    fn shared(book: &PriceBook, n: usize) -> Vec<Advice> {
        let (o, u) = table();
        let prices = book.region("us-east-1").unwrap();
        let mut advice: Vec<Advice> = (0..n)
            .map(|_| advise_table(&o, &u, prices, &policy()))
            .collect();
        let tables = advice
            .iter_mut()
            .map(|a| Advised {
                region: "us-east-1",
                observed: &o,
                advice: a,
            })
            .collect();
        share_reserved(tables, book, &policy());
        advice
    }

    #[test]
    fn reserved_capacity_covers_the_current_capacity_and_moving_off_it_gives_the_discount_up() {
        let list = shared(&PriceBook::builtin(), 1).remove(0);
        assert_eq!(list.verdict, Verdict::Recommended, "{}", list.reason);
        assert_eq!(list.recommended.mode, BillingMode::OnDemand);
        let hours = HOURS_PER_MONTH;
        // Reserved at a tenth of the list rate, covering all its capacity: staying is cheaper.
        let cheap = [0.000013, 0.000065];
        let a = shared(&book(100.0, cheap), 1).remove(0);
        let discount = 100.0 * hours * (0.00013 - 0.000013 + 0.00065 - 0.000065);
        assert!((a.options[0].reserved_discount - discount).abs() < 1e-6);
        assert!((a.monthly_now - (list.monthly_now - discount)).abs() < 1e-6);
        assert_ne!(a.recommended.mode, BillingMode::OnDemand, "{}", a.reason);
        // Two such tables share 100 reserved units: half each. On-demand still wins for each,
        // and says what it gives up.
        let two = shared(&book(100.0, cheap), 2);
        for a in &two {
            assert_eq!(a.recommended.mode, BillingMode::OnDemand, "{}", a.reason);
            assert!((a.reserved_discount_given_up - discount / 2.0).abs() < 1e-6);
        }
    }
}
