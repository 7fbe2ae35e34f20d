// Load (issue 11 point 5): two client processes, each with its own core, run 10 checkpoints and
// Snapshot & Debug runs against one production container at once. None deadlocks; each completes
// or ends with a sentence (never an SSH channel refusal: sshd's MaxSessions is never hit as an
// error); `podman ps` on prod answers in under 2 s all along; production keeps its PID; nothing is
// left on either host afterwards.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostShell } from '../../lab/links';
import { answers, containerPidOn, isClean, leftoversOn, podmanPsSeconds } from './faultKit';
import { waitFor } from './helpers';

interface RunResult {
  kind: 'checkpoint' | 'debug';
  ok: boolean;
  result?: string;
  error?: string;
  seconds: number;
}

const container = 'load-api';

function client(store: string, checkpoints: number, debugs: number): Promise<RunResult[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/lab/loadClient.ts', store, container, String(checkpoints), String(debugs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('close', (code) =>
      code === 0 ? resolve(stdout.trim().split('\n').map((line) => JSON.parse(line) as RunResult)) : reject(new Error(`load client exited ${code}:\n${stderr}`)),
    ),
  );
}

describe('load (lab): 10 checkpoints and Snapshot & Debug runs from two clients at once', function () {
  this.timeout(15 * 60_000);
  const stores = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'snapdebug-load-')));

  before(async () => {
    await hostShell('prod', `podman rm -f -t 0 ${container} >/dev/null 2>&1; podman run -d --name ${container} -e BALLAST_MB=16 localhost/snapdebug/demo-api:latest >/dev/null`);
    await waitFor(() => answers('prod', container), 60_000, `${container} serving`);
  });

  after(async () => {
    await hostShell('prod', `podman rm -f -t 0 ${container} >/dev/null 2>&1; true`);
    await hostShell('debug', `podman ps -a --format '{{.Names}}' | grep -E '^${container}-snap-' | xargs -r podman rm -f -t 0 >/dev/null 2>&1; true`);
    for (const store of stores) rmSync(store, { recursive: true, force: true });
  });

  it('none deadlocks, each ends with a result or a sentence, podman ps stays under 2 s, nothing is left', async () => {
    const pid = await containerPidOn('prod', container);
    let running = true;
    const psSeconds: number[] = [];
    // podman ps, back to back, for as long as the clients run: what monitoring and systemd call.
    const watch = (async () => {
      while (running) psSeconds.push(await podmanPsSeconds('prod'));
    })();
    let results: RunResult[][];
    try {
      results = await Promise.all([client(join(stores[0]!, 'store'), 4, 1), client(join(stores[1]!, 'store'), 4, 1)]);
    } finally {
      running = false;
      await watch;
    }
    const all = results.flat();
    console.log(`      ${all.map((r) => `${r.kind} ${r.ok ? 'ok' : `failed: ${r.error}`} ${r.seconds.toFixed(1)} s`).join('\n      ')}`);
    console.log(`      podman ps on prod: ${psSeconds.length} calls, slowest ${Math.max(...psSeconds).toFixed(2)} s`);
    assert.equal(all.length, 10);
    for (const failed of all.filter((r) => !r.ok)) {
      assert.doesNotMatch(failed.error!, /channel|MaxSessions|administratively prohibited|open failure|ECONNRESET/i, 'no SSH channel refusal reaches the user');
      assert.match(failed.error!, /^[A-Z].*[.!?]$/, `a failure is a sentence: ${failed.error}`);
    }
    assert.ok(all.filter((r) => r.ok).length >= 8, `most runs complete under load: ${JSON.stringify(all)}`);
    assert.ok(Math.max(...psSeconds) < 2, `podman ps on prod answered in under 2 s every time (slowest ${Math.max(...psSeconds).toFixed(2)} s)`);
    assert.equal(await containerPidOn('prod', container), pid, 'production keeps its PID');
    assert.ok(await answers('prod', container), 'production answers');
    await waitFor(async () => isClean(await leftoversOn('prod', `^${container}-snap-`)) && isClean(await leftoversOn('debug', `^${container}-snap-`)), 30_000, 'both hosts clean');
  });
});
