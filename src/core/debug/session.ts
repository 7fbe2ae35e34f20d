// Snapshot & Debug: from a production container to a debugger attached to a restored copy.
// checkpoint (leave-running: production keeps serving) → into the store and, in the same pass, to
// the debug host → restore as NAME-snap-TIME-RANDOM (new IP and MAC; the TCP connections it had come back
// closed; fenced: it reaches nothing outside itself but what was allowed) → prepare the runtime's
// debugger → a local port tunnelled to it. A cancel or failure at any phase leaves no copy and no temporary archive anywhere; production is never stopped.
import type { Core, WorkControl } from '../core';
import { checkpointAndSend, inspectOne, plannedSnapshot } from '../snapshot/checkpoint';
import { phaseTracker, withCleanup } from '../remote/failure';
import { copyRewrite, noteRestoredContainer, planRestore, restorePushed, type RestoredContainer } from '../snapshot/restore';
import { podman } from '../podman/commands';
import { chooseRoute } from '../snapshot/hostLink';
import { checkpointHostToHost, SourceSide, type HostToHostResult } from '../snapshot/hostToHost';
import type { RemoteWork } from '../remote/work';
import { storeInBackground, type BackgroundStore } from '../snapshot/storeAfterward';
import { copyName } from '../podman/names';
import type { CheckpointOptions } from '../podman/options';
import type { SnapshotMeta } from '../snapshot/store';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { findDebugTarget, nativeDebuggerArgv, prepareNode, type DebugTarget, type Runtime } from './attach';
import { startDelve } from './delve';
import { jdwpAgentOf, noAgentError, prepareJava } from './java';
import { preparePython } from './python';
import { requireDebugTools } from './requirements';
import { forwardServicePorts, openTunnel, readyForTunnel, type ForwardedPort, type Tunnel } from './tunnel';

export interface DebugRequest {
  host: string;
  container: string;
  to: string;
  /** Overrides the runtime detected from the copy's processes. */
  runtime?: Runtime;
  localPort?: number;
  transferImage?: boolean;
  /** Restore the copy without attaching a debugger (a JVM without a JDWP agent, say). */
  copyOnly?: boolean;
  /**
   * Send the archive through this machine even when the debug host reaches the source (by
   * default it goes host to host then: docs/architecture.md, "Host to host").
   */
  throughHere?: boolean;
  /** HOST:PORT pairs the fenced copy may still reach (TCP). */
  allowEgress?: readonly string[];
  /** Leave the copy unfenced: it reaches whatever its host reaches. Only when asked for. */
  allowAllEgress?: boolean;
}

export interface DebugSession {
  snapshot: SnapshotMeta;
  copy: RestoredContainer;
  target: DebugTarget;
  /** Where a debugger connects (CDP, DAP or JDWP); undefined for native, which runs gdb on the host. */
  attach?: { address: '127.0.0.1'; port: number };
  /** For native: the gdb command to run on the debug host. */
  gdb?: string[];
  tunnel?: Tunnel;
  /** Closes the tunnel; the copy stays until discarded. */
  close(): Promise<void>;
}

export interface SnapshotDebugSession extends DebugSession {
  /** The original's published TCP ports, forwarded here to the copy (closed by close()). */
  ports: ForwardedPort[];
  /** Host to host: the store receives the snapshot after the debugger is attached, from the source host. */
  storing?: BackgroundStore;
}

/**
 * Production keeps running, and keeps its TCP connections: with --tcp-established CRIU dumps them
 * and hands them back after the freeze, where without it CRIU refuses any container that has a
 * connection open — which a service in production nearly always has. The copy gets them closed.
 */
const checkpointOptions: CheckpointOptions = { leaveRunning: true, tcpEstablished: true };

