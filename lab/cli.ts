// `npm run lab:up [-- --all] | lab:down | lab:status | lab:link -- wan|lan|off`
// | `tsx lab/cli.ts measure` (lab/measureLink.ts): one progress line
// per step with the elapsed time.
import { labDown, labStatus, labUp } from './lab';
import { describeProfile, labLink } from './linkProfile';
import { measureLab } from './measureLink';
import { readState } from './state';
import { parseProfile } from './shaping';
import { PreflightError } from './preflight';

const started = Date.now();
const say = (line: string) => console.log(`[lab ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function main(verb: string | undefined, flags: string[]): Promise<number> {
  if (verb === 'link') {
    if (flags.length !== 1) {
      console.error('usage: tsx lab/cli.ts link wan|lan|off');
      return 2;
    }
    await labLink(parseProfile(flags[0]), say);
    return 0;
  }
  if (verb === 'measure') {
    say(`profile ${describeProfile(readState()?.link ?? 'off')}`);
    await measureLab(say);
    return 0;
  }
  const unknown = flags.filter((f) => !(verb === 'up' && f === '--all'));
  if (unknown.length > 0) {
    console.error(`lab ${verb ?? ''}: unknown ${unknown.join(' ')} (only \`up --all\` takes a flag)`);
    return 2;
  }
  switch (verb) {
    case 'up':
      await labUp(say, { all: flags.includes('--all') });
      return 0;
    case 'down':
      await labDown(say);
      return 0;
    case 'status':
      return (await labStatus(say)) ? 0 : 3;
    default:
      console.error('usage: tsx lab/cli.ts up [--all]|down|status|link wan|lan|off|measure');
      return 2;
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof PreflightError ? error.message : `lab ${process.argv[2]} failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
