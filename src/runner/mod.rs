//! The fleet runner, in four stages that hand work on in this order:
//!
//! 1. [`discover`]: rows for many accounts and regions (`*`, OUs) become rows for one each
//!    (Organizations, DescribeRegions), and pattern rows (`orders-*`) one row per table
//!    (ListTables).
//! 2. [`read`]: every table is described, its auto scaling read in batches per (account,
//!    region), and planned ([`observe_and_plan`]); `plan` stops here. With `apply`, each
//!    table whose plan changes something is handed on as [`Work`] as soon as it is planned.
//! 3. [`execute`]: [`apply_fleet`] runs each table's actions concurrently within the slots,
//!    the UPDATING permits and the rate limits, checking the table again before each switch.
//! 4. [`read_back`]: the changed tables are described again, their auto scaling read back in
//!    batches, and each is verified by planning again (nothing left to do) and concluded.
//!
//! Every stage records what it did in the [`Ledger`]: one report entry per table, current at
//! any moment, from which the JSON report is written (even on an interruption). One table's
//! failure never stops the others: it is recorded and the run goes on.

mod discover;
mod execute;
mod ledger;
mod read;
mod read_back;
mod scope;

pub use discover::{discover, Discovered};
pub use execute::{apply_fleet, gated_work, ApplyContext};
pub use ledger::Ledger;
pub use read::observe_and_plan;

use crate::aws::ops::WaitPolicy;
use crate::aws::{AwsError, ErrorKind};
use crate::history::History;
use crate::model::*;
use std::time::{Duration, Instant};

/// How the run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tables in flight at once.
    pub concurrency: usize,
    pub wait: WaitPolicy,
    /// Attempts per AWS call (UpdateTable on a busy table counts its waits too).
    pub max_attempts: u32,
    /// Once this many tables have failed to apply, start no more.
    pub max_failures: usize,
    /// Apply only this many tables (spread over accounts), then stop.
    pub canary: Option<usize>,
    /// Limited changes recorded by earlier runs (`--history`).
    pub history: History,
    /// Tables of one (account, region) UPDATING at once because of this run.
    pub max_updating: usize,
    /// A table planned longer ago than this is read again before its first UpdateTable.
    pub reread_after: Duration,
    /// Which tags mark a managed table, and whether to change such tables anyway.
    pub ownership: crate::ownership::Ownership,
}

/// (account, role, region): the tables that share clients, credentials and rate limits.
pub type Group = (String, Option<RoleSpec>, String);

/// Tables in flight per (account, region) by default: see [`concurrency_for`].
const TABLES_PER_GROUP: usize = 6;
/// The default never goes below this: a small fleet still reads its few accounts at once.
const MIN_CONCURRENCY: usize = 32;
/// Nor above this: each table in flight holds its state, plan and a task (tens of KB), and
/// past a few thousand the rate limits, not the tables in flight, set the pace.
const MAX_CONCURRENCY: usize = 2048;

/// `given` (`--concurrency`), or by default 6 tables in flight per (account, region) of the
/// run, `groups` of them, from 32 to 2048. A table spends part of its time on DynamoDB
/// (switch, wait, read-back) and part on Auto Scaling: 6 keep both services' limits busy (4
/// left Auto Scaling idle a third of the time in the benchmark); each table in flight costs
/// memory and CPU. Counted on the rows as expanded (accounts and regions found), not as
/// written: one `*` row may be thousands of (account, region).
pub fn concurrency_for(given: Option<usize>, groups: usize) -> usize {
    given.unwrap_or_else(|| (groups * TABLES_PER_GROUP).clamp(MIN_CONCURRENCY, MAX_CONCURRENCY))
}

/// A table, planned. The state it was planned from is the ledger's `before` and its actions
/// are the ledger's `actions`, each kept once: at 10,000 tables, every copy of the fleet's
/// state or plans is tens of megabytes, and a table can wait for its turn most of a run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub desired: DesiredTable,
    /// Whether the state could be read (a missing table is an error, in the ledger).
    pub read: bool,
    /// Whether the plan changes anything.
    changes: bool,
    /// How many actions the plan has.
    steps: usize,
    /// When it was planned (its state read just before).
    planned_at: Instant,
}

impl Planned {
    pub fn changes_anything(&self) -> bool {
        self.read && self.changes
    }
}

/// What planning hands to apply, as it goes.
#[derive(Debug)]
pub enum Work {
    /// Table `i`'s plan changes something.
    Table(usize, Box<Planned>),
    /// Every table of this group has been planned: its last read-back need wait for no more.
    /// (When `work` ends, every group is planned.)
    GroupPlanned(Group),
}

pub type WorkSender = tokio::sync::mpsc::UnboundedSender<Work>;

pub(crate) fn group_of(d: &DesiredTable) -> Group {
    (d.account_id.clone(), d.role.clone(), d.region.clone())
}

/// The error of a row whose table does not exist.
pub fn table_not_found(d: &DesiredTable) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!(
            "table {} does not exist in account {} region {}",
            d.table, d.account_id, d.region
        ),
        ErrorKind::NotFound,
    )
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
