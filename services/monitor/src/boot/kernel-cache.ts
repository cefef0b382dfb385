/**
 * Kernels unpacked on the host, kept between runs. Unpacking Debian's xz-compressed kernel takes
 * about half a second, at every boot; a kernel kept under the SHA-256 of its compressed payload is
 * read back in a few milliseconds instead.
 *
 * A kept kernel is a file `<sha256 of the payload>.vmlinux`: MAGIC, the SHA-256 of the kernel, then
 * the kernel. It is written to a temporary name and renamed, so a reader never sees half a file; one
 * whose magic or hash does not match is unpacked again and replaced. A cache that cannot be read or
 * written costs only the time of the unpacking. The cache keeps the KEPT kernels used last (a read
 * renews a file's time), about 16 MB each for Debian's.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const MAGIC = new TextEncoder().encode('plex86 vmlinux 1');
const HASH_BYTES = 32;
const HEADER = MAGIC.length + HASH_BYTES;
const SUFFIX = '.vmlinux';
/** Kernels a cache keeps. */
export const KEPT = 8;

/** `plex86/NAME` in the user's cache directory (XDG_CACHE_HOME, or ~/.cache when it is unset or empty). */
export function userCacheDir(name: string): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'plex86', name);
}

/** The default place for kept kernels: `plex86/kernels` in the user's cache directory. */
export function defaultKernelCacheDir(): string {
  return userCacheDir('kernels');
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The kernel unpacked from `payload`: the one kept in `dir` when there is a sound one, otherwise
 * `unpack()`'s, which is then kept.
 */
export async function cachedKernel(
  payload: Uint8Array,
  dir: string,
  unpack: () => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const path = join(dir, `${sha256(payload).toString('hex')}${SUFFIX}`);
  const kept = readKept(path);
  if (kept !== undefined) {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Its place in the order of use stays as it was.
    }
    return kept;
  }
  const kernel = await unpack();
  keep(path, kernel);
  prune(dir);
  return kernel;
}

/** Removes the kernels beyond the KEPT used last. */
function prune(dir: string): void {
  try {
    const files = readdirSync(dir)
      .filter((name) => name.endsWith(SUFFIX))
      .map((name) => ({ path: join(dir, name), used: statSync(join(dir, name)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const old of files.slice(KEPT)) rmSync(old.path, { force: true });
  } catch {
    // Another process may be pruning too; what is left is pruned next time.
  }
}

function readKept(path: string): Uint8Array | undefined {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return undefined;
  }
  if (file.length < HEADER || !MAGIC.every((b, i) => file[i] === b)) return undefined;
  const kernel = new Uint8Array(file.buffer, file.byteOffset + HEADER, file.length - HEADER);
  return sha256(kernel).equals(file.subarray(MAGIC.length, HEADER)) ? kernel : undefined;
}

function keep(path: string, kernel: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    const file = new Uint8Array(HEADER + kernel.length);
    file.set(MAGIC);
    file.set(sha256(kernel), MAGIC.length);
    file.set(kernel, HEADER);
    writeFileSync(temporary, file);
    renameSync(temporary, path);
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // Nothing was written there.
    }
  }
}
