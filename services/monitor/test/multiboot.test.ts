/**
 * The Multiboot loader's information structure (modules, text-screen framebuffer) and the text
 * screen reader, on synthetic flat images. Debian's Multiboot kernels run in the CLI's tests.
 */

import { describe, expect, it } from 'vitest';
import { loadMultiboot, MultibootError, writeMultibootInfo } from '../src/boot/multiboot.js';
import { readTextScreen, TEXT_SCREEN } from '../src/machine/devices/text-screen.js';
import { PhysicalMemory } from '../src/memory/physical-memory.js';

const LOAD = 0x100000;

/** A flat Multiboot image (address fields, flag 16) loaded at 1 MiB: the header, then HLT. */
function flatKernel(flags: number, bssEnd = 0): Uint8Array {
  const image = new Uint8Array(0x40);
  const v = new DataView(image.buffer);
  const all = (flags | 0x10000) >>> 0;
  v.setUint32(0, 0x1badb002, true);
  v.setUint32(4, all, true);
  v.setUint32(8, -(0x1badb002 + all) >>> 0, true);
  v.setUint32(12, LOAD, true); // header_addr
  v.setUint32(16, LOAD, true); // load_addr
  v.setUint32(20, 0, true); // load_end_addr: the whole file
  v.setUint32(24, bssEnd, true);
  v.setUint32(28, LOAD + 0x30, true); // entry
  v.setUint32(36, 1024, true); // preferred mode: 1024x768x32 linear graphics
  v.setUint32(40, 768, true);
  v.setUint32(44, 32, true);
  image[0x30] = 0xf4;
  return image;
}

function memory(mib = 4): PhysicalMemory {
  return new PhysicalMemory({ ramSize: mib << 20 });
}

function cString(mem: PhysicalMemory, at: number): string {
  let s = '';
  for (let b = mem.read8(at); b !== 0; b = mem.read8(++at)) s += String.fromCharCode(b);
  return s;
}

describe('Multiboot information', () => {
  it('places modules page-aligned after the kernel (bss included), with their strings', () => {
    const mem = memory();
    const kernel = loadMultiboot(mem, flatKernel(0x3, LOAD + 0x2345));
    const modules = [
      { data: new Uint8Array([1, 2, 3]), cmdline: 'first.mod arg' },
      { data: new Uint8Array(4097).fill(9), cmdline: 'second.mod' },
    ];
    const info = writeMultibootInfo(mem, kernel, 'kernel args', modules);
    expect(mem.read32(info) & (1 << 3)).not.toBe(0);
    expect(mem.read32(info + 20)).toBe(2);
    const list = mem.read32(info + 24);
    const entries = [0, 1].map((i) => [0, 4, 8].map((f) => mem.read32(list + i * 16 + f)));
    expect(entries[0].slice(0, 2)).toEqual([LOAD + 0x3000, LOAD + 0x3003]);
    expect(entries[1].slice(0, 2)).toEqual([LOAD + 0x4000, LOAD + 0x5001]);
    expect(entries.map((e) => cString(mem, e[2]))).toEqual(['first.mod arg', 'second.mod']);
    expect(mem.readBytes(LOAD + 0x3000, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(mem.read8(LOAD + 0x5000)).toBe(9);
    expect(cString(mem, mem.read32(info + 16))).toBe('kernel args');
  });

  it('answers a request for video information with the 80x25 text screen', () => {
    const mem = memory();
    const withVideo = writeMultibootInfo(mem, loadMultiboot(mem, flatKernel(0x7)), '');
    expect(mem.read32(withVideo) & (1 << 12)).not.toBe(0);
    expect([88, 92, 96, 100, 104].map((f) => mem.read32(withVideo + f))).toEqual([TEXT_SCREEN.address, 0, 160, 80, 25]);
    expect([mem.read8(withVideo + 108), mem.read8(withVideo + 109)]).toEqual([16, 2]);
    const without = writeMultibootInfo(mem, loadMultiboot(mem, flatKernel(0x3)), '');
    expect(mem.read32(without) & ((1 << 12) | (1 << 3))).toBe(0);
    expect(mem.read32(without + 88)).toBe(0);
  });

  it('refuses what it cannot do with clear errors', () => {
    const mem = memory();
    expect(() => loadMultiboot(mem, flatKernel(0x8))).toThrow(
      /requires Multiboot features this loader lacks \(flags 0x10008\)/,
    );
    const kernel = loadMultiboot(mem, flatKernel(0x3));
    const many = Array.from({ length: 17 }, (_, i) => ({ data: new Uint8Array(1), cmdline: `m${i}` }));
    expect(() => writeMultibootInfo(mem, kernel, '', many)).toThrow(/at most 16 boot modules, got 17/);
    const big = [{ data: new Uint8Array(4 << 20), cmdline: 'big.img' }];
    expect(() => writeMultibootInfo(mem, kernel, '', big)).toThrow(MultibootError);
    expect(() => writeMultibootInfo(mem, kernel, '', big)).toThrow(
      /boot module 1 \(big\.img\) ends at .* beyond the 4 MiB/,
    );
    expect(() => writeMultibootInfo(mem, kernel, 'x'.repeat(4000))).toThrow(/command lines are too long/);
  });
});

describe('readTextScreen', () => {
  it('renders code page 437 characters row by row, dropping attributes and trailing blanks', () => {
    const mem = memory();
    const put = (row: number, column: number, bytes: number[]) =>
      bytes.forEach((b, i) => {
        const at = TEXT_SCREEN.address + (row * 80 + column + i) * 2;
        mem.write8(at, b);
        mem.write8(at + 1, 0x1f);
      });
    expect(readTextScreen(mem)).toBe('');
    put(
      0,
      0,
      [...'Hi!'].map((c) => c.charCodeAt(0)),
    );
    put(2, 78, [0xc4, 0x01]);
    put(3, 0, [0x20, 0x00, 0x20]);
    expect(readTextScreen(mem)).toBe(`Hi!\n\n${' '.repeat(78)}─☺\n`);
    put(24, 79, [0xdb]);
    expect(readTextScreen(mem).split('\n')).toHaveLength(26);
    expect(readTextScreen(mem).endsWith(`${' '.repeat(79)}█\n`)).toBe(true);
  });
});
