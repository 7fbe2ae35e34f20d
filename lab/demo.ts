// The containers `lab:up` runs: on prod every demo service the product is demonstrated and tested
// on; on edge and legacy the Node.js service and the seed article's sleeper, as sources there too.
import { labSsh } from './sshfiles';

export interface DemoContainer {
  name: string;
  /** `podman run` arguments after `-d --name NAME`, already shell-quoted. */
  run: string;
}

export const demoHost = 'prod';
/** Hosts other than prod that run a few demo services when they are up. */
const demosElsewhere = new Set(['demo-api', 'demo-sleeper']);
const hostsWithDemos = ['prod', 'edge', 'legacy'];

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

/** name → state ("running", "exited", …), from JSON: podman 4.3's `{{.State}}` is "Up 2 minutes ago". */
async function states(host: string): Promise<Map<string, string>> {
  const list = JSON.parse((await labSsh(host, 'podman ps --all --format json')) || '[]') as Array<{ Names: string[]; State: string }>;
  return new Map(list.flatMap((c) => c.Names.map((name) => [name, c.State] as [string, string])));
}

/** Starts the demo containers that are not running on the given running hosts; returns what it changed. */
export async function ensureDemoContainers(runningHosts: readonly string[]): Promise<string[]> {
  const changed: string[] = [];
  for (const host of hostsWithDemos.filter((h) => runningHosts.includes(h))) {
    const current = await states(host);
    for (const demo of demoContainers.filter((d) => host === demoHost || demosElsewhere.has(d.name))) {
      const state = current.get(demo.name);
      if (state === 'running') continue;
      if (state !== undefined) await labSsh(host, `podman rm -f ${demo.name}`);
      await labSsh(host, `podman run -d --name ${demo.name} ${demo.run}`);
      changed.push(`started ${demo.name} on ${host}`);
    }
  }
  return changed;
}

export async function demoStates(host = demoHost): Promise<Map<string, string>> {
  return states(host);
}
