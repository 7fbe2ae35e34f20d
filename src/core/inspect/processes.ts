// The processes of a checkpoint from its CRIU images: pstree.img (who is whose child, threads),
// core-PID.img (name, state, credentials), ids-PID.img → fdinfo-N.img (descriptors), fs-PID.img
// (cwd, root), mm-PID.img (program, memory areas, where argv and the environment lie in memory).
import type { Long } from 'protobufjs/light';
import type { CheckpointImages } from '../criu/checkpointImages';
import { decodeImage, u64n } from '../criu/image';
import { pageBytes, taskStates } from '../criu/names';
import { SnapdebugError } from '../util/errors';
import { describeFile, fileTable, openFiles, sockets, type FdinfoMessage, type FileEntryMessage } from './files';
import type { OpenFile, ProcessInfo } from './model';

export interface PstreeMessage {
  pid?: number;
  ppid?: number;
  pgid?: number;
  sid?: number;
  threads?: number[];
}

export interface VmaMessage {
  start?: Long | number;
  end?: Long | number;
  pgoff?: Long | number;
  shmid?: Long | number;
  prot?: number;
  flags?: number;
  status?: number;
}

export interface MmMessage {
  mmArgStart?: Long | number;
  mmArgEnd?: Long | number;
  mmEnvStart?: Long | number;
  mmEnvEnd?: Long | number;
  exeFileId?: number;
  mmSavedAuxv?: Array<Long | number>;
  vmas?: VmaMessage[];
}

interface CoreMessage {
  tc?: { comm?: string; taskState?: number };
  threadCore?: { creds?: { uid?: number; gid?: number } };
}

/** Longest argv or environment block read (Linux allows a quarter of the stack limit). */
const maxStringsBytes = 8 * 1024 * 1024;

export function pstree(images: CheckpointImages): PstreeMessage[] {
  const image = images.image('pstree.img');
  if (!image) throw new SnapdebugError('The checkpoint has no pstree.img: it names no processes.');
  return decodeImage<PstreeMessage>('pstree.img', image, 'pstree', 'PstreeEntry');
}

export function mmOf(images: CheckpointImages, pid: number): MmMessage | undefined {
  const image = images.image(`mm-${pid}.img`);
  return image ? decodeImage<MmMessage>(`mm-${pid}.img`, image, 'mm', 'MmEntry')[0] : undefined;
}

export function coreOf(images: CheckpointImages, tid: number): CoreMessage | undefined {
  const image = images.image(`core-${tid}.img`);
  return image ? decodeImage<CoreMessage>(`core-${tid}.img`, image, 'core', 'CoreEntry')[0] : undefined;
}

/** Where argv and the environment are in a process's memory (capped: the image is untrusted). */
export function stringRanges(mm: MmMessage | undefined): Array<{ start: number; end: number }> {
  const range = (start: Long | number | undefined, end: Long | number | undefined) => {
    const from = u64n(start);
    const to = Math.max(from, Math.min(u64n(end), from + maxStringsBytes));
    return { start: from, end: to };
  };
  return [range(mm?.mmArgStart, mm?.mmArgEnd), range(mm?.mmEnvStart, mm?.mmEnvEnd)];
}

/** NUL-separated strings, as argv and the environment lie in memory. */
export function splitStrings(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const parts = text.split('\0');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function parseEnv(strings: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of strings) {
    const at = item.indexOf('=');
    if (at > 0) env[item.slice(0, at)] = item.slice(at + 1);
  }
  return env;
}

function fdinfoOf(images: CheckpointImages, pid: number): FdinfoMessage[] {
  const ids = images.image(`ids-${pid}.img`);
  const filesId = ids ? decodeImage<{ filesId?: number }>(`ids-${pid}.img`, ids, 'ids', 'TaskKobjIdsEntry')[0]?.filesId : undefined;
  const image = filesId !== undefined ? images.image(`fdinfo-${filesId}.img`) : undefined;
  return image ? decodeImage<FdinfoMessage>(`fdinfo-${filesId}.img`, image, 'fdinfo', 'FdinfoEntry') : [];
}

function directories(images: CheckpointImages, pid: number, files: Map<number, FileEntryMessage>): { cwd: string; root: string } {
  const image = images.image(`fs-${pid}.img`);
  const fs = image ? decodeImage<{ cwdId?: number; rootId?: number }>(`fs-${pid}.img`, image, 'fs', 'FsEntry')[0] : undefined;
  return {
    cwd: fs?.cwdId !== undefined ? describeFile(1, fs.cwdId, files).path : '',
    root: fs?.rootId !== undefined ? describeFile(1, fs.rootId, files).path : '',
  };
}

/** The strings read from a process's memory: argv and the environment, raw. */
export interface ProcessStrings {
  args: Buffer;
  env: Buffer;
}

export function buildProcesses(images: CheckpointImages, strings: Map<number, ProcessStrings>, options: { env: boolean }): ProcessInfo[] {
  const files = fileTable(images.image('files.img'));
  const pagemaps = images.allPagemaps();
  return pstree(images).map((entry) => {
    const pid = entry.pid ?? 0;
    const core = coreOf(images, pid);
    const mm = mmOf(images, pid);
    const fdinfo = fdinfoOf(images, pid);
    const { cwd, root } = directories(images, pid, files);
    const exe = mm?.exeFileId !== undefined ? describeFile(1, mm.exeFileId, files).path : '';
    const extra: OpenFile[] = [
      { fd: 'cwd', type: 'REG', path: cwd },
      { fd: 'root', type: 'REG', path: root },
      ...(exe ? [{ fd: 'exe', type: 'REG', path: exe }] : []),
    ];
    const own = strings.get(pid);
    const envStrings = own ? splitStrings(own.env) : [];
    const creds = core?.threadCore?.creds;
    return {
      pid,
      ppid: entry.ppid ?? 0,
      command: core?.tc?.comm ?? '',
      args: own ? splitStrings(own.args) : [],
      cwd,
      exe,
      threads: entry.threads?.length ? entry.threads : [pid],
      state: taskStates[core?.tc?.taskState ?? 0] ?? 'unknown',
      ...(creds?.uid !== undefined && { uid: creds.uid, gid: creds.gid ?? 0 }),
      files: [...openFiles(fdinfo, files), ...extra],
      sockets: sockets(fdinfo, files),
      ...(options.env && { env: parseEnv(envStrings) }),
      envNames: Object.keys(parseEnv(envStrings)),
      residentBytes: (pagemaps.get(pid)?.presentPages ?? 0) * pageBytes,
      mappedBytes: (mm?.vmas ?? []).reduce((sum, vma) => sum + (u64n(vma.end) - u64n(vma.start)), 0),
    };
  });
}
