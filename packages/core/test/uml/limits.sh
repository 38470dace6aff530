#!/bin/bash
# One guest boot for every limit check (each boot costs about two CPU-seconds): as root in the guest's
# root group, then as uid 65534 in a group delegated to it, then what is left in /sys/fs/cgroup.
# Each check prints one JSON line; limits.test.ts judges them.
here=$(cd "$(dirname "$0")" && pwd)
cli=$here/../../dist/cli.js
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
json_list() { local first=1; printf '['; for e in "$@"; do [ $first = 1 ] || printf ','; first=0; printf '"%s"' "$e"; done; printf ']'; }

node "$here/limits.mjs" all

# Not delegated: uid 65534 in the root group may not create groups there.
out=$(as_nobody node "$cli" run --memory-max 64m -- true 2>&1); status=$?
printf '{"check":"not-delegated","status":%d,"stderr":%s}\n' "$status" "$(node -p 'JSON.stringify(process.argv[1])' "$out")"

# Delegated as systemd's Delegate=yes does it: the group and its process files belong to the user.
D=/sys/fs/cgroup/delegated
mkdir "$D" && chown 65534:65534 "$D" "$D/cgroup.procs" "$D/cgroup.subtree_control" "$D/cgroup.threads"
sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" --reuid=65534 --regid=65534 --clear-groups node "$3" rootless' - "$D" "$(command -v setpriv)" "$here/limits.mjs"
cd "$D" && printf '{"check":"delegated-after","entries":%s,"runnerProcs":"%s"}\n' "$(json_list */)" "$(cat nsbox-runner/cgroup.procs 2>/dev/null)"
cd /
rmdir "$D"/nsbox-runner "$D"
# Root in a group some manager set up for a service (processes inside, not delegated): nsbox must not
# reorganise it. Marked delegated as systemd marks its Delegate=yes groups, it may.
S=/sys/fs/cgroup/service
mkdir "$S"
in_service() { sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' - "$S" "$@"; }
out=$(in_service node "$cli" run --memory-max 64m -- true 2>&1); status=$?
doctor=$(in_service node "$cli" doctor --json | node -p 'JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")))')
printf '{"check":"root-not-delegated","status":%d,"stderr":%s,"entries":%s,"doctor":%s}\n' "$status" "$(node -p 'JSON.stringify(process.argv[1])' "$out")" "$(cd "$S" && json_list */)" "$doctor"
node -e "require('module').createRequire('$here/../../package.json')('koffi').load('libc.so.6').func('int setxattr(const char *p, const char *n, const char *v, size_t s, int f)')('$S', 'trusted.delegate', '1', 1, 0) === 0 || process.exit(1)"
out=$(in_service node "$cli" run --memory-max 64m -- sh -c 'cat /proc/self/cgroup' 2>&1); status=$?
printf '{"check":"root-marked-delegated","status":%d,"out":%s,"entries":%s}\n' "$status" "$(node -p 'JSON.stringify(process.argv[1])' "$out")" "$(cd "$S" && json_list */)"
rmdir "$S"/nsbox-runner "$S"

cd /sys/fs/cgroup && printf '{"check":"guest-after","groups":%s}\n' "$(json_list */)"
