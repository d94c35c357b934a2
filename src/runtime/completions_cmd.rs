//! `lifeboat completions SHELL`: a completion script generated from the binary's own clap
//! definitions, so it never drifts from the flags and subcommands it completes.

pub use clap_complete::Shell;

/// The completion script for `shell`, completing `cmd` under its own name.
pub fn script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

/// Prints the script; the exit status: 0, or 1 when stdout cannot be written.
pub fn run(shell: Shell, cmd: clap::Command) -> u8 {
    let text = String::from_utf8_lossy(&script(shell, cmd)).into_owned();
    match super::cli_out::print(&text) {
        Ok(()) => 0,
        Err(e) => {
            super::cli_out::err_line(&format!("error: cannot write the script: {e}"));
            1
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cmd() -> clap::Command {
        clap::Command::new("demo")
            .subcommand(clap::Command::new("alpha"))
            .subcommand(clap::Command::new("beta").arg(clap::Arg::new("file")))
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let s = String::from_utf8(script(shell, cmd())).unwrap();
            assert!(s.contains("alpha") && s.contains("beta"), "{shell}: {s}");
        }
    }
}
