import { corrupt, StorageError, StorageErrorKind } from '../errors.js';
import type { ImageFile } from '../file.js';
import { HEADER_REFTABLE_OFFSET, HI_OFFSET_MASK, hostOffset, type Qcow2Header } from './format.js';

const SECTOR = 512;
const TWO_32 = 0x100000000;

type Range = [start: number, end: number];

/**
 * The refcount table and every refcount block of a writable qcow2 image, held in memory and
 * written through. Changes made while a batch is planned are recorded as dirty ranges; the image
 * writes them in the order crash safety needs:
 *
 * - phase A: new and changed refcount blocks, and a moved refcount table (nothing points to a new
 *   structure yet, so a crash here leaves at worst unreferenced clusters);
 * - phase B (after a sync): refcount table entries of new blocks, or the header switch to a moved
 *   table; only now do the new counts take effect;
 * - the image then writes its L1/L2 references, so a cluster is always counted before it is used;
 * - frees (decrements) come last, after the references to the freed clusters are gone.
 */
export class Refcounts {
  readonly clusterSize: number;
  readonly bits: number;
  /** Refcount entries per refcount block. */
  readonly perBlock: number;
  readonly maxValue: number;
  /** Where the search for free clusters starts (a cluster index). */
  freeHint = 0;
  private table: Uint8Array;
  private tableView: DataView;
  private tableOffset: number;
  private tableClusters: number;
  private readonly blocks: (Uint8Array | undefined)[] = [];
  private readonly dirtyBlocks = new Map<number, Range>();
  private readonly newBlocks = new Set<number>();
  private readonly dirtyEntries = new Set<number>();
  private tableMoved = false;
  private readonly retired: Range[] = [];

  private constructor(
    private readonly path: string,
    header: Qcow2Header,
    table: Uint8Array,
  ) {
    this.clusterSize = 2 ** header.clusterBits;
    this.bits = 2 ** header.refcountOrder;
    this.perBlock = (this.clusterSize * 8) / this.bits;
    this.maxValue = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.table = table;
    this.tableView = new DataView(table.buffer, table.byteOffset, table.byteLength);
    this.tableOffset = header.refcountTableOffset;
    this.tableClusters = header.refcountTableClusters;
  }

  /** Reads the refcount table and all refcount blocks, validating their offsets. */
  static async load(file: ImageFile, header: Qcow2Header, fileSize: number): Promise<Refcounts> {
    const cs = 2 ** header.clusterBits;
    const table = new Uint8Array(header.refcountTableClusters * cs);
    await file.read(header.refcountTableOffset, table);
    const rc = new Refcounts(file.path, header, table);
    for (let b = 0; b < rc.tableEntries(); b++) {
      const off = rc.blockOffset(b);
      if (off === 0) continue;
      if (off + cs > fileSize) {
        throw corrupt(file.path, `truncated: refcount block ${b} at ${off} lies past the end of the file`);
      }
      const block = new Uint8Array(cs);
      await file.read(off, block);
      rc.blocks[b] = block;
    }
    return rc;
  }

  tableEntries(): number {
    return this.table.length / 8;
  }

  get currentTable(): Range {
    return [this.tableOffset, this.tableClusters];
  }

  /** Offset of refcount block `b`, 0 when it does not exist. */
  blockOffset(b: number): number {
    if (b >= this.tableEntries()) return 0;
    const hi = this.tableView.getUint32(b * 8);
    const lo = this.tableView.getUint32(b * 8 + 4);
    if (hi & ~HI_OFFSET_MASK || lo & 0x1ff) {
      throw corrupt(this.path, `refcount table entry ${b} has reserved bits set`);
    }
    const off = hostOffset(hi, lo);
    if (off % this.clusterSize !== 0) {
      throw corrupt(this.path, `refcount block ${b} at ${off} is not cluster aligned`);
    }
    return off;
  }

  hasBlock(b: number): boolean {
    return this.blocks[b] !== undefined;
  }

  /** Clusters the existing refcount blocks describe. */
  coveredClusters(): number {
    return this.blocks.length * this.perBlock;
  }

