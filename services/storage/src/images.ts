import { realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { SECTOR_SIZE, type BlockImage, type ImageFormat } from './block-image.js';
import { badRequest, corrupt, ioError, StorageError, StorageErrorKind, unsupported } from './errors.js';
import { ImageFile } from './file.js';
import { writeEmptyQcow2 } from './qcow2/create.js';
import {
  DEFAULT_CLUSTER_BITS,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  MAX_CLUSTER_BITS,
  parseHeader,
  QCOW2_MAGIC,
} from './qcow2/format.js';
import { Qcow2Image } from './qcow2/image.js';
import { RawImage } from './raw.js';

/** Longest backing chain we follow; deeper chains are almost certainly a mistake or a loop. */
export const MAX_CHAIN_DEPTH = 64;

export interface OpenImageOptions {
  readOnly?: boolean;
  /** The format, when known; otherwise it is probed from the first bytes. */
  format?: ImageFormat;
  /** Open only this image, not its backing chain (reads of unallocated clusters then return zeros). */
  withoutBacking?: boolean;
  /** Bytes of qcow2 L2 tables cached per image. */
  l2CacheBytes?: number;
  /** Receives notes such as refcount repairs made on open. */
  log?: (line: string) => void;
}

/** Opens an image and, for a qcow2 overlay, its backing chain (read-only). */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<BlockImage> {
  return openChain(path, options, 0, new Set(), null);
}

async function openChain(
  path: string,
  options: OpenImageOptions,
  depth: number,
  seen: Set<string>,
  child: string | null,
): Promise<BlockImage> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    const err = ioError(path, 'open', e);
    if (child !== null && err.kind === StorageErrorKind.NotFound) {
      throw new StorageError(StorageErrorKind.NotFound, `${child}: backing file ${path} not found`);
    }
    throw err;
  }
  if (seen.has(real)) throw corrupt(child ?? path, `backing chain loops back to ${path}`);
  if (depth > MAX_CHAIN_DEPTH) throw unsupported(path, `backing chain is deeper than ${MAX_CHAIN_DEPTH} images`);
  seen.add(real);

  const file = await ImageFile.open(path, !options.readOnly);
  let backing: BlockImage | null = null;
  try {
    const size = await file.size();
    const first = new Uint8Array(Math.min(size, 4096));
    await file.read(0, first);
    const view = new DataView(first.buffer);
    const isQcow2 = first.length >= 4 && view.getUint32(0) === QCOW2_MAGIC;
    const format = options.format ?? (isQcow2 ? 'qcow2' : 'raw');
    if (format === 'raw') return await RawImage.fromFile(file);
    if (!isQcow2) throw corrupt(path, 'not a qcow2 image (bad magic)');

    const bits = first.length >= 24 ? view.getUint32(20) : 0;
    let headerBytes = first;
    if (bits > 12 && bits <= MAX_CLUSTER_BITS && size > first.length) {
      headerBytes = new Uint8Array(Math.min(size, 2 ** bits));
      await file.read(0, headerBytes);
    }
    const header = parseHeader(path, headerBytes, size);
    if (header.backingFile !== null && !options.withoutBacking) {
      const fmt = header.backingFormat;
      if (fmt !== null && fmt !== 'raw' && fmt !== 'qcow2') {
        throw unsupported(path, `backing file format "${fmt}" is not supported (raw or qcow2)`);
      }
      backing = await openChain(
        resolveBacking(path, header.backingFile),
        { ...options, readOnly: true, format: fmt ?? undefined },
        depth + 1,
        seen,
        path,
      );
    }
    return await Qcow2Image.open(file, header, size, {
      readOnly: !!options.readOnly,
      backing,
      l2CacheBytes: options.l2CacheBytes,
      log: options.log,
    });
  } catch (e) {
    await file.close();
    await backing?.close();
    throw e;
  }
}

/** A backing file name is relative to the directory of the image that names it. */
export function resolveBacking(imagePath: string, backingName: string): string {
  return isAbsolute(backingName) ? backingName : resolve(dirname(imagePath), backingName);
}

