#!/usr/bin/env bash
# guest.sh: runs one command in a throw-away User-Mode-Linux guest whose only cgroup hierarchy is
# cgroup v2 with cpu, io, memory and pids delegatable: the host nsbox's cgroup limits are tested on.
#
# Why a guest: the machines nsbox is developed and tested on have their controllers on cgroup v1,
# and creating cgroups there would move processes out of the machine's own accounting. Why UML and
# not qemu: it needs neither KVM nor root, boots in about two seconds, and sees the host's / as a
# read-only root (the checkout, node and node_modules are there as they are on the host).
#
# Usage: test/uml/guest.sh [-t SECS] [-m MEM] [-w DIR]... [-e K=V]... [--] COMMAND [ARGS...]
#        test/uml/guest.sh --setup      fetch the kernel only
#   -w DIR  DIR is writable in the guest, at the same path (the rest of / is read-only there)
# The command's stdout, stderr and exit status come back (128+N when a signal N killed it); 124 when
# it timed out, 125 when the guest could not run it (the reason is printed).
#
# The kernel: Debian's user-mode-linux package, of which only /usr/bin/linux.uml is kept, in
# $NSBOX_UML_CACHE (default node_modules/.cache/nsbox-uml of the checkout, never committed). It is
# fetched with `apt-get download`, after an `apt-get update` when the package is not known yet; a
# host where neither works is an error that says why, never a skipped test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${NSBOX_UML_CACHE:-$ROOT/node_modules/.cache/nsbox-uml}
MEM=384M TIMEOUT=300 SETUP_ONLY=0
MOUNTS=() ENVS=()
die() { echo "uml guest: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
  case "$1" in
    -m) MEM=$2; shift 2 ;;
    -t) TIMEOUT=$2; shift 2 ;;
    -w) MOUNTS+=("$(cd "$2" && pwd)"); shift 2 ;;
    -e) ENVS+=("$2"); shift 2 ;;
    --setup) SETUP_ONLY=1; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || [ $SETUP_ONLY = 1 ] || die "no command given"

kernel() {
  UML=${NSBOX_UML_KERNEL:-}
  if [ -n "$UML" ]; then [ -x "$UML" ] || die "NSBOX_UML_KERNEL=$UML is not an executable"; return; fi
  UML=$(command -v linux.uml || true)
  [ -n "$UML" ] && return
  UML=$CACHE/linux.uml
  [ -x "$UML" ] && return
  # Test files boot guests side by side: one fetches, the others wait for it (apt takes one lock too).
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.fetch.lock"
  flock 8
  [ -x "$UML" ] && { exec 8>&-; return; }
  [ "$(uname -m)" = x86_64 ] || die "User-Mode Linux from Debian needs an x86_64 host, this is $(uname -m)"
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "the UML kernel comes from Debian's user-mode-linux package, and this host has no apt-get/dpkg-deb; install user-mode-linux (or put linux.uml in $CACHE) by hand"
  mkdir -p "$CACHE"
  local tmp; tmp=$(mktemp -d "$CACHE/download.XXXXXX")
  # apt's _apt user cannot write into a private directory; the download is then done as the caller.
  chmod 755 "$tmp"
  if ! (cd "$tmp" && apt-get download -q user-mode-linux >"$tmp/apt.log" 2>&1); then
    if [ "$(id -u)" = 0 ]; then
      echo "uml guest: user-mode-linux is not in apt's lists; running apt-get update" >&2
      apt-get update -q >"$tmp/update.log" 2>&1 || { cat "$tmp/update.log" >&2; rm -rf "$tmp"; die "apt-get update failed (above)"; }
      (cd "$tmp" && apt-get download -q user-mode-linux >"$tmp/apt.log" 2>&1) ||
        { cat "$tmp/apt.log" >&2; rm -rf "$tmp"; die "apt-get download user-mode-linux failed (above): is this a Debian or Ubuntu host with the package in its sources?"; }
    else
      cat "$tmp/apt.log" >&2; rm -rf "$tmp"
      die "apt-get download user-mode-linux failed (above); as root this script would run apt-get update first: run 'sudo apt-get update' and try again"
    fi
  fi
  dpkg-deb --fsys-tarfile "$tmp"/user-mode-linux_*.deb | tar -x -C "$tmp" ./usr/bin/linux.uml ||
    { rm -rf "$tmp"; die "the user-mode-linux package has no /usr/bin/linux.uml"; }
  mv "$tmp/usr/bin/linux.uml" "$UML"
  rm -rf "$tmp"
  exec 8>&-
}

kernel
[ $SETUP_ONLY = 1 ] && { echo "$UML"; exit 0; }

# The job directory must be reachable through the guest's read-only view of / before the guest
# covers /tmp with its own tmpfs: the guest reads its init and fstab from it, and writes the
# command's output into it through a writable hostfs mount.
JOB=$(mktemp -d "${NSBOX_UML_JOBS:-/tmp}/nsbox-uml.XXXXXX")
chmod 755 "$JOB"
UPID=
cleanup() { [ -n "$UPID" ] && kill -KILL "$UPID" 2>/dev/null; rm -rf "$JOB"; }
trap cleanup EXIT

