//! The shell scripts Lifeboat runs on hosts: one probe round trip, and job control
//! (launch, fence, verify, stage). The probe also reports a drill's planted Xid markers
//! (`$LB/.drill-xid.*`, see `drill_faults`) while they are young, and removes them after. POSIX `sh`, fed on stdin; every value is quoted.
//! Runs live in `$LIFEBOAT_RUN_DIR` (default `~/.lifeboat/runs`): `<job>/e<epoch>.pid`,
//! `.log` and `.gpu`, so the same epoch is never started twice.

use crate::core::fleet::{HeartbeatSource, JobSpec, Readiness};
use crate::core::gpu::QUERY_FIELDS;
use crate::core::ids::Epoch;
use crate::core::probe_parse::MAGIC;

/// Quotes `s` for `sh`: `'…'`, with embedded quotes closed and reopened.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a path on a host for `sh`, expanding a leading `~/` or `$NAME/` (`${NAME}/`)
/// from the host's login environment (`$HOME`, `$SCRATCH` on a cluster …); the rest is
/// quoted as usual, so nothing else in it is ever expanded.
pub fn quote_path(s: &str) -> String {
    match crate::core::host_path::split_var(s) {
        Some((var, "")) => format!("\"${{{var}}}\""),
        Some((var, rest)) => format!("\"${{{var}}}\"{}", quote(rest)),
        None => quote(s),
    }
}

macro_rules! run_dir {
    () => {
        r#"LB="${LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}""#
    };
}
macro_rules! up_fn {
    () => {
        r#"up() { kill -0 "$1" 2>/dev/null || return 1; { read -r lb_l <"/proc/$1/stat"; } 2>/dev/null || return 0; set -- ${lb_l##*) }; [ "$1" != Z ]; }"#
    };
}

/// Sets `$LB`, the run folder: the host's `LIFEBOAT_RUN_DIR`, else `~/.lifeboat/runs`.
pub const RUN_DIR: &str = run_dir!();
/// `up PID`: the process is alive and not a zombie (one line, builtins only).
pub const UP: &str = up_fn!();

const PRELUDE: &str = concat!(
    run_dir!(),
    "\n",
    up_fn!(),
    "\n",
    r#"T="$(mktemp 2>/dev/null || echo /tmp/lifeboat.$$)"
trap 'rm -f "$T"' EXIT
"#
);

/// The environment variable that marks every process of a run, children included (they
/// inherit it), even one that left the run's session: `LIFEBOAT_RUN=<job>:<epoch>:<key>:`
/// where `<key>` is the `cksum` of the run folder, so runs kept in another run folder on
/// the same machine (another Lifeboat, or test hosts sharing one machine) are never
/// taken for these. The trailing `:` keeps `e1` from matching `e12`.
pub const RUN_MARKER: &str = "LIFEBOAT_RUN";

/// Sets `$LBK`, the run folder's key in run markers.
const RUN_KEY: &str = "LBK=$(printf %s \"$LB\" | cksum | cut -d' ' -f1)\n";

