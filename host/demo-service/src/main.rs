fn main() -> std::process::ExitCode {
    hoist_demo_service::run(std::env::args_os())
}
