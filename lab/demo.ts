// The containers `lab:up` runs on prod: the services the product is demonstrated and tested on.
import { labSsh } from './sshfiles';

export interface DemoContainer {
  name: string;
  /** `podman run` arguments after `-d --name NAME`, already shell-quoted. */
  run: string;
}

export const demoHost = 'prod';

export const demoContainers: readonly DemoContainer[] = [
  // Node.js service with in-memory state (lab/demo-api/server.js), port 8080 inside.
  { name: 'demo-api', run: 'localhost/snapdebug/demo-api:latest' },
  // The seed article's case: a long-running shell with a `sleep 600` child, renewed forever.
  // coreutils sleep (Debian image) resumes its sleep after a restore; busybox sleep would return.
  {
    name: 'demo-sleeper',
    run: `localhost/snapdebug/node:20 bash -c 'trap "exit 0" TERM; while :; do sleep 600 & wait $!; done'`,
  },
  // Python and native services for the other attach paths.
  { name: 'demo-python', run: 'localhost/snapdebug/demo-python:latest' },
  { name: 'demo-native', run: 'localhost/snapdebug/native:latest' },
];

async function runningNames(): Promise<Map<string, string>> {
  const out = await labSsh(demoHost, `podman ps --all --format '{{.Names}} {{.State}}'`);
  return new Map(out.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
}

/** Starts the demo containers that are not running; returns what it changed. */
export async function ensureDemoContainers(): Promise<string[]> {
  const states = await runningNames();
  const changed: string[] = [];
  for (const demo of demoContainers) {
    const state = states.get(demo.name);
    if (state === 'running') continue;
    if (state !== undefined) await labSsh(demoHost, `podman rm -f ${demo.name}`);
    await labSsh(demoHost, `podman run -d --name ${demo.name} ${demo.run}`);
    changed.push(`started ${demo.name} on ${demoHost}`);
  }
  return changed;
}

export async function demoStates(): Promise<Map<string, string>> {
  return runningNames();
}
