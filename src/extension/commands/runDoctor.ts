// Run Doctor: the core's checks for one host (and, if chosen, a peer), shown as a document.
import * as vscode from 'vscode';
import { doctor } from '../../core';
import { wordFix } from '../fixes';
import { runLong } from '../progress';
import type { Command } from './command';
import { hostTarget } from './targets';

export const runDoctor: Command = {
  id: 'snapdebug.runDoctor',
  async run(services, node) {
    const host = await hostTarget(services, node);
    if (!host) return;
    const others = services.hostNames().filter((h) => h !== host);
    const peerPick = others.length === 0 ? undefined : await vscode.window.showQuickPick([{ label: 'No peer' }, ...others.map((label) => ({ label, description: `also check ${label}, and CPU compatibility ${host} → ${label}` }))], { placeHolder: 'Check a peer host too?' });
    if (others.length > 0 && !peerPick) return;
    const peer = peerPick && peerPick.label !== 'No peer' ? peerPick.label : undefined;
    const outcome = await runLong(services, `Doctor ${host}${peer ? ` → ${peer}` : ''}`, () => doctor(services.core(), host, peer));
    if (outcome.status !== 'done') return;
    const report = outcome.value;
    const mark = { ok: '✓', warn: '!', fail: '✗' };
    const text = [
      `# snapdebug doctor ${host}${peer ? ` --peer ${peer}` : ''}`,
      '',
      ...report.checks.map((c) => `${mark[c.level]} ${c.name}: ${c.detail}${c.fix ? `\n    fix: ${wordFix(c.fix).text}` : ''}`),
      '',
      report.ok ? 'Ready.' : 'Not ready: see the failures above.',
    ].join('\n');
    await services.documents.show(`doctor-${host}${peer ? `-${peer}` : ''}.md`, text, 'markdown');
    if (!report.ok) void vscode.window.showWarningMessage(`${host}: ${report.checks.filter((c) => c.level === 'fail').length} checks failed.`);
  },
};
