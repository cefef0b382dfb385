import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createNatsBus } from '@plex86/bus';
import { startStorageService } from './service.js';

export const USAGE = 'plex86 service storage --nats URL [--images DIR]';
export const HELP =
  `Usage: ${USAGE}\n\n` +
  'Runs the storage service as its own process: disk images, overlays, commit and undo\n' +
  '(plex86.storage.*) and a block device for every image opened through it\n' +
  '(plex86.<vm>.block.<disk>.*). Stops on SIGINT or SIGTERM, closing every open disk.\n\n' +
  '  --nats URL     NATS server, e.g. nats://127.0.0.1:4222 (required)\n' +
  '  --images DIR   directory that image paths in requests are relative to (default: .)\n';

export interface MainIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: MainIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/**
 * Entry point of the storage service process: parses the options, connects to NATS, serves until
 * `stop` aborts (by default on SIGINT/SIGTERM). Returns the exit status.
 */
export async function main(argv: string[], io: MainIo = processIo, stop?: AbortSignal): Promise<number> {
  let values: { nats?: string; images?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: { nats: { type: 'string' }, images: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (e) {
    io.err(`plex86 service storage: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  if (values.nats === undefined) {
    io.err(`plex86 service storage: --nats URL is required\n${HELP}`);
    return 2;
  }
  const imageDir = resolve(values.images ?? '.');
  let bus;
  try {
    bus = await createNatsBus({ servers: values.nats, name: 'plex86-storage', connectTimeoutMs: 5000 });
  } catch (e) {
    io.err(`plex86 service storage: cannot connect to NATS at ${values.nats}: ${(e as Error).message}\n`);
    return 1;
  }
  const logger = { warn: (m: string) => io.err(`warn: ${m}\n`), error: (m: string) => io.err(`error: ${m}\n`) };
  const service = await startStorageService(bus, { imageDir, logger });
  io.out(`plex86 storage service ready: images in ${imageDir}, NATS ${values.nats}\n`);
  await new Promise<void>((done) => {
    if (stop) {
      if (stop.aborted) done();
      stop.addEventListener('abort', () => done(), { once: true });
      return;
    }
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await service.stop();
  await bus.close();
  io.out('plex86 storage service stopped\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
