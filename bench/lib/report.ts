// What a benchmark hands back, and how the run shows it: a table on the terminal, and
// docs/benchmarks.md (date, machine, versions, the table, each benchmark's variants and notes).
// Results are also kept in docs/benchmarks.json (committed, so any checkout has them), and a run
// of a subset rewrites the page with the other benchmarks' latest results, each marked with when
// it was measured. (Kept in an ignored folder, they were lost by the first run in a new checkout.)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Machine } from './machine';

/** PASS/MISS against the target; N/A when the figure could not be measured here (said why). */
export type Verdict = 'PASS' | 'MISS' | 'N/A' | 'INFO';

export interface Headline {
  figure: string;
  ours: string;
  anchor: string;
  /** ours / anchor, in the unit of the target (a throughput ratio for speeds). */
  ratio?: number;
  target: string;
  verdict: Verdict;
}

export interface Variant {
  label: string;
  median: string;
  range: string;
  ratio?: string;
  note?: string;
}

export interface BenchResult {
  id: string;
  title: string;
  measuredAt: string;
  runs: number;
  headlines: Headline[];
  variantsCaption?: string;
  variants: Variant[];
  notes: string[];
  error?: string;
}

export function verdict(pass: boolean | undefined): Verdict {
  return pass === undefined ? 'N/A' : pass ? 'PASS' : 'MISS';
}

export function ratioText(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}x`;
}

function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function terminalTable(results: BenchResult[]): string {
  const rows = [['benchmark', 'figure', 'ours', 'anchor', 'ratio', 'target', 'verdict']];
  for (const result of results) {
    if (result.error && result.headlines.length === 0) rows.push([result.id, 'failed to run', '—', '—', '—', '—', 'N/A']);
    for (const h of result.headlines) rows.push([result.id, h.figure, h.ours, h.anchor, ratioText(h.ratio), h.target, h.verdict]);
  }
  return pad(rows);
}

function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function mdTable(header: string[], rows: string[][]): string {
  return [mdRow(header), mdRow(header.map(() => '---')), ...rows.map(mdRow)].join('\n');
}

export interface Page {
  date: string;
  machine: Machine;
  command: string;
  results: BenchResult[];
}

export function markdown(page: Page): string {
  const m = page.machine;
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${page.date}; this run: \`${page.command}\`.`,
    'Each figure is the median of its measured runs (after a warm-up), and each ratio the median of',
    'per-run ratios against its anchor measured in the same run, side by side. Benchmarks never fail',
    'a build: a target missed is reported as MISS. The machine is shared with other work (test',
    'suites, builds), so absolute times move from run to run; ratios are what to compare.',
    '',
    '## Machine',
    '',
    mdTable(
      ['', ''],
      [
        ['CPU', `${m.cpuModel} (${m.cores} cores)`],
        ['memory', m.memory],
        ['kernel', m.kernel],
        ['OS', m.os],
        ['load average (start → end)', `${m.loadStart} → ${m.loadEnd ?? '?'}`],
        ['Node.js', m.node],
        ['ssh2', `${m.ssh2} (${m.ssh2Crypto})`],
        ['OpenSSH (client, this machine)', m.openssh],
        ['lab hosts', m.labHosts],
        ['podman / CRIU / runc (prod)', `${m.podman} / ${m.criu} / ${m.runc}`],
        ['OpenSSH (sshd, prod)', m.sshd],
      ],
    ),
    '',
    '## Results',
    '',
    mdTable(
      ['benchmark', 'figure', 'ours', 'anchor', 'ratio', 'target', 'verdict'],
      page.results.flatMap((r) =>
        r.error && r.headlines.length === 0
          ? [[r.title, 'failed to run', '—', '—', '—', '—', 'N/A']]
          : r.headlines.map((h) => [r.title, h.figure, h.ours, h.anchor, ratioText(h.ratio), h.target, h.verdict]),
      ),
    ),
    '',
  ];
  for (const r of page.results) {
    lines.push(`## ${r.title}`, '', `Measured ${r.measuredAt}, ${r.runs} measured runs after a warm-up.`, '');
    if (r.error) lines.push(`**Did not complete:** ${r.error}`, '');
    if (r.variants.length > 0) {
      if (r.variantsCaption) lines.push(r.variantsCaption, '');
      lines.push(
        mdTable(
          ['variant', 'median', 'min – max', 'ratio', 'note'],
          r.variants.map((v) => [v.label, v.median, v.range, v.ratio ?? '', v.note ?? '']),
        ),
        '',
      );
    }
    for (const note of r.notes) lines.push(`- ${note}`);
    if (r.notes.length > 0) lines.push('');
  }
  return lines.join('\n');
}

/** Merges this run's results over the kept ones (same id replaced), in the order given. */
export function mergeResults(file: string, fresh: BenchResult[], order: string[]): BenchResult[] {
  const kept: BenchResult[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchResult[]) : [];
  const byId = new Map(kept.map((r) => [r.id, r]));
  for (const r of fresh) byId.set(r.id, r);
  mkdirSync(dirname(file), { recursive: true });
  const merged = order.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
  return merged;
}
