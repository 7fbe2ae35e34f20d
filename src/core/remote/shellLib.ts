// The POSIX sh that runs on hosts so that remote work cleans up after itself, whatever happens to
// this machine (see docs/architecture.md, "Remote work"). Hosts need nothing but sh, coreutils,
// awk and /proc. Every script starts with the prelude: its first argument says whether privileged
// programs (podman, kill, nsenter, rm of podman's files) go through `sudo -n`; nothing else ever does.
//
// On a host, under the temp folder ($tmp, /var/tmp by default):
//   snapdebug-s.XXXXXXXXXX/        one client's session (mktemp -d: 0700, ours)
//     lease                        touched on every heartbeat; stale after the TTL = client gone
//     ended                        written when the client's keeper channel closed
//     keeper, watchdog             PIDs: the newest keeper owns the session; the watchdog cleans it
//     w.XXXXXXXX/                  one piece of work: its temporary files, and
//       undo                       what to undo if the work never finishes ("kind arg arg" lines)
//   snapdebug-k.XXXXXXXXXX/        what outlives a work: a copy's CRIU options (file `copy` names
//                                  the copy), or an archive `snapdebug push` left on purpose
//                                  (file `expires` holds when the sweep may remove it)
// and, for fenced copies (fence/), podman networks snapdebug-fence-ID labelled with their copy and
// the nftables table `inet snapdebug`, which goes with the last of them.

import { fenceLabel, fenceNetworkPrefix, fenceTable } from '../fence/rules';

export const sessionPrefix = 'snapdebug-s.';
export const keepPrefix = 'snapdebug-k.';
export const workPrefix = 'w.';

/** Markers the scripts print for the client. */
export const marker = {
  session: 'snapdebug-session',
  sessionGone: 'snapdebug-no-session',
  swept: 'snapdebug-swept',
  undone: 'snapdebug-undone',
  error: 'snapdebug-error',
  exit: 'snapdebug-exit',
  teeFailed: 'snapdebug-tee-failed',
} as const;

/** $1 is "sudo" or "root"; `r PROGRAM ...` runs a privileged program accordingly. */
export const prelude = `set -u
umask 077
export PODMAN_IGNORE_CGROUPSV1_WARNING=1
sd_sudo=$1; shift
r() { if [ "$sd_sudo" = sudo ]; then sudo -n "$@"; else "$@"; fi; }
valid_name() { case $1 in ''|-*|*[!A-Za-z0-9_.-]*) return 1 ;; esac; }
valid_pid() { case $1 in ''|*[!0-9]*|0|1) return 1 ;; esac; }
valid_image() { case $1 in ''|-*|*[!A-Za-z0-9_.:/@-]*) return 1 ;; esac; }
# ours: a real folder (not a link) that belongs to the account we log in as
ours() { [ -d "$1" ] && [ ! -L "$1" ] && [ -O "$1" ]; }
# authorized_keys is changed by one snapdebug script at a time: transfers running at once grant
# and drop their one-time keys by appending and rewriting it, and two rewrites interleaved put a
# dropped key back. The lock is on the account's .ssh folder (fd 7; fences use 8, checkpoints 9).
authkeys_lock() { command -v flock >/dev/null 2>&1 || return 0; exec 7< "$HOME/.ssh" && flock -w 60 7; }
`;

/**
 * Fenced copies' host-level parts (fence/rules.ts, fence/fenceShell.ts): taking one down, and the
 * sweep of those whose copy is gone. Needs sd_tmp set.
 */
