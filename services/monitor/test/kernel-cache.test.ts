// Kernels unpacked on the host and kept between runs (boot/kernel-cache.ts): kept once, read back
// instead of unpacked, replaced when damaged, and never in the way when the cache cannot be written.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedKernel, KEPT } from '../src/boot/kernel-cache.js';

const root = mkdtempSync(join(tmpdir(), 'plex86-kernels-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
const freshDir = (): string => join(root, `d${dirs++}`);

const payload = new TextEncoder().encode('compressed kernel');
const kernel = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);

/** An unpacker that counts its calls. */
function unpacker(): { calls: number; unpack: () => Promise<Uint8Array> } {
  const u = {
    calls: 0,
    unpack: () => {
      u.calls++;
      return Promise.resolve(kernel.slice());
    },
  };
  return u;
}

describe('the kernel cache', () => {
  it('unpacks a kernel once and reads it back after that', async () => {
    const dir = freshDir();
    const u = unpacker();
    expect(await cachedKernel(payload, dir, u.unpack)).toEqual(kernel);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\.vmlinux$/)]);
    expect(await cachedKernel(payload, dir, u.unpack)).toEqual(kernel);
    expect(await cachedKernel(payload, dir, u.unpack)).toEqual(kernel);
    expect(u.calls).toBe(1);
    // Another payload is another kernel.
    await cachedKernel(new TextEncoder().encode('another kernel'), dir, u.unpack);
    expect(u.calls).toBe(2);
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('unpacks again and replaces a kept kernel that is damaged or cut short', async () => {
    const dir = freshDir();
    const u = unpacker();
    await cachedKernel(payload, dir, u.unpack);
    const [name] = readdirSync(dir);
    const path = join(dir, name as string);
    const sound = readFileSync(path);
    const damaged = Buffer.from(sound);
    damaged[damaged.length - 100] ^= 1;
    for (const bad of [damaged, sound.subarray(0, sound.length - 1), sound.subarray(0, 10), Buffer.alloc(0)]) {
      writeFileSync(path, bad);
      expect(await cachedKernel(payload, dir, u.unpack)).toEqual(kernel);
      expect(readFileSync(path).equals(sound)).toBe(true);
    }
    expect(u.calls).toBe(5);
  });

  it(`keeps the ${KEPT} kernels used last`, async () => {
    const dir = freshDir();
    const u = unpacker();
    const payloads = Array.from({ length: KEPT + 1 }, (_, i) => new TextEncoder().encode(`kernel ${i}`));
    const kept = (p: Uint8Array): string => join(dir, `${createHash('sha256').update(p).digest('hex')}.vmlinux`);
    // Kernel i was last used i seconds after the epoch: kernel 0 first.
    for (const [i, p] of payloads.slice(0, KEPT).entries()) {
      await cachedKernel(p, dir, u.unpack);
      utimesSync(kept(p), i, i);
    }
    // Using kernel 0 again makes kernel 1 the one used longest ago.
    await cachedKernel(payloads[0] as Uint8Array, dir, u.unpack);
    expect(u.calls).toBe(KEPT);
    await cachedKernel(payloads[KEPT] as Uint8Array, dir, u.unpack);
    expect(readdirSync(dir)).toHaveLength(KEPT);
    expect(existsSync(kept(payloads[0] as Uint8Array))).toBe(true);
    expect(existsSync(kept(payloads[1] as Uint8Array))).toBe(false);
  });

  it('still gives the kernel when the cache cannot be written', async () => {
    // A file where the cache directory would be.
    const blocked = join(root, 'blocked');
    writeFileSync(blocked, 'not a directory');
    const u = unpacker();
    expect(await cachedKernel(payload, join(blocked, 'kernels'), u.unpack)).toEqual(kernel);
    expect(await cachedKernel(payload, join(blocked, 'kernels'), u.unpack)).toEqual(kernel);
    expect(u.calls).toBe(2);
  });
});
