#!/usr/bin/env bash
# Installs what the checkpoint benchmark compares against (when missing) and runs it;
# the table goes to stdout and into BENCHMARKS.md ("Checkpoints (issue 5)").
# Usage: scripts/bench.sh               (from anywhere; ~7 min on 2 cores, ~4 GiB of temp disk)
#        CHECKPOINTS_BENCH_ONLY=scp scripts/bench.sh   (only rows whose name holds "scp";
#                                       for profiling, BENCHMARKS.md is left alone)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v scp >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need_apt+=(rsync)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! aws --version >/dev/null 2>&1; then
  say "installing awscli"
  python3 -m pip install --quiet awscli
fi

if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
  say "installing s3s-fs"
  cargo install s3s-fs@0.14.1 --locked --features binary
fi

say "load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other work skews the numbers)"
cargo bench --bench checkpoints