  get(cluster: number): number {
    const b = Math.floor(cluster / this.perBlock);
    const block = this.blocks[b];
    if (block === undefined) return 0;
    const i = cluster - b * this.perBlock;
    switch (this.bits) {
      case 16:
        return (block[i * 2] << 8) | block[i * 2 + 1];
      case 8:
        return block[i];
      case 32:
        return new DataView(block.buffer).getUint32(i * 4);
      case 64: {
        const v = new DataView(block.buffer);
        return v.getUint32(i * 8) * TWO_32 + v.getUint32(i * 8 + 4);
      }
      default: {
        const bit = i * this.bits;
        return (block[bit >>> 3] >>> (bit & 7)) & this.maxValue;
      }
    }
  }

  /** Sets the refcount of a cluster whose refcount block exists. */
  set(cluster: number, value: number): void {
    if (value < 0 || value > this.maxValue) {
      throw new StorageError(
        StorageErrorKind.Corrupt,
        `${this.path}: refcount of cluster ${cluster} would become ${value} (allowed 0..${this.maxValue})`,
      );
    }
    const b = Math.floor(cluster / this.perBlock);
    const block = this.blocks[b];
    if (block === undefined) {
      throw corrupt(this.path, `cluster ${cluster} is in use but has no refcount block`);
    }
    const i = cluster - b * this.perBlock;
    let byte: number;
    switch (this.bits) {
      case 16:
        byte = i * 2;
        block[byte] = value >>> 8;
        block[byte + 1] = value & 0xff;
        break;
      case 8:
        byte = i;
        block[i] = value;
        break;
      case 32:
        byte = i * 4;
        new DataView(block.buffer).setUint32(byte, value);
        break;
      case 64: {
        byte = i * 8;
        const v = new DataView(block.buffer);
        v.setUint32(byte, Math.floor(value / TWO_32));
        v.setUint32(byte + 4, value % TWO_32);
        break;
      }
      default: {
        const bit = i * this.bits;
        byte = bit >>> 3;
        const shift = bit & 7;
        block[byte] = (block[byte] & ~(this.maxValue << shift)) | (value << shift);
      }
    }
    if (this.newBlocks.has(b)) return;
    const r = this.dirtyBlocks.get(b);
    if (r === undefined) this.dirtyBlocks.set(b, [byte, byte + 8]);
    else {
      r[0] = Math.min(r[0], byte);
      r[1] = Math.max(r[1], byte + 8);
    }
  }

  /** Finds `count` free clusters in a row and counts them as used; returns the first cluster index. */
  allocate(count: number): number {
    const start = this.findFree(count, []);
    this.cover([[start, start + count]]);
    for (let c = start; c < start + count; c++) this.set(c, 1);
    this.freeHint = start + count;
    return start;
  }

  /** Drops one reference to a cluster. */
  release(cluster: number): void {
    const v = this.get(cluster);
    if (v === 0) throw corrupt(this.path, `freeing cluster ${cluster} whose refcount is already 0`);
    this.set(cluster, v - 1);
    if (v === 1 && cluster < this.freeHint) this.freeHint = cluster;
  }

  /** First cluster index from the hint where `count` clusters are free and outside `avoid`. */
  findFree(count: number, avoid: readonly Range[]): number {
    let start = this.freeHint;
    let c = start;
    while (c < start + count) {
      const hit = avoid.find(([s, e]) => c >= s && c < e);
      if (hit !== undefined) {
        start = c = hit[1];
      } else if (this.get(c) !== 0) {
        start = c = c + 1;
      } else {
        c++;
      }
    }
    return start;
  }

