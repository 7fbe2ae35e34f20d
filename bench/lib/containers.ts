// Containers the benchmarks run on the lab hosts for themselves (never the lab's own demo
// containers, which other suites use): demo-api with a heap of a chosen size, removed by the
// benchmark's cleanup whatever happens.
import { execa } from 'execa';
import type { BenchContext } from './context';
import { q, ssh } from './openssh';

export const demoApiImage = 'localhost/snapdebug/demo-api:latest';

/** Starts demo-api with BALLAST_MB of random heap on `host`; resolves once it serves. */
export async function startBallastApi(ctx: BenchContext, host: string, name: string, ballastMb: number): Promise<void> {
  ctx.cleanup.add(`container ${name} on ${host}`, () => ssh(ctx.sshConfig, host, `podman rm -f -t 0 ${q(name)} >/dev/null 2>&1 || true`));
  await ssh(ctx.sshConfig, host, `podman run -d --name ${q(name)} -e BALLAST_MB=${ballastMb} ${demoApiImage} >/dev/null`);
  // server.js fills its ballast before it listens, and says so on stdout when it does.
  const deadline = Date.now() + 120_000;
  while (!(await ssh(ctx.sshConfig, host, `podman logs ${q(name)} 2>&1`)).includes('listening')) {
    if (Date.now() > deadline) throw new Error(`${name} on ${host} did not start serving within 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Removes a copy `snapdebug debug` made on debug, the way the product discards one (the container,
 * its volumes, its kept CRIU options, its fence); when the run failed before naming its copy,
 * whatever is named after the container, kept folders included — a copy removed with `podman rm`
 * alone left its kept folder for the next session's sweep.
 */
export async function discardBenchCopy(ctx: BenchContext, cli: string, container: string, copy: string | undefined): Promise<void> {
  if (copy) {
    const done = await execa('node', [cli, '--ssh-config', ctx.sshConfig, 'discard', `debug/${copy}`], { reject: false });
    if (done.exitCode === 0) return;
  }
  const name = copy ?? `${container}-snap-`;
  await ssh(
    ctx.sshConfig,
    'debug',
    `podman ps -a --format '{{.Names}}' | grep -F ${q(name)} | xargs -r podman rm -f -t 0 >/dev/null; for k in /var/tmp/snapdebug-k.*; do [ -f "$k/copy" ] && grep -qF ${q(name)} "$k/copy" && rm -rf "$k"; done; true`,
  );
}
