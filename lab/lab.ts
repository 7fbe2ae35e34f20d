// The lab's three verbs. `up` starts prod and debug (with --all also edge and legacy); it is
// idempotent (a second call changes nothing and says so) and all-or-nothing (a failure ends
// whatever it started); `down` ends exactly what `up` started and proves nothing of it is left in
// this machine's namespaces.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cachedHostPart, cachedImagesPart, ensureHostPart, ensureImagesPart, partHash, type HostPart } from './cache';
import { demoStates, ensureDemoContainers } from './demo';
import { hostIsRunning, portIsFree, sshBannerAt, startHost, stopHost, type HostParts } from './hosts';
import { attachHost, hubIsRunning, labAddress, labSubnetBits, labSubnetPrefix, startHub, stopHub } from './network';
import { describeProfile, shapeHosts } from './linkProfile';
import { labLinks, labMounts, labNftRules, missingCgroupParents, removeLabCgroups } from './leftovers';
import { removeLinksTable } from './links';
import { cacheRoot, labFiles, labHosts, stateDir, type HostKind, type LabHostSpec } from './paths';
import { preflight } from './preflight';
import { isAlive, waitUntil } from './proc';
import { ensureSshMaterial, labSsh } from './sshfiles';
import { clearState, readState, writeState, type HostRunState, type LabRunState } from './state';

export type Say = (line: string) => void;

async function isFullyUp(state: LabRunState): Promise<boolean> {
  if (!state.hosts.every(hostIsRunning) || !hubIsRunning(state.hub)) return false;
  const banners = await Promise.all(state.hosts.map((h) => sshBannerAt(h.sshPort)));
  return banners.every(Boolean);
}

export interface UpOptions {
  /** Also start the extra hosts (edge, legacy), as the test suites and CI do. */
  all?: boolean;
}

/** The cache parts the given hosts run on, built where missing: part name → folder. */
async function ensureParts(specs: readonly LabHostSpec[], say: Say): Promise<{ parts: Record<string, string>; forHost: (spec: LabHostSpec) => HostParts }> {
  const images = await ensureImagesPart(say);
  const roots = new Map<HostKind, HostPart>();
  for (const kind of new Set(specs.map((s) => s.kind))) {
    const part = await ensureHostPart(kind, say);
    const v = part.versions;
    say(`${kind} root ${part.dir} (podman ${v.podman}, ${v.crun ? `crun ${v.crun}, ` : ''}runc ${v.runc}, CRIU ${v.criu})`);
    roots.set(kind, part);
  }
  const parts: Record<string, string> = { images: images.dir };
  for (const [kind, part] of roots) parts[`host-${kind}`] = part.dir;
  return { parts, forHost: (spec) => ({ rootfs: roots.get(spec.kind)!.rootfs, images: images.store }) };
}

/** Names of cache parts whose recipe changed since the running lab was built from them. */
function changedParts(state: LabRunState): string[] {
  return Object.entries(state.parts)
    .filter(([part, dir]) => {
      const hash = part === 'images' ? partHash('images') : partHash(part.replace(/^host-/, '') as HostKind);
      return !dir.endsWith(`-${hash}`);
    })
    .map(([part]) => part);
}

async function startHosts(specs: readonly LabHostSpec[], forHost: (spec: LabHostSpec) => HostParts, state: LabRunState, say: Say): Promise<void> {
  state.hub ??= await startHub();
  writeState(state);
  const results = await Promise.allSettled(specs.map((spec) => startHost(spec, forHost(spec))));
  for (const result of results) if (result.status === 'fulfilled') state.hosts.push(result.value);
  writeState(state);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const hub = state.hub;
  for (const host of state.hosts.filter((h) => specs.some((s) => s.name === h.name))) await attachHost(hub, host.name, host.init.pid);
  if (state.link && state.link !== 'off') await shapeHosts(state, state.link, specs.map((s) => s.name));
  say(`lab link ${labSubnetPrefix}.0/${labSubnetBits}: ${specs.map((s) => `${s.name} ${labAddress(s.name)}`).join(', ')}`);
  for (const spec of specs) say(`host ${spec.name} up: ssh -F .lab/ssh_config ${spec.name} (127.0.0.1:${spec.sshPort})`);
  await Promise.all(specs.map((h) => labSsh(h.name, 'true')));
}

