//! What DynamoDB capacity costs, and the cheapest way to run a table: pure (no SDK, no async),
//! tested without AWS. `advise` reads the inputs and writes the outputs; this decides.
//!
//! - [`prices`]: the price book (built-in list prices, `--prices FILE`);
//! - [`usage`]: CloudWatch's consumed units as series and summaries;
//! - [`autoscale`]: provisioned capacity simulated period by period, with or without
//!   target-tracking auto scaling;
//! - [`demand`]: a side's usage prepared once for the many simulations a search runs;
//! - [`search`]: the cheapest auto scaling thresholds for a table's or a GSI's reads and writes;
//! - [`throttling`]: throttled requests as demand, and caps;
//! - [`options`]: a table's options (current, on-demand, provisioned; each class) and their
//!   monthly costs;
//! - [`recommend`]: the recommendation for one table;
//! - [`commitments`]: reserved capacity shared out over a region's tables.

pub mod autoscale;
pub mod commitments;
pub mod demand;
pub mod options;
pub mod prices;
pub mod recommend;
#[cfg(test)]
mod reference;
pub mod search;
pub mod throttling;
pub mod usage;

pub use prices::{ClassPrices, PriceBook, RegionPrices};
pub use recommend::{advise_table, Advice, Policy, DAYS_PER_MONTH};
pub use usage::{DimUsage, Series, TableUsage, UsageSummary};
