import {
  BlockStatus,
  type BlockGeometry,
  type DiscardSectorsRequest,
  type DiscardSectorsResponse,
  type FlushCacheRequest,
  type FlushCacheResponse,
  type ReadSectorsRequest,
  type ReadSectorsResponse,
  type WriteSectorsRequest,
  type WriteSectorsResponse,
} from '@plex86/proto';
import { SECTOR_SIZE, type BlockImage } from './block-image.js';
import { StorageError, StorageErrorKind } from './errors.js';
import { BlockMetrics } from './metrics.js';
import { Qcow2Image } from './qcow2/image.js';

/** Largest request: 2048 sectors, 1 MiB, as the block contract says. */
export const MAX_TRANSFER_SECTORS = 2048;
/** How many completed write/discard ids a device remembers to recognise retries. */
export const DEFAULT_REMEMBERED_IDS = 16384;
const MAX_SERIAL = 20;

/** A request the device cannot even interpret; the service answers it with a BAD_REQUEST error reply. */
export class MalformedRequest extends Error {}

type Outcome = { status: BlockStatus; message: string };

export interface BlockDeviceOptions {
  /** Serial number reported to the guest (cut to 20 bytes). */
  serial?: string;
  rememberedIds?: number;
  /** One line per failed request (host I/O errors, corrupt images). */
  log?: (line: string) => void;
}

/**
 * One disk as the guest sees it: block requests in, statuses out. It knows nothing of the bus. A
 * write or discard is applied once per request id: a retry while it runs waits for the same
 * result, a retry after it completed gets the remembered result, so a late duplicate can never
 * overwrite newer data.
 */
export class BlockDevice {
  readonly metrics = new BlockMetrics();
  private readonly done = new Map<string, Promise<Outcome>>();
  private readonly remembered: number;
  private readonly log: (line: string) => void;

  constructor(
    readonly image: BlockImage,
    private readonly options: BlockDeviceOptions = {},
  ) {
    this.remembered = options.rememberedIds ?? DEFAULT_REMEMBERED_IDS;
    this.log = options.log ?? (() => undefined);
  }

  get readOnly(): boolean {
    return this.image.readOnly;
  }

  geometry(): BlockGeometry {
    const capacity = Math.ceil(this.image.virtualSize / SECTOR_SIZE);
    const heads = 16;
    const spt = 63;
    return {
      capacitySectors: BigInt(capacity),
      optimalIoBytes: this.image instanceof Qcow2Image ? this.image.clusterSize : 4096,
      maxTransferSectors: MAX_TRANSFER_SECTORS,
      readOnly: this.image.readOnly,
      discard: !this.image.readOnly,
      writeZeroes: !this.image.readOnly,
      cylinders: Math.min(16383, Math.max(1, Math.floor(capacity / (heads * spt)))),
      heads,
      sectorsPerTrack: spt,
      serial: (this.options.serial ?? '').slice(0, MAX_SERIAL),
    };
  }

  async read(req: ReadSectorsRequest): Promise<ReadSectorsResponse> {
    requireId(req.requestId);
    if (req.count < 1 || req.count > MAX_TRANSFER_SECTORS) {
      throw new MalformedRequest(`count ${req.count} is outside 1..${MAX_TRANSFER_SECTORS}`);
    }
    this.metrics.reads++;
    const range = this.range(req.sector, BigInt(req.count));
    if (typeof range === 'string')
      return {
        requestId: req.requestId,
        status: BlockStatus.BLOCK_STATUS_IO_ERROR,
        data: new Uint8Array(0),
        message: range,
      };
    const data = new Uint8Array(req.count * SECTOR_SIZE);
    const outcome = await this.run('read', req.requestId, () => this.image.read(range, data));
    if (outcome.status === BlockStatus.BLOCK_STATUS_OK) this.metrics.readBytes += data.length;
    return {
      requestId: req.requestId,
      status: outcome.status,
      data: outcome.status === BlockStatus.BLOCK_STATUS_OK ? data : new Uint8Array(0),
      message: outcome.message,
    };
  }

