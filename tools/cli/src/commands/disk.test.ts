import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openImage } from '@plex86/storage';
import { fillPattern, qemuCheck, qemuImg, tempDir } from '@plex86/storage/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';
import { formatSize, parseSize } from './disk.js';

const MIB = 1 << 20;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('plex86-disk-cli-'));
});
afterAll(async () => cleanup());

async function disk(...args: string[]) {
  const io = captureIo();
  const code = await main(['disk', ...args], io);
  return { code, out: io.stdout(), err: io.stderr() };
}

async function writeAt(path: string, offset: number, data: Uint8Array): Promise<void> {
  const img = await openImage(path);
  await img.write(offset, data);
  await img.close();
}

describe('plex86 disk', () => {
  it('creates qcow2 and raw images that qemu-img accepts', async () => {
    const q = join(dir, 'new.qcow2');
    expect(await disk('create', '--size', '64M', q)).toEqual({
      code: 0,
      out: `Created ${q}: qcow2, 64 MiB.\n`,
      err: '',
    });
    expect((await qemuCheck(q)).code).toBe(0);
    const info = JSON.parse((await qemuImg('info', '--output=json', q)).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 64 * MIB });

    const r = join(dir, 'new.raw');
    expect((await disk('create', '--format', 'raw', '--size', '1G', r)).code).toBe(0);
    const rawInfo = JSON.parse((await qemuImg('info', '--output=json', r)).stdout) as Record<string, unknown>;
    expect(rawInfo).toMatchObject({ format: 'raw', 'virtual-size': 2 ** 30 });
  });

  it('creates an overlay, shows the chain, commits and undoes byte for byte', async () => {
    const base = join(dir, 'base.raw');
    const overlay = join(dir, 'diff.qcow2');
    const original = fillPattern(new Uint8Array(2 * MIB), 1);
    await writeFile(base, original);
    const created = await disk('create', '--base', base, overlay);
    expect(created.code).toBe(0);
    expect(created.out).toContain(`qcow2 overlay over ${base} (raw), 2 MiB`);

    const change = fillPattern(new Uint8Array(65536 + 1024), 2);
    await writeAt(overlay, 4096, change);
    const info = await disk('info', overlay);
    expect(info.code).toBe(0);
    expect(info.out).toContain('format: qcow2');
    expect(info.out).toContain('virtual size: 2 MiB (2097152 bytes)');
    expect(info.out).toContain('allocated in this image: 128 KiB');
    expect(info.out).toContain(`backing file: ${base} (raw)`);
    expect(info.out).toContain(`  ${base}: raw, 2 MiB`);
    const json = JSON.parse((await disk('info', '--json', overlay)).out) as Record<string, unknown>;
    expect(json).toMatchObject({ format: 'qcow2', allocated: 2 * 65536, backingFile: base });

    // undo: the overlay reads as the base again, and the base never changed
    const undone = await disk('undo', overlay);
    expect(undone).toMatchObject({ code: 0, out: `Dropped every change in ${overlay}; it reads as its base again.\n` });
    const out = join(dir, 'readback.raw');
    await qemuImg('convert', '-O', 'raw', overlay, out);
    expect(Buffer.compare(await readFile(out), original)).toBe(0);

    // commit: the base gets the change, byte for byte
    await writeAt(overlay, 4096, change);
    const committed = await disk('commit', overlay);
    expect(committed.code).toBe(0);
    expect(committed.out).toContain(`into ${base}; the overlay is empty again.`);
    const expected = original.slice();
    expected.set(change, 4096);
    expect(Buffer.compare(await readFile(base), expected)).toBe(0);
    expect((await qemuCheck(overlay)).code).toBe(0);
  });

  it('reports progress on a long commit', async () => {
    const base = join(dir, 'big-base.raw');
    const overlay = join(dir, 'big.qcow2');
    expect((await disk('create', '--format', 'raw', '--size', '80M', base)).code).toBe(0);
    expect((await disk('create', '--base', base, overlay)).code).toBe(0);
    await writeAt(overlay, 0, fillPattern(new Uint8Array(72 * MIB), 3));
    const r = await disk('commit', overlay);
    expect(r.code).toBe(0);
    const lines = r.err.trim().split('\n');
    expect(lines[0]).toBe('commit: 0% (0 bytes of 72 MiB)');
    expect(lines.at(-1)).toBe('commit: 100% (72 MiB of 72 MiB)');
    expect(lines.length).toBeGreaterThanOrEqual(5);
  });

  it('explains mistakes', async () => {
    expect(await disk()).toMatchObject({ code: 2, err: expect.stringContaining('which action?') });
    expect(await disk('frob', 'x')).toMatchObject({ code: 2, err: expect.stringContaining('unknown action "frob"') });
    expect(await disk('create', join(dir, 'x.qcow2'))).toMatchObject({
      code: 2,
      err: expect.stringContaining('needs --size'),
    });
    expect(await disk('create', '--size', '1000', join(dir, 'x.qcow2'))).toMatchObject({
      code: 2,
      err: expect.stringContaining('multiple of 512'),
    });
    expect(await disk('info', '--size', '1M', join(dir, 'x.qcow2'))).toMatchObject({
      code: 2,
      err: expect.stringContaining('--size does not apply to disk info'),
    });
    expect(await disk('info')).toMatchObject({ code: 2, err: expect.stringContaining('takes one FILE') });
    const missing = join(dir, 'missing.qcow2');
    expect(await disk('info', missing)).toEqual({ code: 1, out: '', err: `plex86 disk: ${missing}: no such file\n` });
    const lone = join(dir, 'lone.qcow2');
    await disk('create', '--size', '1M', lone);
    expect(await disk('undo', lone)).toMatchObject({ code: 1, err: expect.stringContaining('not an overlay') });
    expect(await disk('create', '--size', '1M', lone)).toMatchObject({
      code: 1,
      err: expect.stringContaining('file exists'),
    });
    expect((await disk('--help')).out).toMatch(/^Usage: plex86 disk create\|info\|commit\|undo/);
  });
});

describe('sizes', () => {
  it('parses and formats binary units', () => {
    expect(parseSize('512', 'size')).toBe(512);
    expect(parseSize('64M', 'size')).toBe(64 * MIB);
    expect(parseSize('1.5G', 'size')).toBe(1.5 * 2 ** 30);
    expect(parseSize('2GiB', 'size')).toBe(2 ** 31);
    expect(() => parseSize('12Q', 'size')).toThrow(/size like/);
    expect(formatSize(512)).toBe('512 bytes');
    expect(formatSize(64 * MIB)).toBe('64 MiB');
    expect(formatSize(1536)).toBe('1.5 KiB');
  });
});
