import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BlockImage } from './block-image.js';
import { commitOverlay, undoOverlay, type CommitProgress } from './diff-disk.js';
import { StorageErrorKind } from './errors.js';
import { createImage, createOverlay, imageInfo, openImage } from './images.js';
import { DiskModel, fillPattern, firstDifference, qemuCheck, qemuImg, rng, useTempDir } from './testing.js';

const MIB = 1 << 20;
let dir: string;
useTempDir((made) => (dir = made));

async function readAll(img: BlockImage): Promise<Uint8Array> {
  const out = new Uint8Array(img.virtualSize);
  await img.read(0, out);
  return out;
}

async function readImage(path: string): Promise<Uint8Array> {
  const img = await openImage(path, { readOnly: true });
  try {
    return await readAll(img);
  } finally {
    await img.close();
  }
}

/** Writes, zero-writes and discards at random spots of an overlay, mirrored in the model. */
async function change(path: string, model: DiskModel, seed: number): Promise<void> {
  const img = await openImage(path);
  const r = rng(seed);
  for (let i = 0; i < 40; i++) {
    const length = (1 + r(300)) * 512;
    const offset = r((img.virtualSize - length) / 512) * 512;
    if (r(8) === 0) {
      await img.writeZeroes(offset, length);
      model.zero(offset, length);
    } else {
      const data = fillPattern(new Uint8Array(length), seed + i);
      await img.write(offset, data);
      model.write(offset, data);
    }
  }
  await img.discard(MIB, 4 * 65536);
  model.discard(MIB, 4 * 65536);
  await img.close();
}

describe('diff disks', () => {
  it('commits an overlay into a raw base byte for byte and leaves it empty', async () => {
    const base = join(dir, 'commit-base.raw');
    const overlay = join(dir, 'commit.qcow2');
    const original = fillPattern(new Uint8Array(4 * MIB), 1);
    await writeFile(base, original);
    await createOverlay(overlay, base);
    const model = new DiskModel(4 * MIB, 65536, original);
    await change(overlay, model, 10);
    // Before the commit the base still holds its original bytes.
    expect(firstDifference(new Uint8Array(await readFile(base)), original)).toBe(-1);

    const progress: CommitProgress[] = [];
    const result = await commitOverlay(overlay, (p) => progress.push(p));
    expect(result.base).toBe(base);
    expect(result.bytes).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({ done: result.bytes, total: result.bytes });
    const done = progress.map((p) => p.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));

    expect(firstDifference(new Uint8Array(await readFile(base)), model.bytes)).toBe(-1);
    const info = await imageInfo(overlay);
    expect(info.allocated).toBe(0);
    expect(info.backingFile).toBe(base);
    expect(firstDifference(await readImage(overlay), model.bytes)).toBe(-1);
    expect((await qemuCheck(overlay)).code).toBe(0);
  });

  it('commits into a qcow2 base that has a backing file of its own', async () => {
    const bottom = join(dir, 'c2-bottom.raw');
    const base = join(dir, 'c2-base.qcow2');
    const overlay = join(dir, 'c2-top.qcow2');
    const original = fillPattern(new Uint8Array(2 * MIB), 2);
    await writeFile(bottom, original);
    await createOverlay(base, bottom);
    const model = new DiskModel(2 * MIB, 65536, original);
    await change(base, model, 20);
    await createOverlay(overlay, base);
    await change(overlay, model, 30);

    await commitOverlay(overlay);
    expect(firstDifference(await readImage(base), model.bytes)).toBe(-1);
    expect(firstDifference(await readImage(overlay), model.bytes)).toBe(-1);
    expect(firstDifference(new Uint8Array(await readFile(bottom)), original)).toBe(-1);
    expect((await qemuCheck(base)).code).toBe(0);
    const raw = join(dir, 'c2-model.raw');
    await writeFile(raw, model.bytes);
    expect((await qemuImg('compare', '-F', 'qcow2', raw, overlay)).code).toBe(0);
  });

  it('grows a raw base when the overlay is larger', async () => {
    const base = join(dir, 'grow-base.raw');
    const overlay = join(dir, 'grow-top.qcow2');
    await writeFile(base, new Uint8Array(MIB).fill(7));
    await createOverlay(overlay, base, { size: 2 * MIB });
    const img = await openImage(overlay);
    await img.write(MIB + 4096, new Uint8Array(512).fill(9));
    await img.close();
    await commitOverlay(overlay);
    const bytes = new Uint8Array(await readFile(base));
    expect(bytes.length).toBe(2 * MIB);
    expect(bytes[MIB - 1]).toBe(7);
    expect(bytes[MIB]).toBe(0);
    expect(bytes[MIB + 4096]).toBe(9);
  });

  it('undo drops every change since the overlay was made', async () => {
    const base = join(dir, 'undo-base.raw');
    const overlay = join(dir, 'undo.qcow2');
    const original = fillPattern(new Uint8Array(4 * MIB), 3);
    await writeFile(base, original);
    await createOverlay(overlay, base, { clusterSize: 4096 });
    const model = new DiskModel(4 * MIB, 4096, original);
    await change(overlay, model, 40);
    expect(firstDifference(await readImage(overlay), original)).not.toBe(-1);
    const before = (await stat(overlay)).size;

    await undoOverlay(overlay);
    expect(firstDifference(await readImage(overlay), original)).toBe(-1);
    expect(firstDifference(new Uint8Array(await readFile(base)), original)).toBe(-1);
    expect((await stat(overlay)).size).toBeLessThan(before);
    const info = await imageInfo(overlay);
    expect(info).toMatchObject({ allocated: 0, clusterSize: 4096, virtualSize: 4 * MIB, backingFormat: 'raw' });
    expect((await qemuCheck(overlay)).code).toBe(0);
    // The emptied overlay takes new writes as before.
    const img = await openImage(overlay);
    await img.write(0, new Uint8Array(512).fill(1));
    await img.close();
    expect((await readImage(overlay))[0]).toBe(1);
  });

  it('refuses to commit or undo an image without a backing file', async () => {
    const lone = join(dir, 'lone.qcow2');
    await createImage(lone, { format: 'qcow2', size: MIB });
    await expect(undoOverlay(lone)).rejects.toMatchObject({
      kind: StorageErrorKind.BadRequest,
      message: expect.stringContaining('not an overlay'),
    });
    await expect(commitOverlay(lone)).rejects.toThrow(/not an overlay/);
    const raw = join(dir, 'lone.raw');
    await createImage(raw, { format: 'raw', size: MIB });
    await expect(undoOverlay(raw)).rejects.toThrow(/not an overlay/);
  });

  it('reports a missing base clearly', async () => {
    const base = join(dir, 'gone.raw');
    const overlay = join(dir, 'orphan.qcow2');
    await writeFile(base, new Uint8Array(MIB));
    await createOverlay(overlay, base);
    await unlink(base);
    await expect(openImage(overlay)).rejects.toMatchObject({
      kind: StorageErrorKind.NotFound,
      message: `${overlay}: backing file ${base} not found`,
    });
    await expect(commitOverlay(overlay)).rejects.toThrow(/not found|no such file/);
  });
});
