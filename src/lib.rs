//! ddb-fleet: plan and apply DynamoDB capacity mode and auto scaling across many accounts and
//! regions. The binary (`main.rs`) only calls [`cli::main`]; everything else is a library so the
//! inventory and the planner are tested without AWS.
//!
//! The flow: [`inventory`] validates the whole input → [`runner::observe_and_plan`] reads
//! state through [`aws`] and calls the pure [`planner`] → [`runner::apply_fleet`] realises the
//! plans → [`report`] records everything; [`events`] feed the log and the [`progress`] bar.

pub mod aws;
pub mod cancel;
pub mod cli;
pub mod events;
pub mod exit_codes;
pub mod export;
pub mod iam;
pub mod inventory;
pub mod journal;
pub mod model;
pub mod planner;
pub mod progress;
pub mod render;
pub mod report;
pub mod runner;
pub mod select;
