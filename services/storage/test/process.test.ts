/**
 * The storage service as its own process, talking to a real nats-server: what
 * `plex86 service storage --nats URL` runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNatsBus, methodClient, type Bus } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus, ImageFormat, StorageServiceDefinition } from '@plex86/proto';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../src/main.js';
import { qemuCheck, tempDir } from '../src/testing.js';

const natsUrl = inject('natsUrl');
let dir: string;
let cleanup: () => Promise<void>;
let bundle: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('plex86-storage-proc-'));
  bundle = join(dir, 'storage-main.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '../src/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@plex86/source'],
    outfile: bundle,
    logLevel: 'silent',
    // Bundled CommonJS dependencies need a require of their own in an ES module.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});
afterAll(async () => cleanup());

function waitFor(child: ChildProcess, text: string, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output().includes(text)) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
    child.once('exit', (code) => {
      clearInterval(timer);
      if (!output().includes(text)) reject(new Error(`exited with ${code} before "${text}":\n${output()}`));
    });
  });
}

describe('storage service process', () => {
  it('serves images over NATS and closes its disks on SIGTERM', async () => {
    const child = spawn(process.execPath, [bundle, '--nats', natsUrl, '--images', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await waitFor(child, 'plex86 storage service ready', () => out);

    let bus: Bus | null = null;
    try {
      bus = await createNatsBus({ servers: natsUrl, name: 'storage-process-test' });
      const storage = methodClient(bus, 'plex86.storage', StorageServiceDefinition);
      await storage.createImage({
        requestId: 'p1',
        path: 'disk.qcow2',
        format: ImageFormat.IMAGE_FORMAT_QCOW2,
        virtualSize: 1n << 20n,
        clusterSize: 4096,
      });
      const opened = await storage.openImage({
        requestId: 'p2',
        path: 'disk.qcow2',
        format: ImageFormat.IMAGE_FORMAT_UNSPECIFIED,
        readOnly: false,
        vmId: 'vmp',
        diskId: 'vda',
      });
      const block = methodClient(bus, opened.blockSubject, BlockServiceDefinition);
      const data = new Uint8Array(4096).fill(0x42);
      expect((await block.writeSectors({ requestId: 'w1', sector: 8n, data })).status).toBe(
        BlockStatus.BLOCK_STATUS_OK,
      );
      const back = await block.readSectors({ requestId: 'r1', sector: 8n, count: 8 });
      expect(Buffer.compare(back.data, data)).toBe(0);
      const services = (await bus.discover()).map((s) => s.name).sort();
      expect(services).toEqual(expect.arrayContaining(['plex-block', 'plex-storage']));
    } finally {
      await bus?.close();
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('plex86 storage service stopped');
    expect((await qemuCheck(join(dir, 'disk.qcow2'))).code).toBe(0);
  });

  it('explains missing options and unreachable servers', async () => {
    const io = { text: '', out: (t: string) => void (io.text += t), err: (t: string) => void (io.text += t) };
    expect(await main([], io)).toBe(2);
    expect(io.text).toContain('--nats URL is required');
    io.text = '';
    expect(await main(['--bogus'], io)).toBe(2);
    expect(io.text).toContain("Unknown option '--bogus'");
    io.text = '';
    expect(await main(['--nats', 'nats://127.0.0.1:1'], io)).toBe(1);
    expect(io.text).toContain('cannot connect to NATS at nats://127.0.0.1:1');
  });

  it('lets several processes serve one read-only base in a queue group', async () => {
    const base = join(dir, 'shared.raw');
    await writeFile(base, new Uint8Array(1 << 20).fill(0x61));
    const stops = [new AbortController(), new AbortController()];
    const ios = stops.map(() => ({
      text: '',
      out(t: string) {
        this.text += t;
      },
      err(t: string) {
        this.text += t;
      },
    }));
    const running = stops.map((stop, i) =>
      main(['--nats', natsUrl, '--serve', `vmq/vda=${base}`], ios[i], stop.signal),
    );
    while (!ios.every((io) => io.text.includes('ready'))) await new Promise((r) => setTimeout(r, 5));
    expect(ios[0]?.text).toContain(`serving ${base} read-only as vmq/vda`);
    const bus = await createNatsBus({ servers: natsUrl, name: 'queue-test' });
    try {
      const found = (await bus.discover()).filter((s) => s.metadata['vm'] === 'vmq');
      expect(found).toHaveLength(2);
      expect((await bus.discover()).some((s) => s.name === 'plex-storage' && s.metadata['image_dir'] === dir)).toBe(
        false,
      );
      const block = methodClient(bus, 'plex86.vmq.block.vda', BlockServiceDefinition);
      const reads = await Promise.all(
        Array.from({ length: 40 }, (_, i) => block.readSectors({ requestId: `q${i}`, sector: BigInt(i), count: 1 })),
      );
      expect(reads.every((r) => r.status === BlockStatus.BLOCK_STATUS_OK && r.data[0] === 0x61)).toBe(true);
      const counts = (await bus.discover())
        .filter((s) => s.metadata['vm'] === 'vmq')
        .map((s) => s.endpoints.find((e) => e.name === 'read-sectors')?.requests ?? 0);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(40);
      expect(Math.min(...counts)).toBeGreaterThan(0);
    } finally {
      await bus.close();
      for (const s of stops) s.abort();
    }
    expect(await Promise.all(running)).toEqual([0, 0]);
    expect(await main(['--nats', natsUrl, '--serve', 'nonsense'], ios[0])).toBe(2);
    expect(ios[0]?.text).toContain('--serve wants VM/DISK=IMAGE');
  });

  it('serves a writable disk from one process and refuses a second server for it', async () => {
    const image = join(dir, 'writable.raw');
    await writeFile(image, new Uint8Array(1 << 20));
    const first = { text: '', out: (t: string) => void (first.text += t), err: (t: string) => void (first.text += t) };
    const stop = new AbortController();
    const running = main(['--nats', natsUrl, '--serve-writable', `vmw/vda=${image}`], first, stop.signal);
    while (!first.text.includes('ready')) await new Promise((r) => setTimeout(r, 5));
    expect(first.text).toContain(`serving ${image} writable as vmw/vda`);
    const bus = await createNatsBus({ servers: natsUrl, name: 'writable-test' });
    try {
      const block = methodClient(bus, 'plex86.vmw.block.vda', BlockServiceDefinition);
      const data = new Uint8Array(512).fill(0x5a);
      const wrote = await block.writeSectors({ requestId: 'w1', sector: 7n, data });
      expect(wrote.status).toBe(BlockStatus.BLOCK_STATUS_OK);
      for (const [option, refusal] of [
        ['--serve', /vmw\/vda is already served writable by another process/],
        ['--serve-writable', /vmw\/vda is already served by another process; a writable disk has a single server/],
      ] as const) {
        const second = {
          text: '',
          out: (t: string) => void (second.text += t),
          err: (t: string) => void (second.text += t),
        };
        expect(await main(['--nats', natsUrl, option, `vmw/vda=${image}`], second)).toBe(1);
        expect(second.text).toMatch(refusal);
      }
      expect(new Uint8Array((await block.readSectors({ requestId: 'r1', sector: 7n, count: 1 })).data)).toEqual(data);
    } finally {
      await bus.close();
      stop.abort();
    }
    expect(await running).toBe(0);
    expect(new Uint8Array(await readFile(image)).subarray(7 * 512, 8 * 512)).toEqual(new Uint8Array(512).fill(0x5a));
  });

  it('stops in process when asked', async () => {
    const io = { text: '', out: (t: string) => void (io.text += t), err: (t: string) => void (io.text += t) };
    const stop = new AbortController();
    const running = main(['--nats', natsUrl, '--images', dir], io, stop.signal);
    while (!io.text.includes('ready')) await new Promise((r) => setTimeout(r, 5));
    stop.abort();
    expect(await running).toBe(0);
    expect(io.text).toContain('stopped');
  });
});
