#!/usr/bin/env bash
# Checks that the test suite left nothing behind: no process (of the test user, of a job
# Lifeboat launched, or started in the suite's temp folder), no mount and no file in that
# folder. Lists and removes what it finds, and then fails.
# Usage: scripts/leftovers.sh SCRATCH   (the TMPDIR the tests ran with)
set -uo pipefail
scratch="$1"
user=lifeboat-test

# PIDs of processes the tests started, one per line with what they are.
procs() {
  local d p cmd cwd who
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    # This script, and the subshell it runs this loop in.
    { [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ]; } && continue
    [ "$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -c1)" = Z ] && continue
    cmd=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | cut -c1-200)
    [ -n "$cmd" ] || continue
    cwd=$(readlink "$d/cwd" 2>/dev/null)
    who=$(stat -c %U "$d" 2>/dev/null)
    if [ "$who" = "$user" ] || grep -qa 'LIFEBOAT_RUN=' "$d/environ" 2>/dev/null \
      || [ "${cwd#"$scratch"}" != "$cwd" ] || [ "${cmd#*"$scratch"}" != "$cmd" ] \
      || [ "${cmd#*lifeboat-test-}" != "$cmd" ]; then
      mark=$({ tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -a '^LIFEBOAT_RUN=' | head -1)
      echo "$p [$who] $cmd (cwd $cwd${mark:+, $mark})"
    fi
  done
}

# Processes may still be on their way out (a test's drop just signalled them).
left=""
for _ in $(seq 1 20); do
  left=$(procs)
  [ -z "$left" ] && break
  sleep 0.5
done
mounts=$(grep -F " $scratch" /proc/mounts || true)
files=$(find "$scratch" -mindepth 1 -maxdepth 2 2>/dev/null | head -20)
# Drills cut hosts off with firewall rules tagged lifeboat-drill, the partition tests
# cut Lifeboat off with rules tagged lifeboat-test-cut; none may outlive them.
tagged='lifeboat-drill\|lifeboat-test-cut'
rules=$( { iptables -S; ip6tables -S; } 2>/dev/null | grep -e "$tagged" || true)

status=0
if [ -n "$left" ]; then
  echo "LEFT BEHIND: processes the tests started are still running:"
  echo "$left" | sed 's/^/  /'
  echo "$left" | cut -d' ' -f1 | xargs -r kill -KILL 2>/dev/null
  status=1
fi
if [ -n "$mounts" ]; then
  echo "LEFT BEHIND: mounts in the tests' temp folder:"
  echo "$mounts" | sed 's/^/  /'
  echo "$mounts" | cut -d' ' -f2 | xargs -r -n1 umount -l 2>/dev/null
  status=1
fi
if [ -n "$rules" ]; then
  echo "LEFT BEHIND: firewall rules a drill or a test made:"
  echo "$rules" | sed 's/^/  /'
  for ipt in iptables ip6tables; do
    $ipt -S 2>/dev/null | grep -e "$tagged" | sed 's/^-A /-D /' |
      while read -r r; do eval "$ipt $r"; done
  done
  status=1
fi
if [ -n "$files" ]; then
  echo "LEFT BEHIND: files in the tests' temp folder ($scratch):"
  echo "$files" | sed 's/^/  /'
  status=1
fi
rm -rf "$scratch"
[ $status = 0 ] && echo "nothing left behind: no process, no mount, no temp file, no firewall rule"
exit $status
