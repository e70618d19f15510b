//! The `ddb-fleet` binary: everything is in the library; see `cli.rs`.

// A fleet run makes hundreds of thousands of small allocations per AWS request wave; glibc's
// allocator spent a sixth of the CPU time on them (measured with the fleet benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(ddb_fleet::cli::main());
}
