// A copy's named volumes are its own (snapshot/restore.ts, copyVolumes): podman restores volume
// NAME from the archive's volumes/NAME.tar, with the names config.dump gives. Through this machine
// the relabeller renames those entries as they pass. Host to host, only the archive's head (its
// dumps) crosses this machine, and podman writes the volumes' entries last, after the memory. So
// the head gains, after the dumps, one symbolic link per volume, volumes/NEW.tar → OLD.tar:
// podman's untar makes the link before OLD.tar arrives (creating volumes/ for it), and its restore
// opens NEW.tar through it. The link names a file beside it, inside the copy's own folder (podman's
// untar refuses any link that leads out of it).
import { SnapdebugError } from '../util/errors';
import { encodeHeader } from './tarFormat';

/** The header blocks of the links (a link has no body), for `volumes`: the original's name → the copy's. */
export function volumeLinkEntries(volumes: Record<string, string>, mtime: number): Buffer {
  const originals = new Set(Object.keys(volumes));
  return Buffer.concat(
    Object.entries(volumes).map(([from, to]) => {
      // The original's own entry, arriving later, would replace a link of its name.
      if (originals.has(to)) throw new SnapdebugError(`The copy's volume ${to} has the name of one of the original's: it cannot be renamed host to host.`);
      return encodeHeader({ name: `volumes/${to}.tar`, linkname: `${from}.tar`, size: 0, mode: 0o777, mtime, uid: 0, gid: 0, flag: '2' });
    }),
  );
}