/// Finds what is left of runs. `$J` is the job, `$TG` the runs as `N:PID:START` words
/// (epoch, session leader, the leader's start time in clock ticks or `-`). `scan` prints
/// the pid of every live (non-zombie) process of those runs: each that carries a run's
/// marker, and each member of a run's session or process group once that session is
/// known to be the run's — its leader still has the start time recorded at launch, or a
/// marked process is in it — so a recycled leader pid is never taken for the run. A
/// session once known stays known for the script (`$lb_ok`): members that are not marked
/// are still found after the marked ones died. Only builtins per process and one `grep`
/// over every environment, so a scan stays cheap on a busy host.
const RUN_SCAN: &str = r#"lb_ok=" "
scan() {
  lb_pat=""; lb_ld=" "
  for t in $TG; do
    lb_r=${t#*:}; lb_p=${lb_r%%:*}; lb_s=${lb_r#*:}
    lb_pat="$lb_pat -e LIFEBOAT_RUN=$J:${t%%:*}:$LBK:"; lb_ld="$lb_ld$lb_p "
    { read -r lb_l <"/proc/$lb_p/stat"; } 2>/dev/null || continue
    set -- ${lb_l##*) }
    [ "${20}" = "$lb_s" ] && lb_ok="$lb_ok$lb_p "
  done
  [ -n "$lb_pat" ] || return 0
  lb_mk=" $(grep -l -F -a $lb_pat /proc/[0-9]*/environ 2>/dev/null | sed 's|^/proc/||;s|/environ$||' | tr '\n' ' ') "
  for p in $lb_mk; do
    { read -r lb_l <"/proc/$p/stat"; } 2>/dev/null || continue
    set -- ${lb_l##*) }
    case "$lb_ld" in *" $3 "*) lb_ok="$lb_ok$3 ";; esac
    case "$lb_ld" in *" $4 "*) lb_ok="$lb_ok$4 ";; esac
  done
  for s in /proc/[0-9]*/stat; do
    { read -r lb_l <"$s"; } 2>/dev/null || continue
    p=${s#/proc/}; p=${p%/stat}
    set -- ${lb_l##*) }
    [ "$1" = Z ] && continue
    case "$lb_mk" in *" $p "*) echo "$p"; continue;; esac
    case "$lb_ok" in *" $3 "*|*" $4 "*) echo "$p";; esac
  done
}
rescan() { scan >"$T"; left=""; while read -r p; do left="$left $p"; done <"$T"; }
anyup() { for p in $1; do up "$p" && return 0; done; return 1; }
"#;

/// One probe: GPUs (exit code kept), compute apps, boot id, recent Xid lines, every run
/// of every job found on the host, and the heartbeats of `jobs`.
///
/// nvidia-smi runs one at a time per host. A probe that hit its deadline leaves its query
/// behind: GNU `timeout` leads its own process group, so neither the kill of a local
/// script's group nor a closed SSH channel reaches it, and a wedged driver can hold
/// nvidia-smi past any signal. So the query in flight is noted (`$LB/.nvidia-smi.HOST.pid`):
/// a probe waits for a young one, reports one older than 5 s (longer than any probe's
/// deadline) as hung without starting another, and skips the compute-apps query (which
/// would hang too) after a timeout.
pub fn probe(jobs: &[JobSpec]) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(&format!("echo {}\n", quote(MAGIC)));
    s.push_str("echo \"@@boot $(cat /proc/sys/kernel/random/boot_id 2>/dev/null)\"\n");
    s.push_str(&format!(
        r#"if command -v nvidia-smi >/dev/null 2>&1; then
  NV="$LB/.nvidia-smi.$(cat /proc/sys/kernel/hostname 2>/dev/null).pid"
  nv_busy() {{ p="$(head -c 20 "$NV" 2>/dev/null)" && [ -n "$p" ] && up "$p" && grep -qa nvidia-smi "/proc/$p/cmdline" 2>/dev/null; }}
  nv_age() {{ echo $(( $(date +%s) - $(stat -c %Y "$NV" 2>/dev/null || date +%s) )); }}
  nv_run() {{ timeout -k 2 10 nvidia-smi "$@" >"$T" 2>&1 & p=$!; echo "$p" >"$NV"; wait "$p"; nv=$?; [ "$(head -c 20 "$NV" 2>/dev/null)" = "$p" ] && rm -f "$NV"; }}
  while nv_busy && [ "$(nv_age)" -lt 5 ]; do sleep 0.1; done
  if nv_busy; then
    echo "@@nvsmi 124"; echo "nvidia-smi of an earlier probe (pid $p) has run for $(nv_age)s: hung"
  else
    mkdir -p "$LB" 2>/dev/null
    nv_run --query-gpu={QUERY_FIELDS} --format=csv,noheader,nounits; echo "@@nvsmi $nv"; head -c 262144 "$T"; echo
    if [ "$nv" != 124 ] && [ "$nv" != 137 ]; then
      nv_run --query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits; echo "@@apps $nv"; head -c 65536 "$T"; echo
    fi
  fi
else
  echo "@@nvsmi 127"; echo "nvidia-smi: command not found"
fi
echo "@@xid"
{{ journalctl -k -n 300 --no-pager -q 2>/dev/null || dmesg 2>/dev/null | tail -n 300; }} | grep -a 'NVRM: Xid' | tail -n 20 | cut -c1-400
for f in "$LB"/.drill-xid.*; do
  [ -f "$f" ] || continue
  read -r dl line <"$f" || true
  if [ "$(date +%s)" -lt "${{dl:-0}}" ] 2>/dev/null; then printf '%s\n' "$line" | cut -c1-400; else rm -f "$f"; fi
done
for f in "$LB"/*/e*.pid; do
  [ -f "$f" ] || continue
  d="${{f%/*}}"; job="${{d##*/}}"; n="${{f##*/e}}"; n="${{n%.pid}}"
  pid="$(head -c 20 "$f")"; alive=0
  up "$pid" && alive=1
  gpu="$(head -c 8 "$d/e$n.gpu" 2>/dev/null)"
  echo "@@run $job $n $alive ${{gpu:--}}"
done
"#
    ));
    for j in jobs {
        let job = quote(j.id.as_str());
        match &j.heartbeat {
            HeartbeatSource::File { path } => {
                let p = quote_path(&path.to_string_lossy());
                s.push_str(&format!(
                    "if [ -f {p} ]; then echo \"@@hb \"{job}\" $(stat -c %Y {p} 2>/dev/null) $(head -c 64 {p} | head -n 1)\"; fi\n"
                ));
            }
            HeartbeatSource::Mtime { path } => {
                let p = quote_path(&path.to_string_lossy());
                s.push_str(&format!("if [ -e {p} ]; then m=$(stat -c %Y {p} 2>/dev/null); echo \"@@hb \"{job}\" $m $m\"; fi\n"));
            }
            HeartbeatSource::None => {}
        }
    }
    s.push_str("echo @@end\n");
    s
}

