// The containers `lab:up` runs on prod: the services the product is demonstrated and tested on.
import { labSsh } from './sshfiles';

export interface DemoContainer {
  name: string;
  /** `podman run` arguments after `-d --name NAME`, already shell-quoted. */
  run: string;
}

export const demoHost = 'prod';

/** A small heap and one GC thread: quick checkpoints. */
const javaOptions = '-Xmx64m -XX:+UseSerialGC';

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
  // Go (Delve) and Java (JDWP, jcmd): lab/demo-go, lab/demo-java. demo-go publishes its port on
  // prod's loopback, so Snapshot & Debug forwards the copy's to the developer. Go 1.24+ listens
  // with MPTCP by default, which CRIU cannot dump: GODEBUG turns that off (README, troubleshooting).
  { name: 'demo-go', run: '-p 127.0.0.1:18090:8090 -e GODEBUG=multipathtcp=0 localhost/snapdebug/demo-go:latest' },
  // A JVM started with a JDWP agent on its own loopback, and one without (JDWP cannot be added later).
  {
    name: 'demo-java',
    run: `localhost/snapdebug/demo-java:latest java ${javaOptions} -agentlib:jdwp=transport=dt_socket,server=y,suspend=n,address=127.0.0.1:5005 -cp /app Demo`,
  },
  { name: 'demo-java-noagent', run: `localhost/snapdebug/demo-java:latest java ${javaOptions} -cp /app Demo` },
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
