//! `llm-bench`: parse the flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = llm_bench::cli::Cli::parse();
    match llm_bench::app::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if llm_bench::app::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // The error may quote a server's answer, which may echo the key.
            eprintln!("error: {}", llm_bench::redact::text(&format!("{err:#}")));
            ExitCode::from(llm_bench::app::exit_code_for(&err))
        }
    }
}
