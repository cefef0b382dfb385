import { open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError, StorageErrorKind } from '../errors.js';
import { createImage, openImage } from '../images.js';
import { fillPattern, qemuCheck, qemuImg, runQemuTool, useTempDir } from '../testing.js';
import { Qcow2Image } from './image.js';

const MIB = 1 << 20;
let dir: string;
useTempDir((made) => (dir = made));

/** A 2 MiB image with data in its first two clusters; returns its path and header. */
async function imageWithData(name: string) {
  const path = join(dir, name);
  await createImage(path, { format: 'qcow2', size: 2 * MIB });
  const img = (await openImage(path)) as Qcow2Image;
  await img.write(0, fillPattern(new Uint8Array(131072), 1));
  const header = { ...img.header };
  await img.close();
  return { path, header };
}

async function patch(path: string, position: number, bytes: number[]): Promise<void> {
  const f = await open(path, 'r+');
  await f.write(new Uint8Array(bytes), 0, bytes.length, position);
  await f.close();
}

async function expectCorrupt(promise: Promise<unknown>, text: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).kind).toBe(StorageErrorKind.Corrupt);
  expect((error as StorageError).message).toMatch(text);
}

describe('damaged images', () => {
  it('rejects files that are too short, have a bad magic or impossible fields', async () => {
    const short = join(dir, 'short.qcow2');
    await writeFile(short, new Uint8Array([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
    await expectCorrupt(openImage(short, { format: 'qcow2' }), /too short/);

    const { path } = await imageWithData('fields.qcow2');
    const original = await readFile(path);
    await patch(path, 20, [0, 0, 0, 30]);
    await expectCorrupt(openImage(path), /cluster_bits 30/);
    await writeFile(path, original);
    await patch(path, 96, [0, 0, 0, 9]);
    await expectCorrupt(openImage(path), /refcount_order 9/);
    await writeFile(path, original);
    await patch(path, 36, [0, 0, 0, 0]);
    await expectCorrupt(openImage(path), /L1 table of 0 entries is too small/);
    await writeFile(path, original);
    await patch(path, 0, [0, 0, 0, 0]);
    await expectCorrupt(openImage(path, { format: 'qcow2' }), /bad magic/);
  });

  it('refuses unsupported features with a reason', async () => {
    const { path } = await imageWithData('features.qcow2');
    await patch(path, 79, [0x04]); // external data file
    await expect(openImage(path)).rejects.toMatchObject({
      kind: StorageErrorKind.Unsupported,
      message: expect.stringContaining('external data files'),
    });
    await patch(path, 79, [0x80]);
    await expect(openImage(path)).rejects.toThrow(/unknown incompatible features 0x80/);
    await patch(path, 79, [0x00]);
    await patch(path, 35, [1]); // AES encryption
    await expect(openImage(path)).rejects.toThrow(/encrypted/);
  });

  it('reports a truncated image instead of reading garbage', async () => {
    const { path, header } = await imageWithData('truncated.qcow2');
    // Cut the file inside the L1 table: nothing can be trusted, so opening fails.
    await truncate(path, header.l1TableOffset + 4);
    await expectCorrupt(openImage(path, { readOnly: true }), /truncated: the L1 table/);

    // Cut the file after the L1 table but before the L2 table it points to.
    const { path: p2, header: h2 } = await imageWithData('truncated2.qcow2');
    await truncate(p2, h2.l1TableOffset + 65536);
    const img = await openImage(p2, { readOnly: true });
    await expectCorrupt(img.read(0, new Uint8Array(512)), /truncated: L2 table/);
    await img.close();
    await expectCorrupt(openImage(p2), /truncated/);
  });

  it('rejects corrupt L2 entries on read and write without damaging the file', async () => {
    const { path, header } = await imageWithData('badl2.qcow2');
    const l1 = new Uint8Array(8);
    const f = await open(path, 'r+');
    await f.read(l1, 0, 8, header.l1TableOffset);
    await f.close();
    const l2 = Number(new DataView(l1.buffer).getBigUint64(0) & 0x00ffffffffffff00n);
    // Entry 0: an unaligned host offset; entry 1: reserved bits.
    await patch(path, l2 + 6, [0x12]);
    await patch(path, l2 + 8 + 7, [0x02]);
    const before = await readFile(path);
    const img = await openImage(path, { readOnly: true });
    await expectCorrupt(img.read(0, new Uint8Array(512)), /not cluster aligned/);
    await expectCorrupt(img.read(65536, new Uint8Array(512)), /reserved bits/);
    await img.read(131072, new Uint8Array(512));
    await img.close();
    // Opening for writes counts every reference first and refuses.
    await expectCorrupt(openImage(path), /not cluster aligned|reserved bits/);
    expect(Buffer.compare(await readFile(path), before)).toBe(0);
  });

  it('refuses to write into metadata through a lying L2 entry', async () => {
    const { path, header } = await imageWithData('lying.qcow2');
    const img = (await openImage(path)) as Qcow2Image;
    await img.close();
    // Point data cluster 0 at the L1 table; the refcount check at open catches the double use.
    const l1 = new Uint8Array(8);
    const f = await open(path, 'r+');
    await f.read(l1, 0, 8, header.l1TableOffset);
    const l2 = Number(new DataView(l1.buffer).getBigUint64(0) & 0x00ffffffffffff00n);
    const entry = new Uint8Array(8);
    new DataView(entry.buffer).setBigUint64(0, (1n << 63n) | BigInt(header.l1TableOffset));
    await f.write(entry, 0, 8, l2);
    await f.close();
    await expectCorrupt(openImage(path), /used more than once/);
  });

  it('repairs clusters leaked by a crash when opened for writing', async () => {
    const { path, header } = await imageWithData('leak.qcow2');
    // Count three clusters past the end of the file as used, as a crash between the refcount
    // update and the L2 update would.
    const table = new Uint8Array(8);
    const f = await open(path, 'r+');
    await f.read(table, 0, 8, header.refcountTableOffset);
    const block = Number(new DataView(table.buffer).getBigUint64(0));
    const size = (await f.stat()).size;
    const first = Math.ceil(size / 65536);
    // qemu-img check ignores refcounts past the end of the file, so the leaked clusters exist.
    await f.truncate((first + 3) * 65536);
    await f.write(new Uint8Array([0, 1, 0, 1, 0, 1]), 0, 6, block + first * 2);
    await f.close();
    const leaked = await qemuCheck(path);
    expect(leaked.leaks).toBe(3);
    expect(leaked.corruptions).toBe(0);

    const logs: string[] = [];
    const img = await openImage(path, { log: (l) => logs.push(l) });
    expect(logs).toEqual([`${path}: repaired 3 refcount(s) (3 leaked cluster(s))`]);
    const data = new Uint8Array(131072);
    await img.read(0, data);
    expect(Buffer.compare(data, fillPattern(new Uint8Array(131072), 1))).toBe(0);
    await img.close();
    expect((await qemuCheck(path)).code).toBe(0);
    // The unused tail is cut off again.
    expect((await stat(path)).size).toBe(size);
  });

  it('rebuilds the refcounts of a dirty image left by a crashed qemu with lazy refcounts', async () => {
    const path = join(dir, 'lazy.qcow2');
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on', path, String(4 * MIB));
    // qemu-io's abort kills it before the lazily kept refcounts are written.
    await runQemuTool('qemu-io', ['-c', 'write -P 7 0 64k', '-c', `write -P 8 ${MIB} 128k`, '-c', 'abort', path]);
    const before = await qemuCheck(path);
    expect(before.corruptions).toBeGreaterThan(0);

    // Read-only opens leave it alone; a writable open repairs it and clears the dirty bit.
    const ro = (await openImage(path, { readOnly: true })) as Qcow2Image;
    expect(ro.header.incompatibleFeatures & 1n).toBe(1n);
    await ro.close();
    const logs: string[] = [];
    const img = (await openImage(path, { log: (l) => logs.push(l) })) as Qcow2Image;
    expect(logs).toEqual([`${path}: repaired 3 refcount(s) (0 leaked cluster(s))`]);
    expect(img.header.incompatibleFeatures & 1n).toBe(0n);
    const data = new Uint8Array(64 * 1024);
    await img.read(0, data);
    expect(data.every((b) => b === 7)).toBe(true);
    await img.read(MIB + 64 * 1024, data);
    expect(data.every((b) => b === 8)).toBe(true);
    await img.close();
    expect((await qemuCheck(path)).code).toBe(0);
  });

  it('opens a qcow2 read-only when it has internal snapshots, and refuses writes', async () => {
    const { path } = await imageWithData('snap.qcow2');
    expect((await qemuImg('snapshot', '-c', 'first', path)).code).toBe(0);
    await expect(openImage(path)).rejects.toMatchObject({ kind: StorageErrorKind.Unsupported });
    const img = await openImage(path, { readOnly: true });
    const data = new Uint8Array(512);
    await img.read(0, data);
    expect(Buffer.compare(data, fillPattern(new Uint8Array(131072), 1).subarray(0, 512))).toBe(0);
    expect(() => img.write(0, data)).toThrow(/read-only/);
    await img.close();
  });
});
