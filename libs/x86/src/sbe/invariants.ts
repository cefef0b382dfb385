import { CodeAttr } from '../decoder/attributes.js';
import { DecodeStatus } from '../decoder/decode-status.js';
import { Instruction } from '../decoder/instruction.js';
import { OpKind } from '../decoder/op-kind.js';
import { ByteAttr, markBlock } from './attribute-page.js';
import { type Block, BlockEnd } from './block.js';
import { chunkMask } from './code-write-tracker.js';
import { bitnessOf, CodeMode, MODE_COUNT, PAGE_OFFSET_MASK, PAGE_SHIFT, PAGE_SIZE } from './constants.js';
import { CrossPageWindow } from './cross-page.js';
import type { ScannedPage } from './scanned-page.js';
import type { ScannedPageCache } from './scanned-page-cache.js';

/** A broken invariant of the SBE data structures: always a bug in the SBE or a write it was not told about. */
export class SbeInvariantError extends Error {
  override readonly name = 'SbeInvariantError';
}

const ENDS_BLOCK = CodeAttr.FLOW_MASK | CodeAttr.SENSITIVE | CodeAttr.PRIVILEGED;

/**
 * Cross-checks everything the cache keeps against everything else (the v86 `check_jit_state_invariants`
 * idea): resident list and page index, block tables and entry index, cross-page links, attribute bytes
 * rebuilt from the blocks and breakpoints, the write-tracking masks of every page, the counters, the
 * record pool, and finally that every block still decodes from the bytes in memory, which catches a
 * write the SBE was not told about. Slow; run by tests and behind the `debug` option.
 */
