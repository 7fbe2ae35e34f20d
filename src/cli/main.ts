// Entry point of dist/cli.js: run the command line, exit with its status.
import { describeError, redact } from '../core';
import { main } from './cli';
import { cliFixWording } from './options';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`snapdebug: ${redact(describeError(error, cliFixWording))}\n`);
    process.exit(1);
  },
);
