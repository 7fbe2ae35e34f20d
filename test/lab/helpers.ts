// Shared by the lab suites: OpenSSH into the lab hosts, and the demo service's state.
import { labSsh } from '../../lab/sshfiles';

export { labSsh };

export async function containerIp(host: string, container: string): Promise<string> {
  const ip = (await labSsh(host, `podman inspect --format '{{.NetworkSettings.IPAddress}}' ${container}`)).trim();
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`no IP for ${host}/${container}: "${ip}"`);
  return ip;
}

export interface DemoState {
  requestCount: number;
  ticks: number;
  startedAt: string;
}

/** GET /state of a demo-api container, from inside its host (container addresses live there). */
export async function demoState(host: string, container: string): Promise<DemoState> {
  const ip = await containerIp(host, container);
  return JSON.parse(await labSsh(host, `curl -sf --max-time 5 http://${ip}:8080/state`)) as DemoState;
}

export async function containerPid(host: string, container: string): Promise<number> {
  return Number((await labSsh(host, `podman inspect --format '{{.State.Pid}}' ${container}`)).trim());
}

export async function topCommands(host: string, container: string): Promise<string[]> {
  const out = await labSsh(host, `podman top ${container} args`);
  return out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).sort();
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}
