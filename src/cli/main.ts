// Entry point of dist/cli.js: run the command line, exit with its status.
import { describeError } from '../core/util/errors';
import { redact } from '../core/util/redact';
import { main } from './cli';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`snapdebug: ${redact(describeError(error))}\n`);
    process.exit(1);
  },
);