async function portsFree(specs: readonly LabHostSpec[]): Promise<void> {
  for (const host of specs) {
    if (!(await portIsFree(host.sshPort))) {
      throw new Error(`Port 127.0.0.1:${host.sshPort} (lab host ${host.name}) is taken by another program; free it and run lab:up again.`);
    }
  }
}

export async function labUp(say: Say, options: UpOptions = {}): Promise<{ changed: boolean }> {
  await preflight(say);
  const wanted = labHosts.filter((h) => options.all || !h.extra);
  const existing = readState();
  if (existing && (await isFullyUp(existing))) {
    await ensureSshMaterial(); // keys are kept; the client files are written anew from this checkout
    const missing = wanted.filter((spec) => !existing.hosts.some((h) => h.name === spec.name));
    const changes: string[] = [];
    if (missing.length > 0) {
      // `lab:up -- --all` on a lab of prod and debug: start only what is missing.
      await portsFree(missing);
      const { parts, forHost } = await ensureParts(missing, say);
      Object.assign(existing.parts, parts);
      try {
        await startHosts(missing, forHost, existing, say);
      } catch (error) {
        say('lab:up failed: ending the hosts it started');
        await stopExtraHosts(existing, missing.map((m) => m.name));
        throw error;
      }
      changes.push(...missing.map((m) => `started ${m.name}`));
    }
    changes.push(...(await ensureDemoContainers(existing.hosts.map((h) => h.name))));
    const changed = changedParts(existing);
    if (changed.length > 0) {
      say(`note: the lab recipe changed (${changed.join(', ')}) since this lab started; \`npm run lab:down && npm run lab:up\` rebuilds it`);
    }
    if (changes.length === 0) {
      say(`lab is already up (${existing.hosts.map((h) => `${h.name} 127.0.0.1:${h.sshPort}`).join(', ')}); nothing changed`);
      return { changed: false };
    }
    changes.forEach(say);
    return { changed: true };
  }
  if (existing) {
    say('a previous lab is partly running: ending it first');
    await labDown(say);
  }

  await portsFree(wanted);
  const { parts, forHost } = await ensureParts(wanted, say);
  await ensureSshMaterial();

  const state: LabRunState = { parts, startedAt: new Date().toISOString(), hosts: [], createdCgroupParents: missingCgroupParents() };
  try {
    await startHosts(wanted, forHost, state, say);
    for (const change of await ensureDemoContainers(state.hosts.map((h) => h.name))) say(change);
  } catch (error) {
    say('lab:up failed: ending what it started');
    writeState(state);
    await labDown(() => undefined);
    throw error;
  }
  return { changed: true };
}

/** Ends some hosts of a running lab (a failed `--all` start) and drops them from its state. */
async function stopExtraHosts(state: LabRunState, names: string[]): Promise<void> {
  const ending = state.hosts.filter((h) => names.includes(h.name));
  await Promise.all(ending.map(stopHost));
  state.hosts = state.hosts.filter((h) => !names.includes(h.name));
  writeState(state);
}

async function containerIdsOf(host: HostRunState): Promise<string[]> {
  try {
    const out = await labSsh(host.name, 'podman ps --all --no-trunc --format "{{.ID}}"', { timeoutMs: 15_000 });
    return out.split('\n').filter((id) => /^[0-9a-f]{64}$/.test(id));
  } catch {
    return []; // an unreachable host's containers die with it; only their cgroup folders may stay
  }
}

