import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  BusError,
  serveMethods,
  stderrLogger,
  vmSubject,
  type Bus,
  type BusLogger,
  type BusService,
} from '@plex86/bus';
import {
  BlockServiceDefinition,
  ErrorCode,
  ImageFormat as ProtoImageFormat,
  StorageServiceDefinition,
  type ImageInfo as ProtoImageInfo,
} from '@plex86/proto';
import type { BlockImage, ImageFormat } from './block-image.js';
import { BlockDevice, MalformedRequest } from './device.js';
import { commitOverlay, undoOverlay } from './diff-disk.js';
import { StorageError, StorageErrorKind } from './errors.js';
import { createImage, createOverlay, imageInfo, openImage, type ImageInfo } from './images.js';

/** The package version, reported to discovery (a test keeps it equal to package.json's). */
export const STORAGE_VERSION = '0.1.0';
/** Name of the image-management service in discovery. */
export const STORAGE_SERVICE_NAME = 'plex-storage';
/** Name of each served disk in discovery. */
export const BLOCK_SERVICE_NAME = 'plex-block';
/** Where StorageService listens: plex86.storage.<method>. */
export const STORAGE_SUBJECT_PREFIX = 'plex86.storage';
const REMEMBERED_REQUESTS = 1024;

/** A storage failure as a bus error reply. */
export function toBusError(e: unknown, subject: string): BusError {
  if (e instanceof BusError) return e;
  if (e instanceof MalformedRequest) return new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, e.message);
  if (!(e instanceof StorageError)) {
    return new BusError(ErrorCode.ERROR_CODE_INTERNAL, subject, e instanceof Error ? e.message : String(e));
  }
  const code = {
    [StorageErrorKind.BadRequest]: ErrorCode.ERROR_CODE_BAD_REQUEST,
    [StorageErrorKind.NotFound]: ErrorCode.ERROR_CODE_NOT_FOUND,
    [StorageErrorKind.Corrupt]: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
    [StorageErrorKind.Unsupported]: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
    [StorageErrorKind.ReadOnly]: ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
    [StorageErrorKind.Unavailable]: ErrorCode.ERROR_CODE_UNAVAILABLE,
    [StorageErrorKind.Io]: ErrorCode.ERROR_CODE_INTERNAL,
  }[e.kind];
  return new BusError(code, subject, e.message, { cause: e });
}

export interface ServeDiskOptions {
  /** Serial number reported to the guest. */
  serial?: string;
  logger?: BusLogger;
}

/** A disk being served on plex86.<vm>.block.<disk>. */
export interface ServedDisk {
  readonly vm: string;
  readonly disk: string;
  readonly subject: string;
  readonly device: BlockDevice;
  /** Stops serving and closes the image (making every acknowledged write durable). */
  close(): Promise<void>;
}

/**
 * Serves an open image as the BlockService of disk `disk` of VM `vm`. A writable disk has exactly
 * one server (no queue group); a read-only disk joins the queue group `q`, so several instances
 * can share the load of one base image.
 */
export async function serveDisk(
  bus: Bus,
  vm: string,
  disk: string,
  image: BlockImage,
  options: ServeDiskOptions = {},
): Promise<ServedDisk> {
  const logger = options.logger ?? stderrLogger;
  const subject = vmSubject(vm, 'block', disk);
  const device = new BlockDevice(image, { serial: options.serial ?? disk, log: (l) => logger.warn(l) });
  const guard =
    <Req, Res>(fn: (req: Req) => Promise<Res> | Res) =>
    async (req: Req, ctx: { subject: string }): Promise<Res> => {
      try {
        return await fn(req);
      } catch (e) {
        throw toBusError(e, ctx.subject);
      }
    };
  const service = await serveMethods(
    bus,
    {
      name: BLOCK_SERVICE_NAME,
      version: STORAGE_VERSION,
      description: `disk ${disk} of VM ${vm}: ${image.path}`,
      metadata: { vm, disk, image: image.path, read_only: String(image.readOnly) },
      queue: image.readOnly ? 'q' : '',
    },
    subject,
    BlockServiceDefinition,
    {
      readSectors: guard((r) => device.read(r)),
      writeSectors: guard((r) => device.write(r)),
      flushCache: guard((r) => device.flush(r)),
      discardSectors: guard((r) => device.discard(r)),
      getBlockGeometry: guard((r) => ({ requestId: r.requestId, geometry: device.geometry() })),
    },
    { logger },
  );
  let closed = false;
  return {
    vm,
    disk,
    subject,
    device,
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await service.stop();
      } finally {
        await device.close();
      }
    },
  };
}

