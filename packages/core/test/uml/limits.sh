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
cd /sys/fs/cgroup && printf '{"check":"guest-after","groups":%s}\n' "$(json_list */)"
