//! The one integration-test binary (the AWS SDK makes each extra test binary costly to link).
//! Tests run the real `ddb-fleet` binary against a real `moto_server` each test starts on a
//! free loopback port, or against the AWS-rules simulator (`tests/sim`) for what moto cannot
//! show, and check results by reading AWS directly, not through our report.

#[path = "../html_check.rs"]
mod html_check;
#[path = "../sim/mod.rs"]
mod sim;
mod support;

mod advice_rules;
mod advise;
mod bad_input;
mod faults;
mod first_day;
mod fleet;
mod guardrails;
mod live_changes;
mod managed;
mod operations;
mod organization;
mod pace;
mod records;
mod refusals;
mod settings;
mod single_table;
mod trust;
