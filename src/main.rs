//! The `lifeboat` binary: CLI parsing, then the demo or a subcommand. Exit codes: 0 ok,
//! 1 the operation failed, 2 usage or configuration error.

use clap::{Parser, Subcommand};
use lifeboat::runtime::act_cmd::Verb;
use lifeboat::runtime::screens::{self, Plan};
use lifeboat::runtime::service::world::Starter;
use lifeboat::sim::chaos::{parse_inject, Fault};
use lifeboat::sim::demo::demo_fleet;
use lifeboat::sim::run::{DemoOptions, DemoStarter};
use lifeboat::sim::transport::SimTiming;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `eprintln!` that never panics: stderr may be a pipe the reader already closed
/// (`lifeboat … 2>&1 | head -1`), and that is no reason to die with exit 101.
macro_rules! eprintln {
    ($($arg:tt)*) => {
        lifeboat::runtime::cli_out::err_line(&format!($($arg)*))
    };
}

/// Prints `text` on stdout: 0, also when the reader left early; 1 on any other failure.
fn emit(text: &str) -> ExitCode {
    match lifeboat::runtime::cli_out::print(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}

/// Keeps long GPU jobs alive: watch, detect, fail over, restore.
#[derive(Parser, Debug)]
#[command(name = "lifeboat", version, about, long_about = None)]
struct Cli {
    /// Config file (else $LIFEBOAT_CONFIG, else the platform config dir).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the journal, logs and (for the demo) the simulated world live.
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    /// Run on the built-in simulated demo fleet.
    #[arg(long)]
    demo: bool,
    /// No full-screen console: stream events to stdout.
    #[arg(long)]
    headless: bool,
    /// Show everything, change nothing: every action is refused.
    #[arg(long)]
    readonly: bool,
    /// Console theme: a name (default, light, high-contrast, production) or a .toml path.
    #[arg(long, value_name = "NAME|PATH")]
    theme: Option<String>,
    /// Stop after this long, e.g. 60s or 5m (default: run until Ctrl-C).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Duration>,
    /// Seed for the demo's chaos schedule (same seed, same faults).
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
    /// Inject faults into the demo on the seeded schedule.
    #[arg(long, global = true, value_name = "on|off", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    chaos: bool,
    /// Grow the demo fleet to N simulated hosts (8 GPUs each beyond the shipped six), for scale runs.
    #[arg(long, global = true, value_name = "N", default_value_t = lifeboat::sim::demo::DEMO_HOSTS, value_parser = fleet_size)]
    fleet_size: usize,
    /// Inject one fault into the demo: KIND:TARGET@TIME, e.g. gpu-lost:llm-pretrain@5s (repeatable).
    #[arg(long, global = true, value_name = "FAULT")]
    inject: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a configuration file, or write a starter one.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print the latest snapshot from a state dir.
    Status,
    /// Probe the machine Lifeboat runs on once, as a fleet host would be probed.
    Probe {
        /// Print the probe script's raw output instead of the parsed report.
        #[arg(long)]
        raw: bool,
    },
    /// Checkpoints in the NAS and S3: list, verify, restore, prune, replicate.
    Checkpoints {
        #[command(subcommand)]
        action: CheckpointsAction,
    },
    /// Fail JOB over now, through the supervisor of the state dir: shows the job as it sees
    /// it, asks (or --yes), then prints each step until the failover ends. With --dry-run:
    /// would a failover work now? (probes only, no supervisor needed). Exit 0 done (or
    /// ready), 1 refused or failed, 2 usage error or nothing supervising.
    Failover {
        job: String,
        /// Where to (default: down the job's strategy chain).
        #[arg(long, value_name = "HOST[:GPU]", value_parser = target)]
        to: Option<lifeboat::core::ids::Target>,
        /// Confirm without asking (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Stop following after this long; the failover goes on in the supervisor.
        #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10m")]
        timeout: Duration,
        /// Check readiness only: probe the hosts its strategy chain could use, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Move a healthy JOB to HOST[:GPU] as planned, through the supervisor (asks, or --yes),
    /// printing each step until it ends.
    Switchover {
        job: String,
        #[arg(long, value_name = "HOST[:GPU]", value_parser = target)]
        to: lifeboat::core::ids::Target,
        /// Confirm without asking (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Stop following after this long; the switchover goes on in the supervisor.
        #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "10m")]
        timeout: Duration,
    },
    /// Pause automatic failover for JOB (no JOB: the whole fleet); detection goes on.
    Pause { job: Option<String> },
    /// Resume automatic failover for JOB (no JOB: the whole fleet).
    Resume { job: Option<String> },
    /// Run the supervisor alone, until SIGTERM/SIGINT (SIGHUP reloads the config). Consoles
    /// attach with `lifeboat --state-dir DIR`. One supervisor per state dir.
    Daemon {
        /// Run the simulated demo fleet (with --seed, --chaos, --inject).
        #[arg(long)]
        demo: bool,
        /// Log to stderr too (for running in the foreground).
        #[arg(long)]
        log_stderr: bool,
        /// Serve the console over SSH here (overrides [console] listen), e.g. 127.0.0.1:2222.
        #[arg(long, value_name = "ADDR", requires = "console_keys")]
        console_listen: Option<std::net::SocketAddr>,
        /// Who may log in to the SSH console and with which role (overrides [console]
        /// authorized_keys): lines of `role=operator,name=alice ssh-ed25519 AAAA…`.
        #[arg(long, value_name = "FILE", requires = "console_listen")]
        console_keys: Option<PathBuf>,
        /// Share the state dir's socket with this group (0660; overrides [console]
        /// socket_group): its members attach with --socket-group-role.
        #[arg(long, value_name = "GROUP")]
        socket_group: Option<String>,
        /// What members of --socket-group may do: viewer (default), operator or admin.
        #[arg(long, value_name = "ROLE", requires = "socket_group", value_parser = role, default_value = "viewer")]
        socket_group_role: lifeboat::core::identity::Role,
        /// Serve the HTTP API here (overrides [api] listen), e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR", requires = "api_token_env")]
        api: Option<std::net::SocketAddr>,
        /// The environment variable holding an operator-role token for --api (the token
        /// is journaled under the variable's name).
        #[arg(long, value_name = "NAME", requires = "api")]
        api_token_env: Option<String>,
    },
    /// Disaster-recovery drills: runbooks (shipped and the team's), run by the supervisor
    /// with real faults, stop conditions and rollbacks that always run. Exit 0 passed, 1
    /// failed, aborted or refused, 2 a usage, config or runbook error.
    Drill {
        #[command(subcommand)]
        action: DrillAction,
    },
    /// What happened, from the journal: incidents (detection, steps, RTO, how each ended)
    /// and operator actions, oldest first. Exit 0 ok, 1 read error, 2 no journal.
    History {
        /// Only what happened since: a span back from now (1h, 30m, 2d) or an RFC 3339
        /// time; an incident under way at that point is shown whole.
        #[arg(long, value_name = "DURATION|RFC3339", value_parser = lifeboat::runtime::history_cmd::parse_since)]
        since: Option<lifeboat::runtime::history_cmd::Since>,
        /// Only this job's incidents and the actions that name it.
        #[arg(long, value_name = "JOB")]
        job: Option<String>,
    },
    /// Print the shell completion script for SHELL (load it with:
    /// source <(lifeboat completions bash)).
    Completions {
        shell: lifeboat::runtime::completions_cmd::Shell,
    },
    /// Print the man page (roff); with --out DIR, write one page per command there.
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Notification destinations: send a test message to each.
    Notify {
        #[command(subcommand)]
        action: NotifyAction,
    },
}

#[derive(Subcommand, Debug, Clone)]
enum CheckpointsAction {
    /// Every catalogued checkpoint, its copies and whether it can be restored.
    List {
        #[arg(long)]
        job: Option<String>,
    },
    /// Re-hash stored copies against their manifests; repair bad ones from good ones.
    Verify {
        #[arg(long)]
        job: Option<String>,
        /// Check only the next 1/N of the checkpoints (rotating); 1 checks all.
        #[arg(long, value_name = "N", default_value_t = 1)]
        sample: u32,
    },
    /// Stream a checkpoint onto a host, verify it there, move it into place.
    Restore {
        #[arg(long)]
        job: String,
        /// Checkpoint id (default: the newest verified).
        #[arg(long)]
        id: Option<String>,
        /// A [[host]] name from the config.
        #[arg(long)]
        host: String,
        /// Where on the host (default: the job's checkpoint_dir/ID).
        #[arg(long)]
        path: Option<String>,
    },
    /// Apply the retention policy: list keep/remove with reasons, then delete.
    Prune {
        #[arg(long)]
        job: Option<String>,
        /// Only show the plan.
        #[arg(long)]
        dry_run: bool,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Pull new complete checkpoints from each job's host into the stores once.
    Replicate {
        #[arg(long)]
        job: Option<String>,
    },
    /// Trust a checkpoint found in a store that this Lifeboat did not write, after
    /// hashing every file of it (journaled); until then it is never restored.
    Adopt { job: String, id: String },
}

#[derive(Subcommand, Debug)]
enum DrillAction {
    /// Every runbook, with its last result in the state dir.
    List {
        /// On the simulated demo fleet (its state dir).
        #[arg(long)]
        demo: bool,
    },
    /// A runbook's description, blast radius, preconditions and steps.
    Show { name: String },
    /// A past run's report (Markdown; JSON with --json): its id as `drill list` and
    /// `lifeboat history` name it, a unique part of it, or `last`.
    Report { id: String },
    /// Run NAME through the supervisor (started here on the demo fleet with --demo when
    /// nothing supervises the state dir). Ctrl-C aborts it; its rollbacks run first.
    Run {
        name: String,
        /// Resolve the targets, check the blast radius and preconditions, print the plan;
        /// change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Confirm the manual steps without asking (headless runs).
        #[arg(long)]
        yes: bool,
        /// On the simulated demo fleet.
        #[arg(long)]
        demo: bool,
    },
    /// Abort the running drill: its rollbacks run.
    Abort,
}

#[derive(Subcommand, Debug)]
enum ConfigAction {
    /// Validate FILE (or the located config), print a summary and check what can be
    /// checked here without acting (NAS folder, env vars, theme, no tokens in URLs); exit
    /// 2 on a config error, 1 when a check failed.
    Check {
        file: Option<PathBuf>,
        /// Also reach S3 and every host once, each with a deadline.
        #[arg(long)]
        probe: bool,
    },
    /// Write a commented starter config (or an example) to FILE, else where a plain
    /// lifeboat looks; an existing file is kept unless --force.
    Init {
        /// Where to write (default: where a plain lifeboat looks: --config,
        /// $LIFEBOAT_CONFIG, then the platform config dir).
        file: Option<PathBuf>,
        /// Write this example instead of the starter.
        #[arg(long, value_name = "NAME")]
        example: Option<lifeboat::runtime::config_init::Example>,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum NotifyAction {
    /// Send one test message to every [[notify]] destination now and report each; exit
    /// 1 if one failed, 2 on a config error or when none is configured.
    Test,
}

fn duration(s: &str) -> Result<Duration, String> {
    lifeboat::config::duration::parse(s).map_err(|e| e.to_string())
}

fn role(s: &str) -> Result<lifeboat::core::identity::Role, String> {
    lifeboat::core::identity::Role::parse(s)
        .ok_or_else(|| format!("\"{s}\" is not a role: use viewer, operator or admin"))
}

fn fleet_size(s: &str) -> Result<usize, String> {
    use lifeboat::sim::demo::{DEMO_HOSTS, MAX_HOSTS};
    let n: usize = s
        .parse()
        .map_err(|_| format!("\"{s}\" is not a number of hosts"))?;
    if !(DEMO_HOSTS..=MAX_HOSTS).contains(&n) {
        return Err(format!(
            "{n} hosts: the demo fleet has {DEMO_HOSTS} to {MAX_HOSTS} hosts"
        ));
    }
    Ok(n)
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("\"{s}\" is neither on nor off")),
    }
}

/// jemalloc returns freed memory to the system within seconds and keeps few arenas: the
/// daemon's snapshot and frame buffers (megabytes each, twice a second at 1,000 hosts) no
/// longer pile up in glibc's per-thread arenas.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Config {
            action: ConfigAction::Check { file, probe },
        }) => ExitCode::from(lifeboat::runtime::config_check::run(
            file.clone().or(cli.config.clone()),
            *probe,
            cli.json,
        )),
        Some(Command::Status) => status(&cli),
        Some(Command::Probe { raw }) => probe(*raw, cli.json),
        Some(Command::Checkpoints { action }) => checkpoints(&cli, action),
        Some(Command::Failover {
            job, dry_run: true, ..
        }) => failover(&cli, job),
        Some(Command::Failover {
            job,
            to,
            yes,
            timeout,
            ..
        }) => act(
            &cli,
            Verb::Failover {
                job: job.clone(),
                target: to.clone(),
                yes: *yes,
            },
            *timeout,
        ),
        Some(Command::Switchover {
            job,
            to,
            yes,
            timeout,
        }) => act(
            &cli,
            Verb::Switchover {
                job: job.clone(),
                target: to.clone(),
                yes: *yes,
            },
            *timeout,
        ),
        // Pause and resume wait only for their answer.
        Some(Command::Pause { job }) => act(&cli, Verb::Pause { job: job.clone() }, ANSWER),
        Some(Command::Resume { job }) => act(&cli, Verb::Resume { job: job.clone() }, ANSWER),
        Some(Command::Daemon {
            demo,
            log_stderr,
            console_listen,
            console_keys,
            socket_group,
            socket_group_role,
            api,
            api_token_env,
        }) => {
            let flags = lifeboat::runtime::service::access::Access {
                api: api.zip(api_token_env.clone()).map(|(listen, env)| {
                    lifeboat::config::ApiConfig {
                        listen,
                        tokens: vec![lifeboat::config::ApiToken {
                            name: env.clone(),
                            role: lifeboat::core::identity::Role::Operator,
                            env,
                        }],
                        tls: None,
                    }
                }),
                ssh: console_listen
                    .zip(console_keys.clone())
                    .map(|(listen, keys)| lifeboat::config::ConsoleConfig {
                        listen,
                        authorized_keys: keys,
                    }),
                group: socket_group
                    .clone()
                    .map(|name| lifeboat::config::SocketGroup {
                        name,
                        role: *socket_group_role,
                    }),
            };
            daemon(&cli, *demo, *log_stderr, flags)
        }
        Some(Command::Drill { action }) => drill(&cli, action),
        Some(Command::History { since, job }) => {
            ExitCode::from(lifeboat::runtime::history_cmd::main(
                cli.state_dir.clone(),
                *since,
                job.clone(),
                cli.json,
            ))
        }
        Some(Command::Config {
            action:
                ConfigAction::Init {
                    file,
                    example,
                    force,
                },
        }) => ExitCode::from(lifeboat::runtime::config_init::run(
            *example,
            *force,
            file.clone().or(cli.config.clone()),
            cli.json,
        )),
        Some(Command::Completions { shell }) => {
            ExitCode::from(lifeboat::runtime::completions_cmd::run(
                *shell,
                <Cli as clap::CommandFactory>::command(),
            ))
        }
        Some(Command::Man { out }) => ExitCode::from(lifeboat::runtime::man_cmd::run(
            <Cli as clap::CommandFactory>::command(),
            out.as_deref(),
        )),
        Some(Command::Notify {
            action: NotifyAction::Test,
        }) => ExitCode::from(lifeboat::runtime::notify_test_cmd::run(
            cli.config.clone(),
            cli.json,
        )),
        None if cli.demo => demo(&cli),
        None => live(&cli),
    }
}

