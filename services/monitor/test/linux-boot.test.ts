/**
 * Direct Linux boot with synthetic bzImages: a setup header as the boot protocol lays it out, a
 * payload (xz, gzip or uncompressed ELF) and a protected-mode part, both holding linux-entry.asm,
 * which prints what the loader passed in boot_params. The real Debian kernel boots in the CLI's
 * Linux tests; these pin down the loader's layout and its errors.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { xzSync } from 'node-liblzma';
import { afterAll, describe, expect, it } from 'vitest';
import { isBzImage, LinuxBootError, payloadCompression, readSetupHeader, unpackKernel } from '../src/boot/linux.js';
import { runMachine, type RunOptions } from '../src/machine/run.js';
import { assemble } from './support/programs.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-linux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KERNEL_ADDR = 0x1000000;
const code = assemble('linux-entry');

/** An ELF32 executable with one PT_LOAD segment holding `text` at `addr`, entered at its start. */
function elf(text: Uint8Array, addr: number): Uint8Array {
  const out = new Uint8Array(0x80 + text.length);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 3, true); // EM_386
  v.setUint32(20, 1, true);
  v.setUint32(24, addr, true);
  v.setUint32(28, 0x34, true); // e_phoff
  v.setUint16(40, 0x34, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, 1, true);
  const ph = 0x34;
  v.setUint32(ph, 1, true); // PT_LOAD
  v.setUint32(ph + 4, 0x80, true);
  v.setUint32(ph + 8, addr + 0xc0000000, true);
  v.setUint32(ph + 12, addr, true);
  v.setUint32(ph + 16, text.length, true);
  v.setUint32(ph + 20, text.length + 0x1000, true); // some bss
  v.setUint32(ph + 24, 7, true);
  out.set(text, 0x80);
  return out;
}

interface BzImageOptions {
  payload: Uint8Array;
  protocol?: number;
  loadflags?: number;
  initSize?: number;
  prefAddress?: number;
}

/** A bzImage: one setup sector plus the boot sector, then `code` followed by the payload. */
function bzImage(o: BzImageOptions): Uint8Array {
  const setupSects = 1;
  const pm = (setupSects + 1) * 512;
  const payloadOffset = (code.length + 15) & ~15;
  const image = new Uint8Array(pm + payloadOffset + o.payload.length);
  const v = new DataView(image.buffer);
  image[0x1f1] = setupSects;
  v.setUint16(0x1fe, 0xaa55, true);
  image.set([0xeb, 0x66], 0x200); // jmp to 0x268: the header's end
  v.setUint32(0x202, 0x53726448, true);
  v.setUint16(0x206, o.protocol ?? 0x020f, true);
  image[0x211] = o.loadflags ?? 0x01;
  v.setUint32(0x214, 0x100000, true);
  v.setUint32(0x22c, 0x37ffffff, true);
  v.setUint32(0x230, 0x200000, true);
  image[0x234] = 1;
  v.setUint32(0x238, 255, true);
  v.setUint32(0x248, payloadOffset, true);
  v.setUint32(0x24c, o.payload.length, true);
  v.setUint32(0x258, o.prefAddress ?? KERNEL_ADDR, true);
  v.setUint32(0x260, o.initSize ?? 0x200000, true);
  image.set(code, pm);
  image.set(o.payload, pm + payloadOffset);
  return image;
}

let files = 0;
function file(data: Uint8Array): string {
  const path = join(dir, `f${files++}`);
  writeFileSync(path, data);
  return path;
}

async function run(options: RunOptions): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runMachine(
    { debugcon: ['stdio'], exitPort: '0xf4', memory: '64M', serial: join(dir, 'serial'), ...options },
    { stdout: (d) => (stdout += new TextDecoder().decode(d)), stderr: (t) => (stderr += t) },
  );
  return { status, stdout, stderr };
}

const initrd = new TextEncoder().encode('INIT-RAM-DISK');

function expectBootParams(stdout: string, cmdline: string): void {
  const lines = stdout.split('\n');
  expect(lines[0]).toBe(cmdline);
  expect(lines.slice(1, 8)).toEqual([
    '00000004', // e820 entries
    (64 * 1048576 - 0x100000).toString(16).toUpperCase().padStart(8, '0'),
    initrd.length.toString(16).toUpperCase().padStart(8, '0'),
    '54494E49', // "INIT" read as a little-endian dword
    '00000010', // __BOOT_CS
    '000000FF', // type_of_loader: undefined
    '53726448', // "HdrS"
  ]);
}

