/**
 * Kernels unpacked on the host, kept between runs. Unpacking Debian's xz-compressed kernel takes
 * about half a second, at every boot; a kernel kept under the SHA-256 of its compressed payload is
 * read back in a few milliseconds instead.
 *
 * A kept kernel is a file `<sha256 of the payload>.vmlinux`: MAGIC, the SHA-256 of the kernel, then
 * the kernel. It is written to a temporary name and renamed, so a reader never sees half a file; one
 * whose magic or hash does not match is unpacked again and replaced. A cache that cannot be read or
 * written costs only the time of the unpacking.
 */

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const MAGIC = new TextEncoder().encode('plex86 vmlinux 1');
const HASH_BYTES = 32;
const HEADER = MAGIC.length + HASH_BYTES;

/** The default place: `plex86/kernels` in the user's cache directory (XDG_CACHE_HOME or ~/.cache). */
export function defaultKernelCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'plex86', 'kernels');
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
  const path = join(dir, `${sha256(payload).toString('hex')}.vmlinux`);
  const kept = readKept(path);
  if (kept !== undefined) return kept;
  const kernel = await unpack();
  keep(path, kernel);
  return kernel;
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
