//! Reserved capacity shared out over a region's tables ([`share_reserved`]): a reservation is
//! bought per region and covers provisioned Standard-class capacity of any table in it, so it
//! cannot be priced table by table. Once every table is advised, each region's reserved units
//! are shared in proportion to the capacity the tables have now (the current option's
//! reservable unit-hours), and each option of a table is priced with its share
//! (`options::price_commitments`): the share's fee is paid whatever the option; capacity the
//! option keeps in Standard is covered up to the share; units it leaves are taken up by the
//! region's uncovered capacity where there is some (the reservation is smaller than what the
//! region provisions), else paid for and unused. Then the advice is decided again. An option
//! that moves covered capacity to on-demand or Standard-IA shows the discount it gives up.

use super::options::{price_commitments, Share};
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
    let mut capacity: BTreeMap<&str, [f64; 2]> = BTreeMap::new();
    for t in &tables {
        let d = capacity.entry(t.region).or_default();
        for (total, now) in d.iter_mut().zip(t.advice.options[0].reservable_unit_hours) {
            *total += now;
        }
    }
    for t in tables {
        let Some(prices) = book.region(t.region) else {
            continue;
        };
        let c = &prices.commitments;
        if !c.has_reserved() {
            continue;
        }
        let total = capacity[t.region];
        let mut share = Share::default();
        for side in Side::BOTH {
            let k = side as usize;
            let reserved = c.reserved(side).map_or(0.0, |r| r.units * HOURS_PER_MONTH);
            if total[k] <= 0.0 || reserved <= 0.0 {
                continue;
            }
            let now = t.advice.options[0].reservable_unit_hours[k];
            share.unit_hours[k] = now * (reserved / total[k]).min(1.0);
            share.taken_up[k] = ((total[k] - reserved).max(0.0) / reserved).min(1.0);
        }
        for o in &mut t.advice.options {
            price_commitments(o, share, c, &prices.standard);
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
    fn reserved_capacity_covers_the_current_capacity_and_its_fee_is_paid_whatever_the_option() {
        let list = shared(&PriceBook::builtin(), 1).remove(0);
        assert_eq!(list.verdict, Verdict::Recommended, "{}", list.reason);
        assert_eq!(list.recommended.mode, BillingMode::OnDemand);
        let hours = HOURS_PER_MONTH;
        let full = 100.0 * hours * (0.00013 + 0.00065);
        // Reserved at a tenth of the list rate, covering all its capacity (and no other
        // table to take up what it leaves): the fee is paid whatever it does, so staying is
        // cheaper than on-demand plus an unused reservation.
        let cheap = [0.000013, 0.000065];
        let a = shared(&book(100.0, cheap), 1).remove(0);
        let fee = 100.0 * hours * (0.000013 + 0.000065);
        assert!((a.options[0].reserved_discount - (full - fee)).abs() < 1e-6);
        assert!((a.monthly_now - fee).abs() < 1e-6, "{}", a.monthly_now);
        assert_ne!(a.recommended.mode, BillingMode::OnDemand, "{}", a.reason);
        let on_demand = a
            .options
            .iter()
            .find(|o| o.mode == BillingMode::OnDemand)
            .unwrap();
        let od_list = list
            .options
            .iter()
            .find(|o| o.mode == BillingMode::OnDemand)
            .unwrap();
        assert!((on_demand.monthly - (od_list.monthly + fee)).abs() < 1e-6);
        // Four such tables, 100 units reserved: a quarter each, and what one leaves the
        // others take up (they have uncovered capacity): on-demand wins, giving up its
        // discount, which the region's other tables get.
        let four = shared(&book(100.0, cheap), 4);
        for a in &four {
            assert_eq!(a.recommended.mode, BillingMode::OnDemand, "{}", a.reason);
            // Its covered capacity's list price: the fee stays paid either way.
            assert!(
                (a.reserved_discount_given_up - full / 4.0).abs() < 1e-6,
                "{}",
                a.reserved_discount_given_up
            );
            // Priced as on-demand, the quarter's fee, less the list price others no longer pay.
            let od = a
                .options
                .iter()
                .find(|o| {
                    o.mode == BillingMode::OnDemand
                        && o.table_class == crate::model::TableClass::Standard
                })
                .unwrap();
            assert!((od.monthly - (od_list.monthly + fee / 4.0 - full / 4.0)).abs() < 1e-6);
        }
    }
}
