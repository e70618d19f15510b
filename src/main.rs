//! The `ddb-fleet` binary: everything is in the library; see `cli.rs`.

fn main() {
    std::process::exit(ddb_fleet::cli::main());
}