describe('direct Linux boot', () => {
  const vmlinux = elf(code, KERNEL_ADDR);

  it('unpacks an xz payload on the host and enters the kernel ELF with boot_params in ESI', async () => {
    const kernel = file(bzImage({ payload: new Uint8Array(xzSync(Buffer.from(vmlinux))) }));
    const r = await run({ kernel, initrd: file(initrd), append: 'console=ttyS0 root=/dev/ram0' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expectBootParams(r.stdout, 'console=ttyS0 root=/dev/ram0');
  });

  it('unpacks a gzip payload, and takes an uncompressed ELF payload as it is', async () => {
    for (const payload of [new Uint8Array(gzipSync(vmlinux)), vmlinux]) {
      const r = await run({ kernel: file(bzImage({ payload })), initrd: file(initrd), append: 'quiet' });
      expect(r.status).toBe(3);
      expectBootParams(r.stdout, 'quiet');
    }
  });

  it('keeps the kernel it unpacked in the kernel cache and boots from it, also after it was damaged', async () => {
    const kernelCache = join(dir, 'kernels');
    const kernel = file(bzImage({ payload: new Uint8Array(xzSync(Buffer.from(vmlinux))) }));
    const boot = async (): Promise<void> => {
      const r = await run({ kernel, initrd: file(initrd), append: 'cached', kernelCache });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(3);
      expectBootParams(r.stdout, 'cached');
    };
    await boot();
    const [name] = readdirSync(kernelCache);
    const kept = join(kernelCache, name as string);
    // The kept file ends with the kernel ELF.
    expect(readFileSync(kept).subarray(-vmlinux.length).equals(vmlinux)).toBe(true);
    await boot();
    writeFileSync(kept, readFileSync(kept).subarray(0, 200));
    await boot();
    expect(readFileSync(kept).subarray(-vmlinux.length).equals(vmlinux)).toBe(true);
  });

  it('with --boot-decompress guest, enters the protected-mode part at code32_start instead', async () => {
    // The payload is garbage: the guest path never looks at it, so the output proves which path ran.
    const kernel = file(bzImage({ payload: new Uint8Array(64).fill(0x5a) }));
    const r = await run({ kernel, initrd: file(initrd), append: 'guest', bootDecompress: 'guest' });
    expect(r.status).toBe(3);
    expectBootParams(r.stdout, 'guest');
    await expect(run({ kernel, initrd: file(initrd) })).rejects.toThrow(/no compression format plex86 knows/);
  });

  it('runs a bzImage without a compressed payload where it is loaded (as memtest86+ is built)', async () => {
    const inPlace = { payload: new Uint8Array(0), prefAddress: 0x100000 };
    const r = await run({ kernel: file(bzImage(inPlace)), initrd: file(initrd), append: 'in place' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expectBootParams(r.stdout, 'in place');
    await expect(run({ kernel: file(bzImage({ ...inPlace, initSize: 16 })) })).rejects.toThrow(/too large/);
  });

  it('reads the setup header and tells compressions apart', () => {
    const image = bzImage({ payload: new Uint8Array(xzSync(Buffer.from(vmlinux))) });
    expect(isBzImage(image)).toBe(true);
    const h = readSetupHeader(image);
    expect(h).toMatchObject({ protocol: 0x020f, setupSects: 1, prefAddress: KERNEL_ADDR, cmdlineSize: 255 });
    expect(payloadCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(payloadCompression(new Uint8Array([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(isBzImage(vmlinux)).toBe(false);
  });

  it('refuses bad kernels and options with clear errors and without running anything', async () => {
    const payload = new Uint8Array(gzipSync(vmlinux));
    await expect(run({ kernel: file(bzImage({ payload, protocol: 0x0204 })) })).rejects.toThrow(
      /boot protocol 2\.04; plex86 needs 2\.10/,
    );
    await expect(run({ kernel: file(bzImage({ payload, loadflags: 0 })) })).rejects.toThrow(/zImage/);
    await expect(run({ kernel: file(bzImage({ payload, initSize: 0x8000000 })) })).rejects.toThrow(
      /needs RAM up to 144 MiB.*--memory 160M/,
    );
    await expect(run({ kernel: file(bzImage({ payload }).subarray(0, 1100)) })).rejects.toThrow(
      /payload lies outside the file/,
    );
    const zstd = bzImage({ payload: new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]) });
    await expect(unpackKernel(zstd)).rejects.toThrow(/zstd-compressed.*--boot-decompress guest/);
    const broken = new Uint8Array(xzSync(Buffer.from(vmlinux)));
    broken[40] ^= 0xff;
    await expect(unpackKernel(bzImage({ payload: broken }))).rejects.toBeInstanceOf(LinuxBootError);
    await expect(run({ kernel: file(bzImage({ payload })), append: 'x'.repeat(300) })).rejects.toThrow(
      /command line is 300 bytes; this kernel takes at most 255/,
    );
    await expect(run({ kernel: file(bzImage({ payload })), bootDecompress: 'maybe' })).rejects.toThrow(
      /--boot-decompress takes host or guest/,
    );
    const big = new Uint8Array(63 << 20);
    await expect(run({ kernel: file(bzImage({ payload })), initrd: file(big) })).rejects.toThrow(
      /initrd \(63 MiB\) does not fit/,
    );
  }, 60_000);
});
