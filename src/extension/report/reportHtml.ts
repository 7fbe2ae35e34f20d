// The Snapshot Report's page: the process tree drawn, memory per process as a bar chart and CRIU's
// phases as a timeline, all inline SVG made here. No script, no remote content: the Content
// Security Policy allows only the one nonce'd style block. Colours are the theme's own CSS
// variables, so it follows light, dark and high-contrast themes. Every word from the archive is
// escaped: the archive is untrusted.
import { criuPhases, formatBytes, formatDuration, type ProcessInfo, type SnapshotContents, type SnapshotMeta } from '../../core';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const rowPx = 30;
const boxHeightPx = 22;
const indentPx = 28;

/** The process tree as boxes, children indented under their parent, joined by lines. */
export function processTreeSvg(processes: ProcessInfo[]): string {
  const rows: Array<{ process: ProcessInfo; depth: number }> = [];
  const walk = (p: ProcessInfo, depth: number) => {
    rows.push({ process: p, depth });
    for (const child of processes.filter((q) => q.ppid === p.pid && q.pid !== p.pid)) walk(child, depth + 1);
  };
  for (const root of processes.filter((p) => !processes.some((q) => q.pid === p.ppid && q.pid !== p.pid))) walk(root, 0);
  const width = 720;
  const parts = rows.map(({ process: p, depth }, i) => {
    const x = 8 + depth * indentPx;
    const y = 6 + i * rowPx;
    const label = `[${p.pid}] ${p.args.join(' ') || p.command}`;
    const shown = label.length > 80 ? `${label.slice(0, 79)}…` : label;
    const parentRow = rows.findIndex((r) => r.process.pid === p.ppid);
    const link = depth > 0 && parentRow >= 0 ? `<path class="link" d="M${x - indentPx + 10} ${6 + parentRow * rowPx + boxHeightPx} V${y + boxHeightPx / 2} H${x}"/>` : '';
    const threads = p.threads.length > 1 ? ` · ${p.threads.length} threads` : '';
    return `${link}<g class="process"><rect x="${x}" y="${y}" width="${width - x - 8}" height="${boxHeightPx}" rx="4"/><text x="${x + 8}" y="${y + 15}">${escapeHtml(shown)}<tspan class="muted">${escapeHtml(threads)}</tspan></text></g>`;
  });
  return `<svg role="img" aria-label="process tree" width="${width}" height="${rows.length * rowPx + 8}" viewBox="0 0 ${width} ${rows.length * rowPx + 8}">${parts.join('')}</svg>`;
}

/** Memory the snapshot holds for each process, as horizontal bars. */
export function memoryBarsSvg(processes: ProcessInfo[]): string {
  const width = 720;
  const labelPx = 200;
  const max = Math.max(1, ...processes.map((p) => p.residentBytes));
  const bars = processes.map((p, i) => {
    const y = 6 + i * rowPx;
    const length = Math.max(1, Math.round(((width - labelPx - 110) * p.residentBytes) / max));
    return `<text x="8" y="${y + 15}">${escapeHtml(`[${p.pid}] ${p.command}`)}</text><rect class="bar" x="${labelPx}" y="${y + 3}" width="${length}" height="16" rx="2"/><text class="muted" x="${labelPx + length + 8}" y="${y + 15}">${formatBytes(p.residentBytes)}</text>`;
  });
  return `<svg role="img" aria-label="memory per process" width="${width}" height="${processes.length * rowPx + 8}">${bars.join('')}</svg>`;
}

/** Durations of CRIU's phases: some take microseconds. */
const micros = (us: number) => (us < 1000 ? `${us} µs` : formatDuration(us / 1000));

/** CRIU's dump as a timeline; the frozen span (the pause production saw) underlined. */
export function phasesSvg(contents: SnapshotContents): string {
  const criu = contents.stats.criu;
  if (!criu) return '<p class="muted">This archive carries no CRIU statistics (stats-dump).</p>';
  const phases = criuPhases(criu);
  const total = Math.max(1, ...phases.map((p) => p.startUs + p.durationUs));
  const width = 720;
  const scale = (us: number) => 8 + ((width - 16) * us) / total;
  const bars = phases.map((phase, i) => {
    const y = 6 + i * rowPx;
    const x = scale(phase.startUs);
    const w = Math.max(2, scale(phase.startUs + phase.durationUs) - x);
    const label = `${phase.name}: ${micros(phase.durationUs)}`;
    // The label goes after the bar, or before it when the bar reaches the right edge.
    const after = x + w + 6 < width - 160;
    return `<rect class="${phase.frozen ? 'frozen' : 'phase'}" x="${x}" y="${y + 3}" width="${w}" height="16" rx="2"/><text${after ? '' : ' class="before"'} x="${after ? x + w + 6 : x - 6}" y="${y + 15}">${escapeHtml(label)}</text>`;
  });
  const frozenY = 6 + phases.length * rowPx + 4;
  const frozen = `<path class="axis" d="M${scale(criu.freezingTimeUs)} ${frozenY} H${scale(criu.freezingTimeUs + criu.frozenTimeUs)}"/><text x="${scale(criu.freezingTimeUs)}" y="${frozenY + 16}">${escapeHtml(`frozen for ${micros(criu.frozenTimeUs)}`)}</text>`;
  return `<svg role="img" aria-label="CRIU phases" width="${width}" height="${frozenY + 24}">${bars.join('')}${frozen}</svg>`;
}

export function reportHtml(meta: SnapshotMeta, contents: SnapshotContents, nonce: string): string {
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'none'; script-src 'none'; font-src 'none'; connect-src 'none'; frame-src 'none'; form-action 'none'`;
  const c = contents.container;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${escapeHtml(`Snapshot Report: ${meta.id}`)}</title>
<style nonce="${nonce}">
body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px 24px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid var(--vscode-panel-border); padding-bottom: 4px; }
.muted { fill: var(--vscode-descriptionForeground); color: var(--vscode-descriptionForeground); }
svg text { fill: var(--vscode-foreground); font-family: var(--vscode-editor-font-family); font-size: 12px; }
svg .muted { fill: var(--vscode-descriptionForeground); }
.process rect { fill: var(--vscode-editorWidget-background); stroke: var(--vscode-charts-blue); }
.link { fill: none; stroke: var(--vscode-charts-blue); }
.bar { fill: var(--vscode-charts-green); }
.phase { fill: var(--vscode-charts-blue); }
.frozen { fill: var(--vscode-charts-orange); }
.axis { stroke: var(--vscode-charts-red); stroke-width: 3; }
svg text.before { text-anchor: end; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; } dt { color: var(--vscode-descriptionForeground); }
</style></head>
<body>
<h1>${escapeHtml(`${meta.source.host}/${meta.source.container}`)}</h1>
<dl>
<dt>snapshot</dt><dd>${escapeHtml(meta.id)}</dd>
<dt>image</dt><dd>${escapeHtml(c.image ?? meta.source.image ?? 'unknown')}</dd>
<dt>taken</dt><dd>${escapeHtml(new Date(meta.createdAt).toLocaleString())}</dd>
<dt>memory in the snapshot</dt><dd>${formatBytes(contents.stats.memoryBytes)} of ${formatBytes(meta.size)} (${escapeHtml(meta.compression)})</dd>
</dl>
<h2>Process tree</h2>
${processTreeSvg(contents.processes)}
<h2>Memory per process</h2>
${memoryBarsSvg(contents.processes)}
<h2>CRIU's phases</h2>
${phasesSvg(contents)}
</body></html>`;
}
