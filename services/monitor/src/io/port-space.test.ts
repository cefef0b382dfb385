import { describe, expect, it } from 'vitest';
import { PortSpace } from './port-space.js';

describe('PortSpace', () => {
  it('reads all ones from unclaimed ports and counts dropped writes', () => {
    const io = new PortSpace();
    expect(io.read8(0x80)).toBe(0xff);
    expect(io.read16(0x1234)).toBe(0xffff);
    expect(io.read32(0xfffc) >>> 0).toBe(0xffffffff);
    io.write8(0x80, 1);
    io.write16(0x81, 1);
    io.write32(0x82, 1);
    expect(io.unmappedWrites).toBe(3);
    expect(io.unmappedReads).toBe(3);
  });

  it('dispatches to a device and splits widths it does not implement', () => {
    const io = new PortSpace();
    const regs = new Uint8Array(4);
    io.register(0x3f8, 4, 'uart', {
      read8: (port) => regs[port - 0x3f8],
      write8: (port, v) => {
        regs[port - 0x3f8] = v;
      },
    });
    io.write16(0x3f8, 0x1234);
    expect(Array.from(regs)).toEqual([0x34, 0x12, 0, 0]);
    io.write32(0x3f8, 0xa1b2c3d4);
    expect(io.read32(0x3f8) >>> 0).toBe(0xa1b2c3d4);
    expect(io.read16(0x3fa)).toBe(0xa1b2);
    expect(io.ownerOf(0x3fb)).toBe('uart');
    expect(io.ownerOf(0x3fc)).toBe('');
    // A word access that straddles the device's last port reads all ones for the unclaimed half.
    expect(io.read16(0x3fb)).toBe(0xffa1);
  });

  it('prefers a device width handler and masks values to the access size', () => {
    const io = new PortSpace();
    const writes: number[] = [];
    io.register(0xcf8, 4, 'pci', { read32: () => 0x12345678, write32: (_p, v) => writes.push(v) });
    expect(io.read32(0xcf8)).toBe(0x12345678);
    io.write32(0xcf8, 0x80000000);
    expect(writes).toEqual([0x80000000 | 0]);
    expect(io.read8(0xcf8)).toBe(0xff);
  });

  it('refuses overlapping or out-of-range claims', () => {
    const io = new PortSpace();
    io.register(0x60, 1, 'kbd', {});
    expect(() => io.register(0x5f, 2, 'other', {})).toThrow(/already claimed by kbd/);
    expect(() => io.register(0xffff, 2, 'big', {})).toThrow(/bad port range/);
    expect(() => io.register(-1, 1, 'neg', {})).toThrow(/bad port range/);
  });
});
