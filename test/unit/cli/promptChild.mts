// Child process of the hidden-prompt test: asks for a password through the CLI's own prompt (which
// opens /dev/tty: here, the pty the test made) and writes the answer to the file named by argv[2].
import { writeFileSync } from 'node:fs';
import { terminalPrompts } from '../../../src/cli/prompts';

const answer = await terminalPrompts.password('root', 'prod');
writeFileSync(process.argv[2]!, answer ?? '<none>');
