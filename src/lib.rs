//! ddb-fleet: plan and apply DynamoDB capacity mode and auto scaling across many accounts and
//! regions. The binary (`main.rs`) only calls [`cli::main`]; everything else is a library so the
//! inventory and the planner are tested without AWS.

pub mod inventory;
pub mod model;
pub mod planner;
