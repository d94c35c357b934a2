//! The IO shell: supervisor, effect execution, journal, transports and logging.

pub mod act_cmd;
pub mod act_follow;
pub mod api;
pub mod attach;
pub mod catalogue;
pub mod checkpoints_cmd;
pub mod cli_link;
pub mod cli_out;
pub mod clock;
pub mod completions_cmd;
pub mod config_check;
pub mod config_init;
pub mod config_probe;
pub mod console_files;
pub mod drill;
pub mod drill_cmd;
pub mod drill_faults;
pub mod drill_nas;
pub mod exec;
pub mod exit_watch;
pub mod fence_provider;
pub mod history_cmd;
pub mod history_out;
pub mod history_read;
pub mod journal;
pub mod live;
pub mod local;
pub mod logging;
pub mod man_cmd;
/// Notices live in the neutral protocol module; the runtime's modules reach them here.
pub use crate::protocol::notice;
pub mod notify;
pub mod notify_test_cmd;
pub mod port_look;
pub mod probe_cmd;
pub mod provider;
pub mod readiness_cmd;
pub mod renting;
pub mod replica;
pub mod replicate_cmd;
pub mod screens;
pub mod scripts;
pub mod service;
pub mod shell;
pub mod shell_transport;
pub mod ssh;
pub mod ssh_console;
pub mod status;
pub mod store;
pub mod supervisor;
pub mod transport;
pub mod volumes;
pub mod workload;
pub mod workspace;

#[cfg(test)]
mod supervisor_tests;

/// The shell for SSH hosts: one pooled connection per host, reconnecting with the policy's backoff.
pub fn ssh_shell(
    fleet: &crate::core::fleet::Fleet,
    policy: &crate::core::policy::Policy,
) -> std::sync::Arc<dyn shell::Shell> {
    let settings = ssh::SshSettings {
        reconnect_backoff: policy.recovery.reconnect_backoff.clone(),
        ..ssh::SshSettings::default()
    };
    std::sync::Arc::new(ssh::SshShell::new(fleet.hosts.clone(), settings))
}
