import { methodClient, type Bus, type CallOptions, type MethodClient } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus, StorageServiceDefinition } from '@plex86/proto';
import { checkRange, SECTOR_SIZE, type BlockImage } from './block-image.js';
import { StorageError, StorageErrorKind } from './errors.js';
import { STORAGE_SUBJECT_PREFIX } from './service.js';

/** Typed client of the StorageService. */
export function storageClient(bus: Bus): MethodClient<typeof StorageServiceDefinition> {
  return methodClient(bus, STORAGE_SUBJECT_PREFIX, StorageServiceDefinition);
}

export interface RemoteDiskOptions extends CallOptions {
  /** Prefix of the request ids this client sends; make it unique per client. */
  idPrefix?: string;
}

let clients = 0;

/**
 * A disk served on the bus (BlockService at `subject`, e.g. plex86.vm1.block.vda), used like a
 * local image. Every request gets a fresh id; a status other than OK rejects with a StorageError.
 */
export class RemoteDisk implements BlockImage {
  readonly format = 'raw' as const;
  readonly backing = null;
  private readonly block: MethodClient<typeof BlockServiceDefinition>;
  private next = 0;

  private constructor(
    readonly path: string,
    bus: Bus,
    readonly virtualSize: number,
    readonly readOnly: boolean,
    private readonly idPrefix: string,
    private readonly options: CallOptions,
  ) {
    this.block = methodClient(bus, path, BlockServiceDefinition);
  }

  /** Asks the disk for its geometry; fails with a BusError when nothing serves `subject`. */
  static async connect(bus: Bus, subject: string, options: RemoteDiskOptions = {}): Promise<RemoteDisk> {
    const prefix = options.idPrefix ?? `${process.pid}-${Date.now().toString(36)}-${++clients}`;
    const block = methodClient(bus, subject, BlockServiceDefinition);
    const { geometry } = await block.getBlockGeometry({ requestId: `${prefix}-g` }, options);
    const g = geometry ?? { capacitySectors: 0n, readOnly: true };
    return new RemoteDisk(subject, bus, Number(g.capacitySectors) * SECTOR_SIZE, g.readOnly, prefix, options);
  }

  async read(offset: number, into: Uint8Array): Promise<void> {
    checkRange(offset, into.length, this.virtualSize);
    const r = await this.block.readSectors(
      { requestId: this.id(), sector: BigInt(offset / SECTOR_SIZE), count: into.length / SECTOR_SIZE },
      this.options,
    );
    this.check(r.status, r.message);
    into.set(r.data);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    checkRange(offset, data.length, this.virtualSize);
    const r = await this.block.writeSectors(
      { requestId: this.id(), sector: BigInt(offset / SECTOR_SIZE), data },
      this.options,
    );
    this.check(r.status, r.message);
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    return this.discardRange(offset, length, true);
  }

  discard(offset: number, length: number): Promise<void> {
    return this.discardRange(offset, length, false);
  }

  async flush(): Promise<void> {
    const r = await this.block.flushCache({ requestId: this.id() }, this.options);
    this.check(r.status, r.message);
  }

  /** The disk stays open on its server; closing the client has nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async discardRange(offset: number, length: number, zero: boolean): Promise<void> {
    checkRange(offset, length, this.virtualSize);
    const r = await this.block.discardSectors(
      {
        requestId: this.id(),
        sector: BigInt(offset / SECTOR_SIZE),
        count: BigInt(length / SECTOR_SIZE),
        zero,
      },
      this.options,
    );
    this.check(r.status, r.message);
  }

  private id(): string {
    return `${this.idPrefix}-${++this.next}`;
  }

  private check(status: BlockStatus, message: string): void {
    if (status === BlockStatus.BLOCK_STATUS_OK) return;
    const kind = status === BlockStatus.BLOCK_STATUS_UNSUPPORTED ? StorageErrorKind.Unsupported : StorageErrorKind.Io;
    throw new StorageError(kind, `${this.path}: ${message || 'request failed'}`);
  }
}