cat >"$JOB/init" <<'EOF'
#!/bin/bash
# PID 1 of the guest. Every exec costs about 50 ms under UML: builtins and one `mount -a`.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
off() { echo o > /proc/sysrq-trigger; sleep 10; }
mount -t proc proc /proc || { echo "guest init: mounting /proc failed"; off; }
mount -a -T "$NSBOXJOB/fstab" || { echo "guest init: mount -a failed"; off; }
J=/run/job
. $J/mounts || { echo "guest init: the checkout or a -w path could not be mounted"; off; }
# The root group hands every controller to its children, as a delegating host's would.
for c in $(< /sys/fs/cgroup/cgroup.controllers); do echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control; done
echo uml > /proc/sys/kernel/hostname
unset NSBOXJOB
export HOME=/tmp/home TERM=dumb
mkdir -p "$HOME"
. $J/env
cd "$(< $J/cwd)" 2>/dev/null || cd /
/bin/bash $J/cmd < /dev/null > $J/stdout 2> $J/stderr
echo $? > $J/rc.part && mv $J/rc.part $J/rc
off
EOF
chmod 755 "$JOB/init"
{
  echo "sysfs /sys sysfs defaults 0 0"
  echo "run /run tmpfs mode=755 0 0"
  echo "tmp /tmp tmpfs mode=1777 0 0"
  echo "vartmp /var/tmp tmpfs mode=1777 0 0"
  echo "hostfs /run/job hostfs sync,X-mount.mkdir,$JOB 0 0"
  echo "devpts /dev/pts devpts gid=5,mode=620,ptmxmode=666,X-mount.mkdir 0 0"
  echo "shm /dev/shm tmpfs mode=1777,X-mount.mkdir 0 0"
  echo "cgroup2 /sys/fs/cgroup cgroup2 nsdelegate,memory_recursiveprot 0 0"
  case "$ROOT/" in /tmp/*|/var/tmp/*|/run/*) echo "hostfs /run/checkout hostfs ro,X-mount.mkdir,$ROOT 0 0" ;; esac
} >"$JOB/fstab"
# Run by the guest's init after the fstab. The guest covers /tmp, /var/tmp and /run with its own: a
# checkout under one of them (a CI clone in a temporary directory) is put back at its own path as a
# guest tmpfs (mode 755, so the rootless checks reach it even when the host's directory is private)
# holding read-only binds of its directories and copies of its files. Then the -w paths, which may
# lie inside it.
{
  case "$ROOT/" in
    /tmp/*|/var/tmp/*|/run/*)
      printf 'mkdir -p %q && mount -t tmpfs -o mode=755 checkout %q || return 1\n' "$ROOT" "$ROOT"
      printf 'for e in /run/checkout/* /run/checkout/.[!.]*; do\n'
      printf '  [ -e "$e" ] || continue\n'
      printf '  if [ -d "$e" ]; then mkdir %q/"${e##*/}" && mount --bind "$e" %q/"${e##*/}" && mount -o remount,bind,ro %q/"${e##*/}" || return 1\n' "$ROOT" "$ROOT" "$ROOT"
      printf '  else cp -p "$e" %q/ || return 1; fi\n' "$ROOT"
      printf 'done\n' ;;
  esac
  for dir in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
    case "$dir" in *[,\ ]*) die "a -w path with a comma or space: $dir" ;; esac
    printf 'mkdir -p %q && mount -t hostfs -o rw,%s hostfs %q || return 1\n' "$dir" "$dir" "$dir"
  done
  echo true
} >"$JOB/mounts"
printf '%q ' exec "$@" >"$JOB/cmd"
echo >>"$JOB/cmd"
pwd >"$JOB/cwd"
{
  for v in LANG LC_ALL CI; do [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"; done
  for kv in "${ENVS[@]+"${ENVS[@]}"}"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
  true
} >"$JOB/env"
: >"$JOB/stdout"
: >"$JOB/stderr"

# The guest's RAM is a file in TMPDIR: /dev/shm keeps it off the disk.
set +e
TMPDIR=/dev/shm timeout -k 5 "$TIMEOUT" "$UML" \
  mem="$MEM" root=/dev/root rootfstype=hostfs rootflags=/ ro \
  init="$JOB/init" uml_dir="$JOB/uml" con=null con0=null,fd:3 ssl=null quiet \
  cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 NSBOXJOB="$JOB" \
  3>"$JOB/console.log" </dev/null >>"$JOB/console.log" 2>&1 &
UPID=$!
wait $UPID
URC=$?
UPID=
set -e
cat "$JOB/stdout"
cat "$JOB/stderr" >&2
[ -f "$JOB/rc" ] && exit "$(cat "$JOB/rc")"
[ $URC = 124 ] && { echo "uml guest: timed out after ${TIMEOUT}s" >&2; exit 124; }
echo "uml guest: the guest ended without a result (status $URC); its console:" >&2
tail -n 40 "$JOB/console.log" >&2
exit 125