export const fenceLib = `
nft_() { r nsenter --target 1 --net -- nft "$@"; }
# $1: -s (setting up) or -x (taking down). Without flock, fences are still set up and taken down.
fence_lock() { command -v flock >/dev/null 2>&1 || return 0; exec 8< "$sd_tmp" && flock "$1" -w 120 8; }
fence_unlock() { exec 8<&-; }
valid_fence_id() { case $1 in [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) return 0 ;; esac; return 1; }

# Takes down the fence $1 of the copy $2: its map entry, its chain, its network (only if that
# network was made for that copy), and our table once no fence network is left.
unfence() {
  valid_fence_id "$1" && valid_name "$2" || return 0
  uf_id=$1 uf_copy=$2 uf_net=${fenceNetworkPrefix}$1
  fence_lock -x || return 1
  uf_owner=$(r podman network inspect --format '{{index .Labels "${fenceLabel}"}}' "$uf_net" 2>/dev/null </dev/null)
  if [ -n "$uf_owner" ] && [ "$uf_owner" != "$uf_copy" ]; then fence_unlock; return 0; fi
  nft_ destroy element inet ${fenceTable} allowed "{ snapdebug$uf_id }" 2>/dev/null ||
    nft_ delete element inet ${fenceTable} allowed "{ snapdebug$uf_id }" 2>/dev/null
  nft_ delete chain inet ${fenceTable} "allow_$uf_id" 2>/dev/null
  [ -n "$uf_owner" ] && r podman network rm "$uf_net" >/dev/null 2>&1 </dev/null
  # podman must answer: when it cannot say no fence network is left, the table stays
  if uf_left=$(r podman network ls --quiet --filter label=${fenceLabel} 2>/dev/null </dev/null) && [ -z "$uf_left" ]; then
    nft_ delete table inet ${fenceTable} 2>/dev/null
  fi
  fence_unlock
  return 0
}

# Fences whose copy is gone, unless a live work is still making that copy (its undo list names the fence).
sweep_fences() {
  sf_list=$(r podman network ls --quiet --filter label=${fenceLabel} 2>/dev/null </dev/null) || return 0
  for sf_net in $sf_list; do
    case $sf_net in ${fenceNetworkPrefix}*) ;; *) continue ;; esac
    sf_id=\${sf_net#${fenceNetworkPrefix}}
    valid_fence_id "$sf_id" || continue
    sf_copy=$(r podman network inspect --format '{{index .Labels "${fenceLabel}"}}' "$sf_net" 2>/dev/null </dev/null)
    valid_name "$sf_copy" || continue
    r podman container exists "$sf_copy" 2>/dev/null </dev/null && continue
    grep -qs "^fence $sf_id " "$sd_tmp"/${sessionPrefix}*/${workPrefix}*/undo && continue
    unfence "$sf_id" "$sf_copy" && echo "${marker.swept} fence $sf_net (its copy $sf_copy is gone)"
  done
}
`;


/**
 * The container's checkpoint lock (fd 9, on $sd_tmp/snapdebug-lock.ID): one checkpoint of a
 * container at a time, whichever client asks and whichever way (podman 5.4 races two: both exit 0,
 * and one archive lacks config.dump), and no checkpoint's images removed while another checkpoint
 * of that container writes its own into the same folder (CRIU then fails: "Unable to open
 * seccomp.img"). flock's lock goes with the process that holds it. Needs sd_tmp.
 */
export const checkpointLockLib = `
checkpoint_lock_file() { echo "$sd_tmp/snapdebug-lock.$1"; }
# $1: container id. Waits as long as the checkpoint before this one runs.
checkpoint_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  l=$(checkpoint_lock_file "$1")
  # Readable by every account (0644): a client through sudo shares the lock a root client made.
  [ -e "$l" ] || (umask 022; : > "$l") 2>/dev/null
  # (a failed redirection on exec would end this shell: the test comes first)
  if [ -f "$l" ] && [ -r "$l" ]; then exec 9< "$l" && flock 9; else echo "snapdebug: checkpointing without the lock $l" >&2; fi
}
`;

