// Add Host…: an SSH config alias or user@host[:port], checked for form, appended to
// snapdebug.hosts (user settings). Its connection is tried at once by the refresh that follows.
import * as vscode from 'vscode';
import { configuredHosts, validateHostSpec } from '../../core';
import type { Command } from './command';

export const addHost: Command = {
  id: 'snapdebug.addHost',
  async run(services) {
    const configured = configuredHosts(services.core());
    const spec = await vscode.window.showInputBox({
      title: 'Add Host',
      prompt: `An alias from your SSH config (${configured.slice(0, 5).join(', ') || 'none yet'}) or user@host[:port]`,
      placeHolder: 'root@192.0.2.10:22',
      ignoreFocusOut: true,
      validateInput: (value) => {
        try {
          validateHostSpec(value.trim());
          return services.hostNames().includes(value.trim()) ? 'That host is already listed.' : undefined;
        } catch (error) {
          return (error as Error).message;
        }
      },
    });
    if (!spec) return;
    const config = vscode.workspace.getConfiguration('snapdebug');
    // The list shows every config host while it is empty; keep those when it starts to fill.
    const current = services.settings().hosts;
    const base = current.length > 0 ? current : services.hostNames();
    await config.update('hosts', [...base, spec.trim()], vscode.ConfigurationTarget.Global);
    services.refreshAll();
  },
};
