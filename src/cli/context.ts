// What every CLI command gets: the core (hosts, store), the output, the cancel signal (Ctrl-C),
// and its parsed options.
import type { Core } from '../core/core';
import type { Output } from './output';

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CliContext {
  core: Core;
  out: Output;
  signal: AbortSignal;
  values: OptionValues;
  positionals: string[];
  /** What the first Ctrl-C says from now on (once the work is done and only a tunnel is held). */
  onStopSay(line: string): void;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** One line for --help. */
  help: string;
}

export interface CliCommand {
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes. */
  positionals: [min: number, max: number];
  run(context: CliContext): Promise<number | void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}