/** Functions shared by the watchdog, the sweep and an abandon from the client. */
export const cleanupLib = `${fenceLib}${checkpointLockLib}
age() { m=$(stat -c %Y "$1" 2>/dev/null) || { echo 999999; return; }; echo $(( $(date +%s) - m )); }

# "pid comm" of every descendant of $1, read from /proc (no procps needed)
descendants() {
  root=$1
  for f in /proc/[0-9]*/stat; do
    read -r line < "$f" 2>/dev/null || continue
    comm=\${line#*\\(}; comm=\${comm%\\)*}; rest=\${line##*\\) }
    set -- $rest
    echo "\${line%% *} $2 $comm"
  done | awk -v r="$root" '{p[$1]=$2; c[$1]=$3} END {for (x in p) {y=p[x]; while ((y in p) && y != r && y > 1) y=p[y]; if (y == r) print x, c[x]}}'
}

# A streamed checkpoint nobody reads any more: podman 5.4 deadlocks there, holding the
# container's lock. $1 is our wrapper shell or the podman (or sudo) it started, $2 the work's
# folder. Wait until runc and CRIU are done (a container is never left frozen), then end the
# podman that exports into that folder: found by its place in the tree and its command line,
# never by name alone.
end_stream() {
  i=0
  while descendants "$1" | grep -qE ' (runc|criu)$' && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
  for sig in TERM TERM TERM KILL; do
    pids=$({ echo "$1 $(cat "/proc/$1/comm" 2>/dev/null)"; descendants "$1"; } | awk '$2 == "podman" || $2 == "sudo" {print $1}' |
      while read -r p; do tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$2/" && echo "$p"; done)
    [ -z "$pids" ] && return 0
    r kill -"$sig" $pids 2>/dev/null
    sleep 1
  done
}

# podman keeps a leave-running checkpoint's images (process memory) in the container's folder,
# and the export's copy of the files the container changed. A checkpointed (stopped) container
# keeps them: they are what restores it in place. Every checkpoint of a container writes into that
# one folder, so they go under its checkpoint lock, never while another checkpoint's CRIU writes
# there. Should another checkpoint hold the lock past a short wait (a large one, streaming over a
# slow link), a waiter of the host's own takes over: detached from this session and ignoring its
# hangup, it removes them once the lock is free (within an hour), whoever's client is gone by then.
drop_images() {
  l=$(checkpoint_lock_file "$1")
  if command -v flock >/dev/null 2>&1 && [ -f "$l" ] && [ -r "$l" ]; then
    exec 9< "$l" || return 0
    if ! flock -w "\${sd_lock_wait:-30}" 9; then
      exec 9<&-
      echo "snapdebug: another checkpoint of $1 runs: its images are removed once it is done" >&2
      ( trap '' HUP INT; exec 9< "$l" && flock -w 3600 9 && drop_images_now "$1" ) </dev/null >/dev/null 2>&1 &
      return 0
    fi
  fi
  drop_images_now "$1"
  exec 9<&-
}

# (under the lock) What the container's folder holds now: a checkpoint may have stopped it since.
drop_images_now() {
  info=$(r podman container inspect --format '{{.StaticDir}} {{.State.Checkpointed}}' "$1" 2>/dev/null) || return 0
  dir=\${info% *}
  [ "\${info##* }" = true ] && return 0
  case $dir in /*/userdata) r rm -rf "$dir/checkpoint" "$dir/devshm-checkpoint.tar" "$dir/rootfs-diff.tar" ;; esac
}

# A migration's source that was stopped for the checkpoint runs again: in place from its
# checkpoint when it has one, else started (its memory is then lost, but it serves).
unstop() {
  st=$(r podman container inspect --format '{{.State.Running}} {{.State.Checkpointed}}' "$1" 2>/dev/null) || return 0
  case $st in
    true*) ;;
    *true) r podman container restore "$1" || r podman start "$1" ;;
    *) r podman start "$1" ;;
  esac
}

# A file a copy's process wrote inside the copy (a heap dump in its /tmp): removed there, by the
# user that wrote it ($1 copy, $2 "user path"). Only names of the form snapdebug writes.
drop_copy_file() {
  u=\${2%% *}; f=\${2#* }
  case $u in ''|-*|*[!A-Za-z0-9_.:-]*) return 0 ;; esac
  case $f in /tmp/snapdebug-*) ;; *) return 0 ;; esac
  case $f in *[!A-Za-z0-9/._-]*|*/../*|*/./*) return 0 ;; esac
  r podman exec --user "$u" "$1" rm -f "$f"
}

# A host-to-host transfer's one-archive key (snapshot/hostToHost.ts): its line in the login
# account's authorized_keys, found by its tag, goes; the file keeps its inode and mode.
drop_authkey() {
  f=$HOME/.ssh/authorized_keys
  { [ -f "$f" ] && [ ! -L "$f" ]; } || return 0
  authkeys_lock || return 1
  grep -q -F " $1" "$f" || return 0
  grep -v -F " $1" "$f" > "$f.snapdebug.$$"
  [ $? -le 1 ] && cat "$f.snapdebug.$$" > "$f"
  rm -f "$f.snapdebug.$$"
}

# The ssh a debug host runs to fetch an archive from its source: ended by PID, if still that one.
end_fetch() {
  tr '\\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$2/fetch_key" && kill "$1"
}

# A helper of a work (the stream's tee and sha256sum): ended when its command line names the work.
end_helper() {
  tr '\\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$2/" && kill -KILL "$1" 2>/dev/null
  return 0
}

# A podman restore still reading the work's archive (WORK/archive.tar) when the client vanished:
# waited for, at most 5 minutes, so that the container it creates exists when its undo
# step removes it, rather than appearing just after.
wait_work_podman() {
  i=0
  while [ "$i" -lt 3000 ]; do
    busy=
    for p in /proc/[0-9]*; do
      c=$(tr '\\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
      case $c in *podman*restore*"$1/"*) busy=1; break ;; esac
    done
    [ -z "$busy" ] && return 0
    i=$((i + 1)); sleep 0.1
  done
}

# Undoes a work that never finished, newest step first, then removes its folder.
clean_work() {
  w=$1
  ours "$w" || return 0
  if [ -f "$w/undo" ]; then
    # Newest first, reversed in memory: the temp folder may be full (no file can be written).
    sed '1!G;h;$!d' "$w/undo" | while read -r kind a b; do
      case $kind in
        stream) valid_pid "$a" && end_stream "$a" "$w"; valid_name "$b" && drop_images "$b" ;;
        images) valid_name "$a" && drop_images "$a" ;;
        container) valid_name "$a" && wait_work_podman "$w" && r podman rm --force --time 0 "$a" ;;
        volume) valid_name "$a" && r podman volume rm --force "$a" ;;
        unstop) valid_name "$a" && unstop "$a" ;;
        copyfile) valid_name "$a" && drop_copy_file "$a" "$b" ;;
        authkey) valid_name "$a" && drop_authkey "$a" ;;
        fetch) valid_pid "$a" && end_fetch "$a" "$w" ;;
        helper) valid_pid "$a" && end_helper "$a" "$w" ;;
        fence) unfence "$a" "$b" ;;
        unmount)
          case $a in
            image) valid_image "$b" && r podman image unmount "$b" ;;
            container) valid_name "$b" && r podman container unmount "$b" ;;
          esac ;;
        keep) case $a in "$sd_tmp"/${keepPrefix}*) ours "$a" && rm -rf "$a" ;; esac ;;
        *) continue ;;
      esac </dev/null >/dev/null 2>&1
      echo "${marker.undone} $kind $a"
    done
  fi
  rm -rf "$w"
}

clean_session() {
  : > "$1/ended" 2>/dev/null
  for w in "$1"/${workPrefix}*; do [ -d "$w" ] && clean_work "$w"; done
  rm -rf "$1"
}

note() { command -v logger >/dev/null 2>&1 && logger -t snapdebug "$*"; return 0; }
`;