export function checkSbeInvariants(cache: ScannedPageCache): void {
  const fail = (msg: string): never => {
    throw new SbeInvariantError(msg);
  };
  const resident = cache.resident;
  if (resident.length > cache.maxPages) fail(`${resident.length} resident pages exceed the bound ${cache.maxPages}`);
  let slots = 0;
  for (let page = 0; page < cache.pageCount; page++) {
    for (let mode = 0; mode < MODE_COUNT; mode++) {
      const slot = cache.residentSlot(page, mode);
      if (slot === 0) continue;
      slots++;
      const sp = resident[slot - 1];
      if (sp === undefined || sp.page !== page || sp.mode !== mode) {
        fail(`page index of page ${page} mode ${mode} points at the wrong scanned page`);
      }
    }
  }
  if (slots !== resident.length) fail(`page index has ${slots} entries for ${resident.length} resident pages`);

  const seenRecords = new Set<Instruction>();
  const expected = new Uint8Array(PAGE_SIZE);
  let blocks = 0;
  let instructions = 0;
  for (let i = 0; i < resident.length; i++) {
    const sp = resident[i] as ScannedPage;
    const where = `page ${sp.page} mode ${sp.mode}`;
    if (sp.residentIndex !== i) fail(`${where}: residentIndex ${sp.residentIndex} but listed at ${i}`);
    if (sp.blockCount === 0 && sp.crossIn.length === 0) fail(`${where}: resident without blocks`);
    if (sp.dirtyHi !== 0) fail(`${where}: attribute rebuild left pending`);
    let live = 0;
    let records = 0;
    sp.blocks.forEach((b, slot) => {
      if (b === null) {
        if (!sp.freeSlots.includes(slot)) fail(`${where}: empty slot ${slot} is not free`);
        return;
      }
      live++;
      records += b.count;
      checkBlock(cache, sp, b, slot, seenRecords, fail);
    });
    for (const slot of sp.freeSlots) if (sp.blocks[slot] !== null) fail(`${where}: free slot ${slot} holds a block`);
    if (live !== sp.blockCount) fail(`${where}: blockCount ${sp.blockCount} but ${live} blocks`);
    if (records !== sp.instructionCount) fail(`${where}: instructionCount ${sp.instructionCount} but ${records}`);
    blocks += live;
    instructions += records;
    const badEntry = firstBadEntry(sp);
    if (badEntry >= 0) fail(`${where}: entry at ${hex(badEntry)} points at the wrong block`);
    for (const b of sp.crossIn) {
      if (!b.valid || b.crossPage !== sp.page || b.mode !== sp.mode) fail(`${where}: stale cross-in block`);
      const home = cache.scannedPage(b.physAddr >>> PAGE_SHIFT, b.mode);
      if (home === undefined || home.blocks[b.slot] !== b) fail(`${where}: cross-in block not in its start page`);
    }

    // Attribute bytes: exactly what the live blocks and the breakpoints say.
    expected.fill(0);
    const bps = cache.breakpointOffsets(sp.page);
    if (bps !== undefined) for (const off of bps) expected[off] = ByteAttr.BREAKPOINT;
    for (const b of sp.blocks) if (b !== null) markBlock(expected, sp.page, b, 0, PAGE_SIZE);
    for (const b of sp.crossIn) markBlock(expected, sp.page, b, 0, PAGE_SIZE);
    const off = firstDifference(expected, sp.attrs);
    if (off >= 0) {
      fail(
        `${where}: attribute byte at ${hex(off)} is ${hex(sp.attrs[off] as number)}, expected ${hex(expected[off] as number)}`,
      );
    }
  }
  if (blocks !== cache.blockCount) fail(`blockCount ${cache.blockCount} but ${blocks} live blocks`);
  if (instructions !== cache.instructionCount) fail(`instructionCount ${cache.instructionCount} but ${instructions}`);
  if (instructions > cache.maxInstructions) fail(`${instructions} records exceed the bound ${cache.maxInstructions}`);

  // Chunk lists of each scanned page, and the write masks: the union of the chunks every live block
  // covers, per physical page; zero elsewhere.
  for (const sp of resident) {
    const covering: Block[][] = Array.from({ length: 32 }, () => []);
    const file = (b: Block, mask: number) => {
      for (let bit = 0; bit < 32; bit++) if ((mask >>> bit) & 1) covering[bit]?.push(b);
    };
    for (const b of sp.blocks) if (b !== null) file(b, b.startMask);
    for (const b of sp.crossIn) file(b, b.crossMask);
    let mask = 0;
    for (let bit = 0; bit < 32; bit++) {
      const want = covering[bit] as Block[];
      const have = sp.chunkBlocks[bit] as Block[];
      if (have.length !== want.length || want.some((b) => !have.includes(b))) {
        fail(`page ${sp.page} mode ${sp.mode}: chunk ${bit} lists ${have.length} blocks, ${want.length} cover it`);
      }
      if (want.length !== 0) mask |= 1 << bit;
    }
    if (sp.codeMask !== mask >>> 0) fail(`page ${sp.page} mode ${sp.mode}: code mask ${hex(sp.codeMask)}`);
  }
  const masks = cache.tracker.masks;
  const want = new Uint32Array(cache.pageCount);
  for (const sp of resident) {
    for (const b of sp.blocks) if (b !== null) want[sp.page] = ((want[sp.page] as number) | b.startMask) >>> 0;
    for (const b of sp.crossIn) want[sp.page] = ((want[sp.page] as number) | b.crossMask) >>> 0;
  }
  for (let page = 0; page < cache.pageCount; page++) {
    if (masks[page] !== want[page]) {
      fail(`write mask of page ${page} is ${hex(masks[page] as number)}, expected ${hex(want[page] as number)}`);
    }
  }

  cache.pool.forEach((rec) => {
    if (seenRecords.has(rec)) fail('an instruction record is both pooled and held by a block');
  });
}

