// Search Memory…: text (or /a regular expression/) in the memory of a snapshot's processes, or of
// one process; the hits, with hex and text around each, open in a read-only document. Memory holds
// secrets: the hits are shown because the user asked, and never written to the log.
import * as vscode from 'vscode';
import { formatBytes, hexDump, searchMemory, snapshotArchiveFile } from '../../core';
import { runLong } from '../progress';
import { ProcessNode } from '../tree/snapshotContents';
import type { Command } from './command';
import { snapshotTarget } from './targets';

/** "/re/" is a regular expression; anything else is text to find as is. */
export function parseQuery(input: string): { text: string } | { regex: string } {
  const regex = /^\/(.+)\/$/s.exec(input);
  return regex ? { regex: regex[1]! } : { text: input };
}

export const searchMemoryCommand: Command = {
  id: 'snapdebug.searchMemory',
  async run(services, node) {
    const meta = node instanceof ProcessNode ? node.meta : await snapshotTarget(services, node, 'Snapshot whose memory to search');
    if (!meta) return;
    const pid = node instanceof ProcessNode ? node.process.pid : undefined;
    const input = await vscode.window.showInputBox({
      title: `Search Memory of ${pid !== undefined ? `process ${pid} of ` : ''}${meta.id}`,
      prompt: 'Text to find, or /a regular expression/',
      ignoreFocusOut: true,
      validateInput: (value) => (value.length === 0 ? 'Type something to find.' : undefined),
    });
    if (!input) return;
    const query = parseQuery(input);
    const outcome = await runLong(services, `Search Memory of ${meta.source.container}`, (control) =>
      searchMemory(snapshotArchiveFile(services.core(), meta), { ...query, ...(pid !== undefined && { pid }), ...(control.signal && { signal: control.signal }) }),
    );
    if (outcome.status !== 'done') return;
    const result = outcome.value;
    const what = 'regex' in query ? `/${query.regex}/` : JSON.stringify(query.text);
    const lines = [
      `# ${result.hits.length} hit${result.hits.length === 1 ? '' : 's'} for ${what} in ${meta.id}${result.truncated ? ' (stopped at the first 1000)' : ''}`,
      `# ${formatBytes(result.searchedBytes)} of memory searched in process${result.pids.length === 1 ? '' : 'es'} ${result.pids.join(', ')}`,
      '',
      ...result.hits.flatMap((hit) => [`process ${hit.pid} at ${hit.address} in ${hit.mapping}`, ...hexDump(hit), '']),
    ];
    await services.documents.show(`memory-${meta.id}${pid !== undefined ? `-${pid}` : ''}.txt`, lines.join('\n'));
  },
};
