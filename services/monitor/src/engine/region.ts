/**
 * Hot code as generated functions per code page. The blocks of a physical page that ran often
 * enough become one function (laid out as the guest's loops, or as the cases of a switch inside a
 * loop: member-layout.ts), so control that passes from one of them to another (a loop, an if/else,
 * a call within the page) stays in generated code instead of going back to the run loop, which pays
 * for the block lookup and the call into a separate function. Code of the page that gets hot later
 * goes into another function of the page (see regionMembers).
 *
 * The function runs exactly the blocks the run loop would have run, and checks between them all the
 * run loop would check:
 * - a jump leaves the region when its target is not the start of a member, or lies on another page
 *   (only blocks whose IPs map to their page offsets are members, so the CS base is page-aligned;
 *   the run loop lets members run on only under a flat CS limit) unless the member there is a block
 *   borrowed from that page whose translation still holds (borrowedMembers);
 * - after a member that ends with an instruction that may change what the run loop looks at (CS,
 *   paging, EFLAGS.IF or TF, the interrupt controller through port I/O, HLT), the region returns;
 * - `cpu.exitBlock` (a stop, an interrupt shadow, a write into code) and the instruction budget are
 *   tested after every member that passes control to another;
 * - the run loop re-checks the members after any block was dropped (`Region.drops`), before it
 *   enters the region again.
 * When it returns or faults, `cpu.regionAt` names the member that ran last and `cpu.regionLeft` what
 * is left of its budget. While it runs, the guest's registers and state words are locals of the
 * function (state-locals.ts).
 *
 * Page functions in WebAssembly instead, measured and not kept: the members as one WebAssembly
 * function per page (a loop around a br_table on the member index, the warm tier's code for each
 * member, wasm/block-tier.ts, a handler call for each record without WebAssembly code, no borrowed
 * blocks), with 8-bit MOV, CMP and TEST, INC and DEC and conditional jumps on flags of any origin
 * added to the warm tier's forms, the registers in locals, the TLB masks as constants and no segment
 * checks for flat segments, and no lazy-flag stores where nothing reads them (deadFlags). The
 * monitor's tests passed but for those that expect borrowed blocks. On the bench workload's gzip
 * step run again and again (`plex86 run`, the same guest), a warm pass took 0.77-0.80 s against
 * 0.57-0.58 s here; its hottest page took 174-202 ms a pass in WebAssembly against 162-198 ms as
 * JavaScript (V8's CPU profile, which counts the borrowed blocks in the JavaScript), so V8's code
 * for a page function is about as fast as that WebAssembly, not slower by a multiple. The rest of
 * the warm pass went to the 6 million records a pass (of 144 million) that called their handlers
 * from WebAssembly, 25-30 ns each by the profile, and to the JavaScript-to-WebAssembly boundary at
 * each hand-off. With the state words in locals as well, the hottest page took 212-220 ms; in one
 * run of the whole workload with that version, gzip's first pass took 0.92 s against 1.14 s
 * (WebAssembly needs no warm-up) and every other step 1.3-2.4x as long (sort 10.46 s against
 * 4.46 s, the boot to the prompt 11.8 s against 7.9 s): most forms have no WebAssembly code yet.
 */

