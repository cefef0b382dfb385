/**
 * For the tests that run the default Linux guest through the `plex86` command in child processes:
 * starting and ending those processes, and running one shell command at the guest's prompt.
 */

import { join } from 'node:path';
import { startConsoleProcess, type ConsoleProcess } from '@plex86/guest';

type ConsoleProcessOptions = Parameters<typeof startConsoleProcess>[2];

/** The `plex86` command, run with this process's node. */
export const PLEX86_CLI = join(import.meta.dirname, '../bin/plex86.mjs');
/** A boot of the default guest; generous, as the machine is shared with other test runs. */
export const BOOT_TIMEOUT_MS = 900_000;
/** One shell command at the guest's prompt. */
export const COMMAND_TIMEOUT_MS = 120_000;

/** Child processes a test file starts; `killAll` (in afterAll) ends those still running. */
export class ChildProcesses {
  private readonly running: ConsoleProcess[] = [];

  start(command: string, args: string[], options?: ConsoleProcessOptions): ConsoleProcess {
    const p = startConsoleProcess(command, args, options);
    this.running.push(p);
    return p;
  }

  /** `plex86 ARGS...` */
  plex86(args: string[], options?: ConsoleProcessOptions): ConsoleProcess {
    return this.start(process.execPath, [PLEX86_CLI, ...args], options);
  }

  killAll(): void {
    for (const p of this.running) p.kill();
  }
}

let marks = 0;

/**
 * Runs one command at the prompt and resolves with what it printed. The output is cut between two
 * markers the shell computes (`$((n))`), so neither the echo of the typed line, which the line
 * editor may wrap, nor stray kernel messages before it are taken for output.
 */
export async function shell(p: ConsoleProcess, command: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const n = (marks += 2);
  const begin = `<<${n}>>`;
  const end = `<<${n + 1}>>`;
  const from = p.console.output.length;
  await p.console.typeLines([`echo "<<$((${n}))>>"; ${command}; echo "<<$((${n + 1}))>>"`], timeoutMs);
  const at = await p.console.waitFor(begin, timeoutMs, `the output of ${command}`, from);
  const stop = await p.console.waitFor(end, timeoutMs, `the end of ${command}`, at);
  return p.console.output
    .slice(at + begin.length, stop)
    .replace(/\r/g, '')
    .replace(/^\n/, '');
}
