// The product built as it ships, in a scratch copy of the checkout: `npm run package` there makes
// dist/ (production bundles) and snapdebug.vsix without touching the working tree's dist/ and
// .vsix, which a concurrently running UI suite may be installing. node_modules is linked, not copied.
import { cpSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './child';
import type { BenchContext } from './context';

export interface ScratchBuild {
  dir: string;
  cli: string;
  extension: string;
  vsix: string;
  packageMs: number;
}

export async function scratchPackage(ctx: BenchContext): Promise<ScratchBuild> {
  const dir = join(ctx.tmp, 'checkout');
  ctx.cleanup.add(`scratch checkout ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  // Every file git would commit here (tracked, or new and not ignored), as it is in the working tree.
  const files = (await execa('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot })).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      cpSync(join(repoRoot, file), join(dir, file));
    } catch {
      // listed by git but deleted in the working tree
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  ctx.say('building the product as shipped (npm run package) in a scratch checkout');
  const started = performance.now();
  await execa('npm', ['run', 'package'], { cwd: dir, timeout: 300_000 });
  return {
    dir,
    cli: join(dir, 'dist', 'cli.js'),
    extension: join(dir, 'dist', 'extension.js'),
    vsix: join(dir, 'snapdebug.vsix'),
    packageMs: performance.now() - started,
  };
}