/// Starts `job` under `epoch`, detached (setsid), pinned to `gpu`, unless that epoch's run
/// is already alive. `command` has its `{checkpoint}` already filled in.
pub fn launch(job: &JobSpec, epoch: Epoch, gpu: Option<u32>, command: &str) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(RUN_KEY);
    let gpu_s = gpu.map_or("-".to_string(), |g| g.to_string());
    let mut cuda = gpu.map_or(String::new(), |g| format!("CUDA_VISIBLE_DEVICES={g} "));
    for (k, v) in &job.env {
        // Names were checked by the config loader; values are quoted.
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            cuda.push_str(&format!("{k}={} ", quote(v)));
        }
    }
    let (before, wait) = readiness(job);
    s.push_str(&format!(
        r#"d="$LB"/{job}; mkdir -p "$d" || exit 3
pidf="$d/e{n}.pid"
if [ -f "$pidf" ] && up "$(head -c 20 "$pidf")"; then echo "@@already $(head -c 20 "$pidf")"; exit 0; fi
cd {workdir} || {{ echo "@@error cannot enter the workdir {workdir_plain}"; exit 3; }}
{before}LIFEBOAT_JOB={job} LIFEBOAT_EPOCH={n} {marker}={job}:{n}:$LBK: {cuda}setsid sh -c {cmd} >"$d/e{n}.log" 2>&1 </dev/null &
echo $! >"$pidf"; echo {gpu_s} >"$d/e{n}.gpu"
{{ read -r lb_l <"/proc/$!/stat"; }} 2>/dev/null && {{ set -- ${{lb_l##*) }}; echo "${{20}}" >"$d/e{n}.start"; }}
{wait}if up "$(head -c 20 "$pidf")"; then echo "@@started $(head -c 20 "$pidf")"; echo "@@ready $rd"; else echo "@@died"; tail -c 2000 "$d/e{n}.log"; exit 4; fi
"#,
        job = quote(job.id.as_str()),
        n = epoch.0,
        workdir = quote_path(&job.workdir.to_string_lossy()),
        workdir_plain = job.workdir.to_string_lossy().replace(['"', '$', '`', '\\'], "_"),
        cmd = quote(command),
        marker = RUN_MARKER,
    ));
    s
}

/// What the launch does before starting the run and how it waits after (see
/// [`Readiness`]): the wait sets `$rd` to what it saw.
fn readiness(job: &JobSpec) -> (String, String) {
    let ticks = crate::core::fleet::READY_WAIT_S * 20;
    let poll = |test: &str| {
        format!(
            "rd=\"no signal after {s}s\"; i=0\nwhile [ $i -lt {ticks} ] && up \"$(head -c 20 \"$pidf\")\"; do if {test}; then rd=signalled; break; fi; sleep 0.05; i=$((i+1)); done\n",
            s = crate::core::fleet::READY_WAIT_S
        )
    };
    let alive = || (String::new(), "rd=alive; sleep 0.2\n".to_string());
    match &job.ready {
        Readiness::Alive => alive(),
        Readiness::File { path } => {
            let p = quote_path(&path.to_string_lossy());
            (format!("rm -f -- {p}\n"), poll(&format!("[ -e {p} ]")))
        }
        Readiness::Heartbeat => {
            let hb = match &job.heartbeat {
                HeartbeatSource::File { path } => format!(
                    "head -c 64 {} 2>/dev/null | head -n 1",
                    quote_path(&path.to_string_lossy())
                ),
                HeartbeatSource::Mtime { path } => format!(
                    "stat -c %.9Y {} 2>/dev/null",
                    quote_path(&path.to_string_lossy())
                ),
                // The config refuses it; alive after the fixed wait.
                HeartbeatSource::None => return alive(),
            };
            (
                format!("hb() {{ {hb}; }}; hb0=\"$(hb)\"\n"),
                poll("[ \"$(hb)\" != \"$hb0\" ]"),
            )
        }
    }
}

/// Stops every run of `job` older than `epoch`, and proves it: the job's own stop command
/// (if any), SIGTERM to every process of the run (a frozen one is continued so it can
/// act on it), up to `grace_s` seconds, then SIGKILL until a scan finds nothing left.
/// Runs already stopped are scanned too, so children that outlived an earlier fence are
/// found. Prints `@@stopped N` per run and `@@fenced` only when no process of any older
/// run remains; otherwise `@@alive PID STATE NAME` for each survivor and no `@@fenced`.
/// `kill` gets plain pids: dash's `kill` takes no `--`.
pub fn fence(job: &JobSpec, epoch: Epoch, grace_s: u32) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(RUN_KEY);
    s.push_str(RUN_SCAN);
    s.push_str(&format!(
        r#"J={job}; R="$LB"/$J; TG=""
for f in "$R"/e*.pid "$R"/e*.pid.stopped; do
  [ -f "$f" ] || continue
  n="${{f##*/e}}"; n="${{n%%.*}}"
  [ "$n" -lt {e} ] 2>/dev/null || continue
  pid="$(head -c 20 "$f" | tr -dc 0-9)"
  st="$(head -c 24 "$R/e$n.start" 2>/dev/null | tr -dc 0-9)"
  [ -n "$pid" ] && TG="$TG $n:$pid:${{st:--}}"
done
rescan
if [ -n "$left" ]; then
  i=0
  for t in $TG; do
    [ -f "$R/e${{t%%:*}}.pid" ] || continue
    n="${{t%%:*}}"; pid="${{t#*:}}"; pid="${{pid%%:*}}"
    {custom}
  done
  rescan
  [ -n "$left" ] && {{ kill -TERM $left; kill -CONT $left; }} 2>/dev/null
  while anyup "$left" && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done
  k=0
  while rescan; [ -n "$left" ] && [ $k -lt 30 ]; do kill -KILL $left 2>/dev/null; sleep 0.1; k=$((k+1)); done
fi
if [ -n "$left" ]; then
  for p in $left; do
    {{ read -r lb_l <"/proc/$p/stat"; }} 2>/dev/null || continue
    c="$(head -c 32 "/proc/$p/comm" 2>/dev/null | tr -dc 'A-Za-z0-9._:/+-')"
    set -- ${{lb_l##*) }}
    echo "@@alive $p $1 ${{c:-?}}"
  done
  exit 5
fi
for t in $TG; do
  n="${{t%%:*}}"
  [ -f "$R/e$n.pid" ] || continue
  mv "$R/e$n.pid" "$R/e$n.pid.stopped" 2>/dev/null
  echo "@@stopped $n"
done
echo "@@fenced"
"#,
        job = quote(job.id.as_str()),
        e = epoch.0,
        ticks = grace_s * 10,
        custom = custom_stop(job, grace_s),
    ));
    s
}

/// The job's own stop command, if it has one: run first for a run whose leader is still
/// there (with its pid and epoch in `LIFEBOAT_JOB_PID` and `LIFEBOAT_EPOCH`), given the
/// grace period to work; `$i` counts the grace ticks it used, so SIGTERM gets the rest.
fn custom_stop(job: &JobSpec, grace_s: u32) -> String {
    match &job.stop {
        Some(cmd) => format!(
            "if up \"$pid\"; then (cd {wd} && LIFEBOAT_JOB_PID=\"$pid\" LIFEBOAT_EPOCH=\"$n\" sh -c {cmd}) >/dev/null 2>&1; while up \"$pid\" && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done; fi",
            wd = quote_path(&job.workdir.to_string_lossy()),
            cmd = quote(cmd),
            ticks = grace_s * 10
        ),
        None => ":".into(),
    }
}

/// Whether `job` runs under `epoch`: `@@running PID`, or `@@not-running` and its log's tail.
pub fn verify(job: &JobSpec, epoch: Epoch) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(&format!(
        r#"f="$LB"/{job}/e{n}.pid
if [ -f "$f" ] && up "$(head -c 20 "$f")"; then echo "@@running $(head -c 20 "$f")"; exit 0; fi
echo "@@not-running"; tail -c 1500 "$LB"/{job}/e{n}.log 2>/dev/null; exit 1
"#,
        job = quote(job.id.as_str()),
        n = epoch.0,
    ));
    s
}

/// Checks that `path` is readable on the host and hashes to `sha256`.
pub fn check_file(path: &str, sha256: &str) -> String {
    format!(
        r#"p={p}
[ -r "$p" ] || {{ echo "@@missing"; exit 2; }}
h="$(sha256sum "$p" 2>/dev/null | cut -c1-64)"; s="$(wc -c <"$p")"
if [ "$h" = {want} ]; then echo "@@ok $s"; else echo "@@mismatch $h"; exit 3; fi
"#,
        p = quote_path(path),
        want = quote(sha256),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_hostile_names() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn a_leading_variable_or_tilde_is_expanded_and_nothing_else() {
        assert_eq!(quote_path("/a b"), "'/a b'");
        assert_eq!(quote_path("~/w"), "\"${HOME}\"'/w'");
        assert_eq!(quote_path("$HOST_DIR/w/$x"), "\"${HOST_DIR}\"'/w/$x'");
        assert_eq!(quote_path("${S}/c"), "\"${S}\"'/c'");
        assert_eq!(quote_path("$S"), "\"${S}\"");
        assert_eq!(quote_path("$(id)/x"), "'$(id)/x'");
        assert_eq!(quote_path("$9/x"), "'$9/x'");
        assert_eq!(quote_path("$Sx y/z"), "'$Sx y/z'");
        assert_eq!(quote_path("~root/x"), "'~root/x'");
    }
}
