import { stderrLogger, validateToken, type Bus, type BusLogger } from '@plex86/bus';
import type { ConsoleEndpoint } from './endpoints.js';
import { ConsoleInputSender, type InputStats } from './input.js';
import { ConsoleOutputReader, type OutputStats } from './output.js';

export interface ConsoleBackendOptions {
  readonly vm: string;
  /** ConsoleConfig.id; default `0`. */
  readonly consoleId?: string;
  readonly endpoint: ConsoleEndpoint;
  readonly logger?: BusLogger;
  /** Input bytes kept while the guest does not take them. */
  readonly maxPendingInput?: number;
  readonly requestTimeoutMs?: number;
}

export interface ConsoleBackend {
  readonly vm: string;
  readonly consoleId: string;
  /** Resolves once the output subscription has reached the transport (a NATS server round trip). */
  readonly ready: Promise<void>;
  /** Resolves when the user asks to quit (Ctrl-A x on a terminal). */
  readonly quit: Promise<void>;
  readonly output: Readonly<OutputStats>;
  readonly input: Readonly<InputStats>;
  /** Resolves once every typed byte so far was accepted by the monitor or dropped. */
  inputIdle(): Promise<void>;
  /** Stops following the console and releases the endpoint. */
  stop(): Promise<void>;
}

/**
 * Connects one console of a VM to an endpoint (terminal, file, TCP): the monitor's output chunks
 * go to the endpoint in sequence order, and what the user types goes to the monitor through
 * ConsoleService, with back-pressure. Runs the same on the in-process bus (plex86 run) and on NATS.
 */
export function startConsoleBackend(bus: Bus, options: ConsoleBackendOptions): ConsoleBackend {
  const consoleId = validateToken(options.consoleId ?? '0', 'console id');
  const vm = validateToken(options.vm, 'VM id');
  const logger = options.logger ?? stderrLogger;
  const endpoint = options.endpoint;
  const reader = new ConsoleOutputReader(bus, vm, consoleId, (bytes) => endpoint.write(bytes), logger);
  const sender = new ConsoleInputSender(bus, vm, consoleId, {
    logger,
    maxPending: options.maxPendingInput,
    timeoutMs: options.requestTimeoutMs,
  });
  let quitResolve!: () => void;
  const quit = new Promise<void>((resolve) => (quitResolve = resolve));
  try {
    endpoint.start(
      (bytes) => sender.push(bytes),
      () => quitResolve(),
    );
  } catch (e) {
    reader.close();
    sender.close();
    throw e;
  }
  let stopped = false;
  const ready = bus.flush();
  // A failed flush (the bus went down) shows in later requests; `ready` only orders start-up.
  ready.catch(() => undefined);
  return {
    vm,
    consoleId,
    ready,
    quit,
    output: reader.stats,
    input: sender.stats,
    inputIdle: () => sender.idle(),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      reader.close();
      sender.close();
      await endpoint.close();
    },
  };
}
