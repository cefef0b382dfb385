import { spawn, type ChildProcess } from 'node:child_process';
import {
  DEFAULT_WORKLOAD,
  parseWorkloadOutput,
  WORKLOAD_BEGIN,
  WORKLOAD_END,
  WORKLOAD_KEYS,
  WORKLOAD_MARK,
  workloadTypedLines,
  type WorkloadKey,
  type WorkloadResults,
  type WorkloadSize,
} from './workload.js';

/** What the guest's shell prints as its prompt (PS1 in the guest's /etc/profile, in `/`). */
export const GUEST_PROMPT = 'plex86:/# ';

export class ConsoleTimeoutError extends Error {}

interface Waiter {
  readonly needle: string;
  from: number;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The guest's serial console seen from the host: output accumulates here, and the host waits for
 * text on it and types lines at it. Whatever carries the bytes (a child's stdio, an emulator's
 * events) calls `feed` and provides `send`.
 */
export class GuestConsole {
  private text = '';
  private readonly waiters = new Set<Waiter>();
  private failure: Error | undefined;
  /** Where each chunk fed so far ends in the output, and when it arrived (performance.now()). */
  private readonly chunkEnds: number[] = [];
  private readonly chunkTimes: number[] = [];

  constructor(private readonly send: (text: string) => void) {}

  /** Everything the guest printed so far (bytes as latin1). */
  get output(): string {
    return this.text;
  }

  /** The last `chars` characters of the output, for error messages. */
  tail(chars = 2000): string {
    return this.text.slice(-chars);
  }

  /** When the character at `index` of the output arrived (performance.now()), or undefined before it has. */
  arrivedAt(index: number): number | undefined {
    const ends = this.chunkEnds;
    let lo = 0;
    let hi = ends.length;
    // The first chunk that ends past `index` holds it.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] as number) > index) hi = mid;
      else lo = mid + 1;
    }
    return lo < ends.length && index >= 0 ? this.chunkTimes[lo] : undefined;
  }

  /** Output from the guest, which arrived at `arrived` (performance.now()). */
  feed(chunk: string, arrived = performance.now()): void {
    if (chunk === '') return;
    this.text += chunk;
    this.chunkEnds.push(this.text.length);
    this.chunkTimes.push(arrived);
    for (const w of this.waiters) {
      const index = this.text.indexOf(w.needle, w.from);
      if (index >= 0) {
        this.settle(w);
        w.resolve(index);
      } else {
        // Only the part that could still start a match needs searching next time.
        w.from = Math.max(w.from, this.text.length - w.needle.length + 1);
      }
    }
  }

  /** Rejects every wait, now and later: the guest is gone. */
  fail(error: Error): void {
    this.failure ??= error;
    for (const w of this.waiters) {
      this.settle(w);
      w.reject(error);
    }
  }

