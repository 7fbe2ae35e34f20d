// The POSIX sh that sets fences up and takes them down on the debug host (see rules.ts for what a
// fence is). nft runs as `nsenter --target 1 --net -- nft`: nsenter is among the few programs a
// sudo rule for snapdebug names, and PID 1's network namespace is the host's. Setting up takes a
// shared lock and taking down an exclusive one, both on the temp folder itself (flock on a
// folder: no lock file to create or leave), so the table is never removed between the moment a
// new fence is set up and the moment its network exists — the network is what says "a fenced copy
// needs the table".
import { fenceLib, marker, prelude } from '../remote/shellLib';
import { fenceNetworkPrefix } from './rules';

/**
 * Sets a fence up: our table and the copy's chain (the nft file on stdin), then the copy's network.
 * With routes (addresses the copy may reach, on a network without a default route), the network is
 * made twice: first to learn the subnet podman picks, then again on that subnet with a route to
 * each address through its gateway. The fence's undo line goes into the work's list first.
 * Arguments: sudo|root, temp folder, work folder, copy, network, routes (space separated IPv4
 * addresses, or ""), then `podman network create` flags.
 */
export const fenceSetupScript = `${prelude}${fenceLib}
sd_tmp=$1 w=$2 copy=$3 net=$4 routes=$5; shift 5
ours "$w" && valid_name "$copy" || exit 2
case $net in ${fenceNetworkPrefix}*) valid_fence_id "\${net#${fenceNetworkPrefix}}" || exit 2 ;; *) exit 2 ;; esac
# The undo line first, in the same round trip: every way the work ends takes the fence down.
echo "fence \${net#${fenceNetworkPrefix}} $copy" >> "$w/undo" || exit 2
ipv4() { case $1 in *[!0-9.]*|'') return 1 ;; esac; [ "$(echo "$1" | awk -F. 'NF == 4 && $1 < 256 && $2 < 256 && $3 < 256 && $4 < 256')" = "$1" ]; }
for a in $routes; do ipv4 "$a" || exit 2; done
fence_lock -s || { echo "${marker.error} cannot lock $sd_tmp" >&2; exit 3; }
nft_ -f - || { echo "${marker.error} nft refused the fence's rules" >&2; exit 4; }
r podman network exists "$net" </dev/null && exit 0
r podman network create "$@" "$net" >/dev/null </dev/null || exit 5
[ -n "$routes" ] || exit 0
sg=$(r podman network inspect --format '{{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}' "$net" </dev/null)
sub=\${sg% *} gw=\${sg#* }
ipv4 "\${sub%/*}" && ipv4 "$gw" && case \${sub#*/} in [1-9]|[12][0-9]|30) ;; *) false ;; esac || { echo "${marker.error} podman gave $net no IPv4 subnet: $sg" >&2; exit 5; }
r podman network rm "$net" >/dev/null </dev/null || exit 5
for a in $routes; do set -- "$@" --route "$a/32,$gw"; done
r podman network create "$@" --subnet "$sub" --gateway "$gw" "$net" >/dev/null </dev/null || exit 5
`;

/** Takes one copy's fence down now (discard). Arguments: sudo|root, temp folder, fence id, copy. */
export const unfenceScript = `${prelude}${fenceLib}
sd_tmp=$1
unfence "$2" "$3"
`;

/** Whether this host can fence: nft answers in the host's namespace. Arguments: sudo|root. */
export const fenceProbeScript = `${prelude}
v=$(r nsenter --target 1 --net -- nft --version 2>&1 </dev/null) || { echo "$v" | tail -1 >&2; exit 1; }
echo "$v"
r nsenter --target 1 --net -- nft list tables >/dev/null </dev/null || exit 1
`;
