import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Option specs of one benchmark's command line. */
export type BenchOptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values for the specs O. */
export type BenchValues<O extends BenchOptionSpecs> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/** The `--help` option every benchmark takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses a benchmark's arguments strictly. `plex86 bench NAME -- --opt` hands the separator
 * through, so a leading `--` is dropped.
 */
export function parseBenchArgs<O extends BenchOptionSpecs>(args: string[], options: O): BenchValues<O> {
  return parseArgs({ args: args[0] === '--' ? args.slice(1) : args, options, strict: true, allowPositionals: false })
    .values;
}

/** A positive integer option, with a clear error for anything else. */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} wants a positive integer, not ${JSON.stringify(value)}`);
  return n;
}