function checkBlock(
  cache: ScannedPageCache,
  sp: ScannedPage,
  b: Block,
  slot: number,
  seenRecords: Set<Instruction>,
  fail: (msg: string) => never,
): void {
  const where = `block at ${hex(b.physAddr)} mode ${b.mode}`;
  const off = b.physAddr & PAGE_OFFSET_MASK;
  if (!b.valid) fail(`${where}: listed but not valid`);
  if (b.slot !== slot) fail(`${where}: slot ${b.slot} but stored in ${slot}`);
  if (b.physAddr >>> PAGE_SHIFT !== sp.page || b.mode !== sp.mode) fail(`${where}: filed under the wrong page`);
  if (sp.entries[off] !== slot + 1) fail(`${where}: entry index does not point at it`);
  if (b.count !== b.instructions.length) fail(`${where}: count ${b.count} but ${b.instructions.length} records`);
  if (b.count > cache.maxBlockInstructions) fail(`${where}: ${b.count} instructions exceed the block limit`);
  if (b.count === 0 && b.endReason !== BlockEnd.Breakpoint) fail(`${where}: empty without a breakpoint`);
  const bps = cache.breakpointOffsets(sp.page);
  const ipTop = b.mode === CodeMode.Bits16 ? 0x10000 : 0x100000000;
  if (b.startIp !== (b.startIp | 0)) fail(`${where}: startIp ${b.startIp} is not a signed 32-bit integer`);
  const startIp = b.startIp >>> 0;
  let length = 0;
  let writes = false;
  for (let i = 0; i < b.count; i++) {
    const ins = b.instructions[i] as Instruction;
    if (seenRecords.has(ins)) fail(`${where}: instruction record shared with another block`);
    seenRecords.add(ins);
    if (ins.ip !== startIp + length) fail(`${where}: instruction ${i} has ip ${hex(ins.ip)}`);
    const at = off + length;
    if (at < PAGE_SIZE && bps?.has(at)) fail(`${where}: instruction ${i} sits on a breakpoint`);
    if (at >= PAGE_SIZE) fail(`${where}: instruction ${i} starts beyond the start page`);
    const a = ins.attributes;
    if ((a & CodeAttr.WRITES_MEMORY) !== 0) writes = true;
    if (i < b.count - 1 && (a & ENDS_BLOCK) !== 0) fail(`${where}: instruction ${i} should have ended the block`);
    length += ins.length;
  }
  if (startIp + length > ipTop) fail(`${where}: runs past the top of the IP range`);
  if (length !== b.byteLength) fail(`${where}: byteLength ${b.byteLength} but instructions cover ${length}`);
  if (writes !== b.writesMemory) fail(`${where}: writesMemory is ${b.writesMemory}`);
  const startEnd = Math.min(off + length, PAGE_SIZE);
  if (b.startMask !== (length > 0 ? chunkMask(off, startEnd) : 0)) fail(`${where}: start mask ${hex(b.startMask)}`);
  const spill = off + length - PAGE_SIZE;
  if (spill > 0) {
    if (b.crossPage < 0) fail(`${where}: spills ${spill} bytes but has no cross page`);
    const cp = cache.scannedPage(b.crossPage, b.mode);
    if (cp === undefined || !cp.crossIn.includes(b)) fail(`${where}: missing from the cross page's list`);
    if (b.crossMask !== chunkMask(0, spill)) fail(`${where}: cross mask ${hex(b.crossMask)}`);
  } else if (b.crossPage !== -1 || b.crossMask !== 0) {
    fail(`${where}: has a cross page but does not cross`);
  }
  checkDecodesFromMemory(cache, b, where, fail);
}

const scratch = new Instruction();
const window = new CrossPageWindow();

