/**
 * virtio-blk front-end (virtio 1.x §5.2, legacy configuration layout). Each request on the one
 * request queue becomes one BlockService call on plex86.<vm>.block.<disk> (or a few, when it is
 * larger than the backend's largest transfer); the CPU goes on while it travels, and the reply
 * writes the data and the status byte, returns the chain and raises the interrupt.
 *
 * A request is a readable header {u32 type, u32 reserved, u64 sector}, the data, and a last
 * writable byte for the status. A request the device cannot make sense of gets VIRTIO_BLK_S_IOERR
 * (or UNSUPP for an unknown type); one whose status byte is unusable stops the device (NEEDS_RESET).
 */

import { BusError, methodClient, type Bus, type MethodClient } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus, ErrorCode, type BlockGeometry } from '@plex86/proto';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { dmaWrite8 } from './dma.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';
import { VirtioDeviceType, VirtioPciDevice } from './pci-transport.js';
import { BufferFault, QUEUE_EMPTY, QueueFault, WritableBuffers } from './virtqueue.js';

export const VIRTIO_BLK_F_SIZE_MAX = 1 << 1;
export const VIRTIO_BLK_F_SEG_MAX = 1 << 2;
export const VIRTIO_BLK_F_GEOMETRY = 1 << 4;
export const VIRTIO_BLK_F_RO = 1 << 5;
export const VIRTIO_BLK_F_BLK_SIZE = 1 << 6;
export const VIRTIO_BLK_F_FLUSH = 1 << 9;
export const VIRTIO_BLK_F_TOPOLOGY = 1 << 10;
export const VIRTIO_BLK_F_DISCARD = 1 << 13;
export const VIRTIO_BLK_F_WRITE_ZEROES = 1 << 14;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;
export const VIRTIO_BLK_T_WRITE_ZEROES = 13;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const SECTOR_SIZE = 512;
export const VIRTIO_BLK_ID_BYTES = 20;
/** Size of the legacy configuration layout up to write_zeroes_may_unmap and its padding. */
export const VIRTIO_BLK_CONFIG_SIZE = 0x3c;
const HEADER_SIZE = 16;
const DISCARD_SEGMENT_SIZE = 16;
const DEFAULT_QUEUE_SIZE = 128;
/** Largest transfer per bus call when the backend does not say (the BlockService limit). */
const MAX_TRANSFER_SECTORS = 2048;
/** Discard and write-zeroes segments per request (max_discard_seg, max_write_zeroes_seg). */
const MAX_DISCARD_SEGMENTS = 1;
/** Sectors per discard segment the driver may send (the field is 32 bits). */
const MAX_DISCARD_SECTORS = 0x3fffff;

export interface VirtioBlockOptions {
  bus: Bus;
  vm: string;
  /** Disk id: requests go to plex86.<vm>.block.<disk>. */
  disk: string;
  /** From GetBlockGeometry. */
  geometry: BlockGeometry;
  /** Present a read-only device even if the backend would take writes. */
  readOnly?: boolean;
  /** Called after a completion changed guest-visible state (wakes a halted CPU). */
  onEvent?: () => void;
  /** Told when a request starts and when its backend work settles (a run loop's work counter). */
  work?: WorkTracker;
  queueSize?: number;
  /** Timeout of one bus call. */
  requestTimeoutMs?: number;
  /** Retries (same request id) after a timeout or an unavailable backend. */
  retries?: number;
  /** Prefix of request ids; unique per device instance by default. */
  idPrefix?: string;
  /** Receives one line per failed request. */
  log?: (line: string) => void;
}

/** Counts asynchronous operations, so a halted machine waits for them instead of ending. */
export interface WorkTracker {
  begin(): void;
  end(): void;
}

/** What the device keeps of a request while its bus calls travel. */
class BlockRequest {
  constructor(
    readonly head: number,
    readonly generation: number,
    readonly id: string,
    /** Guest address of the status byte. */
    readonly statusAddr: number,
  ) {}
}

export class VirtioBlock extends VirtioPciDevice {
  readonly capacitySectors: number;
  readonly readOnly: boolean;
  /** Requests completed with each status: OK, IOERR, UNSUPP. */
  readonly completed = new Float64Array(3);
  private inFlight = 0;
  private nextId = 0;
  private readonly block: MethodClient<typeof BlockServiceDefinition>;
  private readonly blkConfig = new DataView(new ArrayBuffer(VIRTIO_BLK_CONFIG_SIZE));
  private readonly maxTransfer: number;
  private readonly serial: Uint8Array;
  private readonly idPrefix: string;
  private readonly subject: string;
  private readonly timeoutMs: number | undefined;
  private readonly retries: number;
  private readonly onEvent: () => void;
  private readonly work: WorkTracker | undefined;
  private readonly log: (line: string) => void;
  private readonly header = new Uint8Array(HEADER_SIZE);
  private readonly headerView = new DataView(this.header.buffer);

