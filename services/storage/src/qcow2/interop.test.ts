import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BlockImage } from '../block-image.js';
import { createImage, createOverlay, openImage } from '../images.js';
import { Qcow2Image } from './image.js';
import { DiskModel, fillPattern, firstDifference, qemuCheck, qemuImg, qemuIo, rng, useTempDir } from '../testing.js';

const MIB = 1 << 20;
let dir: string;
useTempDir((made) => (dir = made));

async function readAll(img: BlockImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.virtualSize);
  for (let at = 0; at < out.length; at += MIB) await img.read(at, out.subarray(at, Math.min(out.length, at + MIB)));
  return out;
}

function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  const at = firstDifference(actual, expected);
  expect(at, `first difference at byte ${at}`).toBe(-1);
}

/** Random writes, zero-writes and discards, applied to the image and the model alike. */
async function scribble(img: BlockImage, model: DiskModel, seed: number, ops: number, concurrent = false) {
  const r = rng(seed);
  const size = img.virtualSize;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < ops; i++) {
    const sectors = 1 + r(r(4) === 0 ? 2048 : 24);
    const length = Math.min(sectors * 512, size);
    const offset = r((size - length) / 512 + 1) * 512;
    const kind = r(10);
    let p: Promise<void>;
    if (kind < 7) {
      const data = fillPattern(new Uint8Array(length), seed * 1000 + i);
      model.write(offset, data);
      p = img.write(offset, data);
    } else if (kind < 9) {
      model.zero(offset, length);
      p = img.writeZeroes(offset, length);
    } else {
      model.discard(offset, length);
      p = img.discard(offset, length);
    }
    if (concurrent) pending.push(p);
    else await p;
  }
  await Promise.all(pending);
}

async function expectQemuAgrees(image: string, model: DiskModel, name: string): Promise<void> {
  const check = await qemuCheck(image);
  expect({ code: check.code, corruptions: check.corruptions, leaks: check.leaks }, check.raw).toEqual({
    code: 0,
    corruptions: 0,
    leaks: 0,
  });
  const raw = join(dir, `${name}.model.raw`);
  await writeFile(raw, model.bytes);
  const cmp = await qemuImg('compare', '-f', 'raw', '-F', 'qcow2', raw, image);
  expect(cmp.stdout + cmp.stderr).toContain('Images are identical');
  expect(cmp.code).toBe(0);
}

describe('qcow2 images we write, read by qemu', () => {
  it.each([
    { clusterSize: 512, refcountBits: 16, compat: '1.1' },
    { clusterSize: 4096, refcountBits: 1, compat: '1.1' },
    { clusterSize: 65536, refcountBits: 16, compat: '1.1' },
    { clusterSize: 65536, refcountBits: 16, compat: '0.10' },
    { clusterSize: 65536, refcountBits: 64, compat: '1.1' },
    { clusterSize: 2 * MIB, refcountBits: 8, compat: '1.1' },
  ])(
    'cluster $clusterSize, refcount bits $refcountBits, compat $compat',
    async ({ clusterSize, refcountBits, compat }) => {
      const path = join(dir, `ours-${clusterSize}-${refcountBits}-${compat}.qcow2`);
      // qemu-img creates the image so that refcount widths other than 16 are covered too.
      const created = await qemuImg(
        'create',
        '-q',
        '-f',
        'qcow2',
        '-o',
        `cluster_size=${clusterSize},refcount_bits=${refcountBits},compat=${compat}`,
        path,
        String(8 * MIB),
      );
      expect(created.code).toBe(0);
      const model = new DiskModel(8 * MIB, clusterSize);
      const img = await openImage(path);
      await scribble(img, model, clusterSize + refcountBits, 60);
      expectSame(await readAll(img), model.bytes);
      await img.close();
      await expectQemuAgrees(path, model, `ours-${clusterSize}-${refcountBits}-${compat}`);
    },
  );

  it('keeps an image made by createImage consistent under concurrent writes', async () => {
    const path = join(dir, 'concurrent.qcow2');
    await createImage(path, { format: 'qcow2', size: 16 * MIB });
    const model = new DiskModel(16 * MIB, 65536);
    const img = await openImage(path);
    await scribble(img, model, 7, 300, true);
    expectSame(await readAll(img), model.bytes);
    await img.close();
    await expectQemuAgrees(path, model, 'concurrent');
  });

  it('grows the refcount table when small clusters fill it', async () => {
    const path = join(dir, 'grow.qcow2');
    // 512-byte clusters with 16-bit refcounts: one table cluster covers only 8 MiB of file.
    await createImage(path, { format: 'qcow2', size: 24 * MIB, clusterSize: 512 });
    const model = new DiskModel(24 * MIB, 512);
    const img = await openImage(path);
    const data = new Uint8Array(MIB);
    for (let i = 0; i < 20; i++) {
      const offset = ((i * 7) % 24) * MIB;
      fillPattern(data, i + 1);
      model.write(offset, data);
      await img.write(offset, data);
    }
    expectSame(await readAll(img), model.bytes);
    await img.close();
    const info = JSON.parse((await qemuImg('info', '--output=json', path)).stdout) as { 'actual-size': number };
    expect(info['actual-size']).toBeGreaterThan(16 * MIB);
    await expectQemuAgrees(path, model, 'grow');
    // Reopening finds the moved table and nothing to repair.
    const logs: string[] = [];
    const again = await openImage(path, { log: (l) => logs.push(l) });
    expect(again).toBeInstanceOf(Qcow2Image);
    const header = (again as Qcow2Image).header;
    expect(header.refcountTableOffset).not.toBe(512);
    expect(header.refcountTableClusters).toBeGreaterThan(1);
    expectSame(await readAll(again), model.bytes);
    await again.close();
    expect(logs).toEqual([]);
  });
});

