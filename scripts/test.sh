#!/usr/bin/env bash
# Installs what the tests need (when missing) and runs the whole test suite.
# Usage: scripts/test.sh            (from the repository root; CI calls exactly this)
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# Debian packages the tests use; installed only when missing.
need_apt=()
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
# Host scripts are tested under Debian's sh (dash) and busybox ash.
command -v dash >/dev/null 2>&1 || need_apt+=(dash)
command -v busybox >/dev/null 2>&1 || need_apt+=(busybox)
# Real sshd hosts on loopback (tests/support/sshd.rs); ssh-keygen and ssh-agent come with it.
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
# Drills cut a host's SSH port with its own firewall, as the test user through sudo.
[ -x /usr/sbin/iptables ] || need_apt+=(iptables)
[ -x /usr/bin/sudo ] || need_apt+=(sudo)
# The HTTP API's tests: a real client and a real Prometheus (with promtool).
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy

# A real S3 server on loopback (tests/support/s3.rs); newer versions need a newer Rust.
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
  say "installing s3s-fs"
  cargo install s3s-fs@0.14.1 --locked --features binary
fi

# schemathesis (PyPI) fuzzes the HTTP API from its OpenAPI document, from a venv of its own.
venv="$HOME/.cache/lifeboat-test/venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  say "installing schemathesis"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
export LIFEBOAT_SCHEMATHESIS="$venv/bin/schemathesis"

# A fresh clone gains nothing from incremental data, and it is gigabytes on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

say "format"
cargo fmt --all -- --check

say "lint"
cargo clippy --all-targets --quiet -- -D warnings

say "build"
cargo test --all-targets --no-run

# The tests run with a temp folder of their own, so what they leave there is seen.
say "tests"
scratch=$(mktemp -d /tmp/lifeboat-tests.XXXXXX)
chmod 1777 "$scratch"
set +e
TMPDIR="$scratch" cargo test --all-targets --no-fail-fast
tests=$?
set -e

say "left behind"
scripts/leftovers.sh "$scratch" || tests=1
exit $tests
