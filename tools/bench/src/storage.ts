import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessBus, createNatsBus, type Bus } from '@plex86/bus';
import { createImage, openImage, RemoteDisk, serveDisk, type BlockImage, type ImageFormat } from '@plex86/storage';
import { startNatsServer } from '@plex86/testing';
import type { Benchmark } from './index.js';
import { HELP_OPTION, parseBenchArgs, positiveInt } from './options.js';

const USAGE = `plex86 bench storage [--ops4k N] [--ops1m N] [--depth N] [--transport image|in-process|nats|all]
                       [--format qcow2|raw|all] [--dir DIR] [--nats-url URL]

Block I/O throughput of the storage service: 4 KiB random and 1 MiB sequential reads and writes,
with N requests in flight. "image" calls the image layer directly; "in-process" and "nats" send
block requests over the bus to the storage service (NATS against a nats-server started for the run,
or --nats-url). Every write is durable when acknowledged (fdatasync, group commit), so write figures
depend on the disk under --dir; reads mostly come from the host's page cache and measure the stack.

  --ops4k N     4 KiB requests per cell (default 4000)
  --ops1m N     1 MiB requests per cell; also the size in MiB of the region used (default 64)
  --depth N     requests in flight (default 16)
  --transport   image, in-process, nats or all (default all)
  --format      qcow2, raw or all (default qcow2)
  --dir DIR     where the scratch images go (default: the system temp directory)
  --nats-url    use this server instead of starting one`;

const KIB4 = 4096;
const MIB = 1 << 20;

type Transport = 'image' | 'in-process' | 'nats';

interface Settings {
  readonly ops4k: number;
  readonly ops1m: number;
  readonly depth: number;
  readonly transports: readonly Transport[];
  readonly formats: readonly ImageFormat[];
  readonly dir: string;
  readonly natsUrl: string | undefined;
}

/** Reads and writes of one disk, whatever carries them. */
interface Target {
  read(offset: number, length: number): Promise<void>;
  write(offset: number, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

function choice<T extends string>(name: string, value: string | undefined, options: readonly T[], all: T[]): T[] {
  if (value === undefined) return [all[0] as T];
  if (value === 'all') return all;
  if ((options as readonly string[]).includes(value)) return [value as T];
  throw new Error(`--${name} must be ${options.join(', ')} or all, not ${JSON.stringify(value)}`);
}

function parse(args: string[]): Settings | null {
  const values = parseBenchArgs(args, {
    ...HELP_OPTION,
    ops4k: { type: 'string' },
    ops1m: { type: 'string' },
    depth: { type: 'string' },
    transport: { type: 'string' },
    format: { type: 'string' },
    dir: { type: 'string' },
    'nats-url': { type: 'string' },
  });
  if (values.help) return null;
  const transports: Transport[] = ['image', 'in-process', 'nats'];
  return {
    ops4k: positiveInt('ops4k', values.ops4k, 4000),
    ops1m: positiveInt('ops1m', values.ops1m, 64),
    depth: positiveInt('depth', values.depth, 16),
    transports:
      values.transport === undefined ? transports : choice('transport', values.transport, transports, transports),
    formats: choice('format', values.format, ['qcow2', 'raw'] as const, ['qcow2', 'raw']),
    dir: values.dir ?? tmpdir(),
    natsUrl: values['nats-url'],
  };
}

function imageTarget(image: BlockImage): Target {
  return {
    read: (offset, length) => image.read(offset, new Uint8Array(length)),
    write: (offset, data) => image.write(offset, data),
    close: () => image.close(),
  };
}

/** Serves the image on `server` and sends block requests from `client`. */
async function busTarget(
  image: BlockImage,
  server: Bus,
  client: Bus,
  closeBuses: () => Promise<void>,
): Promise<Target> {
  const served = await serveDisk(server, 'bench', 'vda', image, {
    logger: { warn: () => undefined, error: (m) => process.stderr.write(`${m}\n`) },
  });
  const disk = await RemoteDisk.connect(client, served.subject, { timeoutMs: 60_000 });
  return {
    read: (offset, length) => disk.read(offset, new Uint8Array(length)),
    write: (offset, data) => disk.write(offset, data),
    async close() {
      await served.close();
      await closeBuses();
    },
  };
}

interface Cell {
  readonly workload: string;
  readonly ops: number;
  readonly bytesPerSecond: number;
  readonly opsPerSecond: number;
  readonly meanMicros: number;
}

/** Runs `ops` requests with `depth` in flight; `next(i)` issues request i. */
async function drive(workload: string, ops: number, depth: number, bytes: number, next: (i: number) => Promise<void>) {
  let issued = 0;
  let busy = 0;
  const worker = async (): Promise<void> => {
    while (issued < ops) {
      const i = issued++;
      const t0 = performance.now();
      await next(i);
      busy += performance.now() - t0;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(depth, ops) }, worker));
  const seconds = (performance.now() - start) / 1000;
  return {
    workload,
    ops,
    bytesPerSecond: (ops * bytes) / seconds,
    opsPerSecond: ops / seconds,
    meanMicros: (busy / ops) * 1000,
  } satisfies Cell;
}

/** A fixed sequence of offsets, the same for every transport. */
function randomOffsets(count: number, region: number, seed: number): Float64Array {
  const out = new Float64Array(count);
  let x = seed;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) % (region / KIB4)) * KIB4;
  }
  return out;
}

