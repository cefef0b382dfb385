import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes; tests pass their own to capture output. */
export interface CommandIo {
  out(text: string): void;
  /** Raw bytes for standard output (guest output is not always text). */
  outBytes(data: Uint8Array): void;
  err(text: string): void;
  /** The terminal for interactive guests; process.stdin/stdout when absent. */
  streams?: {
    readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
    readonly stdout: NodeJS.WritableStream;
  };
}

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Values of parsed options, keyed by long option name. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One `plex86` subcommand. */
export interface Command {
  /** The word after `plex86`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Synopsis, e.g. `plex86 disasm [--bits 16|32] [--base HEX] FILE`. */
  readonly usage: string;
  /** Option and argument descriptions shown by `--help`. */
  readonly details: string;
  readonly options: OptionSpecs;
  /** Hands every argument after the command name to `run` as positionals, unparsed. */
  readonly passThrough?: boolean;
  /** Runs the command and returns the process exit status. */
  run(values: OptionValues, positionals: string[], io: CommandIo): Promise<number>;
}

/** A user mistake on the command line: printed with the usage, exit status 2. */
export class UsageError extends Error {}

export function helpText(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary}\n${command.details ? `\n${command.details.trimEnd()}\n` : ''}`;
}

/** Parses argv for one command and runs it; `--help` prints its help. */
export async function runCommand(command: Command, argv: string[], io: CommandIo): Promise<number> {
  if (command.passThrough && argv[0] !== '--help' && argv[0] !== '-h') {
    return runParsed(command, {}, argv, io);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    io.err(`plex86 ${command.name}: ${(e as Error).message}\n${helpText(command)}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(helpText(command));
    return 0;
  }
  return runParsed(command, parsed.values as OptionValues, parsed.positionals, io);
}

async function runParsed(
  command: Command,
  values: OptionValues,
  positionals: string[],
  io: CommandIo,
): Promise<number> {
  try {
    return await command.run(values, positionals, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`plex86 ${command.name}: ${e.message}\n${helpText(command)}`);
      return 2;
    }
    io.err(`plex86 ${command.name}: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Reads a string option, or undefined when absent. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Parses an integer option in the given radix, with a clear error for junk. */
export function integerOption(values: OptionValues, name: string, radix: 10 | 16, fallback: number): number {
  const raw = stringOption(values, name);
  if (raw === undefined) return fallback;
  const text = radix === 16 ? raw.replace(/^0x/i, '') : raw;
  const pattern = radix === 16 ? /^[0-9a-f]+$/i : /^[0-9]+$/;
  if (!pattern.test(text))
    throw new UsageError(`--${name} needs a ${radix === 16 ? 'hexadecimal' : 'decimal'} number, got "${raw}"`);
  return parseInt(text, radix);
}
