import { corrupt } from '../errors.js';
import type { ImageFile } from '../file.js';
import { compressedExtent } from './compressed.js';
import {
  HI_COMPRESSED,
  HI_COPIED,
  L1_HI_RESERVED,
  L1_LO_RESERVED,
  L2_HI_RESERVED,
  L2_LO_RESERVED,
  hostOffset,
  l2Entries,
  type Qcow2Header,
} from './format.js';
import type { Refcounts } from './refcounts.js';

export interface RepairResult {
  /** Refcounts that were rewritten. */
  changed: number;
  /** Clusters that were counted but not used by anything (left by a crash mid-allocation). */
  leaks: number;
}

/**
 * Counts every reference in the image (header, tables, refcount structures, L2 tables, data
 * clusters) and compares with the stored refcounts, like `qemu-img check`. Leaked clusters are
 * released; a cluster counted too low is corruption and stops the open, unless the header's
 * dirty bit says refcounts may lag behind. Trailing clusters nothing uses are cut off.
 */
export async function repairRefcounts(
  file: ImageFile,
  header: Qcow2Header,
  l1: Uint8Array,
  rc: Refcounts,
  fileSize: number,
  dirty: boolean,
): Promise<RepairResult> {
  const path = file.path;
  const cs = 2 ** header.clusterBits;
  const fileClusters = Math.ceil(fileSize / cs);
  const expected = new Uint32Array(Math.max(fileClusters, rc.coveredClusters()));
  const count = (offset: number, bytes: number, what: string): void => {
    if (offset + bytes > fileClusters * cs) {
      throw corrupt(path, `truncated: ${what} at ${offset} lies past the end of the file (${fileSize} bytes)`);
    }
    for (let c = Math.floor(offset / cs); c <= Math.floor((offset + bytes - 1) / cs); c++) expected[c]++;
  };
  count(0, cs, 'header');
  if (header.l1Size > 0) count(header.l1TableOffset, header.l1Size * 8, 'L1 table');
  count(header.refcountTableOffset, header.refcountTableClusters * cs, 'refcount table');
  for (let b = 0; b < rc.tableEntries(); b++) {
    const off = rc.blockOffset(b);
    if (off !== 0) count(off, cs, `refcount block ${b}`);
  }

  // Clusters that must be referenced exactly once, with whether their entry carries COPIED.
  const single: number[] = [];
  const copied: boolean[] = [];
  const l1View = new DataView(l1.buffer, l1.byteOffset, l1.byteLength);
  const table = new Uint8Array(cs);
  const tableView = new DataView(table.buffer);
  for (let i = 0; i < header.l1Size; i++) {
    const hi = l1View.getUint32(i * 8);
    const lo = l1View.getUint32(i * 8 + 4);
    if (hi & L1_HI_RESERVED || lo & L1_LO_RESERVED) throw corrupt(path, `L1 entry ${i} has reserved bits set`);
    const off = hostOffset(hi, lo);
    if (off === 0) continue;
    if (off % cs !== 0) throw corrupt(path, `L2 table ${i} at ${off} is not cluster aligned`);
    count(off, cs, `L2 table ${i}`);
    single.push(off / cs);
    copied.push((hi & HI_COPIED) !== 0);
    await file.read(off, table);
    for (let j = 0; j < l2Entries(header.clusterBits); j++) {
      const ehi = tableView.getUint32(j * 8);
      const elo = tableView.getUint32(j * 8 + 4);
      if (ehi & HI_COMPRESSED) {
        const { offset, length } = compressedExtent(ehi, elo, header.clusterBits);
        count(offset, length, 'compressed cluster');
        continue;
      }
      if (ehi & L2_HI_RESERVED || elo & L2_LO_RESERVED) throw corrupt(path, `L2 entry has reserved bits set`);
      const host = hostOffset(ehi, elo);
      if (host === 0) continue;
      if (host % cs !== 0) throw corrupt(path, `data cluster at ${host} is not cluster aligned`);
      count(host, cs, 'data cluster');
      single.push(host / cs);
      copied.push((ehi & HI_COPIED) !== 0);
    }
  }

  for (let k = 0; k < single.length; k++) {
    const c = single[k] as number;
    if (expected[c] > 1) throw corrupt(path, `cluster ${c} is used more than once`);
    if (!copied[k]) {
      throw corrupt(
        path,
        `cluster ${c} is used once but its entry lacks the COPIED flag; run \`qemu-img check -r all\``,
      );
    }
  }

  let changed = 0;
  let leaks = 0;
  const limit = Math.max(expected.length, rc.coveredClusters());
  let lastUsed = 0;
  for (let c = 0; c < limit; c++) {
    const want = c < expected.length ? (expected[c] as number) : 0;
    const stored = rc.get(c);
    if (want > 0) lastUsed = c;
    if (want === stored) continue;
    if (want < stored) {
      if (want === 0) leaks++;
    } else if (!dirty) {
      throw corrupt(
        path,
        `cluster ${c} is used ${want} time(s) but its refcount is ${stored}; run \`qemu-img check -r all\``,
      );
    } else if (!rc.hasBlock(Math.floor(c / rc.perBlock))) {
      throw corrupt(path, `cluster ${c} has no refcount block; run \`qemu-img check -r all\``);
    }
    rc.set(c, want);
    changed++;
  }
  rc.freeHint = 1;
  if (changed > 0) {
    await rc.writeDirtyBlocks(file);
    await file.datasync();
  }
  rc.endBatch();
  if ((lastUsed + 1) * cs < fileSize) {
    await file.truncate((lastUsed + 1) * cs);
    await file.datasync();
  }
  return { changed, leaks };
}