/** Attaches to an existing copy (also what "Restore Another Copy" and launch.json reruns use). */
export async function attachToCopy(
  core: Core,
  request: { host: string; container: string; runtime?: Runtime; localPort?: number; target?: DebugTarget },
  control: WorkControl = {},
): Promise<Pick<DebugSession, 'target' | 'attach' | 'gdb' | 'tunnel' | 'close'>> {
  const progress = control.progress ?? noProgress;
  const host = core.hosts.get(request.host);
  const target = request.target ?? (await findDebugTarget(host, request.container, request.runtime));
  progress({ phase: 'attach', message: `Attaching a ${target.runtime} debugger to ${request.container} on ${request.host}` });
  if (target.runtime === 'native') {
    await requireDebugTools(host, 'native');
    return { target, gdb: nativeDebuggerArgv(host, target), close: async () => undefined };
  }
  // Tunnels (and Delve) get a connection of their own, so a long debug session never holds
  // channels that the tree's refreshes need.
  const [, lane] = core.hosts.lanes(request.host, 2);
  // The tunnel's own connection logs in while the debugger is prepared; attached means it works.
  const laneReady = lane ? readyForTunnel(lane) : Promise.resolve(true);
  laneReady.catch(() => undefined);
  let stopServer = async () => undefined as void;
  let port: number;
  switch (target.runtime) {
    case 'node':
      port = await prepareNode(host, target, control.signal);
      break;
    case 'python':
      port = await preparePython(host, request.container, target, control.signal);
      break;
    case 'java': {
      const [copy] = await host.podman(podman.inspect([request.container]));
      port = await prepareJava(host, request.container, target, copy?.Config.Env ?? []);
      break;
    }
    case 'go': {
      const delve = await startDelve(lane ?? host, target, control.signal);
      ({ port } = delve);
      stopServer = delve.stop;
      break;
    }
  }
  try {
    throwIfAborted(control.signal);
    const tunnel = await openTunnel(lane ?? host, target.hostPid, port, { ...(request.localPort !== undefined && { localPort: request.localPort }), log: core.log });
    await laneReady.catch(async (error: unknown) => {
      await tunnel.close();
      throw error;
    });
    return {
      target,
      attach: { address: '127.0.0.1', port: tunnel.port },
      tunnel,
      close: async () => {
        await tunnel.close();
        await stopServer();
      },
    };
  } catch (error) {
    await stopServer();
    throw error;
  }
}

/**
 * What attaching will need, checked before production is touched: the runtime of production's
 * process (read with `podman top`, and for Go the head of its executable), the debug host's
 * tools for it, and for Java a JDWP agent — which cannot be added to a running JVM.
 */
async function checkAttachable(core: Core, request: DebugRequest, env: readonly string[]): Promise<DebugTarget> {
  const source = core.hosts.get(request.host);
  const target = await findDebugTarget(source, request.container, request.runtime);
  await requireDebugTools(core.hosts.get(request.to), target.runtime);
  if (target.runtime === 'java') {
    const agent = jdwpAgentOf(target.command, env);
    if (agent === undefined || 'reason' in agent) {
      throw noAgentError(request.container, request.host, agent?.reason, { text: 'A copy can still be restored without a debugger.', options: [{ name: 'copyOnly' }] });
    }
  }
  return target;
}

/**
 * The copy's process to debug, known without asking the debug host when production's was the
 * container's first process: CRIU gives every process back its PID in the copy's namespace, and
 * the first one's host PID is the copy's own (podman's State.Pid, read as the restore was checked).
 */
function copyTargetOf(production: DebugTarget | undefined, copy: RestoredContainer): DebugTarget | undefined {
  return production?.containerPid === 1 ? { ...production, hostPid: copy.pid } : undefined;
}

