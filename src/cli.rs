//! The command line's top: the list of commands ([`Cli`], [`Command`]) and the dispatch to
//! one module per command (`crate::commands`), each of which defines its own arguments and
//! validates everything before the first AWS call; the arguments they share are in
//! [`crate::commands::args`]. Errors travel up to [`main`], which maps them to the exit codes
//! of [`crate::exit_codes`].

use crate::commands;
use crate::commands::advise::AdviseArgs;
use crate::commands::args::LimitArgs;
use crate::commands::export::ExportArgs;
use crate::commands::plan_apply::{ApplyArgs, PlanArgs};
use crate::commands::report::ReportCommand;
use crate::commands::rollback::RollbackArgs;
use crate::exit_codes;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  ddb-fleet validate inventories/example.toml
  ddb-fleet plan inventories/example.toml --detailed-exitcode
  ddb-fleet apply inventories/example.csv --yes --report run.json
  ddb-fleet apply --tableName orders --region us-east-1 --readMode provisioned \\
      --writeMode provisioned --minRead 5 --maxRead 100 --targetRead 70 \\
      --minWrite 5 --maxWrite 100 --targetWrite 70 --yes

Exit codes: 0 success, 1 a table failed, 2 invalid input or usage,
            3 drift found (plan --detailed-exitcode), 130 interrupted.";

