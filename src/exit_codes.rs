//! Process exit codes: the contract scripts and CI jobs rely on (also in the README).

/// Success: every table is as desired (changed or unchanged), or `plan` found no drift.
pub const SUCCESS: i32 = 0;
/// One or more tables failed; the report says which and why.
pub const FAILURES: i32 = 1;
/// Invalid input or usage: nothing was read from or changed in AWS.
pub const INVALID_INPUT: i32 = 2;
/// `plan --detailed-exitcode` found tables that differ from the inventory (and none failed).
pub const DRIFT: i32 = 3;
/// Interrupted by SIGINT or SIGTERM; the report records what was done.
pub const INTERRUPTED: i32 = 130;
