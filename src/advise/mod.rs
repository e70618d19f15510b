//! `advise`: what each table of the fleet costs now, what it would cost on-demand or
//! provisioned with the auto scaling the model recommends, in either table class, and the
//! cheaper settings written as an inventory that `plan` and `apply` take.
//!
//! - [`run`]: reads each table's state and CloudWatch usage and calls the cost model
//!   (`crate::cost`), streaming table by table;
//! - [`report`]: the JSON report (a contract, like the run report);
//! - [`outputs`]: the advice inventory and the summary on stdout;
//! - [`html`]: the one-page HTML report.

pub mod html;
pub mod outputs;
pub mod report;
pub mod run;
