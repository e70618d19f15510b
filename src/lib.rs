//! ddb-fleet: plan and apply DynamoDB capacity mode and auto scaling across many accounts and
//! regions. The binary (`main.rs`) only calls [`cli::main`]; everything else is a library so the
//! inventory and the planner are tested without AWS.
//!
//! The map:
//! - [`cli`]: the list of commands and the dispatch; [`commands`]: one module per command,
//!   each with its own arguments ([`commands::args`]: those they share), and the pipeline
//!   `plan`, `apply` and `rollback` share ([`commands::pipeline`]).
//! - [`inventory`]: reading CSV and TOML, and the row rules by concern; [`select`]: filters,
//!   shards and `--resume`.
//! - [`model`]: desired and observed state, without SDK types; [`planner`]: the pure function
//!   from the two to the actions.
//! - [`runner`]: the fleet run in stages (discover, read and plan, execute, read back), each
//!   recording in the ledger, through [`aws`]; [`slots`]: the work slots
//!   tables give back while they wait, and the bound on tables UPDATING at once; [`recheck`]:
//!   the table as it is before an UpdateTable against the state it was planned from.
//! - [`cost`]: prices and the cost model (pure); [`advise`]: reading usage from CloudWatch,
//!   the advice report, inventory and HTML page.
//! - [`history`]: the limited changes (switches, class changes) earlier runs recorded.
//! - [`ownership`]: who manages a table (a CloudFormation stack, a tag the user names).
//! - [`report`] (the JSON contract), [`journal`] (the crash record), [`render`] (text),
//!   [`events`] feeding the log, the [`progress`] bar and the journal; [`export`], [`iam`].
//! - [`exit_codes`], [`cancel`].

pub mod advise;
pub mod aws;
pub mod cancel;
pub mod cli;
pub mod commands;
pub mod cost;
pub mod events;
pub mod exit_codes;
pub mod export;
pub mod history;
pub mod iam;
pub mod inventory;
pub mod journal;
pub mod model;
pub mod org;
pub mod ownership;
pub mod planner;
pub mod progress;
pub mod recheck;
pub mod render;
pub mod report;
pub mod runner;
pub mod select;
pub mod slots;
