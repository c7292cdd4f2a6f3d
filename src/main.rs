// mimalloc: gw allocates many small, short-lived strings (a row's attribution, an import's
// hundreds of thousands of calls); glibc's allocator spent a third of an import's parsing CPU
// consolidating and unlinking them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gw::cli::main()
}
