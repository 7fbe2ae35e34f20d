// What podman's checkpoint archives legitimately hold, so the tar reader can refuse the rest:
// names as podman extracts them (no absolute paths, no `..`, nothing Go would clean into another
// name), each once, nothing behind a link, and only the entry types podman writes.
// podman (libpod exportCheckpoint, 5.x) tars its bundle folder with containers/storage: the
// files artifacts/, devshm-checkpoint.tar, config.dump, spec.dump, network.status, stats-dump,
// ctr.log, rootfs-diff.tar, deleted.files, volumes/NAME.tar, and CRIU's images in checkpoint/
// (pre-checkpoint/ for a pre-dump). Regular files and folders only, with one exception: a
// checkpoint taken --with-previous carries the symbolic link checkpoint/parent → ../pre-checkpoint
// that podman makes for CRIU. No hard links, devices or FIFOs ever: CRIU writes none.
import type { TarEntry, TarEntryType } from './tarParser';

const typeWords: Record<TarEntryType, string> = {
  file: 'file',
  directory: 'folder',
  symlink: 'symbolic link',
  hardlink: 'hard link',
  char: 'character device',
  block: 'block device',
  fifo: 'FIFO',
};

export function describeType(type: TarEntryType): string {
  return typeWords[type];
}

/** The one link podman writes (libpod checkpoint: os.Symlink("../pre-checkpoint", checkpoint/parent)). */
const parentLink = { name: 'checkpoint/parent', target: '../pre-checkpoint' };

/** Why podman would never have written this entry, or undefined when it may have. */
export function layoutRefusal(entry: TarEntry): string | undefined {
  if (entry.type === 'file' || entry.type === 'directory') return undefined;
  if (entry.type === 'symlink' && entry.name === parentLink.name && entry.linkName === parentLink.target) return undefined;
  const target = entry.linkName === undefined ? '' : ` to ${JSON.stringify(entry.linkName)}`;
  return `is a ${typeWords[entry.type]}${target}, which podman never puts in a checkpoint archive`;
}

/** Why an entry is refused, in words the tar reader puts in its sentence. */
export class EntryRefusal extends Error {
  constructor(
    readonly entryName: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** A name for a message: quoted, control characters escaped, long ones cut. */
export function shown(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 117)}...` : name);
}

const maxNameBytes = 1024;

/** The name as podman would extract it (no leading ./ or trailing /), or an EntryRefusal. */
export function normaliseName(given: string, type: TarEntryType): string {
  const refuse = (reason: string) => new EntryRefusal(given, reason);
  if (given === '') throw refuse('has an empty name');
  if (Buffer.byteLength(given) > maxNameBytes) throw refuse(`has a name longer than ${maxNameBytes} bytes`);
  if ([...given].some((c) => c < ' ' || c === '\u007f')) throw refuse('has control characters in its name');
  if (given.startsWith('/')) throw refuse('is an absolute path');
  let name = given;
  while (name.startsWith('./')) name = name.slice(2);
  if (name.endsWith('/')) {
    if (type !== 'directory') throw refuse(`is a ${typeWords[type]} named like a folder`);
    name = name.replace(/\/+$/, '');
  }
  if (name === '' || name === '.') {
    if (type !== 'directory') throw refuse(`is a ${typeWords[type]} named after the archive's own folder`);
    return '.';
  }
  for (const part of name.split('/')) {
    if (part === '..') throw refuse("climbs out of the archive's folder (..)");
    if (part === '' || part === '.') throw refuse('has an empty or "." part in its path');
  }
  return name;
}

/** The entries read so far: each name once, none behind a symbolic link, at most maxEntries. */
export class SeenEntries {
  private readonly names = new Set<string>();
  private readonly symlinks = new Set<string>();

  constructor(private readonly maxEntries: number) {}

  /** Checks an entry against the layout and everything before it, and remembers it. */
  admit(entry: TarEntry): void {
    const { name } = entry;
    const refuse = (reason: string) => new EntryRefusal(name, reason);
    if (this.names.size >= this.maxEntries) throw refuse(`comes after ${this.maxEntries} entries, more than a checkpoint archive holds`);
    if (this.names.has(name)) throw refuse('appears twice: which one a reader takes would be ambiguous');
    for (let slash = name.indexOf('/'); slash >= 0; slash = name.indexOf('/', slash + 1)) {
      if (this.symlinks.has(name.slice(0, slash))) throw refuse(`lies behind the symbolic link ${shown(name.slice(0, slash))}`);
    }
    const refusal = layoutRefusal(entry);
    if (refusal) throw refuse(refusal);
    this.names.add(name);
    if (entry.type === 'symlink') this.symlinks.add(name);
  }
}