  constructor(mem: PhysicalMemory, options: VirtioBlockOptions) {
    const g = options.geometry;
    const readOnly = g.readOnly || options.readOnly === true;
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    let features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_TOPOLOGY;
    if (readOnly) features |= VIRTIO_BLK_F_RO;
    if (g.cylinders > 0 && g.heads > 0 && g.sectorsPerTrack > 0) features |= VIRTIO_BLK_F_GEOMETRY;
    if (g.discard && !readOnly) features |= VIRTIO_BLK_F_DISCARD;
    if (g.writeZeroes && !readOnly) features |= VIRTIO_BLK_F_WRITE_ZEROES;
    super(`virtio-blk ${options.disk}`, mem, {
      type: VirtioDeviceType.BLOCK,
      classCode: 0x010000,
      queueSizes: [queueSize],
      features,
      configSize: VIRTIO_BLK_CONFIG_SIZE,
    });
    this.capacitySectors = Number(g.capacitySectors);
    this.readOnly = readOnly;
    this.maxTransfer = Math.min(g.maxTransferSectors || MAX_TRANSFER_SECTORS, MAX_TRANSFER_SECTORS);
    this.serial = new TextEncoder().encode(g.serial).subarray(0, VIRTIO_BLK_ID_BYTES);
    this.idPrefix = options.idPrefix ?? `${options.vm}-${options.disk}-${Date.now().toString(36)}${randomTag()}`;
    this.subject = `plex86.${options.vm}.block.${options.disk}`;
    this.block = methodClient(options.bus, this.subject, BlockServiceDefinition);
    this.timeoutMs = options.requestTimeoutMs;
    this.retries = options.retries ?? 3;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.work = options.work;
    this.log = options.log ?? (() => undefined);
    this.fillConfig(g, queueSize);
  }

  /** Requests waiting for a backend reply, including ones a reset orphaned (their replies are dropped). */
  protected override saveDeviceState(w: StateWriter): void {
    w.number('nextId', this.nextId);
  }

