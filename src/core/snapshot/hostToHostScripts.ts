// The POSIX sh of a host-to-host transfer (hostLink.ts, hostToHost.ts): on the target host a probe
// of the source and the fetch itself; on the source the one-archive key. Each needs only sh, coreutils,
// awk and OpenSSH (and zstd, used only when both hosts have it). Every path is inside a work folder of ours; every other argument is checked
// here again before use, whatever the client checked.
import { maxZstdWindowBytes } from '../archive/zstdFrames';
import { prelude } from '../remote/shellLib';

/** The name the pinned known_hosts line carries on the target host (ssh's HostKeyAlias). */
export const pinnedAlias = 'snapdebug-source';

/** ssh options shared by the probe and the fetch: no config file, no prompts, only the pinned key. */
const sshOptions = `-F /dev/null -T -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \\
  -o UserKnownHostsFile="$w/known_hosts" -o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=${pinnedAlias} \\
  -o HostKeyAlgorithms="$alg" -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -p "$port" -l "$user"`;

/**
 * On the target host: can it reach the source by `name`, and does the source show the key this
 * machine verified? Without a key to offer, a reachable source with the right key answers
 * "Permission denied"; any other key fails "Host key verification failed".
 * Arguments: sudo|root, work folder, name, port, user, key type, key (base64).
 * Prints: `address ADDR`, `from ADDR,...` (this host's own addresses), then `verdict WORD`.
 */
export const probeScript = `${prelude}
w=$1 name=$2 port=$3 user=$4 type=$5 key=$6
ours "$w" || exit 2
case $name in ''|-*|*[!A-Za-z0-9.-]*) exit 2 ;; esac
case $port in ''|*[!0-9]*) exit 2 ;; esac
valid_name "$user" || exit 2
case $type in ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) ;; *) exit 2 ;; esac
case $key in ''|*[!A-Za-z0-9+/=]*) exit 2 ;; esac
alg=$type; [ "$type" = ssh-rsa ] && alg=rsa-sha2-512,rsa-sha2-256
command -v ssh >/dev/null 2>&1 || { echo "verdict no-ssh"; exit 0; }
addr=$(getent ahostsv4 "$name" 2>/dev/null | awk 'NR == 1 {print $1}')
[ -n "$addr" ] || { echo "verdict no-name"; exit 0; }
echo "address $addr"
echo "from $(hostname -I 2>/dev/null | tr -s ' ' ',' | sed 's/,$//')"
printf '%s %s %s\\n' "${pinnedAlias}" "$type" "$key" > "$w/known_hosts"
out=$(ssh ${sshOptions} -o IdentitiesOnly=yes -o IdentityFile=/dev/null -o PreferredAuthentications=publickey "$addr" true 2>&1 </dev/null)
case $out in
  *'Permission denied'*) echo "verdict ok" ;;
  *'Host key verification failed'*|*'REMOTE HOST IDENTIFICATION HAS CHANGED'*) echo "verdict wrong-key" ;;
  *) echo "verdict unreachable $(printf '%s' "$out" | tail -n 1)" ;;
esac
`;

/**
 * On the source: authorises the target host's one-time key to read one file of this work and
 * nothing else, from the target host's addresses only, until `expires` (epoch seconds). The undo
 * line is written before the key line. Arguments: sudo|root, work folder, file name in it, tag,
 * expires, from (comma list), key type, key.
 */
export const authorizeScript = `${prelude}
w=$1 file=$2 tag=$3 expires=$4 from=$5 type=$6 key=$7
ours "$w" || exit 2
valid_name "$file" || exit 2
[ -f "$w/$file" ] || exit 2
case $tag in snapdebug-fetch-*) valid_name "$tag" || exit 2 ;; *) exit 2 ;; esac
case $expires in ''|*[!0-9]*) exit 2 ;; esac
case $from in ''|*[!0-9a-fA-F.:,]*) exit 2 ;; esac
[ "$type" = ssh-ed25519 ] || exit 2
case $key in ''|*[!A-Za-z0-9+/=]*) exit 2 ;; esac
echo "authkey $tag" >> "$w/undo"
mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh"
f=$HOME/.ssh/authorized_keys
[ ! -L "$f" ] || exit 2
authkeys_lock || exit 2
if [ -s "$f" ] && [ -n "$(tail -c 1 "$f")" ]; then echo >> "$f"; fi
until=$(date -d "@$expires" +%Y%m%d%H%M%S) || exit 2
printf 'restrict,command="cat %s/%s",from="%s",expiry-time="%s" %s %s %s\\n' "$w" "$file" "$from" "$until" "$type" "$key" "$tag" >> "$f"
`;

/** On the target host: a one-time key pair in the work's folder. Arguments: sudo|root, work folder, tag. Prints the public key. */
export const keygenScript = `${prelude}
w=$1
ours "$w" || exit 2
ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$w/fetch_key" </dev/null >/dev/null || exit 2
cat "$w/fetch_key.pub"
`;

/**
 * On the target host: fetches the source's archive over the hosts' own link into archive.tar,
 * with the relabelled head (the file `head`, made by this machine) in place of the first `skip`
 * bytes. The source's bytes are hashed as they arrive, all of them, for the store's check; the
 * ssh's PID goes into the undo list first, so a vanished client's watchdog ends it.
 * A zstd archive (the source's podman compressed it) is decompressed here, as it arrives, with
 * the window limited as for every archive we read: the copy's archive.tar is plain either way.
 * Arguments: sudo|root, work folder, skip, address, port, user, key type, zstd|none.
 * Prints `source SHA256` (of what the source sent: compared with the source's own sha256sum) and
 * `copy BYTES` (archive.tar's size; the copy's bytes are not hashed again: nothing compares them).
 */
export const fetchScript = `${prelude}
w=$1 skip=$2 addr=$3 port=$4 user=$5 type=$6 compression=$7
ours "$w" || exit 2
case $compression in zstd) unpack() { zstd -dc -q --memory=${maxZstdWindowBytes / 1024 / 1024}MB; } ;; none) unpack() { cat; } ;; *) exit 2 ;; esac
alg=$type; [ "$type" = ssh-rsa ] && alg=rsa-sha2-512,rsa-sha2-256
case $skip in ''|*[!0-9]*) exit 2 ;; esac
case $addr in ''|*[!0-9a-fA-F.:]*) exit 2 ;; esac
case $type in ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) ;; *) exit 2 ;; esac
case $port in ''|*[!0-9]*) exit 2 ;; esac
valid_name "$user" || exit 2
f=$w/archive.tar
( set -C; : > "$f" ) || exit 2
mkfifo "$w/from-source" "$w/source-hash" || exit 2
ssh ${sshOptions} -i "$w/fetch_key" -o IdentitiesOnly=yes "$addr" archive > "$w/from-source" 2> "$w/fetch.err" &
s=$!
echo "fetch $s" >> "$w/undo"
{ sha256sum | awk '{print $1}'; } < "$w/source-hash" > "$w/source.sha" &
h=$!
{ cat "$w/head"; tee "$w/source-hash" < "$w/from-source" | unpack | tail -c +$((skip + 1)); } >> "$f"
wait "$s"
c=$?
wait "$h"
tr '\\n' ' ' < "$w/fetch.err" >&2
echo "source $(cat "$w/source.sha")"
echo "copy $(stat -c %s "$f")"
exit $c
`;