fn drill(cli: &Cli, action: &DrillAction) -> ExitCode {
    use lifeboat::runtime::drill_cmd::Verb;
    let (verb, demo) = match action {
        DrillAction::List { demo } => (Verb::List, *demo),
        DrillAction::Show { name } => (Verb::Show { name: name.clone() }, false),
        DrillAction::Report { id } => (Verb::Report { id: id.clone() }, false),
        DrillAction::Run {
            name,
            dry_run,
            yes,
            demo,
        } => (
            Verb::Run {
                name: name.clone(),
                dry_run: *dry_run,
                yes: *yes,
            },
            *demo,
        ),
        DrillAction::Abort => (Verb::Abort, false),
    };
    let (plan, team_dir) = if demo {
        let Some(state_dir) = cli.state_dir.clone() else {
            eprintln!("error: --demo needs --state-dir DIR here, so the drill's reports stay where you can read them");
            return ExitCode::from(2);
        };
        let plan = Plan {
            state_dir,
            starter: Some(demo_starter(cli, false, Vec::new())),
            readonly: cli.readonly,
        };
        (plan, None)
    } else if matches!(verb, Verb::Show { .. }) && cli.config.is_none() && cli.state_dir.is_none() {
        let plan = Plan {
            state_dir: PathBuf::new(),
            starter: None,
            readonly: true,
        };
        (plan, None)
    } else if cli.config.is_none() && cli.state_dir.is_some() {
        // A state dir alone: its supervisor has the config and the runbooks.
        let plan = Plan {
            state_dir: cli.state_dir.clone().unwrap_or_default(),
            starter: None,
            readonly: cli.readonly,
        };
        (plan, None)
    } else {
        let (starter, state_dir) =
            match live_starter(cli, "lifeboat drill run NAME --demo --state-dir DIR") {
                Ok(s) => s,
                Err(code) => return code,
            };
        let team = starter.config.runbooks.clone();
        let plan = Plan {
            state_dir,
            starter: Some(Arc::new(starter)),
            readonly: cli.readonly,
        };
        (plan, team)
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let mut out = std::io::stdout();
    let code = rt.block_on(lifeboat::runtime::drill_cmd::main(
        verb, plan, team_dir, cli.json, &mut out,
    ));
    rt.shutdown_timeout(Duration::from_secs(2));
    ExitCode::from(code)
}

/// The demo's state dir: the one given, else a fresh one per run.
fn demo_dir(cli: &Cli) -> PathBuf {
    cli.state_dir.clone().unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        std::env::temp_dir().join(format!("lifeboat-demo-{}-{stamp}", std::process::id()))
    })
}

