import { checkRange, type BlockImage } from '../block-image.js';
import { corrupt, StorageError, StorageErrorKind, unsupported } from '../errors.js';
import type { ImageFile } from '../file.js';
import { IoScheduler } from '../scheduler.js';
import { compressedExtent, inflateCluster } from './compressed.js';
import {
  AUTOCLEAR_BITMAPS,
  EXT_BITMAPS,
  HEADER_AUTOCLEAR,
  HEADER_INCOMPATIBLE,
  HI_COMPRESSED,
  HI_COPIED,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  L1_HI_RESERVED,
  L1_LO_RESERVED,
  L2_HI_RESERVED,
  L2_LO_RESERVED,
  LO_ZERO,
  entryHi,
  entryLo,
  hostOffset,
  l2Entries,
  type Qcow2Header,
} from './format.js';
import { Refcounts } from './refcounts.js';
import { repairRefcounts } from './repair.js';

const SECTOR = 512;
/** Vectored writes are split below the kernel's IOV_MAX. */
const MAX_IOV = 512;
const DEFAULT_L2_CACHE_BYTES = 32 << 20;

/** What an L2 entry says about a guest cluster. */
export const enum ClusterKind {
  /** No data here: reads fall through to the backing image (or read zero). */
  Unallocated = 0,
  Data = 1,
  /** Reads as zero regardless of the backing image (v3 zero flag). */
  Zero = 2,
  Compressed = 3,
}

const enum OpKind {
  Write = 0,
  Zero = 1,
  Discard = 2,
}

interface Qcow2Op {
  readonly kind: OpKind;
  readonly offset: number;
  readonly length: number;
  readonly data: Uint8Array | null;
}

interface WriteGroup {
  position: number;
  length: number;
  buffers: Uint8Array[];
}

/** A run of guest clusters this image itself holds (allocated, compressed or zero). */
export interface Extent {
  offset: number;
  length: number;
  zero: boolean;
}

export interface Qcow2OpenOptions {
  readOnly: boolean;
  backing: BlockImage | null;
  /** Bytes of L2 tables kept in memory. */
  l2CacheBytes?: number;
  /** Told about repairs made when a writable image is opened (leaked clusters after a crash). */
  log?: (line: string) => void;
}

/**
 * A qcow2 image (version 2 or 3). Reads look up the L1/L2 tables and fall through to the backing
 * image; writes allocate clusters, copying the rest of a partly written cluster from below.
 * Mutations are grouped into batches that become durable together (see `commitBatch` for the
 * ordering that keeps every crash point consistent).
 */
export class Qcow2Image implements BlockImage {
  readonly format = 'qcow2' as const;
  readonly clusterSize: number;
  private readonly clusterBits: number;
  private readonly l2Size: number;
  private readonly l1: Uint8Array;
  private readonly l1View: DataView;
  private readonly l2Cache = new Map<number, Uint8Array>();
  private readonly l2Loading = new Map<number, Promise<Uint8Array>>();
  private readonly l2CacheTables: number;
  private readonly io: IoScheduler<Qcow2Op>;
  private readonly zeros: Uint8Array;
  private failure: StorageError | null = null;
  private closed = false;
  // Scratch result of `classify`, to avoid an object per cluster.
  private eKind: ClusterKind = ClusterKind.Unallocated;
  private eHost = 0;
  private eHi = 0;
  private eLo = 0;
  private lastInflated: { hi: number; lo: number; data: Uint8Array } | null = null;
  // State of the batch being planned.
  private readonly groups: WriteGroup[] = [];
  private readonly l2Dirty = new Map<number, [number, number]>();
  private readonly newL2 = new Set<number>();
  private readonly l1Dirty = new Set<number>();
  private readonly frees: number[] = [];
  private batchTable = 0;

  private constructor(
    private readonly file: ImageFile,
    readonly header: Qcow2Header,
    l1: Uint8Array,
    private readonly refcounts: Refcounts | null,
    readonly backing: BlockImage | null,
    l2CacheBytes: number,
  ) {
    this.clusterBits = header.clusterBits;
    this.clusterSize = 2 ** header.clusterBits;
    this.l2Size = l2Entries(header.clusterBits);
    this.l1 = l1;
    this.l1View = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
    this.l2CacheTables = Math.max(4, Math.floor(l2CacheBytes / this.clusterSize));
    this.zeros = new Uint8Array(this.clusterSize);
    this.io = new IoScheduler((ops) => this.runBatch(ops));
  }