  protected override loadDeviceState(r: StateReader): void {
    this.nextId = r.int('nextId', 0, Number.MAX_SAFE_INTEGER);
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Requests waiting for a backend reply. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  protected readDeviceConfig(offset: number, size: 1 | 2 | 4): number {
    if (offset + size > VIRTIO_BLK_CONFIG_SIZE) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    if (size === 1) return this.blkConfig.getUint8(offset);
    if (size === 2) return this.blkConfig.getUint16(offset, true);
    return this.blkConfig.getInt32(offset, true);
  }

  protected onReset(): void {
    // Requests in flight finish on the backend; their completions see the new generation and are dropped.
  }

  protected onNotify(index: number): void {
    const q = this.queues[index];
    const chain = this.chain;
    const mem = this.mem;
    for (;;) {
      const r = q.pop(chain);
      if (r === QUEUE_EMPTY) break;
      if (r !== QueueFault.NONE) {
        this.queueFault(index, r);
        return;
      }
      if (chain.writableBytes === 0) {
        this.fail(`request at descriptor ${chain.head} has no status byte`);
        return;
      }
      const writable = new WritableBuffers(chain);
      const statusAddr = writable.address(writable.bytes - 1);
      const req = new BlockRequest(chain.head, this.generation, `${this.idPrefix}-${++this.nextId}`, statusAddr);
      if (chain.fault !== BufferFault.NONE || chain.readableBytes < HEADER_SIZE) {
        this.finish(req, VIRTIO_BLK_S_IOERR, 0);
        continue;
      }
      chain.gather(mem, 0, this.header, 0, HEADER_SIZE);
      const type = this.headerView.getUint32(0, true);
      const sectorLow = this.headerView.getUint32(8, true);
      const sectorHigh = this.headerView.getUint32(12, true);
      // Sectors past 2^53 bytes are out of any disk's range; keep the number exact by refusing them.
      const sector = sectorHigh >= 0x200000 ? Number.MAX_SAFE_INTEGER : sectorHigh * 0x100000000 + sectorLow;
      const dataIn = writable.bytes - 1;
      const dataOut = chain.readableBytes - HEADER_SIZE;
      switch (type) {
        case VIRTIO_BLK_T_IN:
          if (dataIn % SECTOR_SIZE !== 0 || !this.inRange(sector, dataIn / SECTOR_SIZE)) {
            this.finish(req, VIRTIO_BLK_S_IOERR, 0);
            break;
          }
          this.start(req, this.read(req, writable, sector, dataIn));
          break;
        case VIRTIO_BLK_T_OUT: {
          if (this.readOnly || dataOut % SECTOR_SIZE !== 0 || !this.inRange(sector, dataOut / SECTOR_SIZE)) {
            this.finish(req, VIRTIO_BLK_S_IOERR, 0);
            break;
          }
          // The one copy of the payload: the guest may reuse its buffers only after completion anyway.
          const data = new Uint8Array(dataOut);
          chain.gather(mem, HEADER_SIZE, data, 0, dataOut);
          this.start(req, this.write(req, sector, data));
          break;
        }
        case VIRTIO_BLK_T_FLUSH:
          this.start(req, this.flush(req));
          break;
        case VIRTIO_BLK_T_GET_ID:
          this.finish(req, VIRTIO_BLK_S_OK, this.writeId(writable, dataIn));
          break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES: {
          const feature = type === VIRTIO_BLK_T_DISCARD ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES;
          if ((this.hostFeatures & feature) === 0) {
            this.finish(req, VIRTIO_BLK_S_UNSUPP, 0);
            break;
          }
          if (dataOut === 0 || dataOut % DISCARD_SEGMENT_SIZE !== 0 || dataOut > 64 * DISCARD_SEGMENT_SIZE) {
            this.finish(req, VIRTIO_BLK_S_IOERR, 0);
            break;
          }
          const segments = new Uint8Array(dataOut);
          chain.gather(mem, HEADER_SIZE, segments, 0, dataOut);
          this.start(req, this.discard(req, segments, type === VIRTIO_BLK_T_WRITE_ZEROES));
          break;
        }
        default:
          this.finish(req, VIRTIO_BLK_S_UNSUPP, 0);
      }
    }
  }

  private inRange(sector: number, count: number): boolean {
    return sector <= this.capacitySectors && count <= this.capacitySectors - sector;
  }

  /** Tracks an asynchronous request; `work` resolves to [status, bytes written before the status byte]. */
  private start(req: BlockRequest, work: Promise<readonly [number, number]>): void {
    this.inFlight++;
    this.work?.begin();
    work.then(
      ([status, written]) => this.complete(req, status, written),
      (e: unknown) => {
        this.log(`${this.subject}: request ${req.id} failed: ${e instanceof Error ? e.message : String(e)}`);
        this.complete(req, VIRTIO_BLK_S_IOERR, 0);
      },
    );
  }

  private complete(req: BlockRequest, status: number, written: number): void {
    this.inFlight--;
    if (req.generation === this.generation && !this.needsReset) {
      this.finish(req, status, written);
      this.onEvent();
    }
    this.work?.end();
  }

  /** Writes the status byte, returns the chain and raises the interrupt if the driver wants one. */
  private finish(req: BlockRequest, status: number, written: number): void {
    dmaWrite8(this.mem, req.statusAddr, status);
    this.completed[status]++;
    const q = this.queues[0];
    q.pushUsed(req.head, written + 1);
    this.signalQueue(q);
  }

  private async read(
    req: BlockRequest,
    into: WritableBuffers,
    sector: number,
    bytes: number,
  ): Promise<readonly [number, number]> {
    const chunkBytes = this.maxTransfer * SECTOR_SIZE;
    for (let done = 0, part = 0; done < bytes; done += chunkBytes, part++) {
      const n = Math.min(chunkBytes, bytes - done);
      const requestId = bytes > chunkBytes ? `${req.id}.${part}` : req.id;
      const r = await this.call(() =>
        this.block.readSectors(
          { requestId, sector: BigInt(sector + done / SECTOR_SIZE), count: n / SECTOR_SIZE },
          this.callOptions(),
        ),
      );
      if (r.status !== BlockStatus.BLOCK_STATUS_OK) return [this.guestStatus(r.status, r.message, req), done];
      if (r.data.length !== n) {
        this.log(`${this.subject}: request ${requestId}: got ${r.data.length} bytes for ${n}`);
        return [VIRTIO_BLK_S_IOERR, done];
      }
      if (req.generation !== this.generation) return [VIRTIO_BLK_S_IOERR, 0];
      into.scatter(this.mem, done, r.data, 0, n);
    }
    return [VIRTIO_BLK_S_OK, bytes];
  }

  private async write(req: BlockRequest, sector: number, data: Uint8Array): Promise<readonly [number, number]> {
    const chunkBytes = this.maxTransfer * SECTOR_SIZE;
    for (let done = 0, part = 0; done < data.length; done += chunkBytes, part++) {
      const n = Math.min(chunkBytes, data.length - done);
      const requestId = data.length > chunkBytes ? `${req.id}.${part}` : req.id;
      const r = await this.call(() =>
        this.block.writeSectors(
          { requestId, sector: BigInt(sector + done / SECTOR_SIZE), data: data.subarray(done, done + n) },
          this.callOptions(),
        ),
      );
      if (r.status !== BlockStatus.BLOCK_STATUS_OK) return [this.guestStatus(r.status, r.message, req), 0];
    }
    return [VIRTIO_BLK_S_OK, 0];
  }

  private async flush(req: BlockRequest): Promise<readonly [number, number]> {
    const r = await this.call(() => this.block.flushCache({ requestId: req.id }, this.callOptions()));
    return [this.guestStatus(r.status, r.message, req), 0];
  }

  private async discard(req: BlockRequest, segments: Uint8Array, zero: boolean): Promise<readonly [number, number]> {
    const v = new DataView(segments.buffer);
    const count = segments.length / DISCARD_SEGMENT_SIZE;
    if (count > MAX_DISCARD_SEGMENTS) return [VIRTIO_BLK_S_IOERR, 0];
    for (let i = 0; i < count; i++) {
      const at = i * DISCARD_SEGMENT_SIZE;
      const high = v.getUint32(at + 4, true);
      const sector = high >= 0x200000 ? Number.MAX_SAFE_INTEGER : high * 0x100000000 + v.getUint32(at, true);
      const sectors = v.getUint32(at + 8, true);
      const flags = v.getUint32(at + 12, true);
      // Only bit 0 (unmap) is defined, and only for WRITE_ZEROES.
      if ((flags & ~1) !== 0 || (!zero && flags !== 0)) return [VIRTIO_BLK_S_UNSUPP, 0];
      if (sectors > MAX_DISCARD_SECTORS || !this.inRange(sector, sectors)) return [VIRTIO_BLK_S_IOERR, 0];
      const requestId = count > 1 ? `${req.id}.${i}` : req.id;
      const r = await this.call(() =>
        this.block.discardSectors(
          { requestId, sector: BigInt(sector), count: BigInt(sectors), zero },
          this.callOptions(),
        ),
      );
      if (r.status !== BlockStatus.BLOCK_STATUS_OK) return [this.guestStatus(r.status, r.message, req), 0];
    }
    return [VIRTIO_BLK_S_OK, 0];
  }

  private writeId(into: WritableBuffers, bytes: number): number {
    const n = Math.min(bytes, VIRTIO_BLK_ID_BYTES);
    const id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
    id.set(this.serial);
    into.scatter(this.mem, 0, id, 0, n);
    return n;
  }

  private guestStatus(status: BlockStatus, message: string, req: BlockRequest): number {
    if (status === BlockStatus.BLOCK_STATUS_OK) return VIRTIO_BLK_S_OK;
    this.log(`${this.subject}: request ${req.id}: ${message || 'failed'}`);
    return status === BlockStatus.BLOCK_STATUS_UNSUPPORTED ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
  }

  private callOptions(): { timeoutMs?: number } {
    return this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs };
  }

