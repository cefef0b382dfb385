import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Bus, createNatsBus, processIo, type ServiceIo, untilStopped } from '@plex86/bus';
import { openImage } from './images.js';
import { serveDisk, startStorageService, type ServedDisk, type StorageServiceHandle } from './service.js';

export const USAGE =
  'plex86 service storage --nats URL [--images DIR] [--serve VM/DISK=IMAGE ...] [--serve-writable VM/DISK=IMAGE ...]';
export const HELP =
  `Usage: ${USAGE}\n\n` +
  'Runs the storage service as its own process: disk images, overlays, commit and undo\n' +
  '(plex86.storage.*) and a block device for every image opened through it\n' +
  '(plex86.<vm>.block.<disk>.*). Stops on SIGINT or SIGTERM, closing every open disk.\n\n' +
  '  --nats URL               NATS server, e.g. nats://127.0.0.1:4222 (required)\n' +
  '  --images DIR             manage the images in DIR: paths in requests are relative to it\n' +
  '                           (default: . unless --serve is given)\n' +
  '  --serve VM/DISK=IMAGE    serve IMAGE read-only as disk DISK of VM; may repeat. Several\n' +
  '                           processes serving the same disk share its requests (queue group).\n' +
  '  --serve-writable VM/DISK=IMAGE\n' +
  '                           serve IMAGE writable as disk DISK of VM (a qcow2 overlay keeps the\n' +
  '                           base intact); may repeat. A writable disk has one server: it is\n' +
  '                           refused while another process serves that disk.\n';

/** A disk this process serves from the command line. */
export interface ServeSpec {
  vm: string;
  disk: string;
  path: string;
  writable: boolean;
}

/** `vm1/vda=/images/base.raw` -> its parts. */
export function parseServe(text: string, writable = false): ServeSpec {
  const m = /^([^/=\s]+)\/([^/=\s]+)=(.+)$/.exec(text);
  const option = writable ? '--serve-writable' : '--serve';
  if (!m) throw new Error(`${option} wants VM/DISK=IMAGE, got "${text}"`);
  return { vm: m[1] as string, disk: m[2] as string, path: m[3] as string, writable };
}

/**
 * Refuses to serve a disk another process serves in a way that cannot be shared: a writable disk
 * must have one server (two would each apply writes to their own view of the image), and read-only
 * servers only join other read-only ones.
 */
async function checkNotServed(bus: Bus, spec: ServeSpec): Promise<void> {
  const others = (await bus.discover()).filter((s) => s.metadata['vm'] === spec.vm && s.metadata['disk'] === spec.disk);
  const name = `${spec.vm}/${spec.disk}`;
  if (spec.writable && others.length > 0) {
    throw new Error(`${name} is already served by another process; a writable disk has a single server`);
  }
  if (others.some((s) => s.metadata['read_only'] !== 'true')) {
    throw new Error(`${name} is already served writable by another process`);
  }
}

/**
 * Entry point of the storage service process: parses the options, connects to NATS, serves until
 * `stop` aborts (by default on SIGINT/SIGTERM). Returns the exit status.
 */
export async function main(argv: string[], io: ServiceIo = processIo, stop?: AbortSignal): Promise<number> {
  let values: { nats?: string; images?: string; serve?: string[]; 'serve-writable'?: string[]; help?: boolean };
  let serve: ServeSpec[];
  try {
    values = parseArgs({
      args: argv,
      options: {
        nats: { type: 'string' },
        images: { type: 'string' },
        serve: { type: 'string', multiple: true },
        'serve-writable': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
    serve = [
      ...(values.serve ?? []).map((text) => parseServe(text)),
      ...(values['serve-writable'] ?? []).map((text) => parseServe(text, true)),
    ];
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
  const imageDir = values.images !== undefined || serve.length === 0 ? resolve(values.images ?? '.') : null;
  let bus;
  try {
    bus = await createNatsBus({ servers: values.nats, name: 'plex86-storage', connectTimeoutMs: 5000 });
  } catch (e) {
    io.err(`plex86 service storage: cannot connect to NATS at ${values.nats}: ${(e as Error).message}\n`);
    return 1;
  }
  const logger = { warn: (m: string) => io.err(`warn: ${m}\n`), error: (m: string) => io.err(`error: ${m}\n`) };
  const disks: ServedDisk[] = [];
  let service: StorageServiceHandle | null = null;
  try {
    for (const s of serve) {
      await checkNotServed(bus, s);
      const image = await openImage(s.path, { readOnly: !s.writable });
      try {
        disks.push(await serveDisk(bus, s.vm, s.disk, image, { logger }));
      } catch (e) {
        await image.close();
        throw e;
      }
      io.out(`serving ${s.path} ${s.writable ? 'writable' : 'read-only'} as ${s.vm}/${s.disk}\n`);
    }
    if (imageDir !== null) service = await startStorageService(bus, { imageDir, logger });
  } catch (e) {
    for (const d of disks) await d.close();
    await bus.close();
    io.err(`plex86 service storage: ${(e as Error).message}\n`);
    return 1;
  }
  io.out(
    `plex86 storage service ready: ${imageDir === null ? 'no image directory' : `images in ${imageDir}`}, NATS ${values.nats}\n`,
  );
  await untilStopped(stop);
  await service?.stop();
  for (const d of disks) await d.close();
  await bus.close();
  io.out('plex86 storage service stopped\n');
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
