// The Snapshot Report webview: one panel per snapshot, its page made by reportHtml.ts with a fresh
// nonce; scripts off and no local resources, so the page can load nothing at all.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { SnapshotContents, SnapshotMeta } from '../../core';
import { reportHtml } from './reportHtml';

export const reportViewType = 'snapdebug.snapshotReport';

export function openReportPanel(meta: SnapshotMeta, contents: SnapshotContents): vscode.WebviewPanel {
  const panel = vscode.window.createWebviewPanel(reportViewType, `Report: ${meta.source.container}`, vscode.ViewColumn.Active, {
    enableScripts: false,
    enableForms: false,
    localResourceRoots: [],
  });
  panel.webview.html = reportHtml(meta, contents, randomBytes(16).toString('base64'));
  return panel;
}
