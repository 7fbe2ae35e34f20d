// The POSIX sh of a host-to-host transfer (hostLink.ts, hostToHost.ts): on the target host a probe
// of the source and the fetch itself; on the source the one-archive key. Each needs only sh, coreutils,
// awk and OpenSSH (and zstd, used only when both hosts have it). Every path is inside a work folder of ours; every other argument is checked
// here again before use, whatever the client checked.
import { maxZstdWindowBytes } from '../archive/zstdFrames';
import { prelude } from '../remote/shellLib';
import { lockedCheckpointScript } from './checkpointImages';

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
 * What the one-time key runs on the source (its forced command, `sh WORK/serve`): the archive's
 * bytes, from the first, as podman writes them — `tail -f` until the shell running podman (its PID
 * in checkpoint.pid, written by followedCheckpointScript) is gone, then what is left. The waits are bounded (an
 * hour: CRIU's dump of a large container comes first), and end when the work's folder goes. The file name is put
 * before this text when the work is prepared; the folder is where the script lies.
 */
const serveScript = `w=\${0%/*}
i=0
until [ -s "$w/checkpoint.pid" ]; do
  i=$((i + 1)); [ "$i" -le 72000 ] && [ -d "$w" ] || { echo "podman never started" >&2; exit 3; }
  sleep 0.05
done
read -r pid < "$w/checkpoint.pid"
case $pid in ''|*[!0-9]*) exit 2 ;; esac
if tail --pid="$pid" -c 0 /dev/null 2>/dev/null; then exec tail -c +1 -f --pid="$pid" -s 0.05 -- "$w/$f"; fi
# A tail without --pid (not GNU's): the whole file once podman is done.
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
exec cat -- "$w/$f"
`;

/**
 * On the source: runs podman's checkpoint (its argv, already privileged as the host needs) under
 * the container's checkpoint lock, as the streamed checkpoint does, after noting this shell's
 * PID for `serve` (it lives exactly as long as podman). Arguments: sudo|root, temp folder, work
 * folder, container id, then the argv.
 */
export const followedCheckpointScript = lockedCheckpointScript('echo $$ > "$w/checkpoint.pid" || exit 2\n');

/**
 * On the source, before the checkpoint: the work's empty archive file (podman writes into it) and
 * the serve script the one-time key will run, both created new. Arguments: sudo|root, work
 * folder, archive file name.
 */
export const prepareSourceScript = `${prelude}
w=$1 file=$2
ours "$w" || exit 2
valid_name "$file" || exit 2
set -C
: > "$w/$file" || exit 2
{ printf 'f=%s\\n' "$file"; cat <<'SERVE'
${serveScript}SERVE
} > "$w/serve" || exit 2
`;

/**
 * On the source: authorises the target host's one-time key to run this work's serve script (the
 * archive's bytes) and nothing else, from the target host's addresses only, until `expires`
 * (epoch seconds). The undo line is written before the key line. Arguments: sudo|root, work
 * folder, tag, expires, from (comma list), key type, key.
 */
export const authorizeScript = `${prelude}
w=$1 tag=$2 expires=$3 from=$4 type=$5 key=$6
ours "$w" || exit 2
[ -f "$w/serve" ] || exit 2
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
printf 'restrict,command="sh %s/serve",from="%s",expiry-time="%s" %s %s %s\\n' "$w" "$from" "$until" "$type" "$key" "$tag" >> "$f"
`;

/** On the target host: a one-time key pair in the work's folder. Arguments: sudo|root, work folder, tag. Prints the public key. */
export const keygenScript = `${prelude}
w=$1
ours "$w" || exit 2
ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$w/fetch_key" </dev/null >/dev/null || exit 2
cat "$w/fetch_key.pub"
`;

/**
 * `with_head`, the fetch's writer: stdin is the archive unpacked as it arrives; stdout is the
 * copy's archive. Needs $w (the work folder) set.
 */
export const withHeadLib = `# The archive streams in while this machine relabels its head. Until the head comes, what arrives
# is spooled, 4 MiB at a time (head -c reads no more than it writes), so the link never waits for
# it; then the head, the spool past the original head, and the rest straight through.
chunk=4194304
with_head() {
  : > "$w/spool" || return 2
  i=0 more=1
  until [ -f "$w/head.skip" ]; do
    i=$((i + 1)); [ "$i" -le 72000 ] && [ -d "$w" ] || { echo "no head came" >&2; cat > /dev/null; return 3; }
    if [ "$more" = 1 ]; then
      was=$(stat -c %s "$w/spool")
      head -c "$chunk" >> "$w/spool" || return 2
      [ $(($(stat -c %s "$w/spool") - was)) -eq "$chunk" ] || more=0
    else
      sleep 0.05
    fi
  done
  read -r skip < "$w/head.skip"
  case $skip in ''|*[!0-9]*) cat > /dev/null; return 2 ;; esac
  spooled=$(stat -c %s "$w/spool")
  cat "$w/head" || return 2
  if [ "$spooled" -gt "$skip" ]; then tail -c +$((skip + 1)) "$w/spool" || return 2
  else head -c $((skip - spooled)) > /dev/null || return 2; fi
  rm -f "$w/spool"
  cat
}
`;

/**
 * On the target host: fetches the source's archive over the hosts' own link into archive.tar while
 * podman still writes it there, with the relabelled head (the file `head`, made by this machine
 * from the archive's first bytes) in place of the first `skip` bytes (the file `head.skip`, which
 * appears once `head` is whole: podman writes it first, after CRIU's dump, which a large container
 * makes long; waited for at most an hour, or until the work's folder goes). The source's bytes are hashed as
 * they arrive, all of them, for the store's check; the ssh's PID goes into the undo list first,
 * so a vanished client's watchdog ends it. A zstd archive (the source's podman compressed it) is
 * decompressed here, as it arrives, with the window limited as for every archive we read: the
 * copy's archive.tar is plain either way.
 * Arguments: sudo|root, work folder, address, port, user, key type, zstd|none.
 * Prints `source SHA256` (of what the source sent: compared with the source's own sha256sum) and
 * `copy BYTES` (archive.tar's size; the copy's bytes are not hashed again: nothing compares them).
 */
export const fetchScript = `${prelude}${withHeadLib}
w=$1 addr=$2 port=$3 user=$4 type=$5 compression=$6
ours "$w" || exit 2
case $compression in zstd) unpack() { zstd -dc -q --memory=${maxZstdWindowBytes / 1024 / 1024}MB; } ;; none) unpack() { cat; } ;; *) exit 2 ;; esac
alg=$type; [ "$type" = ssh-rsa ] && alg=rsa-sha2-512,rsa-sha2-256
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
# (sh has no pipefail: how unpacking and writing ended is kept apart from the ssh's status)
tee "$w/source-hash" < "$w/from-source" | { unpack; echo $? > "$w/unpack.rc"; } | with_head >> "$f"
written=$?
wait "$s"
c=$?
wait "$h"
tr '\\n' ' ' < "$w/fetch.err" >&2
echo "source $(cat "$w/source.sha")"
echo "copy $(stat -c %s "$f")"
[ "$c" = 0 ] || exit "$c"
[ "$written" = 0 ] && [ "$(cat "$w/unpack.rc")" = 0 ] || { echo "unpacking or writing the copy failed" >&2; exit 3; }
`;
