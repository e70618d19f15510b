//! `completions SHELL`: a shell completion script on stdout, for the command line the caller
//! hands over (this module does not know the list of commands).

use super::CliError;
use crate::exit_codes;

pub fn run(shell: clap_complete::Shell, mut cli: clap::Command) -> Result<i32, CliError> {
    clap_complete::generate(shell, &mut cli, "ddb-fleet", &mut std::io::stdout());
    Ok(exit_codes::SUCCESS)
}
