import { createInProcessBus, createNatsBus, type Bus } from '@plex86/bus';
import { startNatsServer } from '@plex86/testing';
import type { Benchmark } from './index.js';
import { HELP_OPTION, parseBenchArgs, positiveInt } from './options.js';

const USAGE = `plex86 bench bus [--requests N] [--warmup N] [--outstanding N] [--transport in-process|nats|all]
                   [--nats-url URL]

Request/reply over the bus: latency (one request at a time: p50, p99, mean) and throughput (one at a
time and with N outstanding), 64 B and 4 KiB payloads, answered by an echo service in this process.
NATS runs against a nats-server started for the run (or --nats-url), responder on its own connection.

  --requests N     requests per cell after warm-up (default 5000)
  --warmup N       requests before each cell, not measured (default 500)
  --outstanding N  requests in flight for the throughput column (default 64)
  --transport T    in-process, nats or all (default all)
  --nats-url URL   use this server instead of starting one`;

const PAYLOAD_SIZES = [64, 4096] as const;
const SUBJECT = 'plex86.bench.bus.echo';

interface Settings {
  readonly requests: number;
  readonly warmup: number;
  readonly outstanding: number;
  readonly transports: readonly Transport[];
  readonly natsUrl: string | undefined;
}

type Transport = 'in-process' | 'nats';

/** A client bus and the bus its echo responder runs on (the same one in-process). */
interface Pair {
  readonly client: Bus;
  close(): Promise<void>;
}

interface Cell {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly sequentialPerSecond: number;
  readonly outstandingPerSecond: number;
}

function parse(args: string[]): Settings | null {
  const values = parseBenchArgs(args, {
    ...HELP_OPTION,
    requests: { type: 'string' },
    warmup: { type: 'string' },
    outstanding: { type: 'string' },
    transport: { type: 'string' },
    'nats-url': { type: 'string' },
  });
  if (values.help) return null;
  const transport = values.transport ?? 'all';
  if (transport !== 'all' && transport !== 'in-process' && transport !== 'nats') {
    throw new Error(`--transport must be in-process, nats or all, not ${JSON.stringify(transport)}`);
  }
  const requests = positiveInt('requests', values.requests, 5000);
  const outstanding = positiveInt('outstanding', values.outstanding, 64);
  return {
    requests,
    warmup: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup, 500),
    outstanding: Math.min(outstanding, requests),
    transports: transport === 'all' ? ['in-process', 'nats'] : [transport],
    natsUrl: values['nats-url'],
  };
}

async function echo(bus: Bus): Promise<void> {
  await bus.addService({ name: 'plex-bench-echo', version: '1.0.0', description: 'echoes bench requests' }, [
    { name: 'echo', subject: SUBJECT, handler: (request) => ({ data: request.data, type: request.type }) },
  ]);
}

async function inProcessPair(): Promise<Pair> {
  const bus = createInProcessBus();
  await echo(bus);
  return { client: bus, close: () => bus.close() };
}

async function natsPair(url: string): Promise<Pair> {
  const responder = await createNatsBus({ servers: url, name: 'bench-responder' });
  const client = await createNatsBus({ servers: url, name: 'bench-client' });
  await echo(responder);
  await responder.flush();
  return {
    client,
    async close() {
      await client.close();
      await responder.close();
    },
  };
}

/** Sorted-sample percentile (nearest rank). */
function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

async function measure(client: Bus, size: number, settings: Settings): Promise<Cell> {
  const payload = new Uint8Array(size).fill(0xa5);
  const options = { type: 'plex86.bench.Payload' };
  for (let i = 0; i < settings.warmup; i++) await client.request(SUBJECT, payload, options);

  const latencies = new Float64Array(settings.requests);
  const sequentialStart = performance.now();
  for (let i = 0; i < settings.requests; i++) {
    const t0 = performance.now();
    const reply = await client.request(SUBJECT, payload, options);
    latencies[i] = performance.now() - t0;
    if (reply.data.length !== size) throw new Error(`echo returned ${reply.data.length} bytes, expected ${size}`);
  }
  const sequentialMs = performance.now() - sequentialStart;

  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < settings.requests) {
      issued++;
      await client.request(SUBJECT, payload, options);
    }
  };
  const outstandingStart = performance.now();
  await Promise.all(Array.from({ length: settings.outstanding }, worker));
  const outstandingMs = performance.now() - outstandingStart;

  let total = 0;
  for (let i = 0; i < latencies.length; i++) total += latencies[i] ?? 0;
  latencies.sort();
  return {
    p50: percentile(latencies, 50) * 1000,
    p99: percentile(latencies, 99) * 1000,
    mean: (total / latencies.length) * 1000,
    sequentialPerSecond: settings.requests / (sequentialMs / 1000),
    outstandingPerSecond: settings.requests / (outstandingMs / 1000),
  };
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k`;
  return perSecond.toFixed(0);
}

function formatMicros(us: number): string {
  return us >= 100 ? us.toFixed(0) : us.toFixed(1);
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Request/reply latency and throughput of both bus transports. */
export const busBenchmark: Benchmark = {
  description: 'bus request/reply latency (p50/p99) and throughput, in-process and NATS, 64 B and 4 KiB',
  async run(args, print) {
    const settings = parse(args);
    if (settings === null) {
      print(USAGE);
      return;
    }
    print(
      `bus request/reply: ${settings.requests} requests per cell after ${settings.warmup} warm-up, ` +
        `${settings.outstanding} outstanding for the throughput column`,
    );
    const rows: string[][] = [];
    for (const transport of settings.transports) {
      let stopServer: (() => Promise<void>) | undefined;
      let url = settings.natsUrl;
      if (transport === 'nats' && url === undefined) {
        const server = await startNatsServer();
        stopServer = () => server.stop();
        url = server.url;
      }
      try {
        for (const size of PAYLOAD_SIZES) {
          const pair = transport === 'nats' ? await natsPair(url ?? '') : await inProcessPair();
          try {
            const cell = await measure(pair.client, size, settings);
            rows.push([
              transport,
              size >= 1024 ? `${size / 1024} KiB` : `${size} B`,
              formatMicros(cell.p50),
              formatMicros(cell.p99),
              formatMicros(cell.mean),
              formatRate(cell.sequentialPerSecond),
              formatRate(cell.outstandingPerSecond),
            ]);
          } finally {
            await pair.close();
          }
        }
      } finally {
        await stopServer?.();
      }
    }
    const header = ['transport', 'payload', 'p50 µs', 'p99 µs', 'mean µs', '1-at-a-time req/s'];
    header.push(`${settings.outstanding} in flight req/s`);
    for (const line of table(header, rows)) print(line);
  },
};
