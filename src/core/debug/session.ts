// Snapshot & Debug: from a production container to a debugger attached to a restored copy.
// checkpoint (leave-running: production keeps serving) → into the store and, in the same pass, to
// the debug host → restore as NAME-snap-TIME-RANDOM (new IP and MAC; the TCP connections it had come back
// closed; fenced: it reaches nothing outside itself but what was allowed) → prepare the runtime's
// debugger → a local port tunnelled to it. A cancel or failure at any phase leaves no copy and no temporary archive anywhere; production is never stopped.
import type { Core, WorkControl } from '../core';
import { checkpointAndSend, inspectOne, snapshotSource } from '../snapshot/checkpoint';
import { phaseTracker, withCleanup } from '../remote/failure';
import { copyRewrite, planRestore, restorePushed, type RestoredContainer } from '../snapshot/restore';
import { copyName } from '../podman/names';
import type { CheckpointOptions } from '../podman/options';
import type { SnapshotMeta } from '../snapshot/store';
import { throwIfAborted } from '../util/abort';
import { SnapdebugError } from '../util/errors';
import { noProgress } from '../util/progress';
import { findDebugTarget, nativeDebuggerArgv, prepareNode, preparePython, type DebugTarget, type Runtime } from './attach';
import { forwardServicePorts, openTunnel, type ForwardedPort, type Tunnel } from './tunnel';

export interface DebugRequest {
  host: string;
  container: string;
  to: string;
  /** Overrides the runtime detected from the copy's processes. */
  runtime?: Runtime;
  localPort?: number;
  transferImage?: boolean;
  /** HOST:PORT pairs the fenced copy may still reach (TCP). */
  allowEgress?: readonly string[];
  /** Leave the copy unfenced: it reaches whatever its host reaches. Only when asked for. */
  allowAllEgress?: boolean;
}

export interface DebugSession {
  snapshot: SnapshotMeta;
  copy: RestoredContainer;
  target: DebugTarget;
  /** Where a debugger connects (node, python); undefined for native, which runs gdb on the host. */
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
  request: { host: string; container: string; runtime?: Runtime; localPort?: number },
  control: WorkControl = {},
): Promise<Pick<DebugSession, 'target' | 'attach' | 'gdb' | 'tunnel' | 'close'>> {
  const progress = control.progress ?? noProgress;
  const host = core.hosts.get(request.host);
  const target = await findDebugTarget(host, request.container, request.runtime);
  progress({ phase: 'attach', message: `Attaching a ${target.runtime} debugger to ${request.container} on ${request.host}` });
  if (target.runtime === 'native') {
    const gdb = await nativeDebuggerArgv(host, target);
    return { target, gdb, close: async () => undefined };
  }
  const port = target.runtime === 'node' ? await prepareNode(host, target, control.signal) : await preparePython(host, request.container, target, control.signal);
  throwIfAborted(control.signal);
  // Tunnels get a connection of their own, so a long debug session never holds channels that
  // the tree's refreshes need.
  const [, lane] = core.hosts.lanes(request.host, 2);
  const tunnel = await openTunnel(lane ?? host, target.hostPid, port, { ...(request.localPort !== undefined && { localPort: request.localPort }), log: core.log });
  return { target, attach: { address: '127.0.0.1', port: tunnel.port }, tunnel, close: () => tunnel.close() };
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
  const [live] = await Promise.all([inspectOne(source, request.container, signal), target.capabilities(), source.capabilities()]);
  if (!live.State.Running) throw new SnapdebugError(`${request.container} on ${request.host} is ${live.State.Status}: Snapshot & Debug needs a running container.`);
  const draft: SnapshotMeta = {
    id: 'planned',
    kind: 'checkpoint',
    createdAt: new Date().toISOString(),
    source: snapshotSource(request.host, live),
    podmanVersion: '',
    options: checkpointOptions,
    compression: 'zstd',
    archive: '',
    size: 0,
    sha256: '',
    sourceLeftRunning: true,
    timings: { checkpointMs: 0, totalMs: 0 },
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
    },
    control,
  );

  // The restore's work on the debug host holds the copy until the debugger is attached: should
  // anything fail, or this client vanish before then, the debug host removes the half-made copy.
  let copy: RestoredContainer | undefined;
  try {
    const { meta, pushed } = await checkpointAndSend(
      core,
      { host: request.host, container: request.container, options: checkpointOptions },
      // The labels name the snapshot, whose id is only known once the checkpoint starts.
      { work: plan.work, path: plan.work.file('archive.tar'), rewriteFor: (id) => copyRewrite(plan, id)! },
      control,
    );
    plan.meta = meta;
    copy = await restorePushed(core, plan, pushed ? [pushed] : [], control);
    throwIfAborted(signal);
    progress({ phase: 'attach', message: `Copy ${copy.name} runs on ${request.to}; attaching` });
    const attached = await attachToCopy(core, { host: request.to, container: copy.name, ...(request.runtime && { runtime: request.runtime }), ...(request.localPort !== undefined && { localPort: request.localPort }) }, control);
    const [, lane] = core.hosts.lanes(request.to, 2);
    const ports = await forwardServicePorts(lane ?? target, copy.pid, meta.source.ports ?? [], core.log);
    for (const forwarded of ports) core.log(`${copy.name}'s ${forwarded.port} is at 127.0.0.1:${forwarded.local} here`);
    const close = async () => {
      await Promise.all([attached.close(), ...ports.map((p) => p.tunnel.close())]);
    };
    await plan.work.finish();
    return { snapshot: meta, copy, ...attached, ports, close };
  } catch (error) {
    const undone = await plan.work.abandon(core.log);
    throw withCleanup(error, tracker.phase(), [{ host: request.to, undone }]);
  }
}
