import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Bus, createNatsBus, processIo, type ServiceIo, untilStopped } from '@plex86/bus';
import { busDebugTarget } from './bus-target.js';
import { parseListenAddress, startDebugger, type ListenAddress } from './server.js';

export const USAGE = 'plex86 service debugger --nats URL --vm ID [--listen HOST:PORT]';
export const HELP =
  `Usage: ${USAGE}\n\n` +
  'Runs the GDB remote protocol server as its own process: gdb connects over TCP\n' +
  '(target remote HOST:PORT) and the server drives the monitor of VM ID over NATS\n' +
  '(plex86.<vm>.debug.*). One gdb at a time; stops on SIGINT or SIGTERM, detaching.\n\n' +
  '  --nats URL          NATS server, e.g. nats://127.0.0.1:4222 (required)\n' +
  '  --vm ID             the VM to debug (required)\n' +
  '  --listen HOST:PORT  where gdb connects, tcp: prefix allowed (default 127.0.0.1:1234)\n';

/** Entry point of the debugger process; serves until `stop` aborts (by default SIGINT/SIGTERM). */
export async function main(argv: string[], io: ServiceIo = processIo, stop?: AbortSignal): Promise<number> {
  let values: { nats?: string; vm?: string; listen?: string; help?: boolean };
  let listen: ListenAddress;
  try {
    values = parseArgs({
      args: argv,
      options: {
        nats: { type: 'string' },
        vm: { type: 'string' },
        listen: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
    listen = parseListenAddress(values.listen ?? '127.0.0.1:1234');
  } catch (e) {
    io.err(`plex86 service debugger: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.nats === undefined || values.vm === undefined) {
    io.err(`plex86 service debugger: --nats URL and --vm ID are required\n${HELP}`);
    return 2;
  }
  let bus: Bus;
  try {
    bus = await createNatsBus({ servers: values.nats, name: 'plex86-debugger', connectTimeoutMs: 5000 });
  } catch (e) {
    io.err(`plex86 service debugger: cannot connect to NATS at ${values.nats}: ${(e as Error).message}\n`);
    return 1;
  }
  const log = (line: string) => io.err(`${line}\n`);
  let target;
  let server;
  try {
    target = busDebugTarget(bus, values.vm, { log });
    server = await startDebugger({ listen, target, log });
  } catch (e) {
    target?.close();
    await bus.close();
    io.err(`plex86 service debugger: ${(e as Error).message}\n`);
    return 1;
  }
  io.out(`plex86 debugger for VM ${values.vm} listening on tcp:${server.address.host}:${server.address.port}\n`);
  await untilStopped(stop);
  await server.close();
  target.close();
  await bus.close();
  io.out('plex86 debugger stopped\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