  async write(req: WriteSectorsRequest): Promise<WriteSectorsResponse> {
    requireId(req.requestId);
    const length = req.data.length;
    if (length === 0 || length % SECTOR_SIZE !== 0 || length > MAX_TRANSFER_SECTORS * SECTOR_SIZE) {
      throw new MalformedRequest(`write of ${length} bytes: needs 1 to ${MAX_TRANSFER_SECTORS} whole sectors`);
    }
    const outcome = await this.once(req.requestId, () => {
      this.metrics.writes++;
      const range = this.range(req.sector, BigInt(length / SECTOR_SIZE));
      if (typeof range === 'string') return Promise.resolve(ioError(range));
      if (this.image.readOnly) return Promise.resolve(ioError('the disk is read-only'));
      return this.run('write', req.requestId, async () => {
        await this.image.write(range, req.data);
        this.metrics.writeBytes += length;
      });
    });
    return { requestId: req.requestId, ...outcome };
  }

  async discard(req: DiscardSectorsRequest): Promise<DiscardSectorsResponse> {
    requireId(req.requestId);
    if (req.count < 1n) throw new MalformedRequest(`discard of ${req.count} sectors`);
    const outcome = await this.once(req.requestId, () => {
      this.metrics.discards++;
      const range = this.range(req.sector, req.count);
      if (typeof range === 'string') return Promise.resolve(ioError(range));
      if (this.image.readOnly) return Promise.resolve(ioError('the disk is read-only'));
      const length = Number(req.count) * SECTOR_SIZE;
      return this.run('discard', req.requestId, () =>
        req.zero ? this.image.writeZeroes(range, length) : this.image.discard(range, length),
      );
    });
    return { requestId: req.requestId, ...outcome };
  }

  async flush(req: FlushCacheRequest): Promise<FlushCacheResponse> {
    requireId(req.requestId);
    this.metrics.flushes++;
    const outcome = await this.run('flush', req.requestId, () => this.image.flush());
    return { requestId: req.requestId, ...outcome };
  }

  close(): Promise<void> {
    return this.image.close();
  }

  /** The byte offset of a sector range, or why it does not fit the disk. */
  private range(sector: bigint, count: bigint): number | string {
    const capacity = BigInt(Math.ceil(this.image.virtualSize / SECTOR_SIZE));
    if (sector + count > capacity) {
      return `sectors ${sector}+${count} lie past the end of the disk (${capacity} sectors)`;
    }
    return Number(sector) * SECTOR_SIZE;
  }

  /** Applies a mutation once per request id, remembering the outcome for retries. */
  private once(id: string, apply: () => Promise<Outcome>): Promise<Outcome> {
    const known = this.done.get(id);
    if (known !== undefined) {
      this.metrics.retries++;
      return known;
    }
    const outcome = apply();
    this.done.set(id, outcome);
    if (this.done.size > this.remembered) {
      const oldest = this.done.keys().next().value as string;
      this.done.delete(oldest);
    }
    return outcome;
  }

  /** Runs one image operation; a failure becomes a guest-visible I/O error and a log line. */
  private async run(what: string, id: string, op: () => Promise<void>): Promise<Outcome> {
    try {
      await op();
      return OK;
    } catch (e) {
      this.metrics.errors++;
      const message = e instanceof StorageError || e instanceof Error ? e.message : String(e);
      this.log(`${this.image.path}: ${what} ${id} failed: ${message}`);
      const unsupported = e instanceof StorageError && e.kind === StorageErrorKind.Unsupported;
      return {
        status: unsupported ? BlockStatus.BLOCK_STATUS_UNSUPPORTED : BlockStatus.BLOCK_STATUS_IO_ERROR,
        message,
      };
    }
  }
}

const OK: Outcome = { status: BlockStatus.BLOCK_STATUS_OK, message: '' };

function ioError(message: string): Outcome {
  return { status: BlockStatus.BLOCK_STATUS_IO_ERROR, message };
}

function requireId(id: string): void {
  if (id === '') throw new MalformedRequest('request_id is required');
}
