//! The `lifeboat` binary: CLI parsing, then the console, the demo or a subcommand.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Keeps long GPU jobs alive: watch, detect, fail over, restore.
#[derive(Parser, Debug)]
#[command(name = "lifeboat", version, about)]
struct Cli {
    /// Config file (else $LIFEBOAT_CONFIG, else the platform config dir).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a configuration file.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// Validate FILE (or the located config) and print a summary; exit 2 on error.
    Check { file: Option<PathBuf> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Config {
            action: ConfigAction::Check { file },
        }) => config_check(file.or(cli.config)),
        None => ExitCode::SUCCESS,
    }
}

fn config_check(file: Option<PathBuf>) -> ExitCode {
    let path = match lifeboat::config::locate(file) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match lifeboat::config::load_file(&path) {
        Ok(cfg) => {
            println!("{}", lifeboat::config::summary(&cfg));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