/**
 * The watchdog, detached from the session: when the keeper's channel closes or the lease goes
 * stale, it undoes every unfinished work of the session and removes the session's folder.
 * Arguments: sudo|root, session folder, TTL seconds, temp folder.
 */
export const watchdogScript = `${prelude}${cleanupLib}
s=$1 ttl=$2 sd_tmp=$3
trap '' HUP PIPE
echo $$ > "$s/watchdog"
while ours "$s"; do
  if [ -e "$s/ended" ] || [ "$(age "$s/lease")" -gt "$ttl" ]; then
    done_=$(clean_session "$s" 2>/dev/null | tr '\\n' ' ')
    note "cleaned up after a session that ended: $s \${done_}"
    exit 0
  fi
  sleep 1
done
`;

/**
 * Leftovers of earlier runs that no live session owns: sessions whose lease is stale and whose
 * watchdog is gone, a copy's kept files whose copy no longer exists (unless a live work, another
 * client's restore under way, still lists it in its undo), pushed archives past their expiry. Prints one line per thing removed. Needs sd_tmp and ttl set.
 */
export const sweepLib = `
sweep() {
  for s in "$sd_tmp"/${sessionPrefix}*; do
    ours "$s" || continue
    if [ ! -e "$s/ended" ] && [ "$(age "$s/lease")" -le "$ttl" ]; then continue; fi
    wd=$(cat "$s/watchdog" 2>/dev/null)
    if valid_pid "$wd" && grep -q snapdebug-watch "/proc/$wd/cmdline" 2>/dev/null; then continue; fi
    for w in "$s"/${workPrefix}*; do
      [ -d "$w" ] && clean_work "$w" | sed "s|^|${marker.swept} $w |"
    done
    clean_session "$s" >/dev/null 2>&1
    echo "${marker.swept} session $s"
  done
  for k in "$sd_tmp"/${keepPrefix}*; do
    ours "$k" || continue
    # A work still under way owns it (a copy being restored does not exist yet): its undo says so.
    cat "$sd_tmp"/${sessionPrefix}*/${workPrefix}*/undo 2>/dev/null | grep -qxF "keep $k" && continue
    if [ -f "$k/copy" ]; then
      c=$(cat "$k/copy")
      valid_name "$c" && r podman container exists "$c" 2>/dev/null && continue
      rm -rf "$k" && echo "${marker.swept} kept $k (its copy $c is gone)"
    elif [ -f "$k/expires" ]; then
      [ "$(date +%s)" -lt "$(cat "$k/expires")" ] 2>/dev/null && continue
      rm -rf "$k" && echo "${marker.swept} kept $k (past its expiry)"
    elif [ "$(age "$k")" -gt "$ttl" ]; then
      rm -rf "$k" && echo "${marker.swept} kept $k (never completed)"
    fi
  done
  sweep_fences
  # the empty files checkpoints lock (streamCheckpoint.ts), once their container is gone
  for l in "$sd_tmp"/snapdebug-lock.*; do
    [ -f "$l" ] && [ -O "$l" ] || continue
    c=\${l##*/snapdebug-lock.}
    valid_name "$c" && r podman container exists "$c" 2>/dev/null && continue
    rm -f "$l"
  done
}
`;

