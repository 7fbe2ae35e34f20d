// Which ssh_config lines apply to a host, as OpenSSH decides it (readconf.c, ssh.c): Host lines
// match the name as typed, case-sensitively; Match host/originalhost compare names ignoring case;
// an Include inside a block is read only while the block applies, and the block goes on after it;
// the first value obtained for a keyword wins. A `Match final` asks for a second pass in which
// Host lines see the final host name. Nothing here ever runs a command.
import { SnapdebugError } from '../util/errors';
import type { ConfigFile, ConfigLine } from './sshConfigFile';
import { configError } from './sshConfigFile';
import { honouredKeywords, isKnownKeyword, refusedKeywords, refusedMatchCriteria } from './sshConfigKeywords';
import { matchHostname, matchPattern, matchPatternList } from './patterns';

/** A value as obtained, with where it came from (for error messages). */
export interface Obtained {
  keyword: string;
  spelled: string;
  args: string[];
  raw: string;
  file: string;
  line: number;
}

export interface ObtainedOptions {
  /** First value of each single-valued keyword (ProxyJump and ProxyCommand share one slot). */
  first: Map<string, Obtained>;
  identityFiles: Obtained[];
  certificateFiles: Obtained[];
}

export interface EvalRequest {
  /** The host as given (`prod` of `alice@prod:2201`). */
  hostArg: string;
  /** What the spec itself says: it comes first, like ssh's command line. */
  user?: string;
  port?: number;
  localUser: string;
  /** Expands %h in HostName (the only tokens HostName takes). */
  expandHostName: (hostName: string, host: string) => string;
}

const flagValues = new Set(['yes', 'no', 'true', 'false']);
const choices: Record<string, Set<string>> = {
  identitiesonly: flagValues,
  hashknownhosts: flagValues,
  stricthostkeychecking: new Set(['yes', 'no', 'true', 'false', 'ask', 'off', 'accept-new']),
  canonicalizehostname: new Set(['yes', 'no', 'true', 'false', 'always']),
};
const singleString = new Set(['hostname', 'user', 'hostkeyalias', 'identityagent', 'ignoreunknown', 'bindaddress', 'bindinterface', 'pkcs11provider', 'revokedhostkeys']);
const fileLists = new Set(['userknownhostsfile', 'globalknownhostsfile']);
const wholeLine = new Set(['proxycommand', 'knownhostscommand']);

/** OpenSSH's time format: `none`, seconds, or runs like 1m30s (s m h d w). */
export function parseTime(text: string): number | undefined {
  if (!/^(?:\d+[smhdwSMHDW]?)+$/.test(text)) return undefined;
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const [, number, suffix] of text.matchAll(/(\d+)([smhdwSMHDW]?)/g)) total += Number(number) * unit[suffix!.toLowerCase()]!;
  return total;
}