fn demo_starter(cli: &Cli, chaos: bool, inject: Vec<Fault>) -> Arc<dyn Starter> {
    Arc::new(DemoStarter {
        opts: DemoOptions {
            seed: cli.seed,
            fleet_size: cli.fleet_size,
            chaos,
            inject,
            timing: SimTiming::realistic(),
        },
    })
}

/// The `--inject` faults, checked against the demo fleet.
fn injections(cli: &Cli) -> Result<Vec<Fault>, ExitCode> {
    let fleet = lifeboat::sim::demo::demo_config_sized(cli.fleet_size)
        .map(|c| c.fleet)
        .unwrap_or_else(|_| demo_fleet());
    cli.inject
        .iter()
        .map(|s| parse_inject(s, &fleet))
        .collect::<Result<Vec<Fault>, String>>()
        .map_err(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })
}

fn demo(cli: &Cli) -> ExitCode {
    let inject = match injections(cli) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let plan = Plan {
        state_dir: demo_dir(cli),
        starter: Some(demo_starter(cli, cli.chaos, inject)),
        readonly: cli.readonly,
    };
    // --theme wins over the config's [settings].theme.
    let configured = lifeboat::sim::demo::demo_config()
        .ok()
        .and_then(|c| c.theme);
    screens_for(cli, plan, cli.theme.clone().or(configured), true)
}