  /**
   * Opens a qcow2 image whose header is already parsed. A writable image must not carry
   * features we cannot keep consistent, and its refcounts are checked (leaks from a crash are
   * repaired) before the first write.
   */
  static async open(file: ImageFile, header: Qcow2Header, fileSize: number, options: Qcow2OpenOptions) {
    const path = file.path;
    const l1 = new Uint8Array(header.l1Size * 8);
    await file.read(header.l1TableOffset, l1);
    let refcounts: Refcounts | null = null;
    if (!options.readOnly) {
      if (header.incompatibleFeatures & INCOMPAT_CORRUPT) {
        throw corrupt(path, 'the image is marked corrupt; repair it with `qemu-img check -r all` first');
      }
      if (header.nbSnapshots > 0) {
        throw unsupported(path, 'writing to an image with internal snapshots is not supported; open it read-only');
      }
      if (header.autoclearFeatures & AUTOCLEAR_BITMAPS && header.extensions.some((e) => e.type === EXT_BITMAPS)) {
        throw unsupported(path, 'writing to an image with persistent dirty bitmaps is not supported');
      }
      refcounts = await Refcounts.load(file, header, fileSize);
      const dirty = (header.incompatibleFeatures & INCOMPAT_DIRTY) !== 0n;
      const repair = await repairRefcounts(file, header, l1, refcounts, fileSize, dirty);
      if (repair.changed > 0) {
        options.log?.(`${path}: repaired ${repair.changed} refcount(s) (${repair.leaks} leaked cluster(s))`);
      }
      // Autoclear bits we do not maintain must be cleared by a writer; a repaired dirty image is clean.
      if (header.autoclearFeatures !== 0n || dirty) {
        const field = new Uint8Array(8);
        new DataView(field.buffer).setBigUint64(0, header.incompatibleFeatures & ~INCOMPAT_DIRTY);
        await file.write(HEADER_INCOMPATIBLE, field);
        await file.write(HEADER_AUTOCLEAR, new Uint8Array(8));
        await file.datasync();
        header.incompatibleFeatures &= ~INCOMPAT_DIRTY;
        header.autoclearFeatures = 0n;
      }
    }
    return new Qcow2Image(file, header, l1, refcounts, options.backing, options.l2CacheBytes ?? DEFAULT_L2_CACHE_BYTES);
  }

  get path(): string {
    return this.file.path;
  }

  get readOnly(): boolean {
    return this.refcounts === null;
  }

  get virtualSize(): number {
    return this.header.size;
  }

  read(offset: number, into: Uint8Array): Promise<void> {
    checkRange(offset, into.length, this.header.size);
    this.checkUsable();
    return this.io.read(() => this.readRange(offset, into));
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.mutate(OpKind.Write, offset, data.length, data);
  }

  writeZeroes(offset: number, length: number): Promise<void> {
    return this.mutate(OpKind.Zero, offset, length, null);
  }

  discard(offset: number, length: number): Promise<void> {
    return this.mutate(OpKind.Discard, offset, length, null);
  }