  /**
   * Makes sure refcount blocks exist for every cluster in `targets`. New blocks (and, when the
   * table is full, a bigger table) go into free clusters after the targets, where they count
   * themselves.
   */
  cover(targets: readonly Range[]): void {
    let needed = this.missingBlocks(targets, new Set());
    if (needed.size === 0) return;
    const entries = this.tableEntries();
    let area = 0;
    let length = 0;
    let tableClusters = 0;
    for (;;) {
      const maxBlock = Math.max(...needed);
      tableClusters = 0;
      if (maxBlock >= entries) {
        tableClusters = Math.ceil((Math.max(maxBlock + 1, entries * 2) * 8) / this.clusterSize);
      }
      const newEntries = tableClusters > 0 ? (tableClusters * this.clusterSize) / 8 : entries;
      length = needed.size + tableClusters;
      area = this.findFree(length, targets);
      const more = this.missingBlocks([[area, area + length]], needed);
      if (more.size === needed.size && Math.max(...more) < newEntries) break;
      needed = more;
    }
    if (tableClusters > 0) this.moveTable(area, tableClusters);
    let at = area + tableClusters;
    for (const b of [...needed].sort((x, y) => x - y)) {
      this.blocks[b] = new Uint8Array(this.clusterSize);
      this.newBlocks.add(b);
      this.setTableEntry(b, at * this.clusterSize);
      at++;
    }
    for (let c = area; c < area + length; c++) this.set(c, 1);
    if (this.freeHint >= area && this.freeHint < area + length) this.freeHint = area + length;
  }

  /** True when phase B has something to write. */
  needsPhaseB(): boolean {
    return this.tableMoved || this.dirtyEntries.size > 0;
  }

  /** Writes new blocks, changed block sectors and a moved table. */
  async writePhaseA(file: ImageFile): Promise<void> {
    for (const b of this.newBlocks) await file.write(this.blockOffset(b), this.blocks[b] as Uint8Array);
    await this.writeDirtyBlocks(file);
    if (this.tableMoved) await file.write(this.tableOffset, this.table);
  }

  /** Points the header at a moved table, or writes the table entries of new blocks. */
  async writePhaseB(file: ImageFile): Promise<void> {
    if (this.tableMoved) {
      const field = new Uint8Array(12);
      const view = new DataView(field.buffer);
      view.setBigUint64(0, BigInt(this.tableOffset));
      view.setUint32(8, this.tableClusters);
      await file.write(HEADER_REFTABLE_OFFSET, field);
      return;
    }
    const sectors = new Set<number>();
    for (const e of this.dirtyEntries) sectors.add(Math.floor((e * 8) / SECTOR));
    for (const s of sectors) {
      await file.write(this.tableOffset + s * SECTOR, this.table.subarray(s * SECTOR, (s + 1) * SECTOR));
    }
  }

  /** After the header switch is durable: frees the clusters of replaced tables. */
  releaseRetiredTables(): void {
    for (const [offset, clusters] of this.retired) {
      const first = offset / this.clusterSize;
      for (let c = first; c < first + clusters; c++) this.release(c);
    }
    this.retired.length = 0;
  }

  async writeDirtyBlocks(file: ImageFile): Promise<void> {
    for (const [b, [lo, hi]] of this.dirtyBlocks) {
      const start = Math.floor(lo / SECTOR) * SECTOR;
      const end = Math.min(this.clusterSize, Math.ceil(hi / SECTOR) * SECTOR);
      await file.write(this.blockOffset(b) + start, (this.blocks[b] as Uint8Array).subarray(start, end));
    }
    this.dirtyBlocks.clear();
  }

  /** Forgets the record of what changed; called when a batch ends. */
  endBatch(): void {
    this.dirtyBlocks.clear();
    this.newBlocks.clear();
    this.dirtyEntries.clear();
    this.tableMoved = false;
    this.retired.length = 0;
  }

  private missingBlocks(ranges: readonly Range[], base: Set<number>): Set<number> {
    const out = new Set(base);
    for (const [s, e] of ranges) {
      for (let b = Math.floor(s / this.perBlock); b <= Math.floor((e - 1) / this.perBlock); b++) {
        if (this.blocks[b] === undefined) out.add(b);
      }
    }
    return out;
  }

  private moveTable(areaStart: number, clusters: number): void {
    const table = new Uint8Array(clusters * this.clusterSize);
    table.set(this.table);
    this.retired.push([this.tableOffset, this.tableClusters]);
    this.table = table;
    this.tableView = new DataView(table.buffer);
    this.tableOffset = areaStart * this.clusterSize;
    this.tableClusters = clusters;
    this.tableMoved = true;
  }

  private setTableEntry(b: number, offset: number): void {
    this.tableView.setUint32(b * 8, Math.floor(offset / TWO_32));
    this.tableView.setUint32(b * 8 + 4, offset % TWO_32);
    this.dirtyEntries.add(b);
  }
}
