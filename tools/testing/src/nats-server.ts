import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's `nats-server` package installs the binary. */
export const DEFAULT_NATS_SERVER_BIN = '/usr/sbin/nats-server';

export interface NatsServerOptions {
  /** Client port; 0 (the default) lets the kernel pick a free one, read back from the server log. */
  readonly port?: number;
  /** Enable JetStream with a store in a fresh temporary directory. */
  readonly jetstream?: boolean;
  /**
   * Largest message (headers + payload) the server accepts, in bytes. The default (8 MiB) leaves room
   * for 1 MiB bus payloads plus headers, which the stock 1 MiB limit does not.
   */
  readonly maxPayloadBytes?: number;
  /** The binary; defaults to $NATS_SERVER_BIN, then /usr/sbin/nats-server. */
  readonly bin?: string;
  /** How long to wait for "Server is ready" (ms). */
  readonly startTimeoutMs?: number;
  /** Receives every log line the server writes (for debugging a failing test). */
  readonly onLog?: (line: string) => void;
}

/** A running nats-server bound to 127.0.0.1. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** PID of the current server process (changes on restart). */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period) and removes its temporary files. */
  stop(): Promise<void>;
  /** Stops the server and starts a new one on the same port and store; clients can reconnect to `url`. */
  restart(): Promise<void>;
}

const LISTENING = /Listening for client connections on [^\s]*:(\d+)/;
const READY = 'Server is ready';
const FATAL = /\[FTL\]\s*(.*)/;
const STOP_GRACE_MS = 3000;
const LOG_TAIL_LINES = 20;

/** Every server this process started and has not stopped, so none outlives it. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Resolves the binary and fails with installation advice when it is missing. */
export function resolveNatsServerBin(bin?: string): string {
  const path = bin ?? process.env['NATS_SERVER_BIN'] ?? DEFAULT_NATS_SERVER_BIN;
  try {
    accessSync(path, fsConstants.X_OK);
  } catch {
    throw new Error(
      `nats-server not found or not executable at ${path}: install it with \`apt-get install nats-server\` ` +
        `or set NATS_SERVER_BIN to the path of a nats-server binary`,
    );
  }
  return path;
}

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
}

function launch(bin: string, args: string[], timeoutMs: number, onLog?: (line: string) => void): Promise<Started> {
  return new Promise<Started>((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const tail: string[] = [];
    let port = 0;
    let settled = false;
    let partial = '';

    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      const log = tail.length > 0 ? `\n--- nats-server log ---\n${tail.join('\n')}` : '';
      reject(new Error(`nats-server (${bin} ${args.join(' ')}) failed to start: ${reason}${log}`));
    };

    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        onLog?.(line);
        tail.push(line);
        if (tail.length > LOG_TAIL_LINES) tail.shift();
        if (settled) continue;
        const listening = LISTENING.exec(line);
        if (listening) port = Number(listening[1]);
        const fatal = FATAL.exec(line);
        if (fatal) fail(fatal[1] ?? line);
        if (line.includes(READY)) {
          if (port === 0) {
            fail('the log did not name the client port');
            continue;
          }
          settled = true;
          clearTimeout(timer);
          running.add(child);
          child.once('exit', () => running.delete(child));
          resolve({ child, port });
        }
      }
    });
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? `code ${code}`}`));
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Spawns nats-server on 127.0.0.1 and waits until it accepts clients. The port is chosen by the kernel
 * (`-p -1`) unless given, and read from the log, so parallel test runs never race for a free port.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = resolveNatsServerBin(options.bin);
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'plex86-nats-'));
  const config = join(dir, 'nats.conf');
  writeFileSync(config, `max_payload: ${options.maxPayloadBytes ?? 8 * 1024 * 1024}\n`);

  const argsFor = (port: number): string[] => {
    const args = ['-c', config, '-a', '127.0.0.1', '-p', String(port === 0 ? -1 : port)];
    if (options.jetstream) args.push('-js', '-sd', join(dir, 'jetstream'));
    return args;
  };

  let current: Started;
  try {
    current = await launch(bin, argsFor(options.port ?? 0), timeoutMs, options.onLog);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  installExitHook();
  const port = current.port;
  let stopped = false;

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid(): number {
      return current.child.pid ?? -1;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await terminate(current.child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(): Promise<void> {
      if (stopped) throw new Error(`nats-server on port ${port} was stopped; start a new one instead`);
      await terminate(current.child);
      current = await launch(bin, argsFor(port), timeoutMs, options.onLog);
    },
  };
}