export async function snapshotAndDebug(core: Core, request: DebugRequest, control: WorkControl = {}): Promise<SnapshotDebugSession> {
  const tracker = phaseTracker(control.progress);
  control = { ...control, progress: tracker.sink };
  const progress = tracker.sink;
  const { signal } = control;
  if (request.to === request.host) {
    throw new SnapdebugError('The debug host must not be the production host: a copy there would share its resources.', {
      fix: { text: 'Choose another host for the copy.', options: [{ name: 'debugHost' }] },
    });
  }
  // Plan the restore first: a debug host that cannot take the copy fails before production is touched.
  const source = core.hosts.get(request.host);
  const target = core.hosts.get(request.to);
  // Both hosts are connected and probed at once (the checkpoint reuses the source's probe).
  const [live, , sourceCaps] = await Promise.all([inspectOne(source, request.container, signal), target.capabilities(), source.capabilities()]);
  if (!live.State.Running) throw new SnapdebugError(`${request.container} on ${request.host} is ${live.State.Status}: Snapshot & Debug needs a running container.`);
  // Whether a debugger can attach is checked while the copy is planned (each is a string of round
  // trips to its host); should it fail, the plan is undone before production is touched.
  const attachable = request.copyOnly ? Promise.resolve(undefined) : checkAttachable(core, request, live.Config.Env ?? []);
  attachable.catch(() => undefined);
  const draft = plannedSnapshot(request.host, live, sourceCaps, checkpointOptions);
  // Once the debug host has passed every check: the route is probed, and the source's side of a
  // host-to-host checkpoint (its work, an empty archive file) made ready, while the copy's fence
  // goes up. Should the route go through this machine, the prepared side is abandoned.
  const sourceSide = new SourceSide(core, { host: request.host, before: live, options: checkpointOptions }, target, signal);
  const routeFrom = (work: RemoteWork) => {
    if (!request.throughHere) sourceSide.begin();
    return chooseRoute(source, work, { ...(request.throughHere && { throughHere: true }) }, core.log);
  };
  const plan = await planRestore(
    core,
    draft,
    {
      to: request.to,
      // The copy's TCP connections come back closed (planRestore sees tcpEstablished above).
      options: { name: copyName(live.Name), ignoreStaticIp: true, ignoreStaticMac: true },
      ...(request.transferImage && { transferImage: true }),
      // Fenced unless asked otherwise: a debug host that cannot fence refuses here, before production is touched.
      ...(!request.allowAllEgress && { fence: { allowEgress: request.allowEgress ?? [] } }),
      routeFrom,
    },
    control,
  ).catch(async (error: unknown) => {
    await Promise.all([attachable.catch(() => undefined), sourceSide.drop()]);
    await attachable; // its refusal comes first: it is what the user can act on before the plan's
    throw error;
  });
  let production: DebugTarget | undefined;
  try {
    production = await attachable;
  } catch (error) {
    await Promise.all([plan.work.abandon(core.log), sourceSide.drop()]);
    throw error;
  }

  // The restore's work on the debug host holds the copy until the debugger is attached: should
  // anything fail, or this client vanish before then, the debug host removes the half-made copy.
  let copy: RestoredContainer | undefined;
  let attached: Pick<DebugSession, 'target' | 'attach' | 'gdb' | 'tunnel' | 'close'> | undefined;
  let direct: HostToHostResult | undefined;
  try {
    const route = plan.route!;
    // The copy goes into the undo list while the archive travels (its restore waits for it).
    noteRestoredContainer(plan).catch(() => undefined);
    if ('reason' in route) {
      await sourceSide.drop();
      progress({ phase: 'checkpoint', message: `Through this machine: ${route.reason}` });
    }
    const { meta, pushed } =
      'link' in route && sourceSide.begun
        ? (direct = await checkpointHostToHost(core, await sourceSide.take(), { work: plan.work, rewriteFor: (id) => copyRewrite(plan, id) }, route.link, control))
        : await checkpointAndSend(
            core,
            { host: request.host, container: request.container, options: checkpointOptions },
            // The labels name the snapshot, whose id is only known once the checkpoint starts.
            { work: plan.work, path: plan.work.file('archive.tar'), rewriteFor: (id) => copyRewrite(plan, id)! },
            control,
          );
    plan.meta = meta;
    // The tunnel's own connection to the debug host logs in while the copy is restored.
    const [, warmLane] = core.hosts.lanes(request.to, 2);
    if (warmLane && !request.copyOnly) readyForTunnel(warmLane).catch(() => undefined);
    copy = await restorePushed(core, plan, pushed ? [pushed] : [], control);
    // The copy's archive (process memory) goes while the debugger attaches; the work ends after it.
    const archiveGone = pushed ? target.runner.run(['rm', '-f', pushed.path]).catch(() => undefined) : undefined;
    throwIfAborted(signal);
    progress({ phase: 'attach', message: `Copy ${copy.name} runs on ${request.to}; ${request.copyOnly ? 'no debugger asked for' : 'attaching'}` });
    const known = copyTargetOf(production, copy);
    attached = request.copyOnly
      ? { target: known ?? (await findDebugTarget(target, copy.name, request.runtime)), close: async () => undefined }
      : await attachToCopy(
          core,
          { host: request.to, container: copy.name, ...(request.runtime && { runtime: request.runtime }), ...(request.localPort !== undefined && { localPort: request.localPort }), ...(known && { target: known }) },
          control,
        );
    const [, lane] = core.hosts.lanes(request.to, 2);
    const ports = await forwardServicePorts(lane ?? target, copy.pid, meta.source.ports ?? [], core.log);
    for (const forwarded of ports) core.log(`${copy.name}'s ${forwarded.port} is at 127.0.0.1:${forwarded.local} here`);
    const debuggerClose = attached.close;
    const close = async () => {
      await Promise.all([debuggerClose(), ...ports.map((p) => p.tunnel.close())]);
    };
    await archiveGone;
    await plan.work.finish();
    // The store's copy comes now, from the source, while the debugger is already attached.
    const storing = direct && storeInBackground(meta.id, direct.storing, core.log);
    return { snapshot: meta, copy, ...attached, ports, close, ...(storing && { storing }) };
  } catch (error) {
    await direct?.abandon();
    // A debugger already attached (Delve, a tunnel) lets go before the copy goes.
    await attached?.close().catch(() => undefined);
    const undone = await plan.work.abandon(core.log);
    throw withCleanup(error, tracker.phase(), [{ host: request.to, undone }]);
  }
}