export interface CreateImageOptions {
  format: ImageFormat;
  size: number;
  clusterSize?: number;
}

/** Creates an empty image; refuses to overwrite an existing file. */
export async function createImage(path: string, options: CreateImageOptions): Promise<void> {
  if (options.format === 'raw') {
    await RawImage.create(path, options.size);
    return;
  }
  const file = await ImageFile.create(path);
  try {
    await writeEmptyQcow2(file, { size: options.size, clusterBits: clusterBitsOf(options.clusterSize) });
  } finally {
    await file.close();
  }
}

export interface CreateOverlayOptions {
  /** Virtual size; defaults to the base image's. */
  size?: number;
  clusterSize?: number;
}

/**
 * Creates a qcow2 overlay over `basePath`. The base is named relative to the overlay's directory
 * when it was given as a relative path, so the pair can be moved together.
 */
export async function createOverlay(path: string, basePath: string, options: CreateOverlayOptions = {}) {
  const base = await openImage(basePath, { readOnly: true });
  let size: number;
  let format: ImageFormat;
  try {
    size = options.size ?? Math.ceil(base.virtualSize / SECTOR_SIZE) * SECTOR_SIZE;
    format = base.format;
  } finally {
    await base.close();
  }
  const name = isAbsolute(basePath) ? basePath : relative(dirname(resolve(path)), resolve(basePath));
  const file = await ImageFile.create(path);
  try {
    await writeEmptyQcow2(file, {
      size,
      clusterBits: clusterBitsOf(options.clusterSize),
      backingFile: name,
      backingFormat: format,
    });
  } finally {
    await file.close();
  }
}

function clusterBitsOf(clusterSize: number | undefined): number {
  if (clusterSize === undefined) return DEFAULT_CLUSTER_BITS;
  const bits = Math.log2(clusterSize);
  if (!Number.isInteger(bits)) throw badRequest(`cluster size ${clusterSize} is not a power of two`);
  return bits;
}

export interface ImageInfo {
  path: string;
  format: ImageFormat;
  virtualSize: number;
  /** Bytes the file occupies (its length). */
  fileSize: number;
  clusterSize: number | null;
  version: number | null;
  refcountBits: number | null;
  /** Bytes of the virtual disk this image holds itself (data, compressed or zero clusters). */
  allocated: number;
  dirty: boolean;
  corrupt: boolean;
  backingFile: string | null;
  backingFormat: string | null;
  /** The backing chain, nearest first. */
  chain: ImageInfo[];
}

/** Describes an image and its backing chain. */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const image = await openImage(path, { readOnly: true });
  try {
    const out: ImageInfo[] = [];
    for (let img: BlockImage | null = image; img !== null; img = img.backing) out.push(await describe(img));
    const top = out[0] as ImageInfo;
    top.chain = out.slice(1);
    return top;
  } finally {
    await image.close();
  }
}

async function describe(img: BlockImage): Promise<ImageInfo> {
  let fileSize = 0;
  try {
    fileSize = (await stat(img.path)).size;
  } catch (e) {
    throw ioError(img.path, 'stat', e);
  }
  if (!(img instanceof Qcow2Image)) {
    return {
      path: img.path,
      format: img.format,
      virtualSize: img.virtualSize,
      fileSize,
      clusterSize: null,
      version: null,
      refcountBits: null,
      allocated: img.virtualSize,
      dirty: false,
      corrupt: false,
      backingFile: null,
      backingFormat: null,
      chain: [],
    };
  }
  const h = img.header;
  const allocated = (await img.extents()).reduce((n, e) => n + e.length, 0);
  return {
    path: img.path,
    format: 'qcow2',
    virtualSize: img.virtualSize,
    fileSize,
    clusterSize: img.clusterSize,
    version: h.version,
    refcountBits: 2 ** h.refcountOrder,
    allocated,
    dirty: (h.incompatibleFeatures & INCOMPAT_DIRTY) !== 0n,
    corrupt: (h.incompatibleFeatures & INCOMPAT_CORRUPT) !== 0n,
    backingFile: h.backingFile,
    backingFormat: h.backingFormat,
    chain: [],
  };
}
