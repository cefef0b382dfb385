import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import {
  BufferFault,
  DescriptorChain,
  MAX_CHAIN_DESCRIPTORS,
  QUEUE_EMPTY,
  QueueFault,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  Virtqueue,
  WritableBuffers,
} from '../../src/virtio/virtqueue.js';
import { DriverQueue } from './driver.js';

const RAM = 4 << 20;
const QBASE = 0x10000;
const SIZE = 16;

function setup(eventIdx = false) {
  const mem = new PhysicalMemory({ ramSize: RAM });
  const q = new Virtqueue(mem, SIZE);
  expect(q.setPfn(QBASE / 4096)).toBe(true);
  q.eventIdx = eventIdx;
  const d = new DriverQueue(mem, QBASE, SIZE);
  return { mem, q, d, chain: new DescriptorChain() };
}

describe('Virtqueue layout', () => {
  it('puts the used ring at the next 4 KiB boundary after the available ring', () => {
    const { q, d } = setup();
    expect(d.used).toBe(QBASE + 4096);
    expect(q.byteSize).toBe(4096 + 6 + 8 * SIZE);
  });

  it('refuses a PFN whose rings would leave RAM, and PFN 0 turns the queue off', () => {
    const mem = new PhysicalMemory({ ramSize: RAM });
    const q = new Virtqueue(mem, 256);
    expect(q.setPfn(RAM / 4096 - 1)).toBe(false);
    expect(q.ready).toBe(false);
    expect(q.setPfn(0xffffffff)).toBe(false);
    expect(q.setPfn(RAM / 4096 - 3)).toBe(true);
    expect(q.ready).toBe(true);
    expect(q.setPfn(0)).toBe(true);
    expect(q.ready).toBe(false);
    expect(() => new Virtqueue(mem, 100)).toThrow(/power of two/);
  });
});

