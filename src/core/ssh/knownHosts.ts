// known_hosts, read the way OpenSSH reads it: plain and hashed (|1|salt|hash) host patterns,
// `[host]:port` for non-standard ports, wildcards and negations, and the @revoked marker. The
// verdict is decided before authentication, and nothing but an exact match is ever "trusted".
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SnapdebugError } from '../util/errors';
import { matchHostname } from './patterns';

export interface KnownHostsEntry {
  file: string;
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  patterns: string;
  keyType: string;
  keyBase64: string;
}

export type HostKeyVerdict =
  | { status: 'trusted'; file: string; line: number }
  | { status: 'unknown'; knownTypes: string[] }
  | { status: 'changed'; file: string; line: number; knownType: string }
  | { status: 'revoked'; file: string; line: number };

export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() === '@revoked' ? 'revoked' : 'cert-authority';
    }
    const [patterns, keyType, keyBase64] = fields;
    if (!patterns || !keyType || !keyBase64) return; // malformed lines are skipped, as OpenSSH does
    entries.push({ file, line: index + 1, marker, patterns, keyType, keyBase64 });
  });
  return entries;
}

export function readKnownHostsFiles(files: readonly string[]): KnownHostsEntry[] {
  return files.filter((f) => existsSync(f)).flatMap((f) => parseKnownHosts(readFileSync(f, 'utf8'), f));
}

/** Letters, digits and `_ . : % -` only (not leading `-`): nothing known_hosts reads as a pattern. */
export function isPlainHostName(name: string): boolean {
  return /^[A-Za-z0-9_.:%-]+$/.test(name) && !name.startsWith('-');
}

/** The name OpenSSH looks up: `host` on port 22, `[host]:port` otherwise. */
export function hostToken(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedMatches(pattern: string, token: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(token).digest('base64');
  return digest === hash;
}

/** Whether a known_hosts host field (comma-separated, maybe hashed or negated) names the token. */
export function patternsMatch(patterns: string, token: string): boolean {
  if (patterns.startsWith('|')) return hashedMatches(patterns, token);
  // A matching negation wins over everything else on the line.
  return matchHostname(token, patterns);
}

export function checkHostKey(
  entries: readonly KnownHostsEntry[],
  host: string,
  port: number,
  keyType: string,
  keyBase64: string,
): HostKeyVerdict {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.keyBase64 === keyBase64);
  if (revoked) return { status: 'revoked', file: revoked.file, line: revoked.line };

  const token = hostToken(host, port);
  const forHost = entries.filter((e) => e.marker === undefined && patternsMatch(e.patterns, token));
  const exact = forHost.find((e) => e.keyType === keyType && e.keyBase64 === keyBase64);
  if (exact) return { status: 'trusted', file: exact.file, line: exact.line };
  const sameType = forHost.find((e) => e.keyType === keyType);
  if (sameType) return { status: 'changed', file: sameType.file, line: sameType.line, knownType: sameType.keyType };
  // We ask the server for the key types already known for it (knownKeyTypes), so a host that
  // now answers with another type has replaced its key: that is a change, not a new host.
  const other = forHost[0];
  if (other) return { status: 'changed', file: other.file, line: other.line, knownType: other.keyType };
  return { status: 'unknown', knownTypes: [] };
}

/** Key types recorded for a host, so the connection can ask for those first, as OpenSSH does. */
export function knownKeyTypes(entries: readonly KnownHostsEntry[], host: string, port: number): string[] {
  const token = hostToken(host, port);
  return [...new Set(entries.filter((e) => e.marker === undefined && patternsMatch(e.patterns, token)).map((e) => e.keyType))];
}

/** OpenSSH's fingerprint format: SHA256:base64-without-padding. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written at the start of an SSH public key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('ascii');
}

/**
 * Records a newly accepted key, hashed like OpenSSH's HashKnownHosts when asked to. The name is
 * checked first: in known_hosts `,` lists, `*` `?` match anything, `!` negates, `|` starts a
 * hash and whitespace ends the field, so `foo,*` would trust this key for every host.
 */
export function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer, hashed = false): void {
  if (!isPlainHostName(host)) {
    throw new SnapdebugError(`Refusing to record a host key for "${host}": known_hosts would read it as a pattern, not one host name.`);
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = hostToken(host, port);
  let name = token;
  if (hashed) {
    const salt = randomBytes(20);
    name = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(token).digest('base64')}`;
  }
  const prefix = existsSync(file) && !readFileSync(file, 'utf8').endsWith('\n') && readFileSync(file, 'utf8') !== '' ? '\n' : '';
  appendFileSync(file, `${prefix}${name} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}\n`, { mode: 0o600 });
}
