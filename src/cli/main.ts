// Entry point of dist/cli.js: run the command line, exit with its status.
import { describeError } from '../core';
import { main } from './cli';
import { cliFixWording } from './options';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`snapdebug: ${describeError(error, cliFixWording)}\n`);
    process.exit(1);
  },
);
