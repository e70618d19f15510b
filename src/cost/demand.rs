//! A side's demand prepared once for the many simulations a threshold search runs over it:
//! - the rates' lowest and highest value per block of periods (and per block of blocks), so a
//!   simulation finds the next period where anything can happen ([`Demand::next_outside`])
//!   without visiting the ones between;
//! - from each block to the end, the whole units each period needs not to throttle
//!   ([`Demand::need_from`]): no capacity that throttles at most so many periods pays less.
//!
//! Rates that are not finite numbers get no index: simulations then visit every period.

/// Periods per block, and blocks per block of the next level.
const BLOCK: usize = 16;

/// Units per second per period, and what simulations need to skip over them.
pub struct Demand<'a> {
    pub rates: &'a [f64],
    index: Option<Index>,
}

struct Index {
    /// Level `l`: each block of `BLOCK^(l+1)` periods' lowest and highest rate.
    levels: Vec<Vec<(f64, f64)>>,
    /// From the start of each block of `BLOCK` periods to the end (one more entry: nothing):
    /// the sum and the highest of the rates.
    rest: Vec<(f64, f64)>,
}

/// `x.ceil() as i64`, without the call to the C library a plain `ceil` is on x86-64.
pub fn whole_units(x: f64) -> i64 {
    // Within ±2^62 the conversion truncates exactly; outside (and NaN), the library's answer.
    if x.is_nan() || x.abs() >= 4.6e18 {
        return x.ceil() as i64;
    }
    let t = x as i64;
    if (t as f64) < x {
        t + 1
    } else {
        t
    }
}

/// The whole units a rate needs not to throttle (capacity is never negative here).
fn units_needed(rate: f64) -> i64 {
    whole_units(rate).max(0)
}

fn span(values: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
        (lo.min(a), hi.max(b))
    })
}

impl<'a> Demand<'a> {
    pub fn new(rates: &'a [f64]) -> Self {
        let index = Index::new(rates);
        Demand { rates, index }
    }

    /// Whether simulations may skip periods (the rates are finite).
    pub fn indexed(&self) -> bool {
        self.index.is_some()
    }

    /// The first period from `i` whose rate is under `lo` or over `hi` (the number of rates if
    /// none is). Only with an index.
    pub fn next_outside(&self, i: usize, lo: f64, hi: f64) -> usize {
        let rates = self.rates;
        if i >= rates.len() {
            return i;
        }
        let out = |r: f64| r < lo || r > hi;
        let mut i = i;
        while i < rates.len() && !i.is_multiple_of(BLOCK) {
            if out(rates[i]) {
                return i;
            }
            i += 1;
        }
        let Some(index) = self.index.as_ref().filter(|_| i < rates.len()) else {
            return i + rates[i..].iter().take_while(|r| !out(**r)).count();
        };
        let (mut level, mut p) = (0, i / BLOCK);
        loop {
            let Some(&(min, max)) = index.levels[level].get(p) else {
                return rates.len();
            };
            if min >= lo && max <= hi {
                p += 1;
                if p.is_multiple_of(BLOCK) && level + 1 < index.levels.len() {
                    (level, p) = (level + 1, p / BLOCK);
                }
            } else if level > 0 {
                (level, p) = (level - 1, p * BLOCK);
            } else {
                let block = p * BLOCK..((p + 1) * BLOCK).min(rates.len());
                return block.clone().find(|j| out(rates[*j])).unwrap_or(block.end);
            }
        }
    }

    /// From the first block boundary at or after period `i` to the end: at most the sum, and
    /// the highest, of the whole units each period needs not to throttle (nothing without
    /// index).
    pub fn need_from(&self, i: usize) -> (i128, i64) {
        let Some(&(sum, max)) = self
            .index
            .as_ref()
            .and_then(|x| x.rest.get(i.div_ceil(BLOCK)))
        else {
            return (0, 0);
        };
        // Each period needs at least its rate: the sum, less its rounding (under 1e-12 of it).
        let sum = (sum * (1.0 - 1e-9)).floor().max(0.0);
        (sum as i128, units_needed(max))
    }
}

impl Index {
    /// `None` when a rate is not finite (nor is then their sum).
    fn new(rates: &[f64]) -> Option<Self> {
        // Per block: lowest, highest, sum of the positive rates, and a probe that is 0 unless a
        // rate is not finite.
        let blocks: Vec<[f64; 4]> = rates
            .chunks(BLOCK)
            .map(|c| {
                c.iter().fold(
                    [f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0],
                    |[lo, hi, sum, probe], r| {
                        [lo.min(*r), hi.max(*r), sum + r.max(0.0), probe + r * 0.0]
                    },
                )
            })
            .collect();
        let mut rest = vec![(0.0f64, 0.0f64); blocks.len() + 1];
        let mut probe = 0.0;
        for (b, [_, hi, sum, p]) in blocks.iter().enumerate().rev() {
            rest[b] = (rest[b + 1].0 + sum, rest[b + 1].1.max(*hi));
            probe += p;
        }
        if probe != 0.0 || !rest[0].0.is_finite() {
            return None;
        }
        let mut levels = vec![blocks.iter().map(|b| (b[0], b[1])).collect::<Vec<_>>()];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            let up = last
                .chunks(BLOCK)
                .map(|c| span(c.iter().copied()))
                .collect();
            levels.push(up);
        }
        Some(Index { levels, rest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whole_units_is_the_ceiling() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            1.5,
            -1.5,
            2.0,
            1e15 + 0.5,
            3e18,
            5e18,
            -5e18,
            1e300,
        ] {
            assert_eq!(whole_units(x), x.ceil() as i64, "{x}");
        }
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(whole_units(x), x.ceil() as i64, "{x}");
        }
    }

    proptest! {
        #[test]
        fn next_outside_and_need_match_a_scan(
            rates in prop::collection::vec(0.0f64..100.0, 0..120),
            from in 0usize..130,
            lo in 0.0f64..50.0,
            width in 0.0f64..60.0,
        ) {
            let d = Demand::new(&rates);
            let hi = lo + width;
            let expected = (from..rates.len())
                .find(|j| rates[*j] < lo || rates[*j] > hi)
                .unwrap_or(rates.len().max(from));
            prop_assert_eq!(d.next_outside(from, lo, hi), expected);
            let start = from.div_ceil(BLOCK) * BLOCK;
            let tail = rates.get(start..).unwrap_or(&[]);
            let sum: i128 = tail.iter().map(|r| i128::from(units_needed(*r))).sum();
            let max = tail.iter().map(|r| units_needed(*r)).max().unwrap_or(0);
            let (at_most, highest) = d.need_from(from);
            prop_assert!(at_most <= sum && at_most + tail.len() as i128 >= sum);
            prop_assert_eq!(highest, max);
        }
    }
}
