fn main() -> std::process::ExitCode {
    gw::cli::main()
}