export interface Leftovers {
  processes: string[];
  mounts: string[];
  links: string[];
  nftRules: string[];
  /** cgroup2 hosts' own folders in this machine's cgroup tree. */
  cgroups: string[];
}

export async function findLeftovers(state: LabRunState | undefined): Promise<Leftovers> {
  const processes = (state?.hosts ?? []).flatMap((h) =>
    (['unshare', 'init', 'forwarder'] as const).filter((role) => isAlive(h[role])).map((role) => `${h.name} ${role} pid ${h[role].pid}`),
  );
  if (hubIsRunning(state?.hub)) processes.push(`link hub pid ${state!.hub!.pid}`);
  const cgroups = (state?.hosts ?? []).flatMap((h) => (h.cgroupDirs ?? []).filter((dir) => existsSync(dir)).map((dir) => `${h.name} cgroup ${dir}`));
  return { processes, mounts: labMounts(), links: await labLinks(), nftRules: await labNftRules(), cgroups };
}

export async function labDown(say: Say): Promise<void> {
  const state = readState();
  if (!state) {
    say('lab is not running; nothing to end');
    return;
  }
  const containerIds = (await Promise.all(state.hosts.filter(hostIsRunning).map(containerIdsOf))).flat();
  await Promise.all(state.hosts.map(stopHost));
  stopHub(state.hub);
  await waitUntil(() => !hubIsRunning(state.hub), 10_000, 'the lab link hub to end');
  removeLabCgroups(state.createdCgroupParents, containerIds);
  await removeLinksTable();

  const left = await findLeftovers(state);
  const problems = [...left.processes, ...left.mounts, ...left.links, ...left.nftRules, ...left.cgroups];
  if (problems.length > 0) throw new Error(`lab:down left these behind:\n${problems.join('\n')}`);
  // Only with no mount left can the hosts' folders be removed without reaching into the cache.
  const hostsDir = join(stateDir, 'hosts');
  if (existsSync(hostsDir)) for (const name of readdirSync(hostsDir)) rmSync(join(hostsDir, name), { recursive: true, force: true });
  clearState();
  say(`lab is down: ${state.hosts.length} hosts and their link ended, no process, mount, link, nft rule or cgroup left`);
}

export async function labStatus(say: Say): Promise<boolean> {
  const state = readState();
  for (const kind of ['trixie', 'sid', 'bookworm'] as const) {
    const part = cachedHostPart(kind);
    say(`${kind} root: ${part ? `${part.dir} (podman ${part.versions.podman}, CRIU ${part.versions.criu})` : 'not built yet'}`);
  }
  const images = cachedImagesPart();
  say(`images: ${images ? images.dir : `not built yet under ${cacheRoot}`}`);
  if (!state) {
    say('lab: down');
    return false;
  }
  let up = true;
  for (const host of state.hosts) {
    const running = hostIsRunning(host);
    const banner = running && (await sshBannerAt(host.sshPort));
    up &&= banner;
    say(`host ${host.name} (${host.kind}): ${banner ? 'up' : running ? 'running, sshd not answering' : 'down'} at 127.0.0.1:${host.sshPort}, ${labAddress(host.name)} on the lab link (init pid ${host.init.pid})`);
  }
  up &&= hubIsRunning(state.hub);
  say(`lab link: ${hubIsRunning(state.hub) ? `${labSubnetPrefix}.0/${labSubnetBits}, hub pid ${state.hub!.pid}` : 'down'}; profile ${describeProfile(state.link ?? 'off')}`);
  if (up) {
    for (const host of state.hosts.filter((h) => ['prod', 'edge', 'legacy'].includes(h.name))) {
      const states = await demoStates(host.name);
      say(`containers on ${host.name}: ${[...states].map(([name, s]) => `${name} ${s}`).join(', ') || 'none'}`);
    }
  }
  say(`ssh config: ${labFiles.sshConfig}`);
  return up;
}
