//! One module per command: each exposes one entry that takes the command's arguments and the
//! global ones, does its one job and returns the exit code, or a [`CliError`] that `cli::main`
//! turns into one.
//!
//! - [`pipeline`]: the run `plan`, `apply` and `rollback` share: tables → selection → clients
//!   → ledger → journal → plan (→ apply) → report, with interruption and the final report.
//! - [`plan_apply`]: `plan` and `apply`, from an inventory or the single-table flags.
//! - [`rollback`]: `rollback REPORT`, the tables a report changed, back to their `before`.
//! - [`export`]: tables' current state written as an inventory.
//! - [`advise`]: what each table costs and the cheaper settings, as an inventory.
//! - [`report`]: `report merge` and `report recover`.
//! - [`validate`], [`iam_policy`], [`completions`]: the small commands.
//! - [`base`]: what every AWS-facing command builds (runtime, logging, clients' settings, run
//!   options, pattern expansion); [`source`]: where a run's tables come from and which of them
//!   it selects.

/// `println!` for a command's output on stdout, except that a closed stdout (`ddb-fleet plan
/// inv.csv | head -1`) ends the output quietly instead of panicking: the run goes on, its
/// report is written, and the exit code is the run's.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock());
    }};
    ($($arg:tt)+) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)+);
    }};
}

/// `print!`, as [`outln!`] does.
macro_rules! out {
    ($($arg:tt)+) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, $($arg)+);
        let _ = stdout.flush();
    }};
}

pub mod advise;
pub mod args;
pub mod base;
pub mod completions;
pub mod export;
pub mod iam_policy;
pub mod identity;
pub mod pipeline;
pub mod plan_apply;
pub mod report;
pub mod rollback;
pub mod source;
pub mod validate;

use crate::exit_codes;
use crate::inventory::InventoryErrors;
use crate::report::Report;
use std::path::Path;

/// An error that ends the command, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Inventory(#[from] InventoryErrors),
    #[error("{0}")]
    Usage(String),
    /// AWS could not be asked what the run needs before its first table (who the caller is).
    #[error("{0}")]
    Aws(String),
    #[error("cannot write the report {path}: {source}")]
    Report {
        path: String,
        source: std::io::Error,
    },
}

impl CliError {
    /// Turns a failure to write `path` (report, journal or export) into the command's error.
    pub fn writing(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
        move |source| CliError::Report {
            path: path.display().to_string(),
            source,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Inventory(_) | CliError::Usage(_) => exit_codes::INVALID_INPUT,
            CliError::Report { .. } | CliError::Aws(_) => exit_codes::FAILURES,
        }
    }
}

/// A report of an earlier run, and its bytes (for its SHA-256).
pub fn read_report(path: &Path) -> Result<(Report, Vec<u8>), CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("{}: cannot read: {e}", path.display())))?;
    let report = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::Usage(format!("{}: not a ddb-fleet report: {e}", path.display())))?;
    Ok((report, bytes))
}

/// Refuses to write `output` (named by `flag`) over one of the run's `inputs` (each with
/// what it is): an inventory, or the report a rollback undoes, would be lost. Paths are
/// compared as files (relative or absolute, through links).
pub fn refuse_overwriting(
    output: &Path,
    flag: &str,
    inputs: &[(&Path, &str)],
) -> Result<(), CliError> {
    let Ok(out) = output.canonicalize() else {
        return Ok(()); // a file that does not exist yet is no input
    };
    for (input, what) in inputs {
        if input.canonicalize().is_ok_and(|i| i == out) {
            return Err(CliError::Usage(format!(
                "{flag} {} is {what} of this run: writing it would lose it; give another {flag}",
                output.display()
            )));
        }
    }
    Ok(())
}

/// Whether the report's directory exists: checked before any AWS call, so a run never ends
/// with changes made and nowhere to record them.
pub fn report_dir_exists(path: &Path) -> bool {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.is_dir(),
        _ => true,
    }
}