async function measure(target: Target, s: Settings): Promise<Cell[]> {
  const region = s.ops1m * MIB;
  const big = new Uint8Array(MIB).fill(0x5a);
  const small = new Uint8Array(KIB4).fill(0xa5);
  const writes = randomOffsets(s.ops4k, region, 0x1234567);
  const reads = randomOffsets(s.ops4k, region, 0x7654321);
  // Sequential writes first, so the random writes that follow overwrite allocated clusters.
  return [
    await drive('1 MiB seq write', s.ops1m, s.depth, MIB, (i) => target.write(i * MIB, big)),
    await drive('1 MiB seq read', s.ops1m, s.depth, MIB, (i) => target.read(i * MIB, MIB)),
    await drive('4 KiB rand write', s.ops4k, s.depth, KIB4, (i) => target.write(writes[i] as number, small)),
    await drive('4 KiB rand read', s.ops4k, s.depth, KIB4, (i) => target.read(reads[i] as number, KIB4)),
  ];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Throughput of the storage stack: image layer, in-process bus and NATS. */
export const storageBenchmark: Benchmark = {
  description:
    'block I/O of the storage service: 4 KiB random and 1 MiB sequential read/write, direct, in-process and NATS',
  async run(args, print) {
    const s = parse(args);
    if (s === null) {
      print(USAGE);
      return;
    }
    print(
      `storage: ${s.ops4k} x 4 KiB random and ${s.ops1m} x 1 MiB sequential requests per cell, ` +
        `${s.depth} in flight, images in ${s.dir}`,
    );
    const rows: string[][] = [];
    let server: { url: string; stop(): Promise<void> } | null = null;
    const dir = await mkdtemp(join(s.dir, 'plex86-bench-storage-'));
    try {
      for (const transport of s.transports) {
        for (const format of s.formats) {
          const path = join(dir, `${transport}.${format}`);
          await createImage(path, { format, size: s.ops1m * MIB });
          const image = await openImage(path);
          let target: Target;
          if (transport === 'image') target = imageTarget(image);
          else if (transport === 'in-process') {
            const bus = createInProcessBus();
            target = await busTarget(image, bus, bus, () => bus.close());
          } else {
            let url = s.natsUrl;
            if (url === undefined) {
              server ??= await startNatsServer();
              url = server.url;
            }
            const serverBus = await createNatsBus({ servers: url, name: 'bench-storage-server' });
            const clientBus = await createNatsBus({ servers: url, name: 'bench-storage-client' });
            target = await busTarget(image, serverBus, clientBus, async () => {
              await clientBus.close();
              await serverBus.close();
            });
          }
          try {
            for (const c of await measure(target, s)) {
              rows.push([
                transport,
                format,
                c.workload,
                (c.bytesPerSecond / MIB).toFixed(1),
                c.opsPerSecond.toFixed(0),
                c.meanMicros.toFixed(0),
              ]);
            }
          } finally {
            await target.close();
          }
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await server?.stop();
    }
    for (const line of table(['transport', 'format', 'workload', 'MiB/s', 'IOPS', 'mean µs'], rows)) print(line);
  },
};