describe('Virtqueue chains', () => {
  it('parses a readable and writable chain, gathers and scatters across buffers', () => {
    const { mem, q, d, chain } = setup();
    mem.writeBytes(0x20000, new Uint8Array([1, 2, 3]));
    mem.writeBytes(0x21000, new Uint8Array([4, 5]));
    const head = d.addChain([
      { addr: 0x20000, len: 3 },
      { addr: 0x21000, len: 2 },
      { addr: 0x22000, len: 4, write: true },
      { addr: 0x23000, len: 4, write: true },
    ]);
    expect(q.hasAvailable()).toBe(true);
    expect(q.pop(chain)).toBe(QueueFault.NONE);
    expect(chain.head).toBe(head);
    expect(chain.fault).toBe(BufferFault.NONE);
    expect([chain.count, chain.firstWritable, chain.readableBytes, chain.writableBytes]).toEqual([4, 2, 5, 8]);
    const got = new Uint8Array(4);
    chain.gather(mem, 1, got, 0, 4);
    expect([...got]).toEqual([2, 3, 4, 5]);
    const w = new WritableBuffers(chain);
    w.scatter(mem, 2, new Uint8Array([9, 8, 7, 6]), 0, 4);
    expect([...mem.readBytes(0x22000, 4)]).toEqual([0, 0, 9, 8]);
    expect([...mem.readBytes(0x23000, 2)]).toEqual([7, 6]);
    expect(w.address(7)).toBe(0x23003);
    expect(w.address(8)).toBe(-1);
    expect(q.pop(chain)).toBe(QUEUE_EMPTY);
    q.pushUsed(head, 6);
    expect(d.takeUsed()).toEqual([[head, 6]]);
  });

  it('follows an indirect table', () => {
    const { mem, q, d, chain } = setup();
    const table = 0x30000;
    const write = (i: number, addr: number, len: number, flags: number, next: number) => {
      mem.write32(table + 16 * i, addr);
      mem.write32(table + 16 * i + 8, len);
      mem.write16(table + 16 * i + 12, flags);
      mem.write16(table + 16 * i + 14, next);
    };
    write(0, 0x31000, 16, VIRTQ_DESC_F_NEXT, 1);
    write(1, 0x32000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    write(2, 0x33000, 1, VIRTQ_DESC_F_WRITE, 0);
    d.setDesc(0, table, 48, VIRTQ_DESC_F_INDIRECT, 0);
    d.publish(0);
    expect(q.pop(chain)).toBe(QueueFault.NONE);
    expect([chain.count, chain.readableBytes, chain.writableBytes]).toEqual([3, 16, 513]);
  });

  it('ends a descriptor loop as CHAIN_TOO_LONG instead of spinning', () => {
    const { q, d, chain } = setup();
    d.setDesc(0, 0x20000, 8, VIRTQ_DESC_F_NEXT, 1);
    d.setDesc(1, 0x20000, 8, VIRTQ_DESC_F_NEXT, 0);
    d.publish(0);
    expect(q.pop(chain)).toBe(QueueFault.CHAIN_TOO_LONG);
    expect(chain.count).toBeLessThanOrEqual(MAX_CHAIN_DESCRIPTORS);
  });

  it('ends a huge indirect chain at the limit', () => {
    const { mem, q, d, chain } = setup();
    const table = 0x40000;
    const n = MAX_CHAIN_DESCRIPTORS + 8;
    for (let i = 0; i < n; i++) {
      mem.write32(table + 16 * i, 0x20000);
      mem.write32(table + 16 * i + 8, 1);
      mem.write16(table + 16 * i + 12, VIRTQ_DESC_F_NEXT);
      mem.write16(table + 16 * i + 14, i + 1);
    }
    d.setDesc(0, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
    d.publish(0);
    expect(q.pop(chain)).toBe(QueueFault.CHAIN_TOO_LONG);
  });

  it('rejects head and next indexes past the table', () => {
    const { q, d, chain } = setup();
    d.publish(SIZE);
    expect(q.pop(chain)).toBe(QueueFault.BAD_DESCRIPTOR_INDEX);
    const s2 = setup();
    s2.d.setDesc(0, 0x20000, 8, VIRTQ_DESC_F_NEXT, 0xffff);
    s2.d.publish(0);
    expect(s2.q.pop(s2.chain)).toBe(QueueFault.BAD_DESCRIPTOR_INDEX);
  });

  it('rejects an available index that ran ahead by more than the queue size', () => {
    const { q, d, chain } = setup();
    d.setAvailIdx(SIZE + 1);
    expect(q.pop(chain)).toBe(QueueFault.BAD_AVAIL_INDEX);
  });

  it('rejects nested, chained, empty, odd-sized and out-of-RAM indirect tables', () => {
    const cases: [number, number, number][] = [
      [0x30000, 0, VIRTQ_DESC_F_INDIRECT],
      [0x30000, 20, VIRTQ_DESC_F_INDIRECT],
      [0x30000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT],
      [RAM - 16, 32, VIRTQ_DESC_F_INDIRECT],
    ];
    for (const [addr, len, flags] of cases) {
      const { q, d, chain } = setup();
      d.setDesc(0, addr, len, flags, 1);
      d.publish(0);
      expect(q.pop(chain), `${addr.toString(16)}+${len} flags ${flags}`).toBe(QueueFault.BAD_INDIRECT);
    }
    const { mem, q, d, chain } = setup();
    mem.write32(0x30000, 0x30000);
    mem.write32(0x30008, 16);
    mem.write16(0x3000c, VIRTQ_DESC_F_INDIRECT);
    d.setDesc(0, 0x30000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    d.publish(0);
    expect(q.pop(chain)).toBe(QueueFault.BAD_INDIRECT);
  });

  it('marks buffers outside RAM, above 4 GiB, of length zero, or readable after writable, and keeps walking', () => {
    const hostile: [string, (d: DriverQueue) => void, BufferFault][] = [
      [
        'past RAM',
        (d) =>
          d.addChain([
            { addr: RAM - 4, len: 8 },
            { addr: 0x20000, len: 1, write: true },
          ]),
        BufferFault.OUT_OF_RAM,
      ],
      ['wrapping', (d) => d.addChain([{ addr: 0xfffff000, len: 0x2000 }]), BufferFault.OUT_OF_RAM],
      [
        'zero length',
        (d) =>
          d.addChain([
            { addr: 0x20000, len: 0 },
            { addr: 0x20000, len: 1, write: true },
          ]),
        BufferFault.ZERO_LENGTH,
      ],
      [
        'order',
        (d) =>
          d.addChain([
            { addr: 0x20000, len: 1, write: true },
            { addr: 0x21000, len: 4 },
          ]),
        BufferFault.READABLE_AFTER_WRITABLE,
      ],
      [
        'high address',
        (d) => {
          d.setDesc(0, 0x20000, 16, VIRTQ_DESC_F_NEXT, 1, 1);
          d.setDesc(1, 0x21000, 1, VIRTQ_DESC_F_WRITE, 0);
          d.publish(0);
        },
        BufferFault.OUT_OF_RAM,
      ],
    ];
    for (const [what, build, fault] of hostile) {
      const { q, d, chain } = setup();
      build(d);
      expect(q.pop(chain), what).toBe(QueueFault.NONE);
      expect(chain.fault, what).toBe(fault);
    }
    // The usable status byte of a faulty chain still has its address.
    const { q, d, chain } = setup();
    d.addChain([
      { addr: RAM, len: 16 },
      { addr: 0x25000, len: 1, write: true },
    ]);
    q.pop(chain);
    expect(new WritableBuffers(chain).address(0)).toBe(0x25000);
  });
});

describe('Virtqueue notifications', () => {
  it('interrupts unless the driver set NO_INTERRUPT, and only for new used entries', () => {
    const { q, d, chain } = setup();
    d.addChain([{ addr: 0x20000, len: 4 }]);
    q.pop(chain);
    expect(q.needsInterrupt()).toBe(false);
    q.pushUsed(chain.head, 0);
    expect(q.needsInterrupt()).toBe(true);
    expect(q.needsInterrupt()).toBe(false);
    d.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    d.addChain([{ addr: 0x20000, len: 4 }]);
    q.pop(chain);
    q.pushUsed(chain.head, 0);
    expect(q.needsInterrupt()).toBe(false);
  });

  it('with EVENT_IDX interrupts when the used index passes used_event and publishes avail_event', () => {
    const { q, d, chain } = setup(true);
    d.setUsedEvent(1);
    for (let i = 0; i < 3; i++) d.addChain([{ addr: 0x20000, len: 4 }]);
    q.pop(chain);
    expect(d.availEvent).toBe(1);
    q.pushUsed(chain.head, 0);
    // used index 1 has not passed used_event 1 yet.
    expect(q.needsInterrupt()).toBe(false);
    q.pop(chain);
    q.pop(chain);
    expect(d.availEvent).toBe(3);
    q.pushUsed(chain.head, 0);
    expect(q.needsInterrupt()).toBe(true);
    q.pushUsed(chain.head, 0);
    expect(q.needsInterrupt()).toBe(false);
  });
});

describe('DMA into guest RAM', () => {
  it('uses physical addresses as a bus master does, whatever the A20 gate says', () => {
    const mem = new PhysicalMemory({ ramSize: RAM });
    const q = new Virtqueue(mem, SIZE);
    const d = new DriverQueue(mem, 0x110000, SIZE);
    q.setPfn(0x110);
    d.addChain([{ addr: 0x120000, len: 4, write: true }]);
    mem.setA20(false);
    const chain = new DescriptorChain();
    expect(q.pop(chain)).toBe(QueueFault.NONE);
    expect(chain.addr[0]).toBe(0x120000);
    q.pushUsed(chain.head, 4);
    mem.setA20(true);
    expect(d.takeUsed()).toEqual([[0, 4]]);
    expect(mem.read16(0x011000 + 2)).toBe(0);
  });

  it('reports writes to pages holding scanned code and leaves ROM alone', () => {
    const { mem, q, d, chain } = setup();
    const reported: [number, number][] = [];
    mem.setCodeWriteListener((addr, len) => reported.push([addr, len]));
    mem.markCode(0x50);
    d.addChain([{ addr: 0x4fff0, len: 0x20, write: true }]);
    q.pop(chain);
    new WritableBuffers(chain).scatter(mem, 0, new Uint8Array(0x20).fill(0xcc), 0, 0x20);
    expect(reported).toEqual([[0x50000, 0x10]]);
    expect(mem.read8(0x4fff0)).toBe(0xcc);
    expect(mem.read8(0x5000f)).toBe(0xcc);

    const rom = new Uint8Array(0x10000).fill(0x90);
    mem.loadBios(rom);
    d.addChain([{ addr: 0xf0000, len: 4, write: true }]);
    q.pop(chain);
    new WritableBuffers(chain).scatter(mem, 0, new Uint8Array([1, 2, 3, 4]), 0, 4);
    expect(mem.read32(0xf0000) >>> 0).toBe(0x90909090);
  });
});
