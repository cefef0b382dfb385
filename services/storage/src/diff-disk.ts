import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { BlockImage } from './block-image.js';
import { badRequest, ioError, StorageError, StorageErrorKind } from './errors.js';
import { ImageFile } from './file.js';
import { openImage, resolveBacking } from './images.js';
import { writeEmptyQcow2 } from './qcow2/create.js';
import { Qcow2Image } from './qcow2/image.js';
import { RawImage } from './raw.js';

/** Bytes copied per step of a commit. */
const COMMIT_CHUNK = 1 << 20;

export interface CommitProgress {
  /** Bytes of the overlay merged so far. */
  done: number;
  /** Bytes the overlay holds in all. */
  total: number;
}

export interface CommitResult {
  base: string;
  /** Bytes merged into the base. */
  bytes: number;
}

async function openOverlay(path: string): Promise<Qcow2Image> {
  const image = await openImage(path, { readOnly: true, withoutBacking: true });
  if (!(image instanceof Qcow2Image) || image.header.backingFile === null) {
    await image.close();
    throw badRequest(`${path} is not an overlay: it has no backing file`);
  }
  return image;
}

/**
 * Merges an overlay into its base image, then empties the overlay. Crash safe at every step: the
 * overlay keeps all its data until the base has it durably, so an interrupted commit leaves the
 * disk contents unchanged and can simply be run again.
 */
export async function commitOverlay(
  path: string,
  onProgress?: (progress: CommitProgress) => void,
): Promise<CommitResult> {
  const overlay = await openOverlay(path);
  let base: BlockImage | null = null;
  let total = 0;
  try {
    const h = overlay.header;
    const basePath = resolveBacking(path, h.backingFile as string);
    base = await openImage(basePath, {
      format: h.backingFormat === 'raw' || h.backingFormat === 'qcow2' ? h.backingFormat : undefined,
    });
    if (overlay.virtualSize > base.virtualSize) {
      if (!(base instanceof RawImage)) {
        throw badRequest(`${path} is larger than its base ${basePath}; grow the base first`);
      }
      await base.resize(overlay.virtualSize);
    }
    const extents = await overlay.extents();
    total = extents.reduce((n, e) => n + e.length, 0);
    let done = 0;
    onProgress?.({ done, total });
    const buf = new Uint8Array(COMMIT_CHUNK);
    for (const e of extents) {
      if (e.zero) {
        await base.writeZeroes(e.offset, e.length);
        done += e.length;
        onProgress?.({ done, total });
        continue;
      }
      for (let at = 0; at < e.length; at += COMMIT_CHUNK) {
        const chunk = buf.subarray(0, Math.min(COMMIT_CHUNK, e.length - at));
        await overlay.read(e.offset + at, chunk);
        await base.write(e.offset + at, chunk);
        done += chunk.length;
        onProgress?.({ done, total });
      }
    }
    await base.flush();
  } finally {
    await overlay.close();
    await base?.close();
  }
  await resetOverlay(path);
  return { base: resolveBacking(path, overlay.header.backingFile as string), bytes: total };
}

/**
 * Drops every change an overlay holds since it was made: it is replaced, atomically, by a fresh
 * empty overlay over the same base (same size, cluster size and backing name).
 */
export async function undoOverlay(path: string): Promise<void> {
  await resetOverlay(path);
}

async function resetOverlay(path: string): Promise<void> {
  const overlay = await openOverlay(path);
  const h = overlay.header;
  await overlay.close();
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await ImageFile.create(tmp, true);
  try {
    await writeEmptyQcow2(file, {
      size: h.size,
      clusterBits: h.clusterBits,
      refcountOrder: h.refcountOrder,
      backingFile: h.backingFile as string,
      backingFormat: h.backingFormat,
    });
    await file.close();
    await rename(tmp, path);
  } catch (e) {
    await file.close();
    await unlink(tmp).catch(() => undefined);
    throw e instanceof StorageError ? e : ioError(path, 'replace', e);
  }
  await syncDirectory(dirname(path));
}

/** Makes a rename durable. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    throw new StorageError(StorageErrorKind.Io, `${dir}: fsync of directory failed: ${(e as Error).message}`);
  } finally {
    await handle?.close();
  }
}
