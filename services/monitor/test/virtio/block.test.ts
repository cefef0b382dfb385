import { createInProcessBus, serveMethods, type Bus, type BusService } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus, type BlockGeometry } from '@plex86/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import {
  VIRTIO_BLK_F_DISCARD,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_DISCARD,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
} from '../../src/virtio/block.js';
import { attachVirtioDevices, type VirtioDevices } from '../../src/virtio/attach.js';
import {
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_ISR_CONFIG,
  VIRTIO_ISR_QUEUE,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../../src/virtio/pci-transport.js';
import { VIRTQ_DESC_F_NEXT } from '../../src/virtio/virtqueue.js';
import { LegacyDriver, until, type Buffer } from './driver.js';

const SECTOR = 512;
const QUEUE = 0x10000;
const HEADER = 0x20000;
const DATA = 0x30000;
const STATUS = 0x2f000;

interface Call {
  method: string;
  requestId: string;
  sector?: bigint;
  count?: number | bigint;
  zero?: boolean;
}

/** A BlockService over an in-memory disk, remembering write ids as a real backend does. */
class MemoryDisk {
  readonly data: Uint8Array;
  readonly calls: Call[] = [];
  readonly appliedWrites = new Set<string>();
  /** Requests to leave unanswered past the caller's timeout (by call number). */
  stallCalls = new Set<number>();
  service: BusService | undefined;

  constructor(
    readonly sectors: number,
    readonly geometry: Partial<BlockGeometry> = {},
  ) {
    this.data = new Uint8Array(sectors * SECTOR);
    for (let i = 0; i < this.data.length; i++) this.data[i] = (i * 7 + (i >>> 9)) & 0xff;
  }

  private async record(call: Call): Promise<void> {
    this.calls.push(call);
    if (this.stallCalls.has(this.calls.length)) await new Promise((resolve) => setTimeout(resolve, 200));
  }

  async serve(bus: Bus, subject: string): Promise<void> {
    this.service = await serveMethods(
      bus,
      { name: 'test-block', version: '0.0.1', queue: '' },
      subject,
      BlockServiceDefinition,
      {
        readSectors: async (r) => {
          await this.record({ method: 'read', requestId: r.requestId, sector: r.sector, count: r.count });
          const start = Number(r.sector) * SECTOR;
          const end = start + r.count * SECTOR;
          if (end > this.data.length)
            return {
              requestId: r.requestId,
              status: BlockStatus.BLOCK_STATUS_IO_ERROR,
              data: new Uint8Array(),
              message: 'range',
            };
          return {
            requestId: r.requestId,
            status: BlockStatus.BLOCK_STATUS_OK,
            data: this.data.slice(start, end),
            message: '',
          };
        },
        writeSectors: async (r) => {
          await this.record({
            method: 'write',
            requestId: r.requestId,
            sector: r.sector,
            count: r.data.length / SECTOR,
          });
          if (!this.appliedWrites.has(r.requestId)) {
            this.appliedWrites.add(r.requestId);
            this.data.set(r.data, Number(r.sector) * SECTOR);
          }
          return { requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_OK, message: '' };
        },
        flushCache: async (r) => {
          await this.record({ method: 'flush', requestId: r.requestId });
          return { requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_OK, message: '' };
        },
        discardSectors: async (r) => {
          await this.record({
            method: 'discard',
            requestId: r.requestId,
            sector: r.sector,
            count: r.count,
            zero: r.zero,
          });
          const start = Number(r.sector) * SECTOR;
          this.data.fill(0, start, start + Number(r.count) * SECTOR);
          return { requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_OK, message: '' };
        },
        getBlockGeometry: (r) => ({
          requestId: r.requestId,
          geometry: {
            capacitySectors: BigInt(this.sectors),
            optimalIoBytes: 4096,
            maxTransferSectors: 2048,
            readOnly: false,
            discard: false,
            writeZeroes: false,
            cylinders: 0,
            heads: 0,
            sectorsPerTrack: 0,
            serial: 'TESTSERIAL-1',
            ...this.geometry,
          },
        }),
      },
    );
  }
}

let buses: Bus[] = [];
let attached: VirtioDevices[] = [];
afterEach(async () => {
  for (const a of attached) await a.close();
  for (const b of buses) await b.close();
  attached = [];
  buses = [];
});

async function setup(
  disk = new MemoryDisk(64),
  options: { readOnly?: boolean; features?: number; timeoutMs?: number } = {},
) {
  const bus = createInProcessBus({ requestTimeoutMs: 2000 });
  buses.push(bus);
  await disk.serve(bus, 'plex86.vm1.block.vda');
  const io = new PortSpace();
  const mem = new PhysicalMemory({ ramSize: 4 << 20 });
  const irq: [number, boolean][] = [];
  let events = 0;
  let begun = 0;
  let ended = 0;
  const devices = await attachVirtioDevices({
    bus,
    vm: 'vm1',
    io,
    mem,
    setIrq: (line, level) => irq.push([line, level]),
    onEvent: () => events++,
    work: { begin: () => begun++, end: () => ended++ },
    disks: [{ id: 'vda', readOnly: options.readOnly }],
    requestTimeoutMs: options.timeoutMs,
  });
  attached.push(devices);
  const blk = devices.blocks[0];
  const driver = new LegacyDriver(io, mem, blk.ioBarBase(0));
  driver.init(options.features ?? VIRTIO_BLK_F_FLUSH | VIRTIO_RING_F_INDIRECT_DESC, [QUEUE]);
  const q = driver.queues[0];
  /** Puts a request in the ring and notifies; returns the status address. */
  const submit = (type: number, sector: number, data: Buffer[], header = 16): number => {
    mem.write32(HEADER, type);
    mem.write32(HEADER + 4, 0);
    mem.write32(HEADER + 8, sector);
    mem.write32(HEADER + 12, 0);
    mem.write8(STATUS, 0xee);
    q.addChain([{ addr: HEADER, len: header }, ...data, { addr: STATUS, len: 1, write: true }]);
    driver.notify(0);
    return STATUS;
  };
  const complete = async () => {
    await until(() => q.usedIdx !== 0 && !blk.busy, 'the request to complete');
    return q.takeUsed();
  };
  return {
    bus,
    io,
    mem,
    irq,
    devices,
    blk,
    driver,
    q,
    submit,
    complete,
    disk,
    events: () => events,
    work: () => [begun, ended],
  };
}

describe('virtio-blk over the bus', () => {
  it('shows the transitional PCI identity and the geometry in its configuration', async () => {
    const { blk, driver, devices } = await setup(new MemoryDisk(1234, { discard: true }));
    expect(blk.readConfig(0, 4)).toBe(0x10011af4);
    expect(blk.readConfig(0x2c, 4)).toBe(0x00021af4);
    expect(blk.readConfig(0x08, 4) >>> 8).toBe(0x010000);
    expect(driver.config32(0)).toBe(1234);
    expect(driver.config32(4)).toBe(0);
    expect(driver.config32(0x14)).toBe(512);
    expect(driver.hostFeatures & VIRTIO_BLK_F_RO).toBe(0);
    expect(driver.hostFeatures & VIRTIO_BLK_F_DISCARD).toBe(VIRTIO_BLK_F_DISCARD);
    expect(driver.hostFeatures & VIRTIO_RING_F_EVENT_IDX).toBe(VIRTIO_RING_F_EVENT_IDX);
    expect(devices.pci.irqOf(2)).toBeGreaterThan(0);
  });

  it('reads sectors into a scattered buffer, sets the status and interrupts once', async () => {
    const { mem, irq, submit, complete, disk, blk, driver, events, devices } = await setup();
    const status = submit(VIRTIO_BLK_T_IN, 3, [
      { addr: DATA, len: 700, write: true },
      { addr: DATA + 0x1000, len: 2 * SECTOR - 700, write: true },
    ]);
    expect(blk.busy).toBe(true);
    expect(devices.busy).toBe(true);
    expect(irq).toEqual([]);
    const used = await complete();
    expect(used).toEqual([[0, 2 * SECTOR + 1]]);
    expect(mem.read8(status)).toBe(VIRTIO_BLK_S_OK);
    const got = new Uint8Array([...mem.readBytes(DATA, 700), ...mem.readBytes(DATA + 0x1000, 2 * SECTOR - 700)]);
    expect(got).toEqual(disk.data.subarray(3 * SECTOR, 5 * SECTOR));
    const line = devices.pci.irqOf(2);
    expect(irq).toEqual([[line, true]]);
    expect(events()).toBe(1);
    expect(driver.readIsr()).toBe(VIRTIO_ISR_QUEUE);
    expect(irq).toEqual([
      [line, true],
      [line, false],
    ]);
    expect(driver.readIsr()).toBe(0);
    expect(disk.calls).toEqual([{ method: 'read', requestId: disk.calls[0].requestId, sector: 3n, count: 2 }]);
  });

  it('writes what the guest wrote, once, and reads it back', async () => {
    const { mem, submit, complete, disk, q, driver } = await setup();
    const payload = new Uint8Array(3 * SECTOR).map((_, i) => (i * 13) & 0xff);
    mem.writeBytes(DATA, payload);
    submit(VIRTIO_BLK_T_OUT, 10, [{ addr: DATA, len: 3 * SECTOR }]);
    expect(await complete()).toEqual([[0, 1]]);
    expect(mem.read8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    expect(disk.data.subarray(10 * SECTOR, 13 * SECTOR)).toEqual(payload);
    submit(VIRTIO_BLK_T_IN, 10, [{ addr: 0x40000, len: 3 * SECTOR, write: true }]);
    await until(() => q.usedIdx === 2, 'the read');
    expect(mem.readBytes(0x40000, 3 * SECTOR)).toEqual(payload);
    expect(driver.readIsr()).toBe(VIRTIO_ISR_QUEUE);
  });

  it('gives every request its own id', async () => {
    const { submit, disk, q } = await setup();
    submit(VIRTIO_BLK_T_IN, 0, [{ addr: DATA, len: SECTOR, write: true }]);
    submit(VIRTIO_BLK_T_FLUSH, 0, []);
    submit(VIRTIO_BLK_T_IN, 1, [{ addr: DATA + 0x1000, len: SECTOR, write: true }]);
    await until(() => q.usedIdx === 3, 'three requests');
    const ids = disk.calls.map((c) => c.requestId);
    expect(new Set(ids).size).toBe(3);
    expect(disk.calls.map((c) => c.method).sort()).toEqual(['flush', 'read', 'read']);
  });

  it('retries a timed-out request with the same id, so a write lands once', async () => {
    const disk = new MemoryDisk(64);
    disk.stallCalls.add(1);
    const { mem, submit, complete } = await setup(disk, { timeoutMs: 50 });
    mem.writeBytes(DATA, new Uint8Array(SECTOR).fill(0xab));
    submit(VIRTIO_BLK_T_OUT, 5, [{ addr: DATA, len: SECTOR }]);
    expect(await complete()).toEqual([[0, 1]]);
    expect(mem.read8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    await until(() => disk.calls.length >= 2, 'the retry');
    expect(disk.calls[1].requestId).toBe(disk.calls[0].requestId);
    expect(disk.appliedWrites.size).toBe(1);
    expect(disk.data[5 * SECTOR]).toBe(0xab);
  });

  it('splits a transfer larger than the backend takes into calls with derived ids', async () => {
    const { mem, submit, complete, disk } = await setup(new MemoryDisk(64, { maxTransferSectors: 4 }));
    submit(VIRTIO_BLK_T_IN, 8, [{ addr: DATA, len: 10 * SECTOR, write: true }]);
    expect(await complete()).toEqual([[0, 10 * SECTOR + 1]]);
    expect(mem.readBytes(DATA, 10 * SECTOR)).toEqual(disk.data.subarray(8 * SECTOR, 18 * SECTOR));
    expect(disk.calls.map((c) => [c.sector, c.count])).toEqual([
      [8n, 4],
      [12n, 4],
      [16n, 2],
    ]);
    const base = disk.calls[0].requestId.replace(/\.0$/, '');
    expect(disk.calls.map((c) => c.requestId)).toEqual([`${base}.0`, `${base}.1`, `${base}.2`]);
  });

  it('answers GET_ID with the serial padded to 20 bytes and without a bus call', async () => {
    const { mem, submit, complete, disk } = await setup();
    mem.writeBytes(DATA, new Uint8Array(20).fill(0xff));
    submit(VIRTIO_BLK_T_GET_ID, 0, [{ addr: DATA, len: 20, write: true }]);
    expect(await complete()).toEqual([[0, 21]]);
    expect(new TextDecoder().decode(mem.readBytes(DATA, 12))).toBe('TESTSERIAL-1');
    expect([...mem.readBytes(DATA + 12, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(disk.calls).toEqual([]);
  });

  it('sends a DISCARD segment as DiscardSectors when the disk supports it', async () => {
    const { mem, submit, complete, disk } = await setup(new MemoryDisk(64, { discard: true }));
    mem.write32(DATA, 20);
    mem.write32(DATA + 4, 0);
    mem.write32(DATA + 8, 4);
    mem.write32(DATA + 12, 0);
    submit(VIRTIO_BLK_T_DISCARD, 0, [{ addr: DATA, len: 16 }]);
    await complete();
    expect(mem.read8(STATUS)).toBe(VIRTIO_BLK_S_OK);
    expect(disk.calls).toMatchObject([{ method: 'discard', sector: 20n, count: 4n, zero: false }]);
  });

  it('fails bad requests for the guest without asking the backend', async () => {
    const cases: [string, (s: Awaited<ReturnType<typeof setup>>) => void, number][] = [
      [
        'read past the end',
        (s) => s.submit(VIRTIO_BLK_T_IN, 63, [{ addr: DATA, len: 2 * SECTOR, write: true }]),
        VIRTIO_BLK_S_IOERR,
      ],
      [
        'partial sector',
        (s) => s.submit(VIRTIO_BLK_T_IN, 0, [{ addr: DATA, len: 100, write: true }]),
        VIRTIO_BLK_S_IOERR,
      ],
      [
        'short header',
        (s) => s.submit(VIRTIO_BLK_T_IN, 0, [{ addr: DATA, len: SECTOR, write: true }], 8),
        VIRTIO_BLK_S_IOERR,
      ],
      ['unknown type', (s) => s.submit(77, 0, []), VIRTIO_BLK_S_UNSUPP],
      ['discard not offered', (s) => s.submit(VIRTIO_BLK_T_DISCARD, 0, [{ addr: DATA, len: 16 }]), VIRTIO_BLK_S_UNSUPP],
      [
        'buffer outside RAM',
        (s) => s.submit(VIRTIO_BLK_T_IN, 0, [{ addr: 0x7ff000, len: SECTOR, write: true }]),
        VIRTIO_BLK_S_IOERR,
      ],
      ['zero-length buffer', (s) => s.submit(VIRTIO_BLK_T_OUT, 0, [{ addr: DATA, len: 0 }]), VIRTIO_BLK_S_IOERR],
    ];
    for (const [what, send, status] of cases) {
      const s = await setup();
      send(s);
      expect(s.q.takeUsed(), what).toEqual([[0, 1]]);
      expect(s.mem.read8(STATUS), what).toBe(status);
      expect(s.disk.calls, what).toEqual([]);
      expect(s.driver.status & VIRTIO_CONFIG_S_NEEDS_RESET, what).toBe(0);
    }
  });

  it('presents a read-only disk as RO and fails writes to it', async () => {
    const { mem, submit, disk, q, driver } = await setup(new MemoryDisk(64), { readOnly: true });
    expect(driver.hostFeatures & VIRTIO_BLK_F_RO).toBe(VIRTIO_BLK_F_RO);
    submit(VIRTIO_BLK_T_OUT, 0, [{ addr: DATA, len: SECTOR }]);
    expect(q.takeUsed()).toEqual([[0, 1]]);
    expect(mem.read8(STATUS)).toBe(VIRTIO_BLK_S_IOERR);
    expect(disk.calls).toEqual([]);
  });

  it('stops with NEEDS_RESET on a looping chain and works again after a reset', async () => {
    const s = await setup();
    s.q.setDesc(0, HEADER, 16, VIRTQ_DESC_F_NEXT, 1);
    s.q.setDesc(1, DATA, SECTOR, VIRTQ_DESC_F_NEXT, 0);
    s.q.publish(0);
    s.driver.notify(0);
    expect(s.driver.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(s.blk.lastFault).toMatch(/loop/);
    expect(s.driver.readIsr()).toBe(VIRTIO_ISR_CONFIG);
    s.submit(VIRTIO_BLK_T_IN, 0, [{ addr: DATA, len: SECTOR, write: true }]);
    expect(s.blk.busy).toBe(false);
    s.driver.init(VIRTIO_BLK_F_FLUSH, [QUEUE + 0x10000]);
    expect(s.driver.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0);
    const q = s.driver.queues[0];
    q.addChain([
      { addr: HEADER, len: 16 },
      { addr: DATA, len: SECTOR, write: true },
      { addr: STATUS, len: 1, write: true },
    ]);
    s.mem.write32(HEADER, VIRTIO_BLK_T_IN);
    s.driver.notify(0);
    await until(() => q.usedIdx === 1, 'the request after the reset');
    expect(s.mem.read8(STATUS)).toBe(VIRTIO_BLK_S_OK);
  });

  it('drops the completion of a request the guest reset away', async () => {
    const disk = new MemoryDisk(64);
    disk.stallCalls.add(1);
    const s = await setup(disk);
    s.submit(VIRTIO_BLK_T_IN, 0, [{ addr: DATA, len: SECTOR, write: true }]);
    expect(s.blk.busy).toBe(true);
    expect(s.work()).toEqual([1, 0]);
    s.driver.setStatus(0);
    // The backend still works on it; the device stays busy until the reply comes and is dropped.
    expect(s.blk.busy).toBe(true);
    await until(() => !s.blk.busy, 'the orphaned reply');
    expect(s.work()).toEqual([1, 1]);
    expect(s.q.usedIdx).toBe(0);
    expect(s.mem.read8(STATUS)).toBe(0xee);
    expect([...s.mem.readBytes(DATA, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('refuses to attach a disk nobody serves, naming it', async () => {
    const bus = createInProcessBus({ requestTimeoutMs: 100 });
    buses.push(bus);
    await expect(
      attachVirtioDevices({
        bus,
        vm: 'vm1',
        io: new PortSpace(),
        mem: new PhysicalMemory({ ramSize: 1 << 20 }),
        setIrq: () => undefined,
        onEvent: () => undefined,
        disks: [{ id: 'vdb' }],
      }),
    ).rejects.toThrow(/disk vdb: no geometry from plex86\.vm1\.block\.vdb/);
  });
});
