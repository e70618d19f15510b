//! What every command that talks to AWS builds the same way: the async runtime, logging
//! behind the progress bar, the clients' settings, the run options (`--concurrency` and
//! waiting), the expansion of table patterns, and waiting for Ctrl-C / SIGTERM.

use super::args::{GlobalArgs, LimitArgs, LogFormat};
use super::CliError;
use crate::aws::ops::WaitPolicy;
use crate::aws::{AwsError, AwsSettings, ClientFactory, Rates, RetryPolicy};
use crate::events::LogSink;
use crate::inventory::Limits;
use crate::model::DesiredTable;
use crate::progress::SuspendingWriter;
use crate::report::OrgReport;
use crate::runner::{self, RunOptions};
use crate::select::Selection;
use std::io::IsTerminal;
use std::time::Duration;

/// The inventory limits the flags set.
pub fn limits(l: &LimitArgs) -> Limits {
    Limits {
        max_capacity_units: l.max_capacity_units,
        allowed_regions: l.allowed_regions.clone(),
    }
}

pub fn init_logging(g: &GlobalArgs, writer: SuspendingWriter) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if g.verbose {
            "ddb_fleet=debug,warn"
        } else {
            "ddb_fleet=info,warn"
        })
    });
    // Colour only for a person at a terminal, and never with NO_COLOR (no-color.org): a log
    // written to a file or a collector has no escape codes in it.
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour)
        .with_target(false);
    let json = match g.log_format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The log's sink: each action's lines at info level for machines (stderr not a terminal)
/// or with `--verbose`; on a terminal, a line per table (actions at debug level).
pub fn log_sink(g: &GlobalArgs) -> LogSink {
    LogSink {
        detail: g.verbose || !std::io::stderr().is_terminal(),
        chain: g.verbose,
    }
}

pub fn aws_settings(g: &GlobalArgs) -> AwsSettings {
    AwsSettings {
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        role_session_name: g.role_session_name.clone(),
        rates: Rates {
            dynamodb: g.dynamodb_rps,
            autoscaling: g.autoscaling_rps,
            sts: g.sts_rps,
            cloudwatch: g.cloudwatch_rps,
            tags: g.tags_rps,
            organizations: g.organizations_rps,
        },
        retry: RetryPolicy {
            max_attempts: g.max_attempts,
            base_delay: Duration::from_millis(g.retry_base_ms),
            ..RetryPolicy::default()
        },
        attempt_timeout: Duration::from_secs(30),
    }
}

/// `--concurrency`, or the default for the (account, region) of `tables`
/// ([`runner::concurrency_for`]): `tables` are the rows as expanded (discovery done).
pub fn concurrency<'a>(
    g: &GlobalArgs,
    tables: impl IntoIterator<Item = &'a DesiredTable>,
) -> usize {
    let groups: std::collections::HashSet<(&str, &str)> = tables
        .into_iter()
        .map(|t| (t.account_id.as_str(), t.region.as_str()))
        .collect();
    runner::concurrency_for(given_concurrency(g), groups.len())
}

/// `--concurrency`, if given.
pub fn given_concurrency(g: &GlobalArgs) -> Option<usize> {
    g.concurrency.map(|n| n as usize)
}

/// Options of a read-only run (plan, export) over `tables` (as expanded); apply adds its
/// guardrails.
pub fn run_options<'a>(
    g: &GlobalArgs,
    tables: impl IntoIterator<Item = &'a DesiredTable>,
) -> RunOptions {
    RunOptions {
        concurrency: concurrency(g, tables),
        wait: WaitPolicy {
            timeout: g.wait_timeout,
            first_poll: Duration::from_millis(g.poll_ms),
            ..WaitPolicy::default()
        },
        max_attempts: g.max_attempts,
        max_failures: usize::MAX,
        canary: None,
        history: Default::default(),
        max_updating: g.max_updating as usize,
        reread_after: Duration::from_millis(g.reread_after_ms),
        ownership: Default::default(),
    }
}

/// Rows for many accounts and regions, and pattern rows, become the tables they govern (the
/// selection's accounts and regions applied as they are expanded: an account left out is
/// never reached); the selection then applies to the tables themselves, and to a row that
/// could not be expanded by its location. Also returns the organisation's accounts, when
/// rows named many. Discovery's concurrency is `--concurrency`, or its own default.
pub async fn expand_selected(
    factory: &ClientFactory,
    tables: Vec<DesiredTable>,
    g: &GlobalArgs,
    sel: &Selection,
) -> Result<(Vec<(DesiredTable, Option<AwsError>)>, Option<OrgReport>), CliError> {
    let allowed_regions = &g.limits.allowed_regions;
    let given = given_concurrency(g);
    let found = runner::discover(factory, tables, sel, allowed_regions, given)
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "cannot read the organisation's accounts (AWS Organizations): {}: {}",
                e.code, e.message
            ))
        })?;
    if let Some(o) = &found.organization {
        tracing::info!("{}", o.line());
    }
    let rows = found
        .rows
        .into_iter()
        .filter(|(t, failed)| {
            if failed.is_some() {
                // Its shard too: every shard sees the failure, and one reports it.
                sel.keeps_location(t)
                    && sel
                        .shard
                        .is_none_or(|s| s.owns(&t.account_id, &t.region, &t.table))
            } else {
                sel.keeps(t)
            }
        })
        .collect();
    Ok((rows, found.organization))
}

pub fn new_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    // Each table of an apply runs as its own task, on one worker per core (tokio's default).
    // Measured with the fleet benchmark on 2 cores, two workers cost more CPU per table than
    // one thread but finish a 10,000-table apply 14% sooner, where one thread was saturated;
    // at 1,000 tables the wall time is the same. Checking timers and I/O more often than
    // tokio's default (`event_interval` 11 instead of 61) made that apply far slower (0.53 to
    // 0.66 of the bound), less often (200) no faster.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")))
}

/// Ctrl-C (SIGINT) and SIGTERM, listened for from the moment this is made: a signal that
/// comes between two [`Signals::next`] (a quick second Ctrl-C) is not lost.
pub struct Signals {
    #[cfg(unix)]
    listening: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Starts listening (within a tokio runtime).
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listening = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Signals { listening }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Returns at the next Ctrl-C or SIGTERM (one that came since the last call included).
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.listening {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Default for Signals {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        global: GlobalArgs,
        inventory: Option<std::path::PathBuf>,
    }

    #[test]
    fn concurrency_default_grows_with_the_fleet() {
        let g = |args: &[&str]| {
            let mut argv = vec!["ddb-fleet", "x.csv"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).unwrap().global
        };
        let table = |account: usize, region: &str| DesiredTable {
            account_id: format!("{account:012}"),
            region: region.into(),
            ..DesiredTable::on_demand("t01")
        };
        let small: Vec<_> = (0..3).map(|a| table(a, "us-east-1")).collect();
        assert_eq!(concurrency(&g(&[]), &small), 32);
        let fleet: Vec<_> = (0..50)
            .flat_map(|a| {
                ["us-east-1", "eu-west-1", "us-west-2", "ap-south-1"].map(|r| table(a, r))
            })
            .collect();
        assert_eq!(concurrency(&g(&[]), &fleet), 1200);
        let huge: Vec<_> = (0..500).map(|a| table(a, "us-east-1")).collect();
        assert_eq!(concurrency(&g(&[]), &huge), 2048);
        assert_eq!(concurrency(&g(&["--concurrency", "7"]), &huge), 7);
    }
}
