// Java copies. A debugger gets into a JVM only through the JDWP agent it was started with
// (-agentlib:jdwp / -Xrunjdwp, on its command line or in JAVA_TOOL_OPTIONS); it cannot be loaded
// later (JDK 24 removed even the dynamic way). With one listening, its port in the copy is
// tunnelled like any other. Without one, what needs no agent is offered instead: thread and heap
// dumps taken by jcmd (captures.ts).
import type { Host } from '../host';
import { SnapdebugError, type Fix } from '../util/errors';
import { listensInside, type DebugTarget } from './attach';

export interface JdwpAgent {
  port: number;
  /** Where it listens, as the option says ("127.0.0.1", "*", "" for all). */
  address: string;
}

/** Environment variables the JVM reads options from. */
const optionVariables = ['JAVA_TOOL_OPTIONS', 'JDK_JAVA_OPTIONS', '_JAVA_OPTIONS'];

/**
 * The JDWP agent a JVM listens with, from its command line and environment; undefined when it
 * has none a debugger can connect to. A reason is given when there is an agent that does not
 * listen (server=n connects out; no address picks a random port).
 */
export function jdwpAgentOf(command: string, env: readonly string[] = []): JdwpAgent | { reason: string } | undefined {
  const fromEnv = env.flatMap((entry) => {
    const at = entry.indexOf('=');
    return optionVariables.includes(entry.slice(0, at)) ? [entry.slice(at + 1)] : [];
  });
  const options = [command, ...fromEnv].join(' ');
  const match = /(?:-agentlib:jdwp=|-Xrunjdwp:)(\S*)/.exec(options);
  if (!match) return undefined;
  const settings = new Map(match[1]!.split(',').map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)] as const));
  if ((settings.get('transport') ?? 'dt_socket') !== 'dt_socket') return { reason: `its JDWP agent uses transport ${settings.get('transport')}, not a socket` };
  if (settings.get('server') !== 'y') return { reason: 'its JDWP agent connects out to a debugger (server=n) instead of listening' };
  const address = settings.get('address');
  const parts = /^(?:(.*):)?(\d+)$/.exec(address ?? '');
  if (!parts) return { reason: 'its JDWP agent listens on a port it chose at start (no address=PORT)' };
  const port = Number(parts[2]);
  if (port < 1 || port > 65535) return { reason: `its JDWP agent names no valid port (${address})` };
  return { port, address: parts[1] ?? '' };
}

/** A JVM that cannot take a debugger: faces offer a copy without one, and its dumps, instead. */
export class NoJdwpAgentError extends SnapdebugError {}

/** The sentence for a JVM without a usable agent, and what can be done instead. */
export function noAgentError(container: string, host: string, reason: string | undefined, instead: Fix): NoJdwpAgentError {
  return new NoJdwpAgentError(
    `The JVM in ${container} on ${host} cannot take a debugger: ${reason ?? 'it was started without a JDWP agent'}, and JDWP cannot be added to a running JVM.`,
    {
      fix: {
        ...instead,
        text: `${instead.text} Thread and heap dumps need no agent. To debug, start the service with -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005.`,
      },
    },
  );
}

/** The copy's JDWP port, once it is known to listen there. */
export async function prepareJava(host: Host, container: string, target: DebugTarget, env: readonly string[]): Promise<number> {
  const agent = jdwpAgentOf(target.command, env);
  if (agent === undefined || 'reason' in agent) {
    throw noAgentError(container, host.name, agent?.reason, { text: 'Save a thread dump or heap dump of the copy instead.' });
  }
  if (!(await listensInside(host, target.hostPid, agent.port))) {
    throw new SnapdebugError(`The JDWP agent of ${container} on ${host.name} does not listen on ${agent.port}.`, {
      fix: { text: 'Its address may name an interface the copy lacks: use address=127.0.0.1:PORT.' },
    });
  }
  return agent.port;
}
