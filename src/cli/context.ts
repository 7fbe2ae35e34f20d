// The shape of a CLI command, in two steps: parse() turns the arguments into a request and checks
// every one of them (names, ports, hosts, option values) without touching a host — anything it
// throws is a usage error (exit 2) — and run() does the work with the core, the output, the
// cancel signal (Ctrl-C) and that request.
import type { Core } from '../core';
import { SnapdebugError, parseContainerAddress, validateHostSpec } from '../core';
import type { Output } from './output';

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What parse() gets: the command's own and the global options, and the positional arguments. */
export interface Arguments {
  values: OptionValues;
  positionals: string[];
}

export interface CliContext {
  core: Core;
  out: Output;
  signal: AbortSignal;
  /** What the first Ctrl-C says from now on (once the work is done and only a tunnel is held). */
  onStopSay(line: string): void;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** One line for --help. */
  help: string;
  /** For --help: the value's placeholder (DIR, HOST). */
  value?: string;
  /** For --help: a boolean that is on unless turned off with --no-NAME. */
  onByDefault?: boolean;
}

export interface CliCommand<R = unknown> {
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments it takes. */
  positionals: [min: number, max: number];
  /** The request, every argument checked; throws (a usage error) before any host is touched. */
  parse(args: Arguments): R;
  run(context: CliContext, request: R): Promise<number | void>;
}

/** A command whose request type stays checked inside it, listed beside the others. */
export function defineCommand<R>(command: CliCommand<R>): CliCommand {
  return command as unknown as CliCommand;
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

/** A value the command cannot do without. */
export function required(values: OptionValues, name: string, what: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value === '') throw new SnapdebugError(`--${name} is missing: ${what}.`);
  return value;
}

/** A host named on the command line, checked for form. */
export function hostArgument(text: string): string {
  return validateHostSpec(text);
}

/** HOST/CONTAINER, both parts checked for form. */
export function containerArgument(text: string): { host: string; container: string } {
  const address = parseContainerAddress(text);
  validateHostSpec(address.host);
  return address;
}
