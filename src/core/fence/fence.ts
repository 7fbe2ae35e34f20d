// Fenced copies: a copy that cannot reach anything outside itself but what it was allowed, so it
// never takes a job off production's queue or writes to production's database. The fence is set
// up on the debug host before the copy exists (its network and our nftables rules: rules.ts), as
// part of the restore's remote work — undone with it — and taken down when the copy is discarded
// or, should that never happen, by the sweep once the copy is gone (remote/shellLib.ts).
import type { Host } from '../host';
import { undoLine, type RemoteWork } from '../remote/work';
import { SnapdebugError } from '../util/errors';
import { versionAtLeast } from '../util/version';
import { encodeAllowed, parseEgressList, resolveEgress, type AllowedEgress } from './egress';
import { fenceProbeScript, fenceSetupScript, unfenceScript } from './fenceShell';
import { fenceAllowLabel, fenceLabel, fenceNames, fenceRuleset, networkCreateFlags, newFenceId, routedAddresses, type FenceNames } from './rules';

/** What a restore asks of the fence: the HOST:PORT pairs the copy may still reach. */
export interface FenceRequest {
  allowEgress: readonly string[];
}

/** A fence decided for a copy: its names on the host and what it lets through. */
export interface Fence extends FenceNames {
  allowed: AllowedEgress[];
  /** The copy's network has no default route, only routes to what it may reach (podman 4.7+). */
  noDefaultRoute: boolean;
}

export interface FenceSupport {
  ok: boolean;
  /** nft's version, or why the host cannot fence. */
  detail: string;
}

/** Whether this podman makes networks without a default route (`no_default_route`, `--route`: 4.7+). */
export function hasRouteOptions(podmanVersion: string): boolean {
  return versionAtLeast(podmanVersion, [4, 7]);
}

/** Whether nft answers in the host's own network namespace, through the programs we may run privileged. */
export async function fenceSupport(host: Host, signal?: AbortSignal): Promise<FenceSupport> {
  // The fence's rules find the copy's bridge by the name it is given (--interface-name, podman 4.4+).
  // (A host whose podman cannot be asked fails later, where podman itself is needed.)
  const podmanVersion = await host.capabilities().then((caps) => caps.podmanVersion, () => undefined);
  if (podmanVersion !== undefined && !versionAtLeast(podmanVersion, [4, 4])) return { ok: false, detail: `podman ${podmanVersion} cannot name a network's bridge (that came with podman 4.4)` };
  const result = await host.runIdempotent(host.script(fenceProbeScript, [], 'snapdebug-fence'), signal ? { signal } : {});
  if (result.exitCode === 0) return { ok: true, detail: result.stdout.trim().split('\n')[0] ?? 'nft' };
  const why = result.stderr.trim().split('\n').at(-1) ?? '';
  return { ok: false, detail: /not found|No such file/i.test(why) ? 'nft (package nftables) is not installed' : why || `exit ${result.exitCode ?? 'none'}` };
}

export class CannotFenceError extends SnapdebugError {}

/**
 * Decides a copy's fence before anything is restored: the host can fence, and every allowed name
 * resolves there. Throws a sentence otherwise, so Snapshot & Debug stops before production is touched.
 */
export async function planFence(host: Host, request: FenceRequest, signal?: AbortSignal): Promise<Fence> {
  const specs = parseEgressList(request.allowEgress);
  const support = await fenceSupport(host, signal);
  if (!support.ok) {
    throw new CannotFenceError(`${host.name} cannot fence copies (${support.detail}): a copy there could reach production's services.`, {
      fix: {
        text: /^podman /.test(support.detail)
          ? `Upgrade podman on ${host.name} to 4.4 or later, or let the copy reach everything.`
          : `Install nftables on ${host.name}${host.options.sudo ? ' and let sudo run nsenter there' : ''}, or let the copy reach everything.`,
        options: [{ name: 'fenced', value: 'false' }],
      },
    });
  }
  const [allowed, caps] = await Promise.all([resolveEgress(host, specs, signal), host.capabilities()]);
  return { ...fenceNames(newFenceId()), allowed, noDefaultRoute: hasRouteOptions(caps.podmanVersion) };
}

/**
 * Sets the fence up in the restore's work, in one round trip: noted in its undo list first, then
 * our table, the copy's chain and its network. podman attaches the copy to that network (the relabeller rewrites
 * config.dump), so the copy's first packet already meets the rules.
 */
export async function setUpFence(work: RemoteWork, fence: Fence, copy: string, signal?: AbortSignal): Promise<void> {
  const host = work.host;
  undoLine({ kind: 'fence', id: fence.id, copy }); // checks both here too; the script writes the line
  const routes = fence.noDefaultRoute ? routedAddresses(fence.allowed).join(' ') : '';
  const argv = host.script(fenceSetupScript, [work.session.settings.remoteTempDir, work.dir, copy, fence.network, routes, ...networkCreateFlags(fence.id, copy, fence)], 'snapdebug-fence');
  const result = await host.runner.run(argv, { stdin: fenceRuleset(fence.id, fence.allowed), ...(signal && { signal }) });
  if (result.exitCode !== 0) {
    const what = result.exitCode === 4 ? 'nft refused its rules' : result.exitCode === 5 ? `podman could not create the network ${fence.network}` : `exit ${result.exitCode ?? 'none'}`;
    throw new SnapdebugError(`Cannot fence the copy ${copy} on ${host.name}: ${what}.`, { detail: result.stderr.trim() });
  }
}

/** Takes a copy's fence down (its copy is gone); the table goes with the last one. Never throws. */
export async function takeDownFence(host: Host, remoteTempDir: string, id: string, copy: string, log: (line: string) => void = () => undefined): Promise<void> {
  try {
    const result = await host.runner.run(host.script(unfenceScript, [remoteTempDir, fenceNames(id).id, copy], 'snapdebug-fence'));
    if (result.exitCode !== 0) log(`could not take down the fence ${id} of ${copy} on ${host.name}: ${result.stderr.trim()}; the sweep will`);
  } catch (error) {
    log(`could not take down the fence ${id} of ${copy} on ${host.name}: ${(error as Error).message}; the sweep will`);
  }
}

/** The copy's labels saying it is fenced, and how. */
export function fenceLabels(fence: Pick<Fence, 'id' | 'allowed'>): Record<string, string> {
  return { [fenceLabel]: fence.id, ...(fence.allowed.length > 0 && { [fenceAllowLabel]: encodeAllowed(fence.allowed) }) };
}

/** /etc/hosts lines (podman's NAME:ADDRESS) for the allowed names: the copy cannot ask a DNS server. */
export function fenceHosts(fence: Pick<Fence, 'allowed'>): string[] {
  return fence.allowed.flatMap((a) => (a.addresses.includes(a.host) ? [] : a.addresses.map((address) => `${a.host}:${address}`)));
}
