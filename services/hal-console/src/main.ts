import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createNatsBus, processIo, type Bus, type ServiceIo, untilStopped } from '@plex86/bus';
import { startConsoleBackend, type ConsoleBackend } from './backend.js';
import {
  fileEndpoint,
  parseTcpAddress,
  stdioEndpoint,
  tcpEndpoint,
  type ConsoleEndpoint,
  type StdioStreams,
} from './endpoints.js';

export const USAGE = 'plex86 service console --nats URL --vm ID [--console ID] [--backend stdio|file:PATH|tcp:PORT]';
export const HELP =
  `Usage: ${USAGE}\n\n` +
  'Runs a console backend as its own process: the output of console ID of VM ID\n' +
  '(plex86.<vm>.console.<id>.out) goes to the backend, and what is typed there goes to the guest\n' +
  'through the monitor (plex86.<vm>.console.<id>.write-console-input). Stops on SIGINT or SIGTERM;\n' +
  'on a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n\n' +
  '  --nats URL        NATS server, e.g. nats://127.0.0.1:4222 (required)\n' +
  '  --vm ID           the VM (required)\n' +
  '  --console ID      the console of the VM (default 0)\n' +
  '  --backend KIND    stdio (default): this terminal, in raw mode when it is a TTY\n' +
  '                    file:PATH: append the output to PATH (no input)\n' +
  '                    tcp:PORT or tcp:127.0.0.1:PORT: serve clients on loopback, e.g. with\n' +
  '                    `nc 127.0.0.1 PORT`; output to every client, input from any\n';

/** The endpoint a `--backend` value names; throws an Error saying what is wrong. */
export function parseBackend(text: string, log: (line: string) => void, stdio?: StdioStreams): ConsoleEndpoint {
  if (text === 'stdio') return stdioEndpoint(stdio);
  if (text.startsWith('file:') && text.length > 5) return fileEndpoint(text.slice(5), log);
  if (text.startsWith('tcp:')) return tcpEndpoint(parseTcpAddress(text.slice(4)), log);
  throw new Error(`--backend wants stdio, file:PATH or tcp:[HOST:]PORT, got ${JSON.stringify(text)}`);
}

/**
 * Entry point of the console backend process; runs until `stop` aborts (by default SIGINT/SIGTERM)
 * or the user quits. Status lines go to stderr, so they never mix with the guest's output.
 */
export async function main(
  argv: string[],
  io: ServiceIo = processIo,
  stop?: AbortSignal,
  stdio?: StdioStreams,
): Promise<number> {
  let values: { nats?: string; vm?: string; console?: string; backend?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        nats: { type: 'string' },
        vm: { type: 'string' },
        console: { type: 'string' },
        backend: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.err(`plex86 service console: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.nats === undefined || values.vm === undefined) {
    io.err(`plex86 service console: --nats URL and --vm ID are required\n${HELP}`);
    return 2;
  }
  const log = (line: string) => io.err(`${line}\n`);
  const logger = { warn: (m: string) => io.err(`warn: ${m}\n`), error: (m: string) => io.err(`error: ${m}\n`) };
  let endpoint: ConsoleEndpoint;
  try {
    endpoint = parseBackend(values.backend ?? 'stdio', log, stdio);
  } catch (e) {
    io.err(`plex86 service console: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  let bus: Bus;
  try {
    if ('listening' in endpoint) await (endpoint as { listening: Promise<unknown> }).listening;
    bus = await createNatsBus({ servers: values.nats, name: 'plex86-hal-console', connectTimeoutMs: 5000 });
  } catch (e) {
    await endpoint.close().catch(() => undefined);
    io.err(`plex86 service console: ${(e as Error).message}\n`);
    return 1;
  }
  let backend: ConsoleBackend;
  try {
    backend = startConsoleBackend(bus, { vm: values.vm, consoleId: values.console, endpoint, logger });
  } catch (e) {
    await endpoint.close().catch(() => undefined);
    await bus.close();
    io.err(`plex86 service console: ${(e as Error).message}\n`);
    return 1;
  }
  await backend.ready.catch(() => undefined);
  log(`plex86 console ${backend.consoleId} of VM ${backend.vm} on ${endpoint.description}, NATS ${values.nats}`);
  await Promise.race([untilStopped(stop), backend.quit]);
  await backend.stop();
  await bus.close();
  log('plex86 console stopped');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