/// Plan and apply DynamoDB capacity mode and auto scaling across many AWS accounts and regions.
#[derive(Debug, Parser)]
#[command(name = "ddb-fleet", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate an inventory; makes no AWS call.
    Validate {
        /// Inventory file (.csv or .toml).
        inventory: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Read current state and show what `apply` would change; changes nothing.
    Plan(PlanArgs),
    /// Plan, then make the changes, read every changed table back and verify it.
    Apply(ApplyArgs),
    /// Write the current state of tables as an inventory that `plan` reports as unchanged.
    Export(ExportArgs),
    /// Price every table's real usage (CloudWatch) on-demand and provisioned, in both table
    /// classes, and write the cheaper settings as an inventory that `apply` takes; read-only.
    Advise(AdviseArgs),
    /// Restore the tables an earlier apply changed to their recorded `before` state (billing
    /// mode, scalable targets, scaling policies): a plan first, then the changes.
    Rollback(RollbackArgs),
    /// Work with reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Print the IAM policies ddb-fleet needs, as JSON: the target role's for plan and for
    /// apply, and the caller's (sts:AssumeRole on the inventory's roles; reading the
    /// organisation, and the target role's ec2:DescribeRegions, where rows or flags name many
    /// accounts or every region).
    IamPolicy {
        /// Inventory whose roles the caller must be able to assume.
        inventory: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Print a shell completion script: `ddb-fleet completions bash > /etc/bash_completion.d/ddb-fleet`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

pub use crate::commands::CliError;

/// The binary's whole `main`: parse, run, map to an exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit_codes::SUCCESS
                }
                _ => exit_codes::INVALID_INPUT,
            };
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Dispatches to the command's own module (`crate::commands`).
fn run(cli: &Cli) -> Result<i32, CliError> {
    match &cli.command {
        Command::Validate { inventory, limits } => commands::validate::run(inventory, limits),
        Command::Plan(a) => commands::plan_apply::plan(a),
        Command::Apply(a) => commands::plan_apply::apply(a),
        Command::Export(a) => commands::export::run(a),
        Command::Advise(a) => commands::advise::run(a),
        Command::Rollback(a) => commands::rollback::run(a),
        Command::Report { command } => match command {
            ReportCommand::Recover { journal, output } => {
                commands::report::recover(journal, output)
            }
            ReportCommand::Merge { reports, output } => commands::report::merge(reports, output),
        },
        Command::IamPolicy { inventory, limits } => {
            commands::iam_policy::run(inventory.as_ref(), limits)
        }
        Command::Completions { shell } => {
            commands::completions::run(*shell, <Cli as clap::CommandFactory>::command())
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::Rates;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Regression: the CLI's STS default once said 2/s while `Rates::default` said more; with
    /// one STS limiter for the whole run, 50 accounts then took 25 s just to assume roles.
    #[test]
    fn rate_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["ddb-fleet", "plan", "x.csv"]).unwrap();
        let Command::Plan(plan) = cli.command else {
            unreachable!()
        };
        let (g, d) = (&plan.global, Rates::default());
        assert_eq!(g.dynamodb_rps, d.dynamodb);
        assert_eq!(g.autoscaling_rps, d.autoscaling);
        assert_eq!(g.sts_rps, d.sts);
        assert_eq!(g.cloudwatch_rps, d.cloudwatch);
        assert!(
            d.sts.get() >= 20,
            "a fleet of hundreds of accounts must not wait minutes on STS"
        );
    }

    /// Regression: `--report` and the 16 AWS tuning flags were offered by every command,
    /// `completions` and `report merge` included, where they did nothing.
    #[test]
    fn each_command_offers_only_the_options_it_uses() {
        use clap::CommandFactory;
        let cli = Cli::command();
        let flags = |name: &[&str]| -> Vec<String> {
            let mut c = &cli;
            for n in name {
                c = c.find_subcommand(n).unwrap();
            }
            c.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect()
        };
        let small: [&[&str]; 5] = [
            &["validate"],
            &["completions"],
            &["iam-policy"],
            &["report", "merge"],
            &["report", "recover"],
        ];
        for name in small {
            let f = flags(name);
            for aws in [
                "report",
                "profile",
                "dynamodb-rps",
                "concurrency",
                "log-format",
            ] {
                assert!(
                    !f.iter().any(|x| x == aws),
                    "{name:?} offers --{aws}: {f:?}"
                );
            }
        }
        assert!(
            !flags(&["export"]).iter().any(|x| x == "report"),
            "export writes no report"
        );
        for run in ["plan", "apply", "rollback", "advise"] {
            let f = flags(&[run]);
            for wanted in ["report", "profile", "dynamodb-rps", "max-capacity-units"] {
                assert!(f.iter().any(|x| x == wanted), "{run} lacks --{wanted}");
            }
        }
        // The seed script's flags say what they are.
        let apply = cli.find_subcommand("apply").unwrap();
        for a in apply.get_arguments() {
            let long = a.get_long().unwrap_or_default();
            if long.chars().any(|c| c.is_ascii_uppercase()) {
                assert!(a.get_help().is_some(), "--{long} has no help");
            }
        }
    }

    #[test]
    fn a_rate_of_zero_says_it_must_be_at_least_one() {
        let e =
            Cli::try_parse_from(["ddb-fleet", "plan", "x.csv", "--dynamodb-rps", "0"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("the rate must be at least 1 request per second"),
            "{e}"
        );
    }

    /// Regression: the README said `--log-format` defaults to `json` (the binary: `auto`).
    /// Every option of the README's options table is an option of `apply` (or of `advise`),
    /// with the same default where the binary has one.
    #[test]
    fn the_readmes_options_table_agrees_with_the_help() {
        use clap::CommandFactory;
        let readme = include_str!("../README.md");
        let table = readme
            .split("### Options")
            .nth(1)
            .and_then(|t| t.split("\n\n").nth(1))
            .expect("the README's options table");
        let cli = Cli::command();
        let commands = [
            cli.find_subcommand("apply").unwrap(),
            cli.find_subcommand("advise").unwrap(),
        ];
        let mut checked = 0;
        for row in table
            .lines()
            .filter(|l| l.starts_with("| `--") || l.starts_with("| `-v"))
        {
            let cells: Vec<&str> = row.split(" | ").collect();
            let flag = cells[0]
                .split("--")
                .nth(1)
                .and_then(|f| f.split([' ', '`']).next())
                .unwrap();
            let arg = commands
                .iter()
                .flat_map(|c| c.get_arguments())
                .find(|a| a.get_long() == Some(flag))
                .unwrap_or_else(|| panic!("the README lists --{flag}, which no command has"));
            if let Some(default) = arg.get_default_values().first() {
                let default = default.to_string_lossy();
                assert!(
                    cells[1].trim_matches('`') == default
                        || cells[1].contains(&format!("`{default}`")),
                    "--{flag}: the README says {}, the binary {default}",
                    cells[1]
                );
            }
            checked += 1;
        }
        assert!(
            checked >= 15,
            "only {checked} options found in the README's table"
        );
    }

    /// The help is the user's manual: changes to it are reviewed as snapshots.
    #[test]
    fn help_snapshots() {
        use clap::CommandFactory;
        let mut cmd = Cli::command().term_width(100);
        insta::assert_snapshot!("help", cmd.render_long_help().to_string());
        for sub in ["apply", "rollback", "export", "advise"] {
            let sub_cmd = cmd.find_subcommand_mut(sub).unwrap();
            insta::assert_snapshot!(
                format!("help_{sub}"),
                sub_cmd.render_long_help().to_string()
            );
        }
    }
}
