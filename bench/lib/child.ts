// Runs benchmark work in a child process built the way the product ships: an esbuild bundle with
// the externals of scripts/build.mjs, so ssh2 runs without its optional native crypto addon
// exactly as in dist/extension.js and dist/cli.js (the addon exists in node_modules here, but not
// in the .vsix). Each measured run is a process of its own.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { execa } from 'execa';
import type { ChildTask } from '../child/entry';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const benchDir = join(repoRoot, '.bench');
const bundle = join(benchDir, 'build', 'child.cjs');
let built: Promise<string> | undefined;

export function childBundle(): Promise<string> {
  built ??= (async () => {
    mkdirSync(join(benchDir, 'build'), { recursive: true });
    await build({
      entryPoints: [join(repoRoot, 'bench', 'child', 'entry.ts')],
      outfile: bundle,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      // As scripts/build.mjs: ssh2's optional native addons stay out of the bundle.
      external: ['cpu-features', './crypto/build/Release/sshcrypto.node'],
      logLevel: 'warning',
    });
    return bundle;
  })();
  return built;
}

export async function runChild<T>(task: ChildTask, options: { signal?: AbortSignal; timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<T> {
  const file = await childBundle();
  const result = await execa('node', [...(options.nodeArgs ?? []), file, JSON.stringify(task)], {
    reject: false,
    timeout: options.timeoutMs ?? 600_000,
    ...(options.signal && { cancelSignal: options.signal }),
  });
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  let answer: { ok: boolean; result?: T; error?: string };
  try {
    answer = JSON.parse(last) as typeof answer;
  } catch {
    throw new Error(`the ${task.kind} task ended without an answer (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  if (!answer.ok) throw new Error(`the ${task.kind} task failed: ${answer.error}`);
  return answer.result as T;
}
