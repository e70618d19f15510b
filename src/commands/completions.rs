//! `completions SHELL`: a shell completion script on stdout.

use super::CliError;
use crate::cli::Cli;
use crate::exit_codes;

pub fn run(shell: clap_complete::Shell) -> Result<i32, CliError> {
    use clap::CommandFactory;
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "ddb-fleet",
        &mut std::io::stdout(),
    );
    Ok(exit_codes::SUCCESS)
}