function isNone(o: Obtained): boolean {
  return o.raw.replace(/#.*$/, '').trim().toLowerCase() === 'none';
}

function obtain(line: ConfigLine): Obtained {
  return { keyword: line.keyword, spelled: line.spelled, args: line.args, raw: line.raw, file: line.file, line: line.line };
}

/** Checks one line's value (whether or not it applies, as OpenSSH does) and records it if it applies. */
function apply(line: ConfigLine, active: boolean, options: ObtainedOptions): void {
  const { keyword, args } = line;
  const fail = (message: string) => configError(line.file, line.line, message);
  if (!isKnownKeyword(keyword)) {
    const ignore = options.first.get('ignoreunknown');
    if (ignore && matchPatternList(keyword, ignore.args[0]!, true) === 1) return;
    throw configError(line.file, line.line, `"${line.spelled}" is not an ssh_config keyword.`, 'Fix the spelling, or list it in IgnoreUnknown if your OpenSSH knows it.');
  }
  if (!honouredKeywords.has(keyword) && !(keyword in refusedKeywords)) return;
  if (args.some((a) => a === '') && keyword !== 'proxycommand') throw fail(`${keyword} has an empty argument.`);
  if (singleString.has(keyword) || keyword in choices || keyword === 'port' || keyword === 'connecttimeout' || keyword === 'identityfile' || keyword === 'certificatefile') {
    if (args.length !== 1) throw fail(`${keyword} takes one value, not ${args.length}.`);
  }
  const value = args[0]!;
  if (keyword in choices && !choices[keyword]!.has(value.toLowerCase())) throw fail(`unsupported ${keyword} value "${value}".`);
  if (keyword === 'port' && !(/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535)) throw fail(`Bad port "${value}".`);
  if (keyword === 'connecttimeout' && value !== 'none' && parseTime(value) === undefined) throw fail(`invalid time value "${value}".`);
  if (fileLists.has(keyword) && args.some((a, i) => a.toLowerCase() === 'none' && (i > 0 || args.length > 1))) throw fail(`${keyword} "none" must appear alone.`);
  if (keyword === 'proxyjump') validateJump(line);
  if (!active) return;

  if (keyword === 'identityfile' || keyword === 'certificatefile') {
    const list = keyword === 'identityfile' ? options.identityFiles : options.certificateFiles;
    if (!list.some((o) => o.args[0] === value)) list.push(obtain(line));
    return;
  }
  if (keyword === 'proxyjump' || keyword === 'proxycommand') {
    // "whichever is specified first will prevent later instances of the other from taking
    // effect", as OpenSSH 9.2 does it: a real jump host also sets ProxyCommand to none, while
    // `ProxyJump none` blocks later ProxyJumps but not a later ProxyCommand.
    const jump = options.first.get('proxyjump');
    if (options.first.has('proxycommand')) return;
    if (keyword === 'proxycommand' && (jump === undefined || isNone(jump))) options.first.set('proxycommand', obtain(line));
    if (keyword === 'proxyjump' && jump === undefined) {
      options.first.set('proxyjump', obtain(line));
      if (!isNone(obtain(line))) options.first.set('proxycommand', { ...obtain(line), keyword: 'proxycommand', args: ['none'], raw: 'none' });
    }
    return;
  }
  if (singleString.has(keyword) || keyword in choices || fileLists.has(keyword) || wholeLine.has(keyword) || keyword === 'port' || keyword === 'connecttimeout') {
    if (!options.first.has(keyword)) options.first.set(keyword, obtain(line));
  }
}

/** ProxyJump: `none`, or comma-separated [user@]host[:port] or ssh://[user@]host[:port]. */
function validateJump(line: ConfigLine): void {
  const text = line.raw.replace(/#.*$/, '').trim();
  if (text.toLowerCase() === 'none') return;
  for (const hop of text.split(',')) {
    if (!/^(?:ssh:\/\/)?(?:[^@\s/]+@)?(?:\[[0-9A-Fa-f:.]+\]|[^@\s:/[\]]+)(?::\d+)?\/?$/.test(hop)) {
      throw configError(line.file, line.line, `Invalid ProxyJump "${text}".`);
    }
  }
}

function hostLineApplies(line: ConfigLine, host: string): boolean {
  let applies = false;
  for (const arg of line.args) {
    if (arg === '') throw configError(line.file, line.line, 'Host has an empty pattern.');
    const negated = arg.startsWith('!');
    if (!matchPattern(host, negated ? arg.slice(1) : arg)) continue;
    if (negated) return false;
    applies = true;
  }
  return applies;
}

interface PassState {
  request: EvalRequest;
  options: ObtainedOptions;
  final: boolean;
  /** The name Host lines match: as given in the first pass, the final host name in the last. */
  hostForHostLines: string;
  /** Set when a `Match final` is seen: OpenSSH then reads everything again. */
  wantFinal: boolean;
}

function matchLineApplies(line: ConfigLine, state: PassState, neverMatch: boolean): boolean {
  const { request, options } = state;
  const hostName = options.first.get('hostname')?.args[0];
  const host = state.final ? hostName! : hostName !== undefined ? request.expandHostName(hostName, request.hostArg) : request.hostArg;
  const remoteUser = options.first.get('user')?.args[0] ?? request.localUser;
  const fail = (message: string) => configError(line.file, line.line, message);
  let result = true;
  let attributes = 0;
  for (let i = 0; i < line.args.length; i++) {
    const negate = line.args[i]!.startsWith('!');
    const criterion = line.args[i]!.slice(negate ? 1 : 0).toLowerCase();
    if (criterion === 'all') {
      if (attributes > 1 || i + 1 < line.args.length) throw fail("'all' cannot be combined with other Match criteria.");
      return result && !negate;
    }
    attributes++;
    if (criterion === 'canonical' || criterion === 'final') {
      if (criterion === 'final') state.wantFinal = true;
      if (state.final === negate) result = false;
      continue;
    }
    const arg = line.args[++i];
    if (arg === undefined) throw fail(`Match ${criterion} needs an argument.`);
    let matched: boolean;
    if (criterion === 'host') matched = matchHostname(host, arg);
    else if (criterion === 'originalhost') matched = matchHostname(request.hostArg, arg);
    else if (criterion === 'user') matched = matchPatternList(remoteUser, arg, false) === 1;
    else if (criterion === 'localuser') matched = matchPatternList(request.localUser, arg, false) === 1;
    else if (criterion in refusedMatchCriteria) {
      // OpenSSH skips an exec once an earlier criterion failed; we refuse only when it would decide.
      if (!result || neverMatch) continue;
      throw new SnapdebugError(`ssh config ${line.file} line ${line.line}: Match ${criterion} decides whether this block applies to ${request.hostArg}, and ${refusedMatchCriteria[criterion]}.`, {
        fix: `Use Match host/originalhost/user instead, or let an earlier criterion exclude ${request.hostArg}.`,
      });
    } else throw fail(`unsupported Match criterion "${criterion}".`);
    if (matched === negate) result = false;
  }
  if (attributes === 0) throw fail('Match needs one or more criteria.');
  return result;
}

function walk(lines: readonly ConfigLine[], state: PassState, neverMatch: boolean, active: { value: boolean }): void {
  for (const line of lines) {
    if (line.keyword === 'host') {
      active.value = !neverMatch && hostLineApplies(line, state.hostForHostLines);
    } else if (line.keyword === 'match') {
      const applies = matchLineApplies(line, state, neverMatch);
      active.value = !neverMatch && applies;
    } else if (line.keyword === 'include') {
      // An included file's lines apply only while the including block does; a Host or Match
      // inside it ends with the file, and the including block goes on after the Include line.
      const outer = active.value;
      for (const file of line.included ?? []) {
        active.value = outer;
        walk(file.lines, state, neverMatch || !outer, active);
      }
      active.value = outer;
    } else {
      apply(line, active.value, state.options);
    }
  }
}

/**
 * Everything the config gives one host. Returns the obtained options and the final host name
 * (HostName with %h expanded, lowercased unless an address, as ssh does).
 */
export function evaluateConfig(files: readonly ConfigFile[], request: EvalRequest): { options: ObtainedOptions; host: string } {
  const commandLine = (keyword: string, value: string): [string, Obtained] => [keyword, { keyword, spelled: keyword, args: [value], raw: value, file: 'the host spec', line: 0 }];
  const options: ObtainedOptions = {
    first: new Map([
      ...(request.user !== undefined ? [commandLine('user', request.user)] : []),
      ...(request.port !== undefined ? [commandLine('port', String(request.port))] : []),
    ]),
    identityFiles: [],
    certificateFiles: [],
  };
  const state: PassState = { request, options, final: false, hostForHostLines: request.hostArg, wantFinal: false };
  // Every top-level file starts out applying to every host (read_config_file).
  for (const file of files) walk(file.lines, state, false, { value: true });

  const hostName = options.first.get('hostname');
  const expanded = hostName ? request.expandHostName(hostName.args[0]!, request.hostArg) : request.hostArg;
  const host = isAddress(expanded) ? expanded : expanded.toLowerCase();
  if (state.wantFinal) {
    options.first.set('hostname', { keyword: 'hostname', spelled: 'HostName', args: [host], raw: host, file: hostName?.file ?? 'the host spec', line: hostName?.line ?? 0 });
    const finalState: PassState = { ...state, final: true, hostForHostLines: host };
    for (const file of files) walk(file.lines, finalState, false, { value: true });
  }
  return { options, host };
}

export function isAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.includes(':') && /^[0-9A-Fa-f:.]+$/.test(host));
}
