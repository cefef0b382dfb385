import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageErrorKind } from './errors.js';
import { createImage, createOverlay, imageInfo, openImage } from './images.js';
import { RawImage } from './raw.js';
import { IoScheduler } from './scheduler.js';
import { fillPattern, qemuImg, useTempDir } from './testing.js';

const MIB = 1 << 20;
let dir: string;
useTempDir((made) => (dir = made));

describe('raw images', () => {
  it('read, write, zero and grow byte for byte', async () => {
    const path = join(dir, 'disk.raw');
    await createImage(path, { format: 'raw', size: MIB });
    expect((await stat(path)).size).toBe(MIB);
    const img = await openImage(path);
    expect(img.format).toBe('raw');
    const data = fillPattern(new Uint8Array(8192), 4);
    await img.write(4096, data);
    await img.writeZeroes(8192, 512);
    await img.discard(0, 4096);
    await (img as RawImage).resize(2 * MIB);
    expect(img.virtualSize).toBe(2 * MIB);
    await img.close();
    const bytes = new Uint8Array(await readFile(path));
    const expected = new Uint8Array(2 * MIB);
    expected.set(data, 4096);
    expected.fill(0, 8192, 8704);
    expect(Buffer.compare(bytes, expected)).toBe(0);
  });

  it('addresses a last partial sector and reads zeros past the end of the file', async () => {
    const path = join(dir, 'odd.raw');
    await writeFile(path, new Uint8Array(1000).fill(5));
    const img = await openImage(path, { readOnly: true });
    expect(img.virtualSize).toBe(1000);
    const buf = new Uint8Array(1024);
    await img.read(0, buf);
    expect(buf[999]).toBe(5);
    expect(buf[1000]).toBe(0);
    await img.close();
  });

  it('checks ranges and read-only state', async () => {
    const path = join(dir, 'ranges.raw');
    await createImage(path, { format: 'raw', size: MIB });
    const ro = await openImage(path, { readOnly: true });
    expect(() => ro.read(1, new Uint8Array(512))).toThrow(/multiples of 512/);
    expect(() => ro.read(MIB, new Uint8Array(512))).toThrow(/past the end/);
    expect(() => ro.read(-512, new Uint8Array(512))).toThrow(/non-negative/);
    expect(() => ro.write(0, new Uint8Array(512))).toThrow(
      expect.objectContaining({ kind: StorageErrorKind.ReadOnly }),
    );
    await ro.close();
    await expect(ro.read(0, new Uint8Array(512))).rejects.toThrow(/closed/);
  });
});

describe('creating and opening images', () => {
  it('probes the format and refuses to overwrite', async () => {
    const q = join(dir, 'probe.qcow2');
    await createImage(q, { format: 'qcow2', size: 3 * MIB });
    const img = await openImage(q, { readOnly: true });
    expect(img.format).toBe('qcow2');
    expect(img.virtualSize).toBe(3 * MIB);
    await img.close();
    await expect(createImage(q, { format: 'raw', size: MIB })).rejects.toThrow(/file exists/);
    await expect(createImage(join(dir, 'bad.qcow2'), { format: 'qcow2', size: 1000 })).rejects.toThrow(
      /multiple of 512/,
    );
    await expect(openImage(join(dir, 'missing.qcow2'))).rejects.toMatchObject({ kind: StorageErrorKind.NotFound });
    const info = JSON.parse((await qemuImg('info', '--output=json', q)).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'virtual-size': 3 * MIB, 'cluster-size': 65536 });
  });

  it('stores a relative base name relative to the overlay, so the pair can move', async () => {
    const base = join(dir, 'rel-base.raw');
    await writeFile(base, fillPattern(new Uint8Array(MIB), 9));
    await mkdir(join(dir, 'sub'));
    const overlay = join(dir, 'sub', 'rel.qcow2');
    await createOverlay(overlay, relative(process.cwd(), base));
    const info = await imageInfo(overlay);
    expect(info.backingFile).toBe('../rel-base.raw');
    expect(info.chain.map((c) => c.path)).toEqual([base]);
    expect(info.chain[0]).toMatchObject({ format: 'raw', virtualSize: MIB });
    const q = JSON.parse((await qemuImg('info', '--output=json', overlay)).stdout) as Record<string, unknown>;
    expect(q).toMatchObject({ 'backing-filename': '../rel-base.raw', 'backing-filename-format': 'raw' });
  });

  it('refuses a backing chain that loops', async () => {
    const a = join(dir, 'loop-a.qcow2');
    const b = join(dir, 'loop-b.qcow2');
    await createImage(b, { format: 'qcow2', size: MIB });
    await createOverlay(a, b);
    // Rewrite b as an overlay of a: a -> b -> a.
    await unlink(b);
    const made = await qemuImg('create', '-q', '-f', 'qcow2', '-u', '-b', a, '-F', 'qcow2', b, String(MIB));
    expect(made.code).toBe(0);
    await expect(openImage(a)).rejects.toThrow(/backing chain loops/);
  });
});

describe('IoScheduler', () => {
  it('runs reads together, mutations alone and in order, batching what queued up', async () => {
    const log: string[] = [];
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new IoScheduler<number>(async (ops) => {
      batches.push([...ops]);
      log.push(`batch ${ops.join(',')}`);
      if (ops[0] === 1) await gate;
    }, 3);
    let active = 0;
    let maxActive = 0;
    const read = (name: string) =>
      s.read(async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        log.push(name);
      });
    const first = s.mutate(1);
    const rest = [read('r1'), read('r2'), s.mutate(2), s.mutate(3), s.mutate(4), s.mutate(5), read('r3')];
    await new Promise((r) => setTimeout(r, 20));
    // While batch 1 runs, nothing else starts.
    expect(batches).toEqual([[1]]);
    expect(log).toEqual(['batch 1']);
    release();
    await Promise.all([first, ...rest]);
    expect(maxActive).toBe(2);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
    expect(log).toEqual(['batch 1', 'r1', 'r2', 'batch 2,3,4', 'batch 5', 'r3']);
  });

  it('rejects every operation of a failed batch and carries on', async () => {
    let fail = true;
    const s = new IoScheduler<number>(async () => {
      if (fail) throw new Error('disk on fire');
    });
    const a = s.mutate(1);
    const b = s.mutate(2);
    await expect(a).rejects.toThrow('disk on fire');
    await expect(b).rejects.toThrow('disk on fire');
    fail = false;
    await expect(s.mutate(3)).resolves.toBeUndefined();
  });
});
