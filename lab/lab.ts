// The lab's three verbs. `up` is idempotent (a second call changes nothing and says so) and
// all-or-nothing (a failure ends whatever it started); `down` ends exactly what `up` started and
// proves nothing of it is left in this machine's namespaces.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, ensureCache, recipeHash } from './cache';
import { demoHost, demoStates, ensureDemoContainers } from './demo';
import { hostIsRunning, portIsFree, sshBannerAt, startHost, stopHost } from './hosts';
import { labLinks, labMounts, labNftRules, missingCgroupParents, removeLabCgroups } from './leftovers';
import { removeLinksTable } from './links';
import { cacheRoot, labFiles, labHosts, stateDir } from './paths';
import { preflight } from './preflight';
import { isAlive } from './proc';
import { ensureSshMaterial, labSsh } from './sshfiles';
import { clearState, readState, writeState, type HostRunState, type LabRunState } from './state';

export type Say = (line: string) => void;

async function isFullyUp(state: LabRunState): Promise<boolean> {
  if (!state.hosts.every(hostIsRunning)) return false;
  const banners = await Promise.all(state.hosts.map((h) => sshBannerAt(h.sshPort)));
  return banners.every(Boolean);
}

export async function labUp(say: Say): Promise<{ changed: boolean }> {
  await preflight(say);
  const existing = readState();
  if (existing && (await isFullyUp(existing))) {
    const changes = await ensureDemoContainers();
    if (existing.recipeHash !== recipeHash()) {
      say('note: the lab recipe changed since this lab started; `npm run lab:down && npm run lab:up` rebuilds it');
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

  for (const host of labHosts) {
    if (!(await portIsFree(host.sshPort))) {
      throw new Error(`Port 127.0.0.1:${host.sshPort} (lab host ${host.name}) is taken by another program; free it and run lab:up again.`);
    }
  }
  const cache = await ensureCache(say);
  say(`cache ${cache.dir} (podman ${cache.versions.podman}, CRIU ${cache.versions.criu}, runc ${cache.versions.runc})`);
  await ensureSshMaterial();

  const createdCgroupParents = missingCgroupParents();
  const started: HostRunState[] = [];
  const state: LabRunState = {
    recipeHash: recipeHash(),
    cacheDir: cache.dir,
    startedAt: new Date().toISOString(),
    hosts: started,
    createdCgroupParents,
  };
  try {
    const results = await Promise.allSettled(labHosts.map((spec) => startHost(spec, cache)));
    for (const result of results) if (result.status === 'fulfilled') started.push(result.value);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    writeState(state);
    for (const host of started) say(`host ${host.name} up: ssh -F .lab/ssh_config ${host.name} (127.0.0.1:${host.sshPort})`);
    await Promise.all(started.map((h) => labSsh(h.name, 'true')));
    for (const change of await ensureDemoContainers()) say(change);
  } catch (error) {
    say('lab:up failed: ending what it started');
    writeState(state);
    await labDown(() => undefined);
    throw error;
  }
  return { changed: true };
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
}

export async function findLeftovers(state: LabRunState | undefined): Promise<Leftovers> {
  const processes = (state?.hosts ?? []).flatMap((h) =>
    (['unshare', 'init', 'forwarder'] as const).filter((role) => isAlive(h[role])).map((role) => `${h.name} ${role} pid ${h[role].pid}`),
  );
  return { processes, mounts: labMounts(), links: await labLinks(), nftRules: await labNftRules() };
}

export async function labDown(say: Say): Promise<void> {
  const state = readState();
  if (!state) {
    say('lab is not running; nothing to end');
    return;
  }
  const containerIds = (await Promise.all(state.hosts.filter(hostIsRunning).map(containerIdsOf))).flat();
  await Promise.all(state.hosts.map(stopHost));
  removeLabCgroups(state.createdCgroupParents, containerIds);
  await removeLinksTable();

  const left = await findLeftovers(state);
  const problems = [...left.processes, ...left.mounts, ...left.links, ...left.nftRules];
  if (problems.length > 0) throw new Error(`lab:down left these behind:\n${problems.join('\n')}`);
  // Only with no mount left can the hosts' folders be removed without reaching into the cache.
  const hostsDir = join(stateDir, 'hosts');
  if (existsSync(hostsDir)) for (const name of readdirSync(hostsDir)) rmSync(join(hostsDir, name), { recursive: true, force: true });
  clearState();
  say(`lab is down: ${state.hosts.length} hosts ended, no process, mount, link or nft rule left`);
}

export async function labStatus(say: Say): Promise<boolean> {
  const state = readState();
  const cache = cachedBuild();
  say(`cache: ${cache ? `${cache.dir} (podman ${cache.versions.podman}, CRIU ${cache.versions.criu})` : `not built yet under ${cacheRoot}`}`);
  if (!state) {
    say('lab: down');
    return false;
  }
  let up = true;
  for (const host of state.hosts) {
    const running = hostIsRunning(host);
    const banner = running && (await sshBannerAt(host.sshPort));
    up &&= banner;
    say(`host ${host.name}: ${banner ? 'up' : running ? 'running, sshd not answering' : 'down'} at 127.0.0.1:${host.sshPort} (init pid ${host.init.pid})`);
  }
  if (up) {
    const states = await demoStates();
    say(`containers on ${demoHost}: ${[...states].map(([name, s]) => `${name} ${s}`).join(', ') || 'none'}`);
  }
  say(`ssh config: ${labFiles.sshConfig}`);
  return up;
}
