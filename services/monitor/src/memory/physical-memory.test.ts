import { describe, expect, it } from 'vitest';
import { PageKind, PhysicalMemory } from './physical-memory.js';

const MIB = 1 << 20;

describe('PhysicalMemory', () => {
  it('rejects RAM sizes that are not page multiples or out of range', () => {
    expect(() => new PhysicalMemory({ ramSize: 1000 })).toThrow(/multiple of 4 KiB/);
    expect(() => new PhysicalMemory({ ramSize: MIB + 1 })).toThrow(/multiple of 4 KiB/);
    expect(() => new PhysicalMemory({ ramSize: 512 * 1024 })).toThrow(/between 1 MiB/);
  });

  it('reads back little-endian values at aligned and unaligned addresses', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    mem.write32(0x1000, 0x11223344);
    expect(mem.read8(0x1000)).toBe(0x44);
    expect(mem.read16(0x1001)).toBe(0x2233);
    expect(mem.read32(0x1000)).toBe(0x11223344);
    mem.write32(0x2001, 0xdeadbeef);
    expect(mem.read32(0x2001) >>> 0).toBe(0xdeadbeef);
    expect(mem.read16(0x2003)).toBe(0xdead);
    mem.write16(0x2fff, 0xabcd);
    expect(mem.read8(0x2fff)).toBe(0xcd);
    expect(mem.read8(0x3000)).toBe(0xab);
  });

  it('returns all ones above RAM and counts dropped writes', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    expect(mem.read8(2 * MIB)).toBe(0xff);
    expect(mem.read32(0x80000000) >>> 0).toBe(0xffffffff);
    expect(mem.read16(2 * MIB - 1)).toBe(0xff00 | mem.read8(2 * MIB - 1));
    mem.write32(0x40000000, 1);
    expect(mem.droppedWrites).toBe(4);
  });

  it('wraps at bit 20 when A20 is disabled and tells listeners', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    let changes = 0;
    mem.onLayoutChange = () => changes++;
    mem.write8(0x100010, 0x5a);
    mem.write8(0x10, 0xa5);
    expect(mem.read8(0x100010)).toBe(0x5a);
    mem.setA20(false);
    expect(mem.a20Enabled).toBe(false);
    expect(mem.read8(0x100010)).toBe(0xa5);
    mem.write8(0x100011, 0x77);
    expect(mem.read8(0x11)).toBe(0x77);
    mem.setA20(false);
    expect(changes).toBe(1);
    mem.setA20(true);
    expect(mem.read8(0x100010)).toBe(0x5a);
    expect(changes).toBe(2);
  });

  it('maps a BIOS below 1 MIB read-only and mirrors it below 4 GiB', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    const bios = new Uint8Array(0x10000);
    for (let i = 0; i < bios.length; i++) bios[i] = (i * 7) & 0xff;
    mem.loadBios(bios);
    expect(mem.read8(0xf0000)).toBe(bios[0]);
    expect(mem.read8(0xffff0)).toBe(bios[0xfff0]);
    expect(mem.read8(0xfffffff0)).toBe(bios[0xfff0]);
    expect(mem.read32(0xffff0000)).toBe(bios[0] | (bios[1] << 8) | (bios[2] << 16) | (bios[3] << 24));
    mem.write8(0xf0000, 0x99);
    mem.write8(0xffff0000, 0x99);
    expect(mem.read8(0xf0000)).toBe(bios[0]);
    expect(mem.read8(0xffff0000)).toBe(bios[0]);
    expect(mem.droppedWrites).toBe(2);
    expect(mem.pageKind[0xe0]).toBe(PageKind.RAM);
    expect(() => mem.loadBios(new Uint8Array(100))).toThrow(/multiple of 4 KiB/);
  });

  it('maps only the last 128 KiB of a larger BIOS under 1 MIB', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    const bios = new Uint8Array(0x40000);
    bios[0x20000] = 0x42;
    bios[0] = 0x24;
    mem.loadBios(bios);
    expect(mem.read8(0xe0000)).toBe(0x42);
    expect(mem.read8(0xfffc0000)).toBe(0x24);
  });

  it('routes MMIO pages to their handler with region-relative offsets', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    const log: string[] = [];
    mem.mapMmio(0xfe000000, 0x2000, {
      read8: (off) => off & 0xff,
      write8: (off, v) => log.push(`${off.toString(16)}=${v.toString(16)}`),
    });
    expect(mem.read8(0xfe001005)).toBe(5);
    expect(mem.read16(0xfe000010)).toBe(0x1110);
    mem.write16(0xfe000020, 0xbeef);
    expect(log).toEqual(['20=ef', '21=be']);
    expect(() => mem.mapMmio(0xfe001000, 0x1000, { read8: () => 0, write8: () => undefined })).toThrow(/overlaps/);
    expect(() => mem.mapMmio(0xfe003001, 0x1000, { read8: () => 0, write8: () => undefined })).toThrow(/page-aligned/);
  });

  it('reports writes to pages marked as code, and only those', () => {
    const mem = new PhysicalMemory({ ramSize: 2 * MIB });
    const hits: [number, number][] = [];
    mem.setCodeWriteListener((p, n) => hits.push([p, n]));
    mem.markCode(0x10);
    mem.write32(0x10004, 1);
    mem.write16(0x11000, 1);
    mem.write8(0x10fff, 1);
    mem.unmarkCode(0x10);
    mem.write8(0x10000, 1);
    expect(hits).toEqual([
      [0x10004, 4],
      [0x10fff, 1],
    ]);
  });
});
