import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createNatsBus, processIo, type Bus, type ServiceIo, untilStopped } from '@plex86/bus';
import { startNetService } from './service.js';

export const USAGE = 'plex86 service net --nats URL [--segment NAME]';
export const HELP =
  `Usage: ${USAGE}\n\n` +
  'Runs the virtual Ethernet segment service as its own process: interfaces attach to a segment\n' +
  '(plex86.net.<segment>.attach-nic, detach-nic) and publish their frames on\n' +
  'plex86.net.<segment>.frames, where every other member receives them. The service counts the\n' +
  'frames and logs malformed ones. Stops on SIGINT or SIGTERM.\n\n' +
  '  --nats URL       NATS server, e.g. nats://127.0.0.1:4222 (required)\n' +
  '  --segment NAME   serve only this segment (default: every segment)\n';

/** Entry point of the net service process; serves until `stop` aborts (by default SIGINT/SIGTERM). */
export async function main(argv: string[], io: ServiceIo = processIo, stop?: AbortSignal): Promise<number> {
  let values: { nats?: string; segment?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        nats: { type: 'string' },
        segment: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    io.err(`plex86 service net: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.nats === undefined) {
    io.err(`plex86 service net: --nats URL is required\n${HELP}`);
    return 2;
  }
  let bus: Bus;
  try {
    bus = await createNatsBus({ servers: values.nats, name: 'plex86-hal-net', connectTimeoutMs: 5000 });
  } catch (e) {
    io.err(`plex86 service net: cannot connect to NATS at ${values.nats}: ${(e as Error).message}\n`);
    return 1;
  }
  const logger = { warn: (m: string) => io.err(`warn: ${m}\n`), error: (m: string) => io.err(`error: ${m}\n`) };
  let service;
  try {
    service = await startNetService(bus, { segment: values.segment, logger });
  } catch (e) {
    await bus.close();
    io.err(`plex86 service net: ${(e as Error).message}\n`);
    return 1;
  }
  io.out(
    `plex86 net service ready: ${values.segment === undefined ? 'every segment' : `segment ${values.segment}`} on ${service.subjectPrefix}, NATS ${values.nats}\n`,
  );
  await untilStopped(stop);
  await service.stop();
  await bus.close();
  io.out('plex86 net service stopped\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
