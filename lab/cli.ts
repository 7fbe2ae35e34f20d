// `npm run lab:up | lab:down | lab:status`: one progress line per step with the elapsed time.
import { labDown, labStatus, labUp } from './lab';
import { PreflightError } from './preflight';

const started = Date.now();
const say = (line: string) => console.log(`[lab ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

async function main(verb: string | undefined): Promise<number> {
  switch (verb) {
    case 'up':
      await labUp(say);
      return 0;
    case 'down':
      await labDown(say);
      return 0;
    case 'status':
      return (await labStatus(say)) ? 0 : 3;
    default:
      console.error('usage: tsx lab/cli.ts up|down|status');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof PreflightError ? error.message : `lab ${process.argv[2]} failed: ${(error as Error).message}`);
    process.exit(1);
  },
);