import { BlockEnd, CODE_COUNT, CodeAttr, CodeMode, FlowControl, type Block, type Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu/cpu.js';
import { Seg } from '../cpu/registers.js';
import { generatedFunction, type BranchParts } from '../cpu/exec/fast.js';
import { codeNamed, type Handler } from '../cpu/exec/table.js';
import { blockSource } from './compile.js';
import { MemberLayout } from './member-layout.js';
import { AFTER_HANDLER, BEFORE_HANDLER, holdStateInLocals, STATE_LOCALS_SCOPE } from './state-locals.js';

/**
 * Runs members from the one at EIP until those that completed and passed control on ran `budget`
 * records (a small integer) or control leaves. It counts their records in a local and adds the count
 * to `cpu.instructions` when it returns or faults, and before it calls a handler (RDTSC and port
 * I/O read the count; a memory-mapped device reached from an inline access sees the count the
 * function was entered or last called a handler with). The function returns 0 when it returns after
 * such a member (control may go on into the page function at EIP), else the records of the member
 * it returns from that completed: all of a member that does not pass control on, or those before a
 * point where the member leaves early. `member` is the index of the member that starts at EIP, when
 * the caller knows it (a hand-off link holds it), or -1: the function then finds it by EIP. `cpu` is
 * the Cpu it was made for (compileRegion).
 */
export type RegionFunction = (cpu: Cpu, budget: number, member: number) => number;

/**
 * What a block's `compiled` slot holds: a page function (Region), or a block the warm tier compiled
 * to WebAssembly (wasm/block-tier.ts WarmBlock), which a page function replaces once it is hot.
 */
export interface CompiledCode {
  /**
   * The blocks compiled in, in case order; each has this code in its `compiled` slot, except the
   * blocks a page function borrows from other pages (borrowedMembers), which come last.
   */
  readonly members: readonly Block[];
  /** The block source's drop count when the members were last known to be valid. */
  drops: number;
  /** The warm tier's function-table slot of a warm-tier block; -1 for a page function. */
  readonly warmSlot: number;
}

export interface Region extends CompiledCode {
  readonly run: RegionFunction;
  /**
   * Made for flat segments (Cpu.flatSegments): its memory accesses through ES, SS and DS skip the
   * segment checks and base, its stack accesses use ESP, and its jumps skip the CS limit check. The
   * run loop enters it only while the CPU's segments are so; members that load a segment register
   * or change the mode end the region's run (they are sensitive, privileged or far: a block ends with
   * them and the region returns after it), so the check at entry holds for the whole run, hand-offs
   * included.
   */
  readonly flat: boolean;
  /**
   * `Cpu.readWant` when it was made, which names the TLB permission masks of a privilege (paging.ts
   * accessMasks): its inline memory accesses test the TLB with those masks as literals. The run
   * loop enters it only while the CPU's are the same; they change only with the CPL, which changes
   * only where a region returns (far transfers, interrupts and their returns), so the check at entry
   * holds for the whole run, hand-offs included.
   */
  readonly readWant: number;
  /**
   * Hand-off links, Links.WAYS per member (member `at`'s at `at * Links.WAYS`, the newest first): the
   * page functions control went on to when it last left this one from that member for as many EIPs,
   * with what each link holds under (HandOff). Following a link reads it instead of the blocks at
   * both ends of the jump and the page function it goes to. Two links per member: a function called
   * from two places returns to both, and a conditional jump at a page's end goes to two pages. With
   * four, the relinks of the bench workload's long steps fell from 0.34-0.79 million to 0.01-0.33
   * million (sort 0.34 to 0.01), and the workload took as long (1.010x and 0.996x in two runs of
   * `plex86 bench boot --against`, four rounds each in turns): what the relinks cost was within the
   * machine's noise.
   */
  readonly links: HandOff[];
}

/**
 * A hand-off link: one object with the stamp it holds under and where it goes, so that following it
 * reads one object, made with the function and changed in place. The stamp is the EIP control went
 * to, the fetch epoch its translation was made in, the block source's drop count then (-1 until the
 * link is made, which no drop count matches) and the entry key (linkEntryKey) of the run that made
 * it; `member` is the index of the member it enters in `to` (-1: found by EIP).
 */
export class HandOff {
  eip = 0;
  epoch = 0;
  drops = -1;
  entry = 0;
  member = -1;
  to: Region | null = null;
}

/**
 * Whether the run loop may enter `region` now, or hand control to it: one made for flat segments
 * only while they are (`flat`, Cpu.flatSegments), and only at the privilege it was made for.
 */
export function mayEnter(region: Region, cpu: Cpu, flat: boolean): boolean {
  return (flat || !region.flat) && region.readWant === cpu.readWant;
}

/** How many links a member has. */
export const enum Links {
  WAYS = 2,
}

/**
 * Whether `link` holds: it was made for `eip`, with the drop count `drops` and the entry key `entry`,
 * in `fetchEpoch` or `globalEpoch`.
 */
export function linkHolds(
  link: HandOff,
  eip: number,
  drops: number,
  entry: number,
  fetchEpoch: number,
  globalEpoch: number,
): boolean {
  const epoch = link.epoch;
  return (
    link.eip === eip && link.drops === drops && link.entry === entry && (epoch === fetchEpoch || epoch === globalEpoch)
  );
}

/**
 * What mayEnter depends on besides the page function, as one int32: a link made in a run with the
 * same key goes to a function that run could enter.
 */
export function linkEntryKey(cpu: Cpu, flat: boolean): number {
  return (cpu.readWant << 1) | (flat ? 1 : 0);
}

/**
 * Most records in one region (the hottest members are kept). V8 optimises a function only up to a
 * bytecode size, and the time it takes grows with the size. The cap seldom binds: with 1024, the
 * hand-offs of the bench workload's long steps stayed within 1 % of those with 256 (first pass:
 * sort 33.5 million against 33.8, the awk sum 14.8 against 14.9).
 */
export const MAX_REGION_RECORDS = 256;

/** Instruction attributes after which the run loop must look at the CPU again. */
const SEES_CPU = CodeAttr.PRIVILEGED | CodeAttr.SENSITIVE | CodeAttr.SERIALIZING | CodeAttr.FAR | CodeAttr.IO;

/**
 * Sensitive instructions after which the run loop need not look: they read segment registers,
 * EFLAGS, descriptor tables or the time stamp counter, or clear EFLAGS.IF (after which the run loop
 * delivers nothing either), and change nothing else it looks at. Their handlers make the checks that
 * make them sensitive (CPL, IOPL, virtual-8086 mode, CR4.TSD) and fault like any other. The scanner
 * still ends a block with each; control passes on after it. The kernel runs PUSHFD and CLI around
 * every section that masks interrupts and pushes its segment registers on every entry.
 */
const PASSES_ON = codeTable(
  [
    ...['ES', 'CS', 'SS', 'DS', 'FS', 'GS'].flatMap((s) => [`Push_${s}_16`, `Push_${s}_32`]),
    'Mov_rm16_Sreg',
    'Mov_r32m16_Sreg',
    'Pushf',
    'Pushfd',
    'Cli',
    'Arpl_rm16_r16',
    'Arpl_r32m16_r32',
    'Sldt_rm16',
    'Sldt_r32m16',
    'Str_rm16',
    'Str_r32m16',
    'Verr_rm16',
    'Verr_r32m16',
    'Verw_rm16',
    'Verw_r32m16',
    'Smsw_rm16',
    'Smsw_r32m16',
    'Lar_r16_rm16',
    'Lar_r32_r32m16',
    'Lsl_r16_rm16',
    'Lsl_r32_r32m16',
    'Rdtsc',
  ].map(codeNamed),
);

/**
 * 1 at each of `codes`, indexed by instruction code: the interpreter's chain asks after every block
 * that ends with a sensitive instruction, and an index costs less than a hash lookup.
 */
function codeTable(codes: readonly number[]): Uint8Array {
  const table = new Uint8Array(CODE_COUNT);
  for (const code of codes) table[code] = 1;
  return table;
}

/** Whether the run loop need not look at the CPU after `ins`. */
function passesOn(ins: Instruction): boolean {
  const attrs = ins.attributes;
  return (attrs & SEES_CPU) === 0 || ((attrs & SEES_CPU) === CodeAttr.SENSITIVE && PASSES_ON[ins.code] === 1);
}

/**
 * Whether `block` ends where the run loop need not look at the CPU: with a jump, at its size limit or
 * at its page's end, or with a sensitive instruction that passes on (PASSES_ON).
 */
export function endsPassingOn(block: Block): boolean {
  const reason = block.endReason;
  if (reason === BlockEnd.ControlTransfer || reason === BlockEnd.Limit || reason === BlockEnd.PageEnd) return true;
  return (
    reason === BlockEnd.Sensitive && block.count > 0 && passesOn(block.instructions[block.count - 1] as Instruction)
  );
}

/** Whether control may pass from `block` to another member without the run loop's checks. */
export function chains(block: Block): boolean {
  if (!endsPassingOn(block)) return false;
  for (let i = 0; i < block.count; i++) if (!passesOn(block.instructions[i] as Instruction)) return false;
  const flow = ((block.instructions[block.count - 1] as Instruction).attributes & CodeAttr.FLOW_MASK) as FlowControl;
  return flow !== FlowControl.Interrupt && flow !== FlowControl.Exception;
}

/**
 * The blocks to compile with `hot` (which comes first): those of `page` (the blocks of its physical
 * page) that ran at least `warm` times and are in no page function yet, in its mode, at IPs on the
 * same IP page that map to their own page offsets, the hottest first while they fit. Blocks of 16-bit
 * code, or scanned where IP and page offset differ, go alone.
 *
 * A block that is in a page function stays there: a new function starts in V8's unoptimised tiers
 * and takes tens of milliseconds to be optimised, which compiling the hottest code of a page again
 * each time another block of it gets hot would pay over and over. A page may so have several page
 * functions; control passes between them through the run loop's hand-off, or stays in the newest,
 * which borrows the blocks of the older ones that its members pass control to (borrowedMembers).
 * Measured on the default guest at a quarter of the bench workload (five alternating rounds): with
 * hot blocks compiled again into each new function of their page, 15.1 s to the prompt and 15.8 s
 * of workload; without, 14.2 and 13.9 s.
 *
 * Merging two functions of a page into one once control had passed between them 16384 times through
 * one hand-off link cut hand-offs by 29-38% (sort, gzip and the shell steps) and saved no time in
 * paired runs (both variants at once, one per core, six rounds): the merged function starts again in
 * V8's unoptimised tiers, and hand-offs within a hot loop find everything in cache.
 *
 * On the bench workload's steps (one pass each), hand-offs between two functions of one page are a
 * large part of all (among the 15 commonest pairs of pages, sort's 6.3 of 34 million, gzip's 1.2 of
 * 2.5, shell arithmetic's 5.0 of 17), calls and returns between pages most of the rest. A function
 * made again once one of its links had been followed 16384 times (a function at most twice), with
 * the blocks its members pass control to borrowed if they ran a quarter of the threshold, its links
 * and those into the old function dropped: hand-offs 20-29 % fewer on the awk generator, sort and
 * shell arithmetic (sort 35.1 to 26.1 million), but TurboFan compiled page functions 516 times
 * instead of 307 and they deoptimised 336 times instead of 196 (the boot and shell arithmetic), and
 * the steps took 1.06-1.62x as long (three runs each, in turns). Only for links between functions
 * of one page, borrowing hot blocks only: 1.01-1.34x as long (two runs each).
 */
export function regionMembers(hot: Block, page: readonly (Block | null)[], warm: number): Block[] {
  const members = [hot];
  if (hot.mode !== CodeMode.Bits32 || !sameOffset(hot)) return members;
  const candidates: Block[] = [];
  for (const b of page) {
    if (b === null || b === hot || !b.valid || b.count === 0 || b.mode !== hot.mode || b.hits < warm) continue;
    if (((b.startIp ^ hot.startIp) & ~0xfff) !== 0 || !sameOffset(b) || inPageFunction(b)) continue;
    // Blocks that never ran have no handlers yet.
    if (b.routines === null) continue;
    candidates.push(b);
  }
  candidates.sort((x, y) => y.hits - x.hits);
  let records = hot.count;
  for (const b of candidates) {
    if (records + b.count > MAX_REGION_RECORDS) continue;
    members.push(b);
    records += b.count;
  }
  return members;
}

/**
 * Most blocks of one path into another page that a page function borrows. With 16 and 32, the
 * workload's steps took as long (20.22 and 20.17 s, 19.91 and 20.49 s, against 20.36 and 20.26 s;
 * sort 4.30-4.42 s in all; two rounds in turns).
 */
const BORROW_PATH = 8;

/**
 * Blocks of other pages that the page function of `members` (those `regionMembers` chose) borrows:
 * for each member that passed control to another page, the block it went to last (its successor
 * memo) and the blocks that followed that one on its page, as long as they ran at least `hot` times
 * (as often as a block that gets compiled) and the function's records fit. A borrowed block runs
 * inside the function only while the TLB maps its IP to the physical address it was scanned at
 * (compileRegion checks when control reaches it), so a call into a function on another page and its
 * return stay in generated code instead of costing two hand-offs. Borrowed blocks keep their own
 * `compiled` slot: the run loop enters them through their own page's function, and one that is
 * dropped drops this function too (Engine.stillValid).
 *
 * Only hot blocks: code that has not run inside a function when V8 optimises it leaves V8 without
 * type feedback there, and its first run then deoptimises the whole function. Measured on the default
 * guest (gzip, sort, sha1sum, md5sum and a shell loop, three times, four alternating rounds):
 * borrowing hot blocks cut hand-offs from 27.1 to 19.1 million and the main thread's time from 15.6
 * to 13.9 s; borrowing blocks that ran half as often cut hand-offs to 14.4 million but took longer
 * again, and a quarter as often (the warm blocks regionMembers takes) doubled the deoptimisations.
 *
 * It also borrows the blocks of its own page (`page`, the blocks of the members' physical page) that
 * are in the page's older functions and that a member passes control to, by its successor memo or
 * by its last instruction's jump target or fall-through (staticSuccessors), with the paths that
 * follow them, when they ran at least `warm` times before they were compiled (as the members did):
 * a loop whose blocks got hot at different times, and so went into different functions of its page,
 * then runs in the newest one instead of handing control back and forth. Measured on the sort step
 * of the bench workload: 50 million hand-offs became 37 million; the time stayed within this
 * machine's noise (two A/B runs of the bench, four rounds each: 0.99x and 1.02x on the workload).
 * Entering such a block through the newest function that borrowed it rather than its own (its
 * `compiled` slot moved there, and hand-off links made again) raised the hand-offs instead (sort's
 * first pass 33.8 to 35.7 million, gzip's 2.3 to 3.7 million): its own function holds more of the
 * code around it than the paths the newer one borrowed.
 *
 * A path stops at its page's end. Following it on into the pages after (the successor memo of a
 * path's last block starting another path, up to 8 such hops per function: a call chain through
 * several pages) cut the hand-offs of the long steps' second pass by 7-22 % (sort 35.3 to 32.8
 * million, the awk sum 15.7 to 13.0, gzip 2.8 to 2.2) and the bench workload took as long (0.991x,
 * four rounds in turns; 64 hops cut no more than 8). Measured again with each build bundled from its
 * own sources: hand-offs 7-23 % fewer on the long steps' first pass, the workload 0.989x (median
 * 0.992x), to the prompt 0.993x.
 */
export function borrowedMembers(
  members: readonly Block[],
  page: readonly (Block | null)[],
  hot: number,
  warm: number,
): Block[] {
  const first = members[0] as Block;
  const borrowed: Block[] = [];
  if (first.mode !== CodeMode.Bits32 || !sameOffset(first)) return borrowed;
  // The physical page each IP page of the function comes from: borrowed blocks of one IP page come
  // from one physical page, and none of another physical page shares the members' IP page, so no two
  // cases have the same IP.
  const home = first.physAddr >>> 12;
  const pages = new Map<number, number>([[first.startIp >>> 12, home]]);
  const ips = new Set<number>();
  let records = 0;
  for (const m of members) {
    ips.add(m.startIp);
    records += m.count;
  }
  // Blocks of the page's older functions by IP: those that a member passes control to are borrowed
  // as if they had run `hot` times.
  const older = new Map<number, Block>();
  for (const b of page) {
    if (b !== null && b.valid && b.hits >= warm && inPageFunction(b) && !ips.has(b.startIp)) older.set(b.startIp, b);
  }
  const starts: Block[] = [];
  for (const m of members) {
    if (!chains(m)) continue;
    if (m.next !== null) starts.push(m.next);
    for (const ip of staticSuccessors(m)) {
      const b = older.get(ip);
      if (b !== undefined && b !== m.next) starts.push(b);
    }
  }
  for (const to of starts) {
    const ipPage = to.startIp >>> 12;
    const physPage = to.physAddr >>> 12;
    const known = pages.get(ipPage);
    if (known !== undefined && known !== physPage) continue;
    // The successor and the blocks that followed it on its page last time, as far as they pass
    // control on: the path a call into another page takes.
    let taken = 0;
    for (let b: Block | null = to; b !== null && taken < BORROW_PATH; b = b.next, taken++) {
      if (!b.valid || b.count === 0 || b.mode !== first.mode || b.routines === null) break;
      if (b.hits < hot && older.get(b.startIp) !== b) break;
      if (b.startIp >>> 12 !== ipPage || b.physAddr >>> 12 !== physPage || !sameOffset(b)) break;
      if (!ips.has(b.startIp)) {
        if (records + b.count > MAX_REGION_RECORDS) break;
        borrowed.push(b);
        ips.add(b.startIp);
        records += b.count;
        pages.set(ipPage, physPage);
      }
      if (!chains(b)) break;
    }
  }
  return borrowed;
}

/**
 * The IPs that `block`'s last instruction names as where control goes next: a near jump's or call's
 * target, and the next instruction's IP after a conditional jump or an instruction that does not
 * jump (a block that ends at its size limit, its page's end or a sensitive instruction).
 */
function staticSuccessors(block: Block): number[] {
  const last = block.instructions[block.count - 1] as Instruction;
  const after = (last.rawIp + last.length) | 0;
  switch ((last.attributes & CodeAttr.FLOW_MASK) as FlowControl) {
    case FlowControl.ConditionalJump:
      return [last.rawBranchTarget, after];
    case FlowControl.Jump:
    case FlowControl.Call:
      return [last.rawBranchTarget];
    case FlowControl.Next:
      return [after];
    default:
      return [];
  }
}

/**
 * Code that passes control on after `block` (member `from`) ran, when its last instruction names where
 * it goes (staticSuccessors): to the member that starts there (the layout's jump), or out of the
 * function at once where it names only EIPs at which no member starts. Otherwise (a return or an
 * indirect jump) it leaves when EIP is off the members' pages (`offPage`, made by offPages), else
 * goes to the page function's lookup by EIP. It compares EIP with the successors it names, so a
 * handler that leaves EIP elsewhere goes to the lookup, or out of the function, where the hand-off
 * finds the code at EIP.
 */
function successorEnd(
  block: Block,
  from: number,
  index: ReadonlyMap<number, number>,
  layout: MemberLayout,
  offPage: string,
): string {
  const successors = staticSuccessors(block);
  const { due, toLookup } = layout;
  const tests = successors.flatMap((ip) => {
    const k = memberAt(index, ip);
    return k >= 0 ? [`if (st[0] === ${ip}) { ${layout.jump(from, k)} }`] : [];
  });
  if (tests.length === 0) return successors.length > 0 ? 'return 0;' : `${offPage}${due}${toLookup}`;
  return `${due}${tests.join(' else ')} else { ${toLookup} }`;
}

/** Code that goes on at `ip`: into the member that starts there (`index`), else out of the function. */
function goTo(from: number, index: ReadonlyMap<number, number>, layout: MemberLayout, ip: number | undefined): string {
  const k = memberAt(index, ip);
  return k >= 0 ? `${layout.due}${layout.jump(from, k)}` : 'return 0;';
}

/** The index of the member that starts at `ip` (`index`, member by start EIP), or -1 for none. */
function memberAt(index: ReadonlyMap<number, number>, ip: number | undefined): number {
  return ip === undefined ? -1 : (index.get(ip) ?? -1);
}

/**
 * The end of a member whose last record is a conditional jump (BranchParts): EIP and, on each path,
 * the member that starts there or the function's exit (goTo). As one select of EIP followed by
 * successorEnd's tests of it, V8 kept EIP in a stack slot and compared it again on the way to the
 * next member (perf annotate of gzip's hottest page function). Both paths assign locals only, which
 * need no type feedback, so a path first taken after V8 optimised the function does not deoptimise
 * it. Measured with `plex86 bench boot --against`, two runs of four rounds in turns: the workload
 * 1.007x and 1.017x, the boot 1.005x and 1.045x, sort faster in all eight rounds (1.024x and 1.016x).
 */
function branchEnd(
  block: Block,
  branch: BranchParts,
  from: number,
  index: ReadonlyMap<number, number>,
  layout: MemberLayout,
): string {
  // The jump's target and next IP, in the order of the parts.
  const [target, next] = staticSuccessors(block);
  return `if (${branch.condition}) { st[0] = ${branch.target}; ${goTo(from, index, layout, target)} } else { st[0] = ${branch.next}; ${goTo(from, index, layout, next)} }`;
}

function inPageFunction(b: Block): boolean {
  const code = b.compiled as CompiledCode | null;
  return code !== null && code.warmSlot < 0;
}

/**
 * The test a borrowed block's case starts with: the TLB maps CS:`ip` to `phys`, the address the block
 * was scanned at, with the access the CPL needs (as the run loop's fetch checks). Otherwise the
 * function returns before the block, as after a jump out of the region: the run loop finds the code
 * at EIP.
 */
function borrowCheck(ip: number, phys: number): string {
  return `{ const _gl = (segBase[${Seg.CS}] + ${ip}) | 0; const _ge = tlb[_gl >>> 12];
if ((_ge & readMask) !== readWant || ((_ge & ~0xfff) | (_gl & 0xfff)) !== ${phys | 0}) return 0; }\n`;
}

/**
 * The test a block whose last instruction crosses into the next page starts with: the TLB maps the
 * page of CS:`last` (its last byte) to physical page `crossPage`, the one its bytes came from when it
 * was scanned. Otherwise the function returns before the block and asks the run loop to look
 * (`cpu.exitBlock`: a hand-off link would lead back into this function), which checks the same,
 * runs the records before that instruction and fetches the instruction itself.
 */
function crossCheck(last: number, crossPage: number): string {
  return `{ const _gl = (segBase[${Seg.CS}] + ${last}) | 0; const _ge = tlb[_gl >>> 12];
if ((_ge & readMask) !== readWant || _ge >>> 12 !== ${crossPage}) { cpu.exitBlock = true; return 0; } }\n`;
}

/**
 * The lookup's first test: the function returns when EIP lies on none of the IP pages its members
 * start on (`index`, member by start EIP), for a function whose members lie on up to four pages.
 */
function offPages(index: ReadonlyMap<number, number>): string {
  const pages = [...new Set([...index.keys()].map((ip) => ip >>> 12))];
  if (pages.length > 4) return '';
  return `if (${pages.map((page) => `(st[0] >>> 12) !== ${page}`).join(' && ')}) return 0;\n`;
}

function sameOffset(b: Block): boolean {
  return ((b.startIp ^ b.physAddr) & 0xfff) === 0;
}

/**
 * Compiles `members` (blocks of `bits`-bit code whose handlers are in `routines`) into one region.
 * When no member passes control on (16-bit code, or members that all end where the run loop must
 * look), the function runs the block it is entered at and returns. A single member that does pass
 * control on loops like any other: a hot loop of one block stays in its function. The region is
 * made for flat segments or not (Region.flat), and for `cpu` at its current privilege
 * (generatedFunction, Region.readWant); its members pass control to each other `nested` or through
 * one dispatch loop (MemberLayout).
 */
export function compileRegion(
  members: readonly Block[],
  bits: 16 | 32,
  cpu: Cpu,
  inline = true,
  flat = false,
  nested = true,
): Region {
  const handlers: Handler[] = [];
  const records: Instruction[] = [];
  const chaining = members.map((b) => bits === 32 && chains(b));
  const chained = chaining.includes(true);
  const home = (members[0] as Block).physAddr >>> 12;
  const index = new Map<number, number>();
  members.forEach((b, k) => index.set(bits === 16 ? b.startIp & 0xffff : b.startIp | 0, k));
  // The test of EIP's page that returning members and the lookup start with.
  const offPage = offPages(index);
  const layout = new MemberLayout(
    members.map((b, k) =>
      chained && chaining[k] === true
        ? staticSuccessors(b)
            .map((ip) => memberAt(index, ip))
            .filter((k) => k >= 0)
        : [],
    ),
    nested,
  );
  const code = members.map((b, k) => {
    const base = handlers.length;
    const count = b.count;
    const routines = b.routines as Handler[];
    for (let i = 0; i < count; i++) {
      handlers.push(routines[i] as Handler);
      records.push(b.instructions[i] as Instruction);
    }
    const chain = chained && chaining[k] === true;
    const { source, branch } = blockSource(routines, b.instructions, count, bits, inline, {
      base,
      leave: (done) => `return ${done};`,
      flat,
      beforeCall: `cpu.instructions += _done; budget -= _done; _done = 0; ${BEFORE_HANDLER}`,
      afterCall: AFTER_HANDLER,
      splitBranch: chain,
    });
    const next =
      branch !== undefined
        ? `_done += ${count}; ${branchEnd(b, branch, k, index, layout)}`
        : chain
          ? `_done += ${count}; ${successorEnd(b, k, index, layout, offPage)}`
          : `return ${count};`;
    const start = bits === 16 ? b.startIp & 0xffff : b.startIp | 0;
    const checks =
      (b.physAddr >>> 12 !== home ? borrowCheck(start, b.physAddr) : '') +
      (b.crossPage >= 0 ? crossCheck((b.startIp + b.byteLength - 1) | 0, b.crossPage) : '');
    return { start, body: `${checks}at = ${k}; cpu.insEip = ${start};\n${source}${next}\n` };
  });
  type MemberCode = (typeof code)[number];
  // Chained members pass control on by member index (`_k`), nested or through one dispatch loop
  // (MemberLayout). V8 makes a switch on small consecutive integers one indirect jump through a
  // table, where a switch on EIPs spread over a page is a binary search (six compares and branches
  // for 64 members) before every block. What a member cannot name (the target of a return or an
  // indirect jump, or where a caller enters without a member index) is looked up by EIP. In the
  // dispatch loop, cases in the order of the members' IPs, with a member falling through into
  // the next case when that is its successor (the fall-through of a conditional jump) instead of
  // going round the loop and through the table: the workload 1.008x (shell arithmetic 1.064x, the
  // awk sum 0.962x; four rounds in turns), not kept.
  // A member leaves the function at once where its jump or call names only EIPs where no member
  // starts (successorEnd, goTo), and the lookup starts with a test of EIP's page (offPages), where
  // both used to go round the loop and through the lookup's search: returns and jumps to other pages
  // are most hand-offs. The second pass of the bench workload's steps (three rounds in turns, faster
  // in every round): sort 1.036x, the awk sum 1.054x, shell arithmetic 1.037x; the awk generator,
  // gzip and the forking loop 0.99-1.02x (the page test alone: 1.00-1.02x). First passes within the
  // machine's noise (`plex86 bench boot --against`, four rounds: the workload 0.976x and 1.001x).
  // The page test at the end of a returning member as well, before it goes round the loop: second
  // passes of sort 1.026x and shell arithmetic 1.023x (every round faster), the awk sum 1.012x.
  // What the dispatch loop itself costs, measured in a micro-benchmark: a guest loop of two members
  // (three inline dword reads and eight records an iteration) ran at 1.8-1.9 ns a record as cases of
  // this loop (with 2 or 40 cases) and at 1.05-1.09 ns as a JavaScript loop with the same code, its
  // budget and exit tests on the back edge only: V8 optimises the guest's loop when it sees one, and
  // a switch in a loop makes every local a phi at the loop's head and every edge an indirect jump.
  // Loops of members as JavaScript loops, measured and not kept: the case of each member that a
  // later member jumps back to held a labelled loop over the members of one cycle through it (up to
  // eight, the more often run successor first, each member's code copied in, the budget and exit
  // tests after each, `break` to the dispatch where control leaves the cycle); 133 loops in the 213
  // page functions of a gzip run. Second passes (two rounds in turns): sort 1.06x, the awk generator
  // 1.04x, shell arithmetic 1.05x, gzip and the awk sum 0.99x, the forking loop 0.97x; first passes
  // (`plex86 bench boot --against`, four rounds): the workload 0.990x, the boot 0.957x (every round
  // slower: the copies are more code to compile), sha1sum 0.815x. gzip's hottest loop (longest_match)
  // did not become one: its blocks lie in two functions of their page, which got hot at different
  // times, and it hands off at every turn. Laid out as nested loops without copies (MemberLayout),
  // measured against the dispatch loop: NESTED_LAYOUT_CPL in engine.ts.
  const lookup = (enter: (k: number) => string): string =>
    `${offPage}switch (st[0]) {\n${[...index].map(([ip, k]) => `case ${ip}: ${enter(k)}\n`).join('')}default: return 0;\n}\n`;
  const loop = chained
    ? layout.code((k) => (code[k] as MemberCode).body, lookup)
    : `switch (st[0]) {\n${code.map((c) => `case ${c.start}: {\n${c.body}}\n`).join('')}default: return 0;\n}`;
  const state = holdStateInLocals(loop);
  // The budget and the member index as int32 locals: V8 read the budget argument again, checked and
  // untagged it at every turn of the loop.
  const body = `let at = 0, _done = 0, _k = member | 0; budget |= 0; ${state.load}\ntry {\n${state.code}\n} finally { cpu.regionAt = at; cpu.regionLeft = budget - _done; cpu.instructions += _done; ${state.store} }`;
  // Named after its guest code, so that profiles of the host say which guest code is hot.
  const first = members[0] as Block;
  const name = `guest_${(first.physAddr >>> 0).toString(16)}_${bits}`;
  // Handlers are called through the array (V8's generic call). Frozen arrays, whose elements V8
  // takes as constants, so that it calls each handler directly or inlines it, made the boot 0.941x
  // and the workload 0.959x as fast (four rounds in turns).
  const scope = { ...STATE_LOCALS_SCOPE, h: handlers, r: records };
  const run = generatedFunction(name, 'cpu, budget, member', body, scope, { cpu, privilege: true }) as RegionFunction;
  const links = Array.from({ length: members.length * Links.WAYS }, () => new HandOff());
  return { run, members, drops: -1, warmSlot: -1, links, flat, readWant: cpu.readWant };
}