  /** Resolves with the index of the first `needle` at or after `from` in the output. */
  waitFor(needle: string, timeoutMs: number, what: string, from = 0): Promise<number> {
    const found = this.text.indexOf(needle, from);
    if (found >= 0) return Promise.resolve(found);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        needle,
        from: Math.max(from, this.text.length - needle.length + 1),
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter);
          reject(
            new ConsoleTimeoutError(
              `no ${what} within ${(timeoutMs / 1000).toFixed(0)} s; ` +
                (this.text.trim() === ''
                  ? 'the console has shown nothing'
                  : `the console's last lines:\n${this.tail()}`),
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * Types lines one at a time, each once the guest has echoed the line before it: a UART without
   * flow control then never sees more than a line in flight.
   */
  async typeLines(lines: readonly string[], timeoutMs: number): Promise<void> {
    for (const line of lines) {
      const from = this.text.length;
      this.send(`${line}\n`);
      await this.waitFor('\n', timeoutMs, `echo of the typed line ${JSON.stringify(line)}`, from);
    }
  }

  private settle(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }
}

export interface WorkloadRun {
  readonly results: WorkloadResults;
  /** Host seconds from the workload's begin marker to its end marker on the console. */
  readonly seconds: number;
  /** Host seconds of each step: from the result line before it (or the begin marker) to its own. */
  readonly steps: Record<WorkloadKey, number>;
}

/**
 * Types the workload at the shell prompt (which must already be showing) and waits for its
 * results. The clock runs from the begin marker to the end marker, so typing is not timed.
 */
export async function runWorkload(
  guestConsole: GuestConsole,
  options: {
    readonly size?: WorkloadSize;
    readonly timeoutMs: number;
    /** Called as soon as the begin marker shows, e.g. to read an instruction counter. */
    readonly onBegin?: () => void;
    /** Called as soon as each step's result line shows, in the order of WORKLOAD_KEYS. */
    readonly onStep?: (key: WorkloadKey) => void;
    /** Called as soon as the end marker shows. */
    readonly onEnd?: () => void;
  },
): Promise<WorkloadRun> {
  const lines = workloadTypedLines(options.size ?? DEFAULT_WORKLOAD);
  const from = guestConsole.output.length;
  await guestConsole.typeLines(lines, 30_000);
  const begin = await guestConsole.waitFor(`\n${WORKLOAD_BEGIN}`, 30_000, 'start of the workload', from);
  const started = performance.now();
  options.onBegin?.();
  const left = () => Math.max(1, started + options.timeoutMs - performance.now());
  const onStep = options.onStep;
  if (onStep !== undefined) {
    let at = begin;
    for (const key of WORKLOAD_KEYS) {
      at = await guestConsole.waitFor(stepLine(key), left(), `${key} line of the workload`, at);
      onStep(key);
    }
  }
  const end = await guestConsole.waitFor(`\n${WORKLOAD_END}`, left(), 'end of the workload', from);
  const seconds = (performance.now() - started) / 1000;
  options.onEnd?.();
  await guestConsole.waitFor('\n', 5_000, 'end of the last workload line', end + 1);
  const results = parseWorkloadOutput(guestConsole.output.slice(from));
  return { results, seconds, steps: stepSeconds(guestConsole, begin) };
}

/** Where the result line of step `key` starts in the console output: after a line end. */
function stepLine(key: WorkloadKey): string {
  return `\n${WORKLOAD_MARK}: ${key}=`;
}

/** Seconds between the arrivals of consecutive result lines, the first from the begin marker at `begin`. */
function stepSeconds(guestConsole: GuestConsole, begin: number): Record<WorkloadKey, number> {
  const steps = {} as Record<WorkloadKey, number>;
  let at = begin;
  let previous = guestConsole.arrivedAt(begin + 1) ?? 0;
  for (const key of WORKLOAD_KEYS) {
    // The results parsed, so every line is there, in this order.
    at = guestConsole.output.indexOf(stepLine(key), at);
    if (at < 0) throw new Error(`no ${key} line after the begin marker`);
    const arrived = guestConsole.arrivedAt(at + 1) ?? previous;
    steps[key] = Math.max(0, arrived - previous) / 1000;
    previous = arrived;
  }
  return steps;
}

/** A guest machine running in a child process with its serial console on stdio. */
export interface ConsoleProcess {
  readonly console: GuestConsole;
  readonly child: ChildProcess;
  /** Resolves when the child has exited, with its status (or signal) and what it wrote to stderr. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: string | null; readonly stderr: string }>;
  /** Ends the child with SIGKILL if it is still running. */
  kill(): void;
}

/**
 * Starts `command` with the guest's serial console on its stdin and stdout; stderr is kept apart
 * (for statistics), and also fed to the console when `stderrToConsole` is set. With `ipc`, a Node
 * child also gets an IPC channel.
 */
export function startConsoleProcess(
  command: string,
  args: readonly string[],
  options: { readonly stderrToConsole?: boolean; readonly ipc?: boolean; readonly env?: NodeJS.ProcessEnv } = {},
): ConsoleProcess {
  const child = spawn(command, args, {
    stdio: options.ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  const { stdin, stdout, stderr: errors } = child;
  if (!stdin || !stdout || !errors) throw new Error(`${command} was started without pipes`);
  const guestConsole = new GuestConsole((text) => {
    if (stdin.writable) stdin.write(text, 'latin1');
  });
  let stderr = '';
  stdout.setEncoding('latin1');
  errors.setEncoding('latin1');
  stdout.on('data', (chunk: string) => guestConsole.feed(chunk));
  errors.on('data', (chunk: string) => {
    stderr += chunk;
    if (options.stderrToConsole) guestConsole.feed(chunk);
  });
  // A guest that stops reading its input must not crash the host with EPIPE.
  stdin.on('error', () => undefined);
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    child.on('error', (e) => {
      const error = new Error(`cannot run ${command}: ${e.message}`);
      guestConsole.fail(error);
      resolve({ code: null, signal: null, stderr: `${stderr}${error.message}\n` });
    });
    child.on('close', (code, signal) => {
      const how = signal !== null ? `signal ${signal}` : `status ${String(code)}`;
      const last = stderr.trim().split('\n').slice(-5).join('\n');
      guestConsole.fail(new Error(`${command} exited (${how})${last ? `: ${last}` : ''}`));
      resolve({ code, signal, stderr });
    });
  });
  return {
    console: guestConsole,
    child,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** qemu-system-i386 arguments that boot `kernel` and `initrd` with the serial console on stdio. */
export function qemuBootArgs(
  kernel: string,
  initrd: string,
  cmdline: string,
  options: { readonly cpu?: string; readonly memoryMiB?: number } = {},
): string[] {
  return [
    ...['-accel', 'tcg', '-cpu', options.cpu ?? 'pentium2', '-m', String(options.memoryMiB ?? 256)],
    ...['-display', 'none', '-no-reboot', '-nodefaults', '-serial', 'stdio'],
    ...['-kernel', kernel, '-initrd', initrd, '-append', cmdline],
  ];
}
