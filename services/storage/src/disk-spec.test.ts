import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiskSpec, openDisk, parseDiskSpec } from './disk-spec.js';
import { imageInfo, openImage } from './images.js';
import { fillPattern, useTempDir } from './testing.js';

const MIB = 1 << 20;
let dir: string;
useTempDir((made) => (dir = made));

describe('disk specs', () => {
  it('parses the options of --disk', () => {
    expect(parseDiskSpec('a.img')).toEqual({
      file: 'a.img',
      overlay: null,
      undo: false,
      format: null,
      readOnly: false,
    });
    expect(parseDiskSpec('a.img,overlay=/tmp/o.qcow2')).toMatchObject({ overlay: '/tmp/o.qcow2', undo: false });
    expect(parseDiskSpec('a.img,undo,format=raw')).toMatchObject({ undo: true, format: 'raw' });
    expect(parseDiskSpec('a.img,readonly')).toMatchObject({ readOnly: true });
    expect(() => parseDiskSpec('')).toThrow(/no file given/);
    expect(() => parseDiskSpec('a.img,undo,overlay=b')).toThrow(/exclude each other/);
    expect(() => parseDiskSpec('a.img,overlay=')).toThrow(/bad option "overlay="/);
    expect(() => parseDiskSpec('a.img,format=vmdk')).toThrow(/bad option "format=vmdk"/);
    expect(() => parseDiskSpec('a.img,undo=yes')).toThrow(/bad option/);
    expect(() => parseDiskSpec('a.img,readonly,undo')).toThrow(/readonly takes no overlay/);
  });

  it('formats a spec as the text that parses back to it', () => {
    for (const text of [
      'a.img',
      'a.img,overlay=/tmp/o.qcow2,format=qcow2',
      'a.img,undo,format=raw',
      'a.img,readonly',
    ]) {
      expect(formatDiskSpec(parseDiskSpec(text))).toBe(text);
    }
  });

  it('undo: writes land in a temporary overlay that is gone after close', async () => {
    const base = join(dir, 'undo-base.raw');
    const original = fillPattern(new Uint8Array(MIB), 1);
    await writeFile(base, original);
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const disk = await openDisk(`${base},undo`, { tmpDir: tmp });
    await disk.image.write(0, new Uint8Array(4096).fill(3));
    const back = new Uint8Array(4096);
    await disk.image.read(0, back);
    expect(back.every((b) => b === 3)).toBe(true);
    expect(await readdir(tmp)).toHaveLength(1);
    await disk.close();
    expect(await readdir(tmp)).toEqual([]);
    expect(Buffer.compare(await readFile(base), original)).toBe(0);
  });

  it('overlay=PATH: created on first use, reused afterwards, checked against FILE', async () => {
    const base = join(dir, 'ov-base.raw');
    const other = join(dir, 'other.raw');
    const overlay = join(dir, 'ov.qcow2');
    await writeFile(base, fillPattern(new Uint8Array(MIB), 2));
    await writeFile(other, new Uint8Array(MIB));
    const first = await openDisk(`${base},overlay=${overlay}`);
    await first.image.write(512, new Uint8Array(512).fill(8));
    await first.close();
    const second = await openDisk(`${base},overlay=${overlay}`);
    const back = new Uint8Array(512);
    await second.image.read(512, back);
    expect(back[0]).toBe(8);
    await second.close();
    expect((await imageInfo(overlay)).backingFile).toBe(base);
    await expect(openDisk(`${other},overlay=${overlay}`)).rejects.toThrow(/is an overlay of .*ov-base.raw, not of/);
  });

  it('plain and read-only disks open FILE itself', async () => {
    const path = join(dir, 'plain.raw');
    await writeFile(path, new Uint8Array(MIB));
    const ro = await openDisk(`${path},readonly`);
    expect(ro.image.readOnly).toBe(true);
    await ro.close();
    const rw = await openDisk(path);
    await rw.image.write(0, new Uint8Array(512).fill(1));
    await rw.close();
    const img = await openImage(path, { readOnly: true });
    const b = new Uint8Array(512);
    await img.read(0, b);
    await img.close();
    expect(b[511]).toBe(1);
  });
});
