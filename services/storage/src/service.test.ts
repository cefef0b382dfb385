import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BusError, createInProcessBus, createNatsBus, methodClient, type Bus } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus, ErrorCode, ImageFormat, StorageServiceDefinition } from '@plex86/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RemoteDisk } from './client.js';
import { StorageErrorKind } from './errors.js';
import { openImage } from './images.js';
import { serveDisk, startStorageService, STORAGE_VERSION, type StorageServiceHandle } from './service.js';
import { fillPattern, qemuCheck, tempDir } from './testing.js';

const MIB = 1 << 20;
const quiet = { warn: () => undefined, error: () => undefined };

async function expectBusError(promise: Promise<unknown>, code: ErrorCode, text?: RegExp): Promise<BusError> {
  const e = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BusError);
  expect((e as BusError).codeName, (e as BusError).message).toBe(new BusError(code, '', '').codeName);
  if (text) expect((e as BusError).message).toMatch(text);
  return e as BusError;
}

function describeStorageService(transport: string, makeBus: () => Promise<Bus>): void {
  describe(`storage service over the ${transport} bus`, () => {
    let bus: Bus;
    let handle: StorageServiceHandle;
    let dir: string;
    let cleanup: () => Promise<void>;
    let storage: ReturnType<typeof methodClient<typeof StorageServiceDefinition>>;
    let ids = 0;
    const id = () => `${transport}-${++ids}`;

    beforeAll(async () => {
      ({ dir, cleanup } = await tempDir());
      bus = await makeBus();
      handle = await startStorageService(bus, { imageDir: dir, logger: quiet });
      storage = methodClient(bus, 'plex86.storage', StorageServiceDefinition);
    });
    afterAll(async () => {
      await handle.stop();
      await bus.close();
      await cleanup();
    });

    it('creates images and overlays, serves them as block devices, closes them', async () => {
      const base = fillPattern(new Uint8Array(2 * MIB), 3);
      await writeFile(join(dir, 'base.raw'), base);
      const created = await storage.createOverlay({
        requestId: id(),
        basePath: 'base.raw',
        baseFormat: ImageFormat.IMAGE_FORMAT_UNSPECIFIED,
        overlayPath: 'vm1.qcow2',
      });
      expect(created.info).toMatchObject({
        path: 'vm1.qcow2',
        format: ImageFormat.IMAGE_FORMAT_QCOW2,
        virtualSize: BigInt(2 * MIB),
        clusterSize: 65536,
        backingChain: [{ path: 'base.raw', format: ImageFormat.IMAGE_FORMAT_RAW, virtualSize: BigInt(2 * MIB) }],
        inUse: false,
      });

      const opened = await storage.openImage({
        requestId: id(),
        path: 'vm1.qcow2',
        format: ImageFormat.IMAGE_FORMAT_UNSPECIFIED,
        readOnly: false,
        vmId: 'vm1',
        diskId: 'vda',
      });
      expect(opened.blockSubject).toBe('plex86.vm1.block.vda');
      expect(opened.info?.inUse).toBe(true);
      const block = methodClient(bus, opened.blockSubject, BlockServiceDefinition);

      const { geometry } = await block.getBlockGeometry({ requestId: id() });
      expect(geometry).toMatchObject({
        capacitySectors: BigInt(4096),
        optimalIoBytes: 65536,
        maxTransferSectors: 2048,
        readOnly: false,
        discard: true,
        writeZeroes: true,
        serial: 'vda',
      });

      const data = fillPattern(new Uint8Array(8192), 9);
      expect(await block.writeSectors({ requestId: id(), sector: 3n, data })).toMatchObject({
        status: BlockStatus.BLOCK_STATUS_OK,
      });
      const read = await block.readSectors({ requestId: id(), sector: 2n, count: 18 });
      expect(read.status).toBe(BlockStatus.BLOCK_STATUS_OK);
      expect(Buffer.compare(read.data.subarray(512, 512 + 8192), data)).toBe(0);
      expect(Buffer.compare(read.data.subarray(0, 512), base.subarray(1024, 1536))).toBe(0);

      const zeroed = await block.discardSectors({ requestId: id(), sector: 128n, count: 128n, zero: true });
      expect(zeroed.status).toBe(BlockStatus.BLOCK_STATUS_OK);
      const z = await block.readSectors({ requestId: id(), sector: 128n, count: 128 });
      expect(z.data.every((b) => b === 0)).toBe(true);
      expect((await block.flushCache({ requestId: id() })).status).toBe(BlockStatus.BLOCK_STATUS_OK);

      // While open, the overlay can be neither committed nor undone, nor opened twice.
      await expectBusError(
        storage.commitOverlay({ requestId: id(), overlayPath: 'vm1.qcow2' }),
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        /in use by disk vm1\/vda/,
      );
      await expectBusError(
        storage.openImage({
          requestId: id(),
          path: 'vm1.qcow2',
          format: 0,
          readOnly: false,
          vmId: 'vm2',
          diskId: 'vda',
        }),
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      );
      await expectBusError(
        storage.openImage({
          requestId: id(),
          path: 'base.raw',
          format: 0,
          readOnly: false,
          vmId: 'vm2',
          diskId: 'vdb',
        }),
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
        /in use/,
      );

      await storage.closeImage({ requestId: id(), vmId: 'vm1', diskId: 'vda' });
      await expectBusError(block.getBlockGeometry({ requestId: id() }), ErrorCode.ERROR_CODE_NO_RESPONDERS);
      await expectBusError(
        storage.closeImage({ requestId: id(), vmId: 'vm1', diskId: 'vda' }),
        ErrorCode.ERROR_CODE_NOT_FOUND,
      );
      expect((await qemuCheck(join(dir, 'vm1.qcow2'))).code).toBe(0);

      const committed = await storage.commitOverlay({ requestId: id(), overlayPath: 'vm1.qcow2' });
      expect(committed.committedBytes).toBe(BigInt(2 * 65536));
      const expected = base.slice();
      expected.set(data, 3 * 512);
      expected.fill(0, 128 * 512, 256 * 512);
      const img = await openImage(join(dir, 'base.raw'), { readOnly: true });
      const now = new Uint8Array(2 * MIB);
      await img.read(0, now);
      await img.close();
      expect(Buffer.compare(now, expected)).toBe(0);
    });

    it('applies a write once per request id, however late the retry', async () => {
      await storage.createImage({
        requestId: id(),
        path: 'idem.qcow2',
        format: ImageFormat.IMAGE_FORMAT_QCOW2,
        virtualSize: BigInt(MIB),
        clusterSize: 0,
      });
      const opened = await storage.openImage({
        requestId: id(),
        path: 'idem.qcow2',
        format: 0,
        readOnly: false,
        vmId: 'vm3',
        diskId: 'vda',
      });
      const block = methodClient(bus, opened.blockSubject, BlockServiceDefinition);
      const first = { requestId: 'write-A', sector: 0n, data: new Uint8Array(512).fill(1) };
      // Sent twice at once (a retry racing the original), then a newer write, then a late retry.
      const [a, b] = await Promise.all([block.writeSectors(first), block.writeSectors(first)]);
      expect(a.status).toBe(BlockStatus.BLOCK_STATUS_OK);
      expect(b).toEqual(a);
      await block.writeSectors({ requestId: 'write-B', sector: 0n, data: new Uint8Array(512).fill(2) });
      expect((await block.writeSectors(first)).status).toBe(BlockStatus.BLOCK_STATUS_OK);
      const back = await block.readSectors({ requestId: id(), sector: 0n, count: 1 });
      expect(back.data[0]).toBe(2);
      const disk = handle.disks.get('vm3/vda');
      expect(disk?.device.metrics).toMatchObject({ writes: 2, retries: 2 });
      // A retried create is applied once too (a second create of the same path would fail).
      const createReq = {
        requestId: 'create-once',
        path: 'once.raw',
        format: ImageFormat.IMAGE_FORMAT_RAW,
        virtualSize: BigInt(MIB),
        clusterSize: 0,
      };
      const c1 = await storage.createImage(createReq);
      expect(await storage.createImage(createReq)).toEqual(c1);
      await expectBusError(
        storage.createImage({ ...createReq, requestId: id() }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /exists/,
      );
      await storage.closeImage({ requestId: id(), vmId: 'vm3', diskId: 'vda' });
    });

    it('answers bad requests with errors and guest mistakes with a status, and keeps serving', async () => {
      const opened = await storage.openImage({
        requestId: id(),
        path: 'once.raw',
        format: 0,
        readOnly: true,
        vmId: 'vm4',
        diskId: 'vda',
      });
      const block = methodClient(bus, opened.blockSubject, BlockServiceDefinition);
      const past = await block.readSectors({ requestId: id(), sector: 2047n, count: 2 });
      expect(past).toMatchObject({
        status: BlockStatus.BLOCK_STATUS_IO_ERROR,
        message: expect.stringMatching(/past the end/),
      });
      const ro = await block.writeSectors({ requestId: id(), sector: 0n, data: new Uint8Array(512) });
      expect(ro).toMatchObject({ status: BlockStatus.BLOCK_STATUS_IO_ERROR, message: 'the disk is read-only' });
      await expectBusError(
        block.readSectors({ requestId: id(), sector: 0n, count: 0 }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /count 0/,
      );
      await expectBusError(
        block.writeSectors({ requestId: id(), sector: 0n, data: new Uint8Array(100) }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /whole sectors/,
      );
      await expectBusError(
        block.readSectors({ requestId: '', sector: 0n, count: 1 }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /request_id/,
      );
      await expectBusError(
        bus.request(`${opened.blockSubject}.write-sectors`, new Uint8Array([0xff, 0xff, 0xff])),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /cannot decode/,
      );
      // The garbage did not hurt the service.
      const ok = await block.readSectors({ requestId: id(), sector: 0n, count: 1 });
      expect(ok.status).toBe(BlockStatus.BLOCK_STATUS_OK);

      await expectBusError(
        storage.getImageInfo({ requestId: id(), path: '../etc/passwd' }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /stay inside/,
      );
      await expectBusError(
        storage.getImageInfo({ requestId: id(), path: '/etc/passwd' }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
      );
      await expectBusError(
        storage.getImageInfo({ requestId: id(), path: 'nope.qcow2' }),
        ErrorCode.ERROR_CODE_NOT_FOUND,
      );
      await expectBusError(
        storage.undoOverlay({ requestId: id(), overlayPath: 'once.raw' }),
        ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
      );
      await expectBusError(
        storage.undoOverlay({ requestId: id(), overlayPath: 'idem.qcow2' }),
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        /not an overlay/,
      );
      await storage.closeImage({ requestId: id(), vmId: 'vm4', diskId: 'vda' });
    });

    it('RemoteDisk uses a served disk like a local image', async () => {
      await storage.createImage({
        requestId: id(),
        path: 'remote.qcow2',
        format: ImageFormat.IMAGE_FORMAT_QCOW2,
        virtualSize: BigInt(MIB),
        clusterSize: 0,
      });
      const opened = await storage.openImage({
        requestId: id(),
        path: 'remote.qcow2',
        format: 0,
        readOnly: false,
        vmId: 'vm6',
        diskId: 'vda',
      });
      const disk = await RemoteDisk.connect(bus, opened.blockSubject);
      expect(disk).toMatchObject({ virtualSize: MIB, readOnly: false, path: 'plex86.vm6.block.vda' });
      const data = fillPattern(new Uint8Array(3 * 512), 6);
      await disk.write(512, data);
      await disk.writeZeroes(1024, 512);
      await disk.flush();
      const back = new Uint8Array(4 * 512);
      await disk.read(0, back);
      const expected = new Uint8Array(4 * 512);
      expected.set(data, 512);
      expected.fill(0, 1024, 1536);
      expect(Buffer.compare(back, expected)).toBe(0);
      await expect(disk.read(MIB - 512, new Uint8Array(1024))).rejects.toThrow(/past the end/);
      await storage.closeImage({ requestId: id(), vmId: 'vm6', diskId: 'vda' });
      await expectBusError(RemoteDisk.connect(bus, opened.blockSubject), ErrorCode.ERROR_CODE_NO_RESPONDERS);

      const ro = await storage.openImage({
        requestId: id(),
        path: 'remote.qcow2',
        format: 0,
        readOnly: true,
        vmId: 'vm6',
        diskId: 'vdb',
      });
      const roDisk = await RemoteDisk.connect(bus, ro.blockSubject);
      expect(roDisk.readOnly).toBe(true);
      await expect(roDisk.write(0, new Uint8Array(512))).rejects.toMatchObject({
        kind: StorageErrorKind.Io,
        message: 'plex86.vm6.block.vdb: the disk is read-only',
      });
      await storage.closeImage({ requestId: id(), vmId: 'vm6', diskId: 'vdb' });
    });

    it('spreads reads of a read-only base over instances in a queue group', async () => {
      const path = join(dir, 'shared.raw');
      await writeFile(path, fillPattern(new Uint8Array(MIB), 5));
      const second = await makeBus();
      const a = await serveDisk(bus, 'vm5', 'vda', await openImage(path, { readOnly: true }), { logger: quiet });
      const b = await serveDisk(second, 'vm5', 'vda', await openImage(path, { readOnly: true }), { logger: quiet });
      try {
        const block = methodClient(bus, 'plex86.vm5.block.vda', BlockServiceDefinition);
        const reads = await Promise.all(
          Array.from({ length: 60 }, (_, i) => block.readSectors({ requestId: `q${i}`, sector: BigInt(i), count: 1 })),
        );
        expect(reads.every((r) => r.status === BlockStatus.BLOCK_STATUS_OK)).toBe(true);
        expect(a.device.metrics.reads + b.device.metrics.reads).toBe(60);
        expect(a.device.metrics.reads).toBeGreaterThan(0);
        expect(b.device.metrics.reads).toBeGreaterThan(0);
        const found = (await bus.discover()).filter((s) => s.name === 'plex-block' && s.metadata['vm'] === 'vm5');
        expect(found).toHaveLength(2);
        expect(found.every((s) => s.endpoints.every((e) => e.queueGroup === 'q'))).toBe(true);
      } finally {
        await a.close();
        await b.close();
        if (second !== bus) await second.close();
      }
    });
  });
}

describeStorageService(
  'in-process',
  (() => {
    // Both "instances" must share one in-process bus to see each other.
    let shared: Bus | null = null;
    return async () => (shared ??= createInProcessBus());
  })(),
);

const natsUrl = inject('natsUrl');
describeStorageService('nats', () => createNatsBus({ servers: natsUrl, name: 'storage-test' }));

describe('storage service metadata', () => {
  it('reports the package version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(STORAGE_VERSION).toBe(pkg.version);
    const bus = createInProcessBus();
    const { dir, cleanup } = await tempDir();
    const handle = await startStorageService(bus, { imageDir: dir, logger: quiet });
    const [info] = await bus.discover();
    expect(info).toMatchObject({ name: 'plex-storage', version: pkg.version, metadata: { image_dir: dir } });
    await handle.stop();
    await bus.close();
    await cleanup();
  });
});