  async flush(): Promise<void> {
    this.checkUsable();
    await this.io.idle();
    if (!this.readOnly) await this.file.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.io.idle().catch(() => undefined);
      if (!this.readOnly && this.failure === null) await this.file.datasync();
    } finally {
      await this.file.close();
      await this.backing?.close();
    }
  }

  /** The runs of guest clusters this image holds itself, in order. */
  async extents(): Promise<Extent[]> {
    this.checkUsable();
    return this.io.read(async () => {
      const out: Extent[] = [];
      const perL2 = this.clusterSize * this.l2Size;
      for (let i = 0; i < this.header.l1Size; i++) {
        const off = this.l2Offset(i);
        if (off === 0) continue;
        const table = await this.loadL2(off);
        for (let j = 0; j < this.l2Size; j++) {
          const guest = i * perL2 + j * this.clusterSize;
          if (guest >= this.header.size) break;
          this.classify(table, j);
          if (this.eKind === ClusterKind.Unallocated) continue;
          const zero = this.eKind === ClusterKind.Zero;
          const length = Math.min(this.clusterSize, this.header.size - guest);
          const last = out[out.length - 1];
          if (last !== undefined && last.zero === zero && last.offset + last.length === guest) last.length += length;
          else out.push({ offset: guest, length, zero });
        }
      }
      return out;
    });
  }

  private mutate(kind: OpKind, offset: number, length: number, data: Uint8Array | null): Promise<void> {
    if (this.readOnly) throw new StorageError(StorageErrorKind.ReadOnly, `${this.path}: image is read-only`);
    checkRange(offset, length, this.header.size);
    this.checkUsable();
    return this.io.mutate({ kind, offset, length, data });
  }

  private checkUsable(): void {
    if (this.closed) throw new StorageError(StorageErrorKind.Unavailable, `${this.path}: image is closed`);
    if (this.failure) throw this.failure;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** Offset of the L2 table of L1 entry `i`, 0 when there is none. */
  private l2Offset(i: number): number {
    const hi = this.l1View.getUint32(i * 8);
    const lo = this.l1View.getUint32(i * 8 + 4);
    if (hi & L1_HI_RESERVED || lo & L1_LO_RESERVED) {
      throw corrupt(this.path, `L1 entry ${i} has reserved bits set`);
    }
    const off = hostOffset(hi, lo);
    if (off % this.clusterSize !== 0) throw corrupt(this.path, `L2 table ${i} at ${off} is not cluster aligned`);
    return off;
  }

  private loadL2(offset: number): Promise<Uint8Array> {
    const cached = this.l2Cache.get(offset);
    if (cached !== undefined) return Promise.resolve(cached);
    let loading = this.l2Loading.get(offset);
    if (loading === undefined) {
      loading = this.readL2(offset).finally(() => this.l2Loading.delete(offset));
      this.l2Loading.set(offset, loading);
    }
    return loading;
  }

  private async readL2(offset: number): Promise<Uint8Array> {
    const table = new Uint8Array(this.clusterSize);
    const got = await this.file.read(offset, table);
    if (got < this.clusterSize) {
      throw corrupt(this.path, `truncated: L2 table at ${offset} lies past the end of the file`);
    }
    this.evictL2();
    this.l2Cache.set(offset, table);
    return table;
  }

  private evictL2(): void {
    if (this.l2Cache.size < this.l2CacheTables) return;
    for (const off of this.l2Cache.keys()) {
      if (this.l2Dirty.has(off) || this.newL2.has(off)) continue;
      this.l2Cache.delete(off);
      if (this.l2Cache.size < this.l2CacheTables) return;
    }
  }

  /** Decodes L2 entry `j` of `table` into the e* scratch fields. */
  private classify(table: Uint8Array, j: number): void {
    const at = j * 8;
    const hi = ((table[at] << 24) | (table[at + 1] << 16) | (table[at + 2] << 8) | table[at + 3]) >>> 0;
    const lo = ((table[at + 4] << 24) | (table[at + 5] << 16) | (table[at + 6] << 8) | table[at + 7]) >>> 0;
    this.eHi = hi;
    this.eLo = lo;
    if (hi & HI_COMPRESSED) {
      this.eKind = ClusterKind.Compressed;
      this.eHost = 0;
      return;
    }
    if (hi & L2_HI_RESERVED || lo & L2_LO_RESERVED) throw corrupt(this.path, `L2 entry has reserved bits set`);
    const host = hostOffset(hi, lo);
    if (host % this.clusterSize !== 0) throw corrupt(this.path, `data cluster at ${host} is not cluster aligned`);
    this.eHost = host;
    if (lo & LO_ZERO) this.eKind = ClusterKind.Zero;
    else this.eKind = host === 0 ? ClusterKind.Unallocated : ClusterKind.Data;
  }

  // ---- reads ---------------------------------------------------------------------------------

  private async readRange(offset: number, into: Uint8Array): Promise<void> {
    const cs = this.clusterSize;
    const perL2 = cs * this.l2Size;
    const pending: Promise<unknown>[] = [];
    // Runs of adjacent pieces are read with one call each.
    let fileHost = -1;
    let fileDest = 0;
    let fileLen = 0;
    let backGuest = -1;
    let backDest = 0;
    let backLen = 0;
    const flushFile = (): void => {
      if (fileLen > 0) pending.push(this.file.read(fileHost, into.subarray(fileDest, fileDest + fileLen)));
      fileLen = 0;
    };
    const flushBacking = (): void => {
      if (backLen > 0) pending.push(this.readBacking(backGuest, into.subarray(backDest, backDest + backLen)));
      backLen = 0;
    };
    let pos = 0;
    while (pos < into.length) {
      const guest = offset + pos;
      const inCluster = guest % cs;
      const n = Math.min(cs - inCluster, into.length - pos);
      const l1Index = Math.floor(guest / perL2);
      const l2Off = this.l2Offset(l1Index);
      let kind: ClusterKind = ClusterKind.Unallocated;
      if (l2Off !== 0) {
        const table = this.l2Cache.get(l2Off) ?? (await this.loadL2(l2Off));
        this.classify(table, Math.floor((guest % perL2) / cs));
        kind = this.eKind;
      }
      if (kind === ClusterKind.Data) {
        const host = this.eHost + inCluster;
        if (fileLen > 0 && fileHost + fileLen === host && fileDest + fileLen === pos) fileLen += n;
        else {
          flushFile();
          fileHost = host;
          fileDest = pos;
          fileLen = n;
        }
      } else if (kind === ClusterKind.Unallocated && this.backing !== null) {
        if (backLen > 0 && backGuest + backLen === guest) backLen += n;
        else {
          flushBacking();
          backGuest = guest;
          backDest = pos;
          backLen = n;
        }
      } else if (kind === ClusterKind.Compressed) {
        const data = await this.inflate(this.eHi, this.eLo);
        into.set(data.subarray(inCluster, inCluster + n), pos);
      } else {
        into.fill(0, pos, pos + n);
      }
      pos += n;
    }
    flushFile();
    flushBacking();
    await Promise.all(pending);
  }

  /** Reads from the backing image; what lies past its end reads as zero. */
  private async readBacking(guest: number, into: Uint8Array): Promise<void> {
    const backing = this.backing as BlockImage;
    const limit = Math.ceil(backing.virtualSize / SECTOR) * SECTOR;
    const inside = Math.max(0, Math.min(into.length, limit - guest));
    if (inside > 0) await backing.read(guest, into.subarray(0, inside));
    if (inside < into.length) into.fill(0, inside);
  }

  private async inflate(hi: number, lo: number): Promise<Uint8Array> {
    const last = this.lastInflated;
    if (last !== null && last.hi === hi && last.lo === lo) return last.data;
    const { offset, length } = compressedExtent(hi, lo, this.clusterBits);
    const stream = new Uint8Array(length);
    await this.file.read(offset, stream);
    const data = inflateCluster(this.path, stream, this.clusterSize);
    this.lastInflated = { hi, lo, data };
    return data;
  }

  /** Fills `buf` with what guest cluster `guest` read before a write to part of it. */
  private async oldContents(buf: Uint8Array, guest: number, kind: ClusterKind, host: number, hi: number, lo: number) {
    switch (kind) {
      case ClusterKind.Data:
        await this.file.read(host, buf);
        return;
      case ClusterKind.Compressed:
        buf.set(await this.inflate(hi, lo));
        return;
      case ClusterKind.Unallocated:
        if (this.backing !== null)
          await this.readBacking(guest, buf.subarray(0, Math.min(buf.length, this.header.size - guest)));
        return;
      default:
        return;
    }
  }

  // ---- batched mutations ---------------------------------------------------------------------

  private async runBatch(ops: readonly Qcow2Op[]): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      for (const op of ops) await this.plan(op);
      await this.commitBatch();
    } catch (e) {
      // Memory and file may now disagree; refuse further use rather than risk the image.
      const cause = e instanceof StorageError ? e.message : String(e);
      this.failure = new StorageError(
        StorageErrorKind.Unavailable,
        `${this.path}: a write failed (${cause}); reopen the image to continue`,
        { cause: e },
      );
      throw e;
    } finally {
      this.groups.length = 0;
      this.l2Dirty.clear();
      this.newL2.clear();
      this.l1Dirty.clear();
      this.frees.length = 0;
      this.refcounts?.endBatch();
      this.evictL2();
    }
  }

  private async plan(op: Qcow2Op): Promise<void> {
    const cs = this.clusterSize;
    let pos = 0;
    while (pos < op.length) {
      const guest = op.offset + pos;
      const inCluster = guest % cs;
      const n = Math.min(cs - inCluster, op.length - pos);
      const full = n === cs;
      if (op.kind === OpKind.Write) {
        await this.writeCluster(guest - inCluster, inCluster, (op.data as Uint8Array).subarray(pos, pos + n));
      } else {
        const table = await this.tableFor(guest, false);
        let kind: ClusterKind = ClusterKind.Unallocated;
        let host = 0;
        if (table !== null) {
          this.classify(table, this.l2Index(guest));
          kind = this.eKind;
          host = this.eHost;
        }
        const readsZero =
          (kind === ClusterKind.Zero && host === 0) || (kind === ClusterKind.Unallocated && !this.backing);
        if (op.kind === OpKind.Zero && !readsZero) {
          if (full && this.header.version >= 3) await this.setEntry(guest, this.backing ? LO_ZERO : 0, true);
          else await this.writeCluster(guest - inCluster, inCluster, this.zeros.subarray(0, n));
        } else if (op.kind === OpKind.Discard && full && !readsZero) {
          // Like QEMU: with a backing file a discarded cluster reads as zero (v3 zero flag) rather
          // than exposing older data; v2 cannot say so and lets it fall through.
          if (!this.backing) await this.setEntry(guest, 0, false);
          else if (this.header.version >= 3) await this.setEntry(guest, LO_ZERO, true);
          else if (kind !== ClusterKind.Unallocated) await this.setEntry(guest, 0, false);
        }
      }
      pos += n;
    }
  }

  private l2Index(guest: number): number {
    return Math.floor((guest % (this.clusterSize * this.l2Size)) / this.clusterSize);
  }

  /** The L2 table covering `guest`, created (with its L1 entry) when `create` and missing. */
  private async tableFor(guest: number, create: boolean): Promise<Uint8Array | null> {
    const i = Math.floor(guest / (this.clusterSize * this.l2Size));
    const off = this.l2Offset(i);
    if (off !== 0) {
      if (create && !(this.l1View.getUint32(i * 8) & HI_COPIED)) {
        throw unsupported(this.path, `L2 table ${i} is shared (internal snapshot); writing to it is not supported`);
      }
      this.batchTable = off;
      return this.l2Cache.get(off) ?? (await this.loadL2(off));
    }
    if (!create) return null;
    const rc = this.refcounts as Refcounts;
    const newOff = rc.allocate(1) * this.clusterSize;
    const table = new Uint8Array(this.clusterSize);
    this.evictL2();
    this.l2Cache.set(newOff, table);
    this.newL2.add(newOff);
    this.l1View.setUint32(i * 8, entryHi(newOff, HI_COPIED));
    this.l1View.setUint32(i * 8 + 4, entryLo(newOff, 0));
    this.l1Dirty.add(i);
    this.batchTable = newOff;
    return table;
  }

  /** Plans a write of `data` at `inCluster` into guest cluster `guest`. */
  private async writeCluster(guest: number, inCluster: number, data: Uint8Array): Promise<void> {
    const table = (await this.tableFor(guest, true)) as Uint8Array;
    const tableOff = this.batchTable;
    const j = this.l2Index(guest);
    this.classify(table, j);
    const kind = this.eKind;
    const host = this.eHost;
    const hi = this.eHi;
    const lo = this.eLo;
    if (kind === ClusterKind.Data && hi & HI_COPIED) {
      this.checkDataCluster(host);
      this.queueData(host + inCluster, data);
      return;
    }
    const rc = this.refcounts as Refcounts;
    const newHost = rc.allocate(1) * this.clusterSize;
    let contents = data;
    if (data.length !== this.clusterSize) {
      contents = new Uint8Array(this.clusterSize);
      await this.oldContents(contents, guest, kind, host, hi, lo);
      contents.set(data, inCluster);
    }
    this.queueData(newHost, contents);
    this.releaseOld(kind, host, hi, lo);
    this.putEntry(table, tableOff, j, entryHi(newHost, HI_COPIED), entryLo(newHost, 0));
  }

  /** Replaces the entry of a guest cluster by a zero or unallocated entry and frees what it held. */
  private async setEntry(guest: number, lo: number, create: boolean): Promise<void> {
    const table = (await this.tableFor(guest, create)) as Uint8Array;
    const tableOff = this.batchTable;
    const j = this.l2Index(guest);
    this.classify(table, j);
    this.releaseOld(this.eKind, this.eHost, this.eHi, this.eLo);
    this.putEntry(table, tableOff, j, 0, lo);
  }

  private releaseOld(kind: ClusterKind, host: number, hi: number, lo: number): void {
    if (kind === ClusterKind.Data || (kind === ClusterKind.Zero && host !== 0)) {
      this.frees.push(host / this.clusterSize);
    } else if (kind === ClusterKind.Compressed) {
      const { offset, length } = compressedExtent(hi, lo, this.clusterBits);
      const first = Math.floor(offset / this.clusterSize);
      const last = Math.floor((offset + length - 1) / this.clusterSize);
      for (let c = first; c <= last; c++) this.frees.push(c);
    }
  }

  private putEntry(table: Uint8Array, tableOff: number, j: number, hi: number, lo: number): void {
    const v = new DataView(table.buffer, table.byteOffset, table.byteLength);
    v.setUint32(j * 8, hi);
    v.setUint32(j * 8 + 4, lo);
    if (this.newL2.has(tableOff)) return;
    const r = this.l2Dirty.get(tableOff);
    if (r === undefined) this.l2Dirty.set(tableOff, [j * 8, j * 8 + 8]);
    else {
      r[0] = Math.min(r[0], j * 8);
      r[1] = Math.max(r[1], j * 8 + 8);
    }
  }

  /** An in-place write must hit a data cluster, never metadata a corrupt entry points at. */
  private checkDataCluster(host: number): void {
    const h = this.header;
    const overlaps = (start: number, bytes: number): boolean => host < start + bytes && host + this.clusterSize > start;
    if (
      host === 0 ||
      overlaps(h.l1TableOffset, h.l1Size * 8) ||
      overlaps(h.refcountTableOffset, h.refcountTableClusters * this.clusterSize) ||
      (this.refcounts as Refcounts).get(host / this.clusterSize) !== 1
    ) {
      throw corrupt(this.path, `L2 entry points at ${host}, which is not a data cluster of its own`);
    }
  }

  private queueData(position: number, data: Uint8Array): void {
    const last = this.groups[this.groups.length - 1];
    if (last !== undefined && last.position + last.length === position && last.buffers.length < MAX_IOV) {
      last.buffers.push(data);
      last.length += data.length;
    } else {
      this.groups.push({ position, length: data.length, buffers: [data] });
    }
  }

  /**
   * Makes a planned batch durable. The order is what keeps the image consistent at any crash
   * point: (A) data, new L2 tables and refcount increments, sync; (B) refcount table entries or
   * header switch for new refcount structures, sync; (C) L2 and L1 entries, sync — only now does
   * anything point to the new clusters, and only now are the writes acknowledged; (D) refcount
   * decrements of clusters no longer referenced. A crash before C leaves at worst counted but
   * unreferenced clusters (leaks, repaired on the next writable open), never a reference to an
   * uncounted or unwritten cluster.
   */
  private async commitBatch(): Promise<void> {
    const rc = this.refcounts as Refcounts;
    for (const g of this.groups) {
      if (g.buffers.length === 1) await this.file.write(g.position, g.buffers[0] as Uint8Array);
      else await this.file.writev(g.position, g.buffers);
    }
    for (const off of this.newL2) await this.file.write(off, this.l2Cache.get(off) as Uint8Array);
    await rc.writePhaseA(this.file);
    await this.file.datasync();
    if (rc.needsPhaseB()) {
      await rc.writePhaseB(this.file);
      await this.file.datasync();
    }
    if (this.l2Dirty.size > 0 || this.l1Dirty.size > 0) {
      for (const [off, [lo, hi]] of this.l2Dirty) {
        const start = Math.floor(lo / SECTOR) * SECTOR;
        const end = Math.ceil(hi / SECTOR) * SECTOR;
        await this.file.write(off + start, (this.l2Cache.get(off) as Uint8Array).subarray(start, end));
      }
      const sectors = new Set<number>();
      for (const i of this.l1Dirty) sectors.add(Math.floor((i * 8) / SECTOR));
      for (const s of sectors) {
        await this.file.write(this.header.l1TableOffset + s * SECTOR, this.l1.subarray(s * SECTOR, (s + 1) * SECTOR));
      }
      await this.file.datasync();
    }
    rc.releaseRetiredTables();
    for (const c of this.frees) rc.release(c);
    await rc.writeDirtyBlocks(this.file);
  }
}