/** Decodes each instruction of the block again from memory and compares identity, length and operand values. */
function checkDecodesFromMemory(cache: ScannedPageCache, b: Block, where: string, fail: (msg: string) => never): void {
  const memory = cache.memory;
  const bitness = bitnessOf(b.mode);
  const pageEnd = (b.physAddr >>> PAGE_SHIFT) * PAGE_SIZE + PAGE_SIZE;
  let pos = b.physAddr;
  for (let i = 0; i < b.count; i++) {
    const ins = b.instructions[i] as Instruction;
    let status = cache.decoder.decode(memory, pos, pageEnd, ins.ip, bitness, scratch);
    if (status === DecodeStatus.NeedMoreBytes && b.crossPage >= 0) {
      const n = window.fill(memory, pos, pageEnd, b.crossPage * PAGE_SIZE);
      status = cache.decoder.decode(window.bytes, 0, n, ins.ip, bitness, scratch);
    }
    const isLast = i === b.count - 1;
    const okStatus =
      status === DecodeStatus.Ok ||
      (isLast && status === DecodeStatus.Invalid && b.endReason === BlockEnd.Invalid) ||
      (isLast && status === DecodeStatus.TooLong && b.endReason === BlockEnd.TooLong);
    if (
      !okStatus ||
      scratch.length !== ins.length ||
      scratch.code !== ins.code ||
      (status === DecodeStatus.Ok && !sameOperands(scratch, ins))
    ) {
      fail(
        `${where}: instruction ${i} at ${hex(pos)} no longer decodes as scanned (memory written without notifyWrite?)`,
      );
    }
    pos += ins.length;
  }
}

/**
 * True when two records of the same instruction form have the same operand values. Only the fields the
 * operand kinds describe are compared: the decoder leaves the others unspecified.
 */
export function sameOperands(a: Instruction, b: Instruction): boolean {
  for (let n = 0; n < 4; n++) {
    const kind = a.opKind(n);
    if (kind !== b.opKind(n)) return false;
    switch (kind) {
      case OpKind.Register:
        if (a.opRegister(n) !== b.opRegister(n)) return false;
        break;
      case OpKind.Memory:
        if (
          a.memBase !== b.memBase ||
          a.memIndex !== b.memIndex ||
          a.memScale !== b.memScale ||
          a.memDisplacement !== b.memDisplacement ||
          a.memSegment !== b.memSegment
        ) {
          return false;
        }
        break;
      case OpKind.Immediate8:
      case OpKind.Immediate16:
      case OpKind.Immediate32:
      case OpKind.Immediate8to16:
      case OpKind.Immediate8to32:
        if (a.immediate !== b.immediate) return false;
        break;
      case OpKind.Immediate8Second:
        if (a.immediate2 !== b.immediate2) return false;
        break;
      case OpKind.NearBranch16:
      case OpKind.NearBranch32:
        if (a.branchTarget !== b.branchTarget) return false;
        break;
      case OpKind.FarBranch16:
      case OpKind.FarBranch32:
        if (a.branchTarget !== b.branchTarget || a.farSelector !== b.farSelector) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

/** Offset of the first entry that does not name a block starting there, or -1. Skips empty words fast. */
function firstBadEntry(sp: ScannedPage): number {
  const words = new Uint32Array(sp.entries.buffer, sp.entries.byteOffset, PAGE_SIZE / 2);
  for (let w = 0; w < words.length; w++) {
    if (words[w] === 0) continue;
    for (let off = 2 * w; off < 2 * w + 2; off++) {
      const e = sp.entries[off] as number;
      if (e === 0) continue;
      const b = sp.blocks[e - 1];
      if (b === null || b === undefined || (b.physAddr & PAGE_OFFSET_MASK) !== off) return off;
    }
  }
  return -1;
}

/** Offset of the first byte where two attribute pages differ, or -1; compares four bytes at a time. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const wa = new Uint32Array(a.buffer, a.byteOffset, PAGE_SIZE / 4);
  const wb = new Uint32Array(b.buffer, b.byteOffset, PAGE_SIZE / 4);
  for (let w = 0; w < wa.length; w++) {
    if (wa[w] === wb[w]) continue;
    for (let off = 4 * w; off < 4 * w + 4; off++) if (a[off] !== b[off]) return off;
  }
  return -1;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