describe('qcow2 images qemu wrote, read by us', () => {
  it.each([512, 4096, 65536])('cluster size %i: data, zero writes, discards', async (clusterSize) => {
    const path = join(dir, `qemu-${clusterSize}.qcow2`);
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `cluster_size=${clusterSize}`, path, String(4 * MIB));
    const model = new DiskModel(4 * MIB, clusterSize);
    const commands: string[] = [];
    const r = rng(clusterSize);
    for (let i = 0; i < 30; i++) {
      const length = (1 + r(40)) * 512;
      const offset = r((4 * MIB - length) / 512) * 512;
      const pattern = 1 + r(254);
      commands.push(`write -P ${pattern} ${offset} ${length}`);
      model.write(offset, new Uint8Array(length).fill(pattern));
    }
    commands.push(`write -z ${MIB + 512} 4096`);
    model.zero(MIB + 512, 4096);
    const discardAt = 2 * MIB;
    commands.push(`discard ${discardAt} ${clusterSize * 4}`);
    model.discard(discardAt, clusterSize * 4);
    await qemuIo(path, commands);

    const img = await openImage(path, { readOnly: true });
    expectSame(await readAll(img), model.bytes);
    await img.close();
  });

  it('reads compressed clusters and rewrites parts of them', async () => {
    const src = join(dir, 'compress-src.raw');
    const path = join(dir, 'compressed.qcow2');
    // Compressible but not constant: a repeating short pattern with a counter.
    const bytes = new Uint8Array(4 * MIB);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i >> 9) % 7 === 0 ? 0 : ((i * 31) % 251) & (i >> 12);
    await writeFile(src, bytes);
    expect((await qemuImg('convert', '-c', '-f', 'raw', '-O', 'qcow2', src, path)).code).toBe(0);
    const info = await qemuImg('check', path);
    expect(info.stdout).toMatch(/[1-9][\d.]*% compressed clusters/);

    const img = await openImage(path);
    expectSame(await readAll(img), bytes);
    const model = new DiskModel(4 * MIB, 65536, bytes);
    await scribble(img, model, 99, 40);
    expectSame(await readAll(img), model.bytes);
    await img.close();
    await expectQemuAgrees(path, model, 'compressed');
  });

  it('follows a backing chain qemu made and adds an overlay on top', async () => {
    const base = join(dir, 'chain-base.raw');
    const mid = join(dir, 'chain-mid.qcow2');
    const top = join(dir, 'chain-top.qcow2');
    // The raw base is shorter than the overlays: what lies past its end reads as zero.
    const baseBytes = fillPattern(new Uint8Array(3 * MIB), 5);
    await writeFile(base, baseBytes);
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'chain-base.raw', '-F', 'raw', mid, String(4 * MIB));
    await qemuIo(mid, [`write -P 0x33 ${MIB} 64k`, `write -z ${2 * MIB} 128k`, `write -P 0x44 ${3 * MIB + 4096} 4096`]);
    const model = new DiskModel(4 * MIB, 65536, baseBytes);
    model.write(MIB, new Uint8Array(65536).fill(0x33));
    model.zero(2 * MIB, 131072);
    model.write(3 * MIB + 4096, new Uint8Array(4096).fill(0x44));

    await createOverlay(top, mid);
    const img = await openImage(top);
    expect(img.backing?.path).toBe(mid);
    expect(img.backing?.backing?.format).toBe('raw');
    expectSame(await readAll(img), model.bytes);
    await scribble(img, model, 11, 50);
    expectSame(await readAll(img), model.bytes);
    await img.close();
    await expectQemuAgrees(top, model, 'chain');
    // The lower images are untouched.
    expect(firstDifference(new Uint8Array(await readFile(base)), baseBytes)).toBe(-1);
    expect((await qemuCheck(mid)).code).toBe(0);
  });

  it('reads a qemu overlay made over our overlay', async () => {
    const base = join(dir, 'mixed-base.qcow2');
    const top = join(dir, 'mixed-top.qcow2');
    await createImage(base, { format: 'qcow2', size: 2 * MIB });
    const model = new DiskModel(2 * MIB, 65536);
    const b = await openImage(base);
    await scribble(b, model, 3, 30);
    await b.close();
    await qemuImg('create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', top);
    await qemuIo(top, ['write -P 0x77 512 1024', `write -P 0x78 ${MIB} 65536`]);
    model.write(512, new Uint8Array(1024).fill(0x77));
    model.write(MIB, new Uint8Array(65536).fill(0x78));
    const img = await openImage(top, { readOnly: true });
    expectSame(await readAll(img), model.bytes);
    await img.close();
  });
});