export interface StorageServiceOptions {
  /** Image paths in requests are relative to this directory and may not leave it. */
  imageDir: string;
  logger?: BusLogger;
}

export interface StorageServiceHandle {
  readonly service: BusService;
  /** Disks opened through OpenImage, by `<vm>/<disk>`. */
  readonly disks: ReadonlyMap<string, ServedDisk>;
  /** Stops the service and closes every disk it opened. */
  stop(): Promise<void>;
}

interface OpenDisk {
  served: ServedDisk;
  /** Real paths of the image and its whole backing chain. */
  chain: string[];
  readOnly: boolean;
}

/**
 * Starts the storage service: image management (StorageService on plex86.storage.<method>) and
 * a BlockService for every disk opened through it. Requests that change something are
 * remembered by id, so a retried create, open, commit or undo takes effect once.
 */
export async function startStorageService(bus: Bus, options: StorageServiceOptions): Promise<StorageServiceHandle> {
  const logger = options.logger ?? stderrLogger;
  const root = resolve(options.imageDir);
  const open = new Map<string, OpenDisk>();
  const served = new Map<string, ServedDisk>();
  const remembered = new Map<string, Promise<unknown>>();

  const inside = (path: string, subject: string): string => {
    const full = resolve(root, path);
    if (path === '' || isAbsolute(path) || (full !== root && !full.startsWith(root + sep))) {
      throw new BusError(
        ErrorCode.ERROR_CODE_BAD_REQUEST,
        subject,
        `path "${path}" must be relative to the image directory and stay inside it`,
      );
    }
    return full;
  };

  const once = <T>(id: string, subject: string, fn: () => Promise<T>): Promise<T> => {
    if (id === '') throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, 'request_id is required');
    const known = remembered.get(id);
    if (known !== undefined) return known as Promise<T>;
    const result = fn();
    remembered.set(id, result);
    // A failed request may be retried for real.
    result.catch(() => remembered.delete(id));
    if (remembered.size > REMEMBERED_REQUESTS) remembered.delete(remembered.keys().next().value as string);
    return result;
  };

  const chainOf = async (image: BlockImage): Promise<string[]> => {
    const out: string[] = [];
    for (let i: BlockImage | null = image; i !== null; i = i.backing) out.push(await realpath(i.path));
    return out;
  };

  /** Refuses to touch an image an open disk writes to or reads through. */
  const checkNotInUse = async (path: string, subject: string, what: string): Promise<void> => {
    const real = await realpath(path).catch(() => path);
    for (const [key, d] of open) {
      if (d.chain.includes(real)) {
        throw new BusError(
          ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
          subject,
          `${what}: ${path} is in use by disk ${key}`,
        );
      }
    }
  };

  const toProtoInfo = (info: ImageInfo, inUse: boolean): ProtoImageInfo => ({
    path: relative(root, info.path),
    format: protoFormat(info.format),
    virtualSize: BigInt(info.virtualSize),
    actualSize: BigInt(info.fileSize),
    clusterSize: info.clusterSize ?? 0,
    backingChain: info.chain.map((c) => ({
      path: relative(root, c.path),
      format: protoFormat(c.format),
      virtualSize: BigInt(c.virtualSize),
    })),
    inUse,
  });

  const describe = async (path: string): Promise<ProtoImageInfo> => {
    const info = await imageInfo(path);
    const real = await realpath(path);
    const inUse = [...open.values()].some((d) => !d.readOnly && d.chain[0] === real);
    return toProtoInfo(info, inUse);
  };

  const wrap =
    <Req, Res>(fn: (req: Req, subject: string) => Promise<Res>) =>
    async (req: Req, ctx: { subject: string }): Promise<Res> => {
      try {
        return await fn(req, ctx.subject);
      } catch (e) {
        throw toBusError(e, ctx.subject);
      }
    };

  const service = await serveMethods(
    bus,
    {
      name: STORAGE_SERVICE_NAME,
      version: STORAGE_VERSION,
      description: `disk images, overlays, commit and undo in ${root}`,
      metadata: { image_dir: root },
      // Opened disks live in this instance, so every request must reach the same one.
      queue: '',
    },
    STORAGE_SUBJECT_PREFIX,
    StorageServiceDefinition,
    {
      createImage: wrap((req, subject) =>
        once(req.requestId, subject, async () => {
          const path = inside(req.path, subject);
          const format = imageFormat(req.format, subject);
          if (format === null) {
            throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, 'format must be RAW or QCOW2');
          }
          await createImage(path, {
            format,
            size: safeNumber(req.virtualSize, 'virtual_size', subject),
            clusterSize: req.clusterSize || undefined,
          });
          return { info: await describe(path) };
        }),
      ),
      openImage: wrap((req, subject) =>
        once(req.requestId, subject, async () => {
          const key = `${req.vmId}/${req.diskId}`;
          if (open.has(key)) {
            throw new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, subject, `disk ${key} is already open`);
          }
          const path = inside(req.path, subject);
          // A disk may not write to an image another disk uses, nor read through one another disk writes.
          if (!req.readOnly) await checkNotInUse(path, subject, 'open for writing');
          const image = await openImage(path, {
            readOnly: req.readOnly,
            format: imageFormat(req.format, subject) ?? undefined,
            log: (l) => logger.warn(l),
          });
          let disk: ServedDisk;
          let chain: string[];
          try {
            chain = await chainOf(image);
            for (const [other, d] of open) {
              if (!d.readOnly && chain.includes(d.chain[0] as string)) {
                throw new BusError(
                  ErrorCode.ERROR_CODE_FAILED_PRECONDITION,
                  subject,
                  `${req.path} reads through ${d.chain[0]}, which disk ${other} writes to`,
                );
              }
            }
            disk = await serveDisk(bus, req.vmId, req.diskId, image, { logger });
          } catch (e) {
            await image.close();
            throw e;
          }
          open.set(key, { served: disk, chain, readOnly: req.readOnly });
          served.set(key, disk);
          return { info: await describe(path), blockSubject: disk.subject };
        }),
      ),
      closeImage: wrap(async (req, subject) => {
        const key = `${req.vmId}/${req.diskId}`;
        const d = open.get(key);
        if (d === undefined) throw new BusError(ErrorCode.ERROR_CODE_NOT_FOUND, subject, `disk ${key} is not open`);
        open.delete(key);
        served.delete(key);
        await d.served.close();
        return {};
      }),
      getImageInfo: wrap(async (req, subject) => ({ info: await describe(inside(req.path, subject)) })),
      createOverlay: wrap((req, subject) =>
        once(req.requestId, subject, async () => {
          const base = inside(req.basePath, subject);
          const overlay = inside(req.overlayPath, subject);
          await createOverlay(overlay, relative(process.cwd(), base));
          return { info: await describe(overlay) };
        }),
      ),
      commitOverlay: wrap((req, subject) =>
        once(req.requestId, subject, async () => {
          const overlay = inside(req.overlayPath, subject);
          await checkNotInUse(overlay, subject, 'commit');
          const before = await imageInfo(overlay);
          for (const c of before.chain.slice(0, 1)) await checkNotInUse(c.path, subject, 'commit');
          const result = await commitOverlay(overlay);
          return { committedBytes: BigInt(result.bytes), info: await describe(overlay) };
        }),
      ),
      undoOverlay: wrap((req, subject) =>
        once(req.requestId, subject, async () => {
          const overlay = inside(req.overlayPath, subject);
          await checkNotInUse(overlay, subject, 'undo');
          const before = await imageInfo(overlay);
          await undoOverlay(overlay);
          return { discardedBytes: BigInt(before.allocated), info: await describe(overlay) };
        }),
      ),
    },
    { logger },
  );

  return {
    service,
    disks: served,
    stop: async () => {
      await service.stop();
      const disks = [...open.values()];
      open.clear();
      served.clear();
      for (const d of disks) await d.served.close();
    },
  };
}

function protoFormat(format: ImageFormat): ProtoImageFormat {
  return format === 'raw' ? ProtoImageFormat.IMAGE_FORMAT_RAW : ProtoImageFormat.IMAGE_FORMAT_QCOW2;
}

function imageFormat(format: ProtoImageFormat, subject: string): ImageFormat | null {
  switch (format) {
    case ProtoImageFormat.IMAGE_FORMAT_RAW:
      return 'raw';
    case ProtoImageFormat.IMAGE_FORMAT_QCOW2:
      return 'qcow2';
    case ProtoImageFormat.IMAGE_FORMAT_UNSPECIFIED:
      return null;
    default:
      throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, `unknown image format ${String(format)}`);
  }
}

function safeNumber(v: bigint, field: string, subject: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, subject, `${field} ${v} is too large`);
  }
  return Number(v);
}