  /** One bus call, retried with the same request id while the backend times out or is away. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (e) {
        if (!(e instanceof BusError) || !retriable(e.code) || attempt >= this.retries) throw e;
        await new Promise((resolve) => setTimeout(resolve, 20 << attempt));
      }
    }
  }

  private fillConfig(g: BlockGeometry, queueSize: number): void {
    const c = this.blkConfig;
    c.setBigUint64(0x00, g.capacitySectors, true);
    c.setUint32(0x08, this.maxTransfer * SECTOR_SIZE, true);
    // Two descriptors of every chain carry the header and the status.
    c.setUint32(0x0c, queueSize - 2, true);
    c.setUint16(0x10, Math.min(g.cylinders, 0xffff), true);
    c.setUint8(0x12, Math.min(g.heads, 0xff));
    c.setUint8(0x13, Math.min(g.sectorsPerTrack, 0xff));
    c.setUint32(0x14, SECTOR_SIZE, true);
    // Topology: 512-byte physical blocks, no offset, minimum and optimal I/O in logical blocks.
    c.setUint8(0x18, 0);
    c.setUint8(0x19, 0);
    c.setUint16(0x1a, 1, true);
    c.setUint32(0x1c, Math.floor((g.optimalIoBytes || 4096) / SECTOR_SIZE), true);
    c.setUint32(0x24, MAX_DISCARD_SECTORS, true);
    c.setUint32(0x28, MAX_DISCARD_SEGMENTS, true);
    c.setUint32(0x2c, Math.max(1, Math.floor((g.optimalIoBytes || 4096) / SECTOR_SIZE)), true);
    c.setUint32(0x30, MAX_DISCARD_SECTORS, true);
    c.setUint32(0x34, MAX_DISCARD_SEGMENTS, true);
    c.setUint8(0x38, 0);
  }
}

function retriable(code: ErrorCode): boolean {
  return (
    code === ErrorCode.ERROR_CODE_TIMEOUT ||
    code === ErrorCode.ERROR_CODE_UNAVAILABLE ||
    code === ErrorCode.ERROR_CODE_NO_RESPONDERS
  );
}

function randomTag(): string {
  return Math.floor(Math.random() * 0x100000000)
    .toString(36)
    .padStart(7, '0');
}