/// The console or the headless stream, for a plan; logs go to the state dir.
fn screens_for(cli: &Cli, plan: Plan, theme: Option<String>, demo: bool) -> ExitCode {
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let _log = lifeboat::runtime::logging::init(&plan.state_dir);
    let result = if cli.headless || cli.json {
        let mut out = std::io::stdout();
        rt.block_on(screens::headless(
            plan,
            cli.duration,
            cli.json,
            demo,
            &mut out,
        ))
    } else {
        let (mut setup, warnings) =
            lifeboat::runtime::console_files::setup(theme.as_deref(), cli.readonly, demo);
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        if let Some(w) = warnings.first() {
            setup.ui.message = Some(lifeboat::tui::state::Message {
                text: w.clone(),
                level: lifeboat::tui::state::Level::Warn,
                at: lifeboat::core::time::Ts(lifeboat::sim::transport::now_ms()),
            });
        }
        rt.block_on(screens::console(plan, setup))
    };
    // Whatever the console did, the process ends now: nothing may keep it alive.
    rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn daemon(
    cli: &Cli,
    demo: bool,
    log_stderr: bool,
    flags: lifeboat::runtime::service::access::Access,
) -> ExitCode {
    let (state_dir, starter): (PathBuf, Arc<dyn Starter>) = if demo {
        let inject = match injections(cli) {
            Ok(f) => f,
            Err(code) => return code,
        };
        (demo_dir(cli), demo_starter(cli, cli.chaos, inject))
    } else {
        let (starter, state_dir) = match live_starter(cli, "lifeboat daemon --demo") {
            Ok(s) => s,
            Err(code) => return code,
        };
        (state_dir, Arc::new(starter))
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let _log = lifeboat::runtime::logging::init_daemon(&state_dir, log_stderr);
    let result = rt.block_on(screens::daemon(state_dir, starter, flags));
    rt.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(screens::DaemonError::Lock(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn status(cli: &Cli) -> ExitCode {
    let dir = match &cli.state_dir {
        Some(d) => d.clone(),
        None => match directories::ProjectDirs::from("", "", "lifeboat") {
            Some(p) => p.data_dir().to_path_buf(),
            None => {
                eprintln!(
                    "error: no home directory to find the state dir in; pass --state-dir DIR"
                );
                return ExitCode::from(2);
            }
        },
    };
    let path = dir.join("journal.db");
    if !path.exists() {
        eprintln!(
            "error: no journal at {}; pass --state-dir DIR of a console or demo that has run",
            path.display()
        );
        return ExitCode::from(2);
    }
    let journal = match lifeboat::runtime::journal::Journal::open_existing(&path) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let snap: Option<lifeboat::core::snapshot::Snapshot> = match journal.load("snapshot") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let Some(snap) = snap else {
        eprintln!("error: {} holds no snapshot yet", path.display());
        return ExitCode::from(1);
    };
    let (watch, live) = match runtime() {
        Some(rt) => rt.block_on(lifeboat::runtime::status::supervisor_and_picture(
            &dir, &journal, &snap,
        )),
        None => return ExitCode::from(1),
    };
    // A live supervisor's picture is newer than the journal's copy.
    let snap = live.unwrap_or(snap);
    let code = if cli.json {
        let mut v = serde_json::to_value(&snap).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert(
                "supervisor".into(),
                serde_json::to_value(&watch).unwrap_or_default(),
            );
        }
        match serde_json::to_string_pretty(&v) {
            Ok(s) => emit(&format!("{s}\n")),
            Err(e) => {
                eprintln!("error: cannot encode the snapshot: {e}");
                ExitCode::from(1)
            }
        }
    } else {
        emit(&format!(
            "{}\n{}",
            lifeboat::runtime::status::supervisor_line(&watch),
            lifeboat::runtime::status::render(&snap)
        ))
    };
    // Nothing watching is a state scripts must notice: exit 3, after printing.
    if code == ExitCode::SUCCESS && !watch.live {
        return ExitCode::from(3);
    }
    code
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

fn probe(raw: bool, json: bool) -> ExitCode {
    use lifeboat::runtime::probe_cmd::{self, Format};
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let format = match (raw, json) {
        (true, _) => Format::Raw,
        (false, true) => Format::Json,
        (false, false) => Format::Text,
    };
    ExitCode::from(rt.block_on(probe_cmd::run(format)))
}

/// The config and state dir of a live run, or the exit code that says why not.
fn live_config(cli: &Cli) -> Result<(lifeboat::config::Config, PathBuf), ExitCode> {
    let path = match lifeboat::config::locate(cli.config.clone()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}\n  (or try the simulated fleet: lifeboat --demo)");
            return Err(ExitCode::from(2));
        }
    };
    let config = match lifeboat::config::load_file(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let state_dir = cli
        .state_dir
        .clone()
        .or_else(|| config.state_dir.clone())
        .or_else(|| {
            directories::ProjectDirs::from("", "", "lifeboat").map(|p| p.data_dir().to_path_buf())
        });
    let Some(state_dir) = state_dir else {
        eprintln!("error: no home directory for the state dir; pass --state-dir DIR or set [settings].state_dir");
        return Err(ExitCode::from(2));
    };
    Ok((config, state_dir))
}

fn checkpoints(cli: &Cli, action: &CheckpointsAction) -> ExitCode {
    use lifeboat::runtime::checkpoints_cmd::{self as cmd, Action};
    // A restore asked of the supervisor holding the state dir needs no config here.
    if let (
        CheckpointsAction::Restore {
            job,
            id,
            host,
            path,
        },
        Some(dir),
        false,
    ) = (action, &cli.state_dir, cli.readonly)
    {
        if lifeboat::runtime::service::lock::StateLock::probe(dir).is_some() {
            let Some(rt) = runtime() else {
                return ExitCode::from(1);
            };
            let mut out = lifeboat::runtime::cli_out::Stdout::default();
            let (job, id, host, path) = (job.clone(), id.clone(), host.clone(), path.clone());
            let asked = cmd::restore_supervised(dir, cli.json, job, id, host, path, &mut out);
            return ExitCode::from(rt.block_on(asked));
        }
    }
    let (config, state_dir) = match live_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Replicating, verifying (which repairs) and adopting write the stores and the
    // journal the supervisor's own loop writes: beside a running one they would race it.
    let writes = matches!(
        action,
        CheckpointsAction::Replicate { .. }
            | CheckpointsAction::Verify { .. }
            | CheckpointsAction::Adopt { .. }
    );
    if writes {
        if let Some(holder) = lifeboat::runtime::service::lock::StateLock::probe(&state_dir) {
            let who = holder.map_or("a supervisor".to_string(), |h| {
                format!("the {} pid {} on {}", h.what, h.pid, h.host)
            });
            eprintln!(
                "error: {who} holds {} and replicates, scrubs and repairs checkpoints itself; this command would race it.\n  Follow its work with `lifeboat status` or the console's Checkpoints view, or stop it first.",
                state_dir.display()
            );
            return ExitCode::from(2);
        }
    }
    let action = match action.clone() {
        CheckpointsAction::List { job } => Action::List { job },
        CheckpointsAction::Verify { job, sample } => Action::Verify {
            job,
            fraction: sample,
        },
        CheckpointsAction::Restore {
            job,
            id,
            host,
            path,
        } => Action::Restore {
            job,
            id,
            host,
            path,
        },
        CheckpointsAction::Prune { job, dry_run, yes } => Action::Prune { job, dry_run, yes },
        CheckpointsAction::Replicate { job } => Action::Replicate { job },
        CheckpointsAction::Adopt { job, id } => Action::Adopt { job, id },
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let opts = cmd::Options {
        config,
        state_dir,
        json: cli.json,
        readonly: cli.readonly,
        operator: std::env::var("USER").unwrap_or_else(|_| "operator".into()),
    };
    let mut out = lifeboat::runtime::cli_out::Stdout::default();
    ExitCode::from(rt.block_on(cmd::run(action, opts, &mut out)))
}

/// `failover --dry-run`: readiness only, in this process (it changes nothing).
fn failover(cli: &Cli, job: &str) -> ExitCode {
    let (config, state_dir) = match live_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let opts = lifeboat::runtime::readiness_cmd::Options {
        ssh: lifeboat::runtime::ssh_shell(&config.fleet, &config.policy),
        local: std::sync::Arc::new(lifeboat::runtime::local::LocalShell),
        config,
        state_dir,
        json: cli.json,
    };
    let mut out = lifeboat::runtime::cli_out::Stdout::default();
    ExitCode::from(rt.block_on(lifeboat::runtime::readiness_cmd::run(job, opts, &mut out)))
}

/// How long a pause or resume waits for the supervisor's answer.
const ANSWER: Duration = Duration::from_secs(60);

/// A verb that acts: asked of the supervisor holding the state dir, never done here.
fn act(cli: &Cli, verb: Verb, timeout: Duration) -> ExitCode {
    let state_dir = match verb_state_dir(cli) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let opts = lifeboat::runtime::act_cmd::Options {
        state_dir,
        config: cli.config.clone(),
        json: cli.json,
        readonly: cli.readonly,
        timeout,
    };
    let mut out = lifeboat::runtime::cli_out::Stdout::default();
    let code = rt.block_on(lifeboat::runtime::act_cmd::run(verb, opts, &mut out));
    rt.shutdown_timeout(Duration::from_secs(1));
    ExitCode::from(code)
}

/// Where a verb finds its supervisor: --state-dir, else the config's, else the default.
fn verb_state_dir(cli: &Cli) -> Result<PathBuf, ExitCode> {
    if let Some(d) = &cli.state_dir {
        return Ok(d.clone());
    }
    if lifeboat::config::locate(cli.config.clone()).is_ok() {
        return live_config(cli).map(|(_, dir)| dir);
    }
    match directories::ProjectDirs::from("", "", "lifeboat") {
        Some(p) => Ok(p.data_dir().to_path_buf()),
        None => {
            eprintln!("error: no home directory to find the state dir in; pass --state-dir DIR");
            Err(ExitCode::from(2))
        }
    }
}

fn target(s: &str) -> Result<lifeboat::core::ids::Target, String> {
    lifeboat::core::ids::Target::parse(s)
}

/// The real fleet a config names, and its state dir; `demo` is the command the error
/// suggests instead when there is no config.
fn live_starter(
    cli: &Cli,
    demo: &str,
) -> Result<(lifeboat::runtime::live::LiveStarter, PathBuf), ExitCode> {
    let path = lifeboat::config::locate(cli.config.clone()).map_err(|e| {
        eprintln!("error: {e}\n  (or try the simulated fleet: {demo})");
        ExitCode::from(2)
    })?;
    let (config, state_dir) = live_config(cli)?;
    Ok((
        lifeboat::runtime::live::LiveStarter { path, config },
        state_dir,
    ))
}

fn live(cli: &Cli) -> ExitCode {
    // A state dir a supervisor holds is enough (the given one, else the default one):
    // attach to it, whatever config there is.
    let dir = cli.state_dir.clone().or_else(|| {
        // The default one only when no config could name another.
        cli.config
            .is_none()
            .then(|| directories::ProjectDirs::from("", "", "lifeboat"))
            .flatten()
            .map(|p| p.data_dir().to_path_buf())
    });
    if let Some(dir) = dir {
        let held = lifeboat::runtime::service::lock::StateLock::probe(&dir).is_some();
        let observer = cli.readonly && cli.config.is_none() && cli.state_dir.is_some();
        if held || observer {
            let plan = Plan {
                state_dir: dir,
                starter: None,
                readonly: cli.readonly,
            };
            return screens_for(cli, plan, cli.theme.clone(), false);
        }
    }
    let (starter, state_dir) = match live_starter(cli, "lifeboat --demo") {
        Ok(s) => s,
        Err(code) => return code,
    };
    let theme = cli.theme.clone().or(starter.config.theme.clone());
    let plan = Plan {
        state_dir,
        starter: Some(Arc::new(starter)),
        readonly: cli.readonly,
    };
    screens_for(cli, plan, theme, false)
}
