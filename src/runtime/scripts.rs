//! The shell scripts Lifeboat runs on hosts: one probe round trip, and job control
//! (launch, fence, verify, stage). POSIX `sh`, fed on stdin; every value is quoted.
//! Runs live in `$LIFEBOAT_RUN_DIR` (default `~/.lifeboat/runs`): `<job>/e<epoch>.pid`,
//! `.log` and `.gpu`, so the same epoch is never started twice.

use crate::core::fleet::{HeartbeatSource, JobSpec};
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

const PRELUDE: &str = r#"LB="${LIFEBOAT_RUN_DIR:-$HOME/.lifeboat/runs}"
up() { kill -0 "$1" 2>/dev/null || return 1; lb_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null); [ "${lb_st%% *}" != Z ]; }
T="$(mktemp 2>/dev/null || echo /tmp/lifeboat.$$)"
trap 'rm -f "$T"' EXIT
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
    let gpu_s = gpu.map_or("-".to_string(), |g| g.to_string());
    let mut cuda = gpu.map_or(String::new(), |g| format!("CUDA_VISIBLE_DEVICES={g} "));
    for (k, v) in &job.env {
        // Names were checked by the config loader; values are quoted.
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            cuda.push_str(&format!("{k}={} ", quote(v)));
        }
    }
    s.push_str(&format!(
        r#"d="$LB"/{job}; mkdir -p "$d" || exit 3
pidf="$d/e{n}.pid"
if [ -f "$pidf" ] && up "$(head -c 20 "$pidf")"; then echo "@@already $(head -c 20 "$pidf")"; exit 0; fi
cd {workdir} || {{ echo "@@error cannot enter the workdir {workdir_plain}"; exit 3; }}
LIFEBOAT_JOB={job} LIFEBOAT_EPOCH={n} {cuda}setsid sh -c {cmd} >"$d/e{n}.log" 2>&1 </dev/null &
echo $! >"$pidf"; echo {gpu_s} >"$d/e{n}.gpu"
sleep 0.2
if up "$(head -c 20 "$pidf")"; then echo "@@started $(head -c 20 "$pidf")"; else echo "@@died"; tail -c 2000 "$d/e{n}.log"; exit 4; fi
"#,
        job = quote(job.id.as_str()),
        n = epoch.0,
        workdir = quote_path(&job.workdir.to_string_lossy()),
        workdir_plain = job.workdir.to_string_lossy().replace(['"', '$', '`', '\\'], "_"),
        cmd = quote(command),
    ));
    s
}

/// Stops every run of `job` older than `epoch`: SIGTERM to its process group, SIGKILL after
/// `grace_s` seconds. Prints `@@stopped N` per run.
pub fn fence(job: &JobSpec, epoch: Epoch, grace_s: u32) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(&format!(
        r#"for f in "$LB"/{job}/e*.pid; do
  [ -f "$f" ] || continue
  n="${{f##*/e}}"; n="${{n%.pid}}"
  [ "$n" -lt {e} ] 2>/dev/null || continue
  pid="$(head -c 20 "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    {custom}
    kill -0 "$pid" 2>/dev/null && {{ kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; }}
    i=0; while up "$pid" && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done
    kill -0 "$pid" 2>/dev/null && {{ kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null; }}
  fi
  mv "$f" "$f.stopped" 2>/dev/null
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

/// The job's own stop command, if it has one: run first (with the run's pid and epoch in
/// `LIFEBOAT_JOB_PID` and `LIFEBOAT_EPOCH`), given the grace period to work.
fn custom_stop(job: &JobSpec, grace_s: u32) -> String {
    match &job.stop {
        Some(cmd) => format!(
            "(cd {wd} && LIFEBOAT_JOB_PID=\"$pid\" LIFEBOAT_EPOCH=\"$n\" sh -c {cmd}) >/dev/null 2>&1; i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt {ticks} ]; do sleep 0.1; i=$((i+1)); done",
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