/**
 * The session keeper: one long-lived channel per host connection. It sweeps, creates the
 * session's folder (or adopts one after a reconnect), starts the watchdog, prints the folder,
 * then touches the lease for every line the client sends; when its channel closes it marks the
 * session ended — unless a newer keeper has adopted it meanwhile.
 * Arguments: sudo|root, temp folder, TTL seconds, folder to adopt (or ""), watchdog script.
 */
export const keeperScript = `${prelude}${cleanupLib}${sweepLib}
sd_tmp=$1 ttl=$2 adopt=$3 watch=$4
if [ ! -d "$sd_tmp" ] || [ -L "$sd_tmp" ]; then echo "${marker.error} $sd_tmp is not a folder on $(hostname)"; exit 2; fi
# a folder others may write to must be sticky (like /var/tmp), or they could rename our folders
case $(stat -c %a "$sd_tmp") in
  [1357]???) ;;
  *[2367]) echo "${marker.error} $sd_tmp is writable by every user and not sticky"; exit 2 ;;
esac
if [ -n "$adopt" ]; then
  s=$adopt
  case $s in "$sd_tmp"/${sessionPrefix}*) ;; *) echo "${marker.sessionGone}"; exit 3 ;; esac
  if ! ours "$s" || [ -e "$s/ended" ]; then echo "${marker.sessionGone}"; exit 3; fi
else
  sweep
  s=$(mktemp -d "$sd_tmp/${sessionPrefix}XXXXXXXXXX") || { echo "${marker.error} cannot create a folder in $sd_tmp"; exit 2; }
fi
me=$$
echo "$me" > "$s/keeper"
: > "$s/lease"
if [ -z "$adopt" ]; then
  if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi
  $detach sh -c "$watch" snapdebug-watch "$sd_sudo" "$s" "$ttl" "$sd_tmp" </dev/null >/dev/null 2>&1 &
fi
echo "${marker.session} $s"
while IFS= read -r _; do : > "$s/lease" 2>/dev/null || break; done
[ "$(cat "$s/keeper" 2>/dev/null)" = "$me" ] && : > "$s/ended" 2>/dev/null
exit 0
`;

/** Abandons one work now (the client saw it fail or was cancelled). Arguments: sudo|root, temp folder, work folder. */
export const abandonScript = `${prelude}${cleanupLib}
sd_tmp=$1
case $2 in "$sd_tmp"/${sessionPrefix}*/${workPrefix}*) clean_work "$2" ;; *) echo "${marker.error} not a work folder: $2"; exit 2 ;; esac
`;

/** Sweeps without opening a session (doctor): what it removes. Arguments: sudo|root, temp folder, TTL. */
export const sweepScript = `${prelude}${cleanupLib}${sweepLib}
sd_tmp=$1 ttl=$2
sweep
`;
