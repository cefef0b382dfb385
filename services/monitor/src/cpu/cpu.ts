/**
 * The architectural state of one IA-32 processor and the memory paths every instruction uses:
 * segment checks, the software TLB, lazy flags and exceptions. The interpreter and the run loop
 * build on this; nothing here decodes instructions.
 *
 * Values of 32-bit quantities are kept as int32 (the bit pattern), 8- and 16-bit ones as
 * non-negative numbers.
 */

import { CTL_CW, CTL_EMPTY, Fpu } from '../fpu/fpu.js';
import { PortSpace } from '../io/port-space.js';
import { ADDRESS_PAGES, MACHINE_LAYOUT } from '../memory/machine-memory.js';
import { PAGE_MASK, PhysicalMemory } from '../memory/physical-memory.js';
import { CPU_FAULT, Vector } from './fault.js';
import { carryFlag, lazyAf, lazyFlags, overflowFlag, parityFlag, signFlag, zeroFlag } from './flags.js';
import { accessMasks, Mmu, TlbBit } from './paging.js';
import { ARITH_FLAGS, Cr0, Cr4, Flag, Seg } from './registers.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';

/** Indices into `Cpu.st` (the generated fast handlers use the exported ones as literals). */
/**
 * The initial value of a number field that outgrows 32 bits while the guest runs (instruction counts
 * and what is computed from them). V8 stores a field that has held only small integers as such; the
 * first larger value changes how every object of the class stores it, which throws away all the
 * optimised code that read the object (on the default guest, every page function at once, about 2.1
 * billion instructions in). -0 is a double, so a field that starts with it stores doubles from the
 * start, also after 0 is written to it; a field that is reported is so set to 0 once made.
 */
export const WIDE_ZERO = -0;

/** Fetch epochs before they start again: the largest small integer (Smi) of every V8 build, 2^30 - 1. */
const EPOCH_LIMIT = 0x3fffffff;

export const ST_EIP = 0;
export const ST_FLAGS = 1;
export const ST_LAZY = 2;
export const ST_RES = 3;
export const ST_OPA = 4;
export const ST_OPB = 5;
const EIP = ST_EIP;
const FLAGS = ST_FLAGS;
const LAZY = ST_LAZY;
const RES = ST_RES;
const OPA = ST_OPA;
const OPB = ST_OPB;
const CPL = 6;
const CR0 = 7;
const CR2 = 8;
const CR3 = 9;
const CR4 = 10;
const GDT_BASE = 11;
const GDT_LIMIT = 12;
const IDT_BASE = 13;
const IDT_LIMIT = 14;
const STATE_WORDS = 16;

/** Code contexts a fetch epoch is kept for (kernel and user code, and a few more). */
const CODE_CONTEXTS = 4;

/** Segment access bits in `segAccess`. */
export const enum SegAccess {
  READ = 0x1,
  WRITE = 0x2,
  /** Base 0..4 GiB-1 without limit: offsets need no check. */
  FLAT = 0x4,
}

/** Descriptor attribute bits as kept in `segAttr` (descriptor bits 40-47 and 52-55, shifted down by 8). */
export const enum Attr {
  ACCESSED = 0x1,
  /** Data: writable; code: readable. */
  RW = 0x2,
  /** Data: expand-down; code: conforming. */
  DC = 0x4,
  CODE = 0x8,
  /** Code/data segment (clear for system descriptors). */
  S = 0x10,
  DPL = 0x60,
  P = 0x80,
  AVL = 0x1000,
  /** Default operand/stack size is 32 bits. */
  DB = 0x4000,
  G = 0x8000,
}

/** Processor signature in EDX after reset and CPUID.1:EAX: family 6, model 1, stepping 9 (a Pentium Pro). */
export const CPU_SIGNATURE = 0x619;

export class Cpu {
  readonly mem: PhysicalMemory;
  readonly io: PortSpace;
  readonly mmu: Mmu;
  readonly tlb: Int32Array;
  readonly ram: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly codePages: Uint32Array;

  // The registers, state words, segment limits, bases and access bits, the TLB masks and the TLB are
  // views of the machine memory (machine-memory.ts), where code compiled to WebAssembly reaches them.

  /** General registers: three views of one area (EAX..EDI, AX..DI at even indices, AL/AH at 4n/4n+1). */
  readonly r32: Int32Array;
  readonly r16: Uint16Array;
  readonly r8: Uint8Array;
  /** Scalar state (EIP, EFLAGS, lazy flags, CPL, control registers, descriptor-table registers). */
  readonly st: Int32Array;
  /** Debug registers DR0-DR7. */
  readonly dr = new Int32Array(8);

  /** Segment registers ES CS SS DS FS GS LDTR TR with their descriptor caches. */
  readonly segSel = new Uint16Array(9);
  readonly segBase: Int32Array;
  /** Byte-granular limit (after G scaling). */
  readonly segLimit: Int32Array;
  readonly segAttr: Uint16Array;
  /** Lowest and highest valid offsets, derived from limit and expand direction. */
  readonly segMin = new Int32Array(9);
  readonly segMax = new Int32Array(9);
  /** SegAccess bits; 0 for a null or unusable segment. */
  readonly segAccess: Uint8Array;

  /**
   * TLB masks for the current privilege (paging.ts accessMasks): a word passes when
   * `(word & mask) === want`.
   */
  readMask = accessMasks(0).readMask;
  readWant = accessMasks(0).readWant;
  writeMask = accessMasks(0).writeMask;
  writeWant = accessMasks(0).writeWant;
  /**
   * `writeMask` without TlbBit.CODE: the test of the CPU's own writes, which go to pages with scanned
   * code too and report what they write there (wroteRam).
   */
  ownWriteMask = accessMasks(0).writeMask & ~TlbBit.CODE;
  /** The four masks again, for compiled code: read mask, read want, write mask, write want. */
  private readonly tlbMasks: Int32Array;

  /**
   * Set by the debugger while it watches reads or accesses: the slow paths report each access to a
   * page in Mmu.watchPages after it translated (fast-path pages are never watched, so they pay nothing).
   */
  onWatchedAccess: ((lin: number, size: number, write: boolean) => void) | undefined = undefined;

  /** The exception being raised (valid after CPU_FAULT is thrown). */
  faultVector = 0;
  faultCode = 0;
  faultHasCode = false;

  /**
   * Instruction-times since reset: the virtual clock. Each instruction takes one, PAUSE more (see
   * `stalls`).
   */
  instructions = WIDE_ZERO;
  /**
   * The instruction-times in `instructions` in which no instruction ran (PAUSE's beyond its own):
   * `instructions - stalls` is the count of executed instructions.
   */
  stalls = WIDE_ZERO;
  /** Added to `instructions` to give the time-stamp counter (WRMSR to the TSC sets it). */
  tscOffset = WIDE_ZERO;

  /** EIP of the instruction being executed (faults roll back to it). */
  insEip = 0;
  /** Set by an instruction after which the current block must stop (mode, CS or IF changes). */
  exitBlock = false;
  /** Left by a region function (engine/region.ts) when it returns or faults: the member that ran last. */
  regionAt = 0;
  /** Left with regionAt: the region function's budget less the records it ran (hand-offs go on while positive). */
  regionLeft = 0;
  /** Set by STI, MOV SS and POP SS: interrupts wait until one more instruction has completed. */
  interruptShadow = false;
  /** The current fetch epoch (see fetchEpoch), valid while the MMU's flush count is `epochFlushes`. */
  private epoch = 0;
  /**
   * The fetch epoch of code reached through global pages, found with `epoch`: it outlives flushes
   * that keep global translations (a CR3 load), so the kernel's memos survive a task switch.
   */
  globalEpoch = 0;
  /** The flush count `epoch` was found for; -1 after CS or CPL changed. */
  private epochFlushes = -1;
  /** Epochs handed out: each new one is unique, so no memo made before can match it. */
  private epochsIssued = 0;
  /**
   * Epochs handed out before they start again from 1 (tests lower it). Epochs are small integers,
   * which V8 keeps in the memos themselves rather than in a boxed double each memo read would have to
   * load; starting again calls `onEpochsSpent` first, which must forget every memo made before.
   */
  epochLimit = EPOCH_LIMIT;
  /** Forgets every memo stamped with an epoch (the run loop's); called before epochs start again. */
  onEpochsSpent: (() => void) | undefined = undefined;
  /** Times epochs started again. */
  epochRestarts = 0;
  /**
   * The oldest epoch whose memos the run loop may carry into a later one after checking the TLB
   * (Engine.stillMapped): memos made before newFetchEpoch may not.
   */
  memoFloor = 0;
  /**
   * The code contexts seen since the MMU's last flush of global translations (count
   * `contextGlobalFlushes`) and their epochs: CS base, limit, and default size with CPL
   * (`contextMode`). A context that comes back gets its epochs back, so user code entered again after
   * a system call or an interrupt finds the memos it left. Its epoch (-1 when none yet) is renewed
   * after every flush (`contextFlushes` counts them), its global epoch only after global ones.
   */
  private readonly contextBase = new Int32Array(CODE_CONTEXTS);
  private readonly contextLimit = new Int32Array(CODE_CONTEXTS);
  private readonly contextMode = new Int32Array(CODE_CONTEXTS);
  private readonly contextEpoch = new Int32Array(CODE_CONTEXTS);
  private readonly contextGlobalEpoch = new Int32Array(CODE_CONTEXTS);
  private contextCount = 0;
  private contextNext = 0;
  private contextFlushes = -1;
  private contextGlobalFlushes = -1;
  /** HLT executed; the run loop waits for an interrupt. */
  halted = false;
  /** Interrupts and exceptions delivered so far (the single-step logic compares it). */
  deliveries = 0;

  /** The x87 floating-point unit (exec/x87.ts drives it). */
  readonly fpu = new Fpu();
  /**
   * The IGNNE# input: while set, pending x87 exceptions are ignored with CR0.NE=0 (a PC chipset
   * asserts it after a write to port F0h, from the IRQ13 handler, until FERR# goes away).
   */
  ignne = false;
  /**
   * Called when a waiting x87 instruction finds an unmasked exception pending with CR0.NE=0: FERR#
   * is asserted and the platform raises IRQ13. The processor then waits at the instruction for an
   * interrupt (halted) and retries it; with no hook the wait lasts until any interrupt arrives.
   */
  onFerr: (() => void) | undefined = undefined;
  /** Times an x87 instruction stopped on FERR# (CR0.NE=0). */
  ferrWaits = 0;
  /** `halted` is the wait of an x87 instruction on FERR#, not HLT. */
  ferrWaiting = false;

  /** The descriptor last read by readDescriptor() (segments.ts): its two dwords and linear address. */
  descLo = 0;
  descHi = 0;
  descAddr = 0;

  constructor(mem: PhysicalMemory, io: PortSpace) {
    const buffer = mem.machineMemory.buffer;
    this.r32 = new Int32Array(buffer, MACHINE_LAYOUT.regs, 8);
    this.r16 = new Uint16Array(buffer, MACHINE_LAYOUT.regs, 16);
    this.r8 = new Uint8Array(buffer, MACHINE_LAYOUT.regs, 32);
    this.st = new Int32Array(buffer, MACHINE_LAYOUT.state, STATE_WORDS);
    this.segLimit = new Int32Array(buffer, MACHINE_LAYOUT.segLimit, 9);
    this.segBase = new Int32Array(buffer, MACHINE_LAYOUT.segBase, 9);
    this.segAccess = new Uint8Array(buffer, MACHINE_LAYOUT.segAccess, 9);
    this.segAttr = new Uint16Array(buffer, MACHINE_LAYOUT.segAttr, 9);
    this.tlbMasks = new Int32Array(buffer, MACHINE_LAYOUT.tlbMasks, 4);
    this.mem = mem;
    this.io = io;
    this.mmu = new Mmu(mem, new Int32Array(buffer, MACHINE_LAYOUT.tlb, ADDRESS_PAGES));
    this.tlb = this.mmu.tlb;
    this.ram = mem.ram;
    this.ram16 = mem.ram16;
    this.ram32 = mem.ram32;
    this.codePages = mem.codePages;
    mem.onLayoutChange = () => this.mmu.flushAll();
    mem.onCodePage = (page) => this.mmu.codeArrived(page);
    this.reset();
  }

  // ---- scalar state -------------------------------------------------------------------------

  /** Instructions executed since reset: the clock's instruction-times less the stalls. */
  get executed(): number {
    return this.instructions - this.stalls;
  }

  get eip(): number {
    return this.st[EIP];
  }
  set eip(v: number) {
    this.st[EIP] = v;
  }
  get cpl(): number {
    return this.st[CPL];
  }
  get cr0(): number {
    return this.st[CR0];
  }
  get cr2(): number {
    return this.st[CR2];
  }
  set cr2(v: number) {
    this.st[CR2] = v;
  }
  get cr3(): number {
    return this.st[CR3];
  }
  get cr4(): number {
    return this.st[CR4];
  }
  get gdtBase(): number {
    return this.st[GDT_BASE];
  }
  get gdtLimit(): number {
    return this.st[GDT_LIMIT];
  }
  get idtBase(): number {
    return this.st[IDT_BASE];
  }
  get idtLimit(): number {
    return this.st[IDT_LIMIT];
  }
  setGdt(base: number, limit: number): void {
    this.st[GDT_BASE] = base;
    this.st[GDT_LIMIT] = limit & 0xffff;
  }
  setIdt(base: number, limit: number): void {
    this.st[IDT_BASE] = base;
    this.st[IDT_LIMIT] = limit & 0xffff;
  }

  get protectedMode(): boolean {
    return (this.st[CR0] & Cr0.PE) !== 0;
  }
  get v86(): boolean {
    return (this.st[FLAGS] & Flag.VM) !== 0;
  }
  /** Real mode or virtual-8086 mode: selectors are paragraph numbers. */
  get realAddressing(): boolean {
    return (this.st[CR0] & Cr0.PE) === 0 || (this.st[FLAGS] & Flag.VM) !== 0;
  }
  /**
   * Names the mapping from CS:EIP to physical code (and the CPL the code runs at): the run loop's
   * memos hold while it is unchanged. It changes with the TLB's flushes and with the code context
   * (CS base, limit and default size, CPL), and comes back with a context seen before since the
   * last flush. Reading it also brings `globalEpoch` up to date, the same for code on global pages.
   */
  get fetchEpoch(): number {
    return this.epochFlushes === this.mmu.flushes ? this.epoch : this.findEpoch();
  }

  /**
   * A fresh fetch epoch, so that no memo made before holds (the engine's lookupEveryBlock), not even
   * through the TLB (`memoFloor`).
   */
  newFetchEpoch(): void {
    this.contextGlobalFlushes = -1;
    this.epochFlushes = -1;
    this.memoFloor = this.epochsIssued + 1;
  }

  /** CS or CPL changed: the next fetchEpoch looks the context up. */
  private codeContextChanged(): void {
    this.epochFlushes = -1;
  }

  private findEpoch(): number {
    // Room for the two epochs a new context takes.
    if (this.epochsIssued >= this.epochLimit - 2) {
      this.onEpochsSpent?.();
      this.epochRestarts++;
      this.epochsIssued = 0;
      this.memoFloor = 0;
      this.contextCount = 0;
      this.contextNext = 0;
    }
    const mmu = this.mmu;
    const flushes = mmu.flushes;
    if (mmu.globalFlushes !== this.contextGlobalFlushes) {
      this.contextGlobalFlushes = mmu.globalFlushes;
      this.contextCount = 0;
      this.contextNext = 0;
    } else if (flushes !== this.contextFlushes) {
      this.contextEpoch.fill(-1);
    }
    this.contextFlushes = flushes;
    const base = this.segBase[Seg.CS] | 0;
    const limit = this.segLimit[Seg.CS] | 0;
    const mode = (this.segAttr[Seg.CS] & Attr.DB) | this.st[CPL];
    let i = 0;
    while (
      i < this.contextCount &&
      (this.contextBase[i] !== base || this.contextLimit[i] !== limit || this.contextMode[i] !== mode)
    ) {
      i++;
    }
    if (i === this.contextCount) {
      // Fill the table, then replace the oldest entry.
      if (i < CODE_CONTEXTS) {
        this.contextCount++;
      } else {
        i = this.contextNext;
        this.contextNext = (i + 1) % CODE_CONTEXTS;
      }
      this.contextBase[i] = base;
      this.contextLimit[i] = limit;
      this.contextMode[i] = mode;
      this.contextEpoch[i] = -1;
      this.contextGlobalEpoch[i] = ++this.epochsIssued;
    }
    if (this.contextEpoch[i] < 0) this.contextEpoch[i] = ++this.epochsIssued;
    this.epoch = this.contextEpoch[i];
    this.globalEpoch = this.contextGlobalEpoch[i];
    this.epochFlushes = flushes;
    return this.epoch;
  }
  /** Code-segment default size in bits. */
  get codeBits(): 16 | 32 {
    return (this.segAttr[Seg.CS] & Attr.DB) !== 0 ? 32 : 16;
  }
  /** True when SS is a 32-bit stack (ESP rather than SP). */
  get stack32(): boolean {
    return (this.segAttr[Seg.SS] & Attr.DB) !== 0;
  }
  /**
   * ES, SS and DS are read/write segments based at 0 without a limit, SS is a 32-bit stack and CS
   * has no limit below 4 GiB, as under a flat memory model: what page functions made for flat
   * segments take for granted (region.ts).
   */
  get flatSegments(): boolean {
    const access = this.segAccess;
    const base = this.segBase;
    const rw = SegAccess.READ | SegAccess.WRITE | SegAccess.FLAT;
    return (
      (access[Seg.ES] & access[Seg.SS] & access[Seg.DS] & rw) === rw &&
      (base[Seg.ES] | base[Seg.SS] | base[Seg.DS]) === 0 &&
      (this.segAttr[Seg.SS] & Attr.DB) !== 0 &&
      this.segLimit[Seg.CS] === -1
    );
  }
  /** EFLAGS.TF (single-step). */
  get trapFlag(): boolean {
    return (this.st[FLAGS] & Flag.TF) !== 0;
  }
  /** EFLAGS.IF (never lazy, so no flag evaluation is needed). */
  get interruptsEnabled(): boolean {
    return (this.st[FLAGS] & Flag.IF) !== 0;
  }
  get iopl(): number {
    return (this.st[FLAGS] >>> 12) & 3;
  }

  setCpl(cpl: number): void {
    this.st[CPL] = cpl;
    this.codeContextChanged();
    const masks = accessMasks(cpl);
    this.readMask = masks.readMask;
    this.readWant = masks.readWant;
    this.writeMask = masks.writeMask;
    this.writeWant = masks.writeWant;
    this.ownWriteMask = masks.writeMask & ~TlbBit.CODE;
    const words = this.tlbMasks;
    words[0] = masks.readMask;
    words[1] = masks.readWant;
    words[2] = masks.writeMask;
    words[3] = masks.writeWant;
  }

  /** Writes CR0 (no checks; MOV CR0 checks before calling) and reconfigures paging. */
  setCr0(value: number): void {
    this.st[CR0] = value | Cr0.ET;
    this.syncPaging();
  }
  setCr3(value: number): void {
    this.st[CR3] = value;
    this.mmu.setCr3(value);
  }
  setCr4(value: number): void {
    this.st[CR4] = value;
    this.syncPaging();
  }

  private syncPaging(): void {
    const cr0 = this.st[CR0];
    const cr4 = this.st[CR4];
    this.mmu.configure({
      paging: (cr0 & Cr0.PG) !== 0 && (cr0 & Cr0.PE) !== 0,
      writeProtect: (cr0 & Cr0.WP) !== 0,
      pse: (cr4 & Cr4.PSE) !== 0,
      pge: (cr4 & Cr4.PGE) !== 0,
      cr3: this.st[CR3],
    });
  }

  /** Power-on / RESET state (SDM vol. 3, table 9-1). */
  reset(): void {
    this.r32.fill(0);
    this.r32[2] = CPU_SIGNATURE;
    this.st.fill(0);
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.st[FLAGS] = Flag.FIXED1;
    this.st[CR0] = Cr0.CD | Cr0.NW | Cr0.ET;
    this.st[EIP] = 0xfff0;
    this.st[GDT_LIMIT] = 0xffff;
    this.st[IDT_LIMIT] = 0xffff;
    this.setCpl(0);
    for (let s = 0; s < 6; s++) this.loadSegmentCache(s, 0, 0, 0xffff, Attr.P | Attr.S | Attr.RW | Attr.ACCESSED);
    this.loadSegmentCache(
      Seg.CS,
      0xf000,
      0xffff0000 | 0,
      0xffff,
      Attr.P | Attr.S | Attr.CODE | Attr.RW | Attr.ACCESSED,
    );
    this.loadSegmentCache(Seg.LDTR, 0, 0, 0xffff, Attr.P | 0x2);
    this.loadSegmentCache(Seg.TR, 0, 0, 0xffff, Attr.P | 0x3);
    this.syncPaging();
    this.mmu.flushAll();
    this.resetFpu();
    this.instructions = 0;
    this.stalls = 0;
    this.tscOffset = 0;
    this.halted = false;
    this.interruptShadow = false;
    this.exitBlock = false;
  }

  /**
   * x87 state after RESET (SDM vol. 3, table 9-1): control word 0040H, status word 0, tag word
   * 5555H (every register +0.0, tagged zero), pointers and opcode 0. Software runs FNINIT first.
   */
  private resetFpu(): void {
    const fpu = this.fpu;
    fpu.init();
    fpu.ctl[CTL_CW] = 0x40;
    fpu.ctl[CTL_EMPTY] = 0;
    fpu.se.fill(0);
    fpu.hi.fill(0);
    fpu.lo.fill(0);
    this.ignne = false;
  }

  /** Ends the current block after this instruction. */
  requestExit(): void {
    this.exitBlock = true;
  }

  /** Holds off external interrupts until after the next instruction (STI, MOV SS, POP SS). */
  inhibitInterrupts(): void {
    this.interruptShadow = true;
    this.exitBlock = true;
  }

  // ---- segments -----------------------------------------------------------------------------

  /** Fills a descriptor cache and recomputes its access checks. */
  loadSegmentCache(seg: number, selector: number, base: number, limit: number, attr: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = base;
    this.segLimit[seg] = limit;
    this.segAttr[seg] = attr;
    this.updateSegmentChecks(seg);
  }

  /** Marks a data segment register as holding a null selector: any access through it is #GP(0). */
  loadNullSegment(seg: number, selector: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = 0;
    this.segLimit[seg] = 0;
    this.segAttr[seg] = 0;
    this.segAccess[seg] = 0;
  }

  /** Real-mode (and virtual-8086) segment load: only selector and base change, as on a P6. */
  loadRealSegment(seg: number, selector: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = selector << 4;
    if (this.v86) {
      this.segLimit[seg] = 0xffff;
      this.segAttr[seg] = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DPL | (seg === Seg.CS ? Attr.CODE : 0);
    } else if (this.segAttr[seg] === 0) {
      this.segAttr[seg] = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED;
    }
    this.updateSegmentChecks(seg);
  }

  updateSegmentChecks(seg: number): void {
    if (seg === Seg.CS) this.codeContextChanged();
    const attr = this.segAttr[seg];
    const limit = this.segLimit[seg] >>> 0;
    let access: number;
    let min = 0;
    let max = limit;
    if (this.realAddressing) {
      access = SegAccess.READ | SegAccess.WRITE;
      if ((attr & (Attr.CODE | Attr.DC)) === Attr.DC) {
        min = limit + 1;
        max = (attr & Attr.DB) !== 0 ? 0xffffffff : 0xffff;
      }
    } else if ((attr & Attr.P) === 0 || (attr & Attr.S) === 0) {
      access = 0;
    } else if ((attr & Attr.CODE) !== 0) {
      access = (attr & Attr.RW) !== 0 ? SegAccess.READ : 0;
    } else {
      access = SegAccess.READ | ((attr & Attr.RW) !== 0 ? SegAccess.WRITE : 0);
      if ((attr & Attr.DC) !== 0) {
        min = limit + 1;
        max = (attr & Attr.DB) !== 0 ? 0xffffffff : 0xffff;
      }
    }
    if (min === 0 && max === 0xffffffff && access !== 0) access |= SegAccess.FLAT;
    this.segMin[seg] = min;
    this.segMax[seg] = max;
    this.segAccess[seg] = access;
  }

  /** Recomputes every segment's checks after a mode change (PE or VM toggled). */
  refreshSegments(): void {
    for (let s = 0; s < 6; s++) if (this.segAttr[s] !== 0 || this.realAddressing) this.updateSegmentChecks(s);
  }

  /** Offset check for an access of `size` bytes through `seg`; returns the linear address. */
  linearRead(seg: number, offset: number, size: number): number {
    if ((this.segAccess[seg] & (SegAccess.READ | SegAccess.FLAT)) === (SegAccess.READ | SegAccess.FLAT)) {
      return (this.segBase[seg] + offset) | 0;
    }
    return this.checkSegment(seg, offset, size, SegAccess.READ);
  }

  linearWrite(seg: number, offset: number, size: number): number {
    if ((this.segAccess[seg] & (SegAccess.WRITE | SegAccess.FLAT)) === (SegAccess.WRITE | SegAccess.FLAT)) {
      return (this.segBase[seg] + offset) | 0;
    }
    return this.checkSegment(seg, offset, size, SegAccess.WRITE);
  }

  private checkSegment(seg: number, offset: number, size: number, need: number): number {
    const vector = seg === Seg.SS ? Vector.SS : Vector.GP;
    if ((this.segAccess[seg] & need) === 0) this.raise(vector, 0);
    const off = offset >>> 0;
    if (off < this.segMin[seg] >>> 0 || off + size - 1 > this.segMax[seg] >>> 0) this.raise(vector, 0);
    return (this.segBase[seg] + offset) | 0;
  }

  // ---- memory through segments --------------------------------------------------------------

  read8(seg: number, offset: number): number {
    return this.readLin8(this.linearRead(seg, offset, 1));
  }
  read16(seg: number, offset: number): number {
    return this.readLin16(this.linearRead(seg, offset, 2));
  }
  read32(seg: number, offset: number): number {
    return this.readLin32(this.linearRead(seg, offset, 4));
  }
  write8(seg: number, offset: number, value: number): void {
    this.writeLin8(this.linearWrite(seg, offset, 1), value);
  }
  write16(seg: number, offset: number, value: number): void {
    this.writeLin16(this.linearWrite(seg, offset, 2), value);
  }
  write32(seg: number, offset: number, value: number): void {
    this.writeLin32(this.linearWrite(seg, offset, 4), value);
  }

  /**
   * For read-modify-write operands: checks the segment for writing and makes sure every page the
   * access touches is writable, so the later write cannot fault after the read. Returns the linear address.
   */
  prepareWrite(seg: number, offset: number, size: number): number {
    const lin = this.linearWrite(seg, offset, size);
    this.prepareWriteLinear(lin, size);
    return lin;
  }

  prepareWriteLinear(lin: number, size: number): void {
    const mask = this.ownWriteMask;
    if ((this.tlb[lin >>> 12] & mask) !== this.writeWant) this.translateOrFault(lin, true);
    const last = (lin + size - 1) | 0;
    if (((last ^ lin) & ~PAGE_MASK) !== 0 && (this.tlb[last >>> 12] & mask) !== this.writeWant) {
      this.translateOrFault(nextPage(lin), true);
    }
  }

  // ---- memory through the TLB ---------------------------------------------------------------

  readLin8(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readMask) === this.readWant) return this.ram[(e & ~PAGE_MASK) | (lin & PAGE_MASK)];
    const p = this.translateOrFault(lin, false);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 1, false);
    return this.mem.read8(p);
  }

  readLin16(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readMask) === this.readWant && (lin & PAGE_MASK) !== PAGE_MASK) {
      const p = (e & ~PAGE_MASK) | (lin & PAGE_MASK);
      return (p & 1) === 0 ? this.ram16[p >>> 1] : this.ram[p] | (this.ram[p + 1] << 8);
    }
    return this.readLin16Slow(lin);
  }

  readLin32(lin: number): number {
    const e = this.tlb[lin >>> 12];
    if ((e & this.readMask) === this.readWant && (lin & PAGE_MASK) <= PAGE_MASK - 3) {
      const p = (e & ~PAGE_MASK) | (lin & PAGE_MASK);
      if ((p & 3) === 0) return this.ram32[p >>> 2];
      const ram = this.ram;
      return ram[p] | (ram[p + 1] << 8) | (ram[p + 2] << 16) | (ram[p + 3] << 24);
    }
    return this.readLin32Slow(lin);
  }

  writeLin8(lin: number, value: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.ownWriteMask) === this.writeWant) {
      const p = (e & ~PAGE_MASK) | (lin & PAGE_MASK);
      this.ram[p] = value;
      this.wroteRam(lin, e, p, 1);
      return;
    }
    const p = this.translateOrFault(lin, true);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 1, true);
    this.mem.write8(p, value);
  }

  writeLin16(lin: number, value: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.ownWriteMask) === this.writeWant && (lin & PAGE_MASK) !== PAGE_MASK) {
      const p = (e & ~PAGE_MASK) | (lin & PAGE_MASK);
      if ((p & 1) === 0) this.ram16[p >>> 1] = value;
      else {
        this.ram[p] = value;
        this.ram[p + 1] = value >>> 8;
      }
      this.wroteRam(lin, e, p, 2);
      return;
    }
    this.writeLin16Slow(lin, value);
  }

  writeLin32(lin: number, value: number): void {
    const e = this.tlb[lin >>> 12];
    if ((e & this.ownWriteMask) === this.writeWant && (lin & PAGE_MASK) <= PAGE_MASK - 3) {
      const p = (e & ~PAGE_MASK) | (lin & PAGE_MASK);
      if ((p & 3) === 0) this.ram32[p >>> 2] = value;
      else {
        const ram = this.ram;
        ram[p] = value;
        ram[p + 1] = value >>> 8;
        ram[p + 2] = value >>> 16;
        ram[p + 3] = value >>> 24;
      }
      this.wroteRam(lin, e, p, 4);
      return;
    }
    this.writeLin32Slow(lin, value);
  }

  /**
   * After a write of `length` bytes to RAM at `p` through TLB entry `e` of linear `lin`: reports it
   * when the page holds scanned code; when it no longer does, the entry lets generated code write the
   * page directly again.
   */
  private wroteRam(lin: number, e: number, p: number, length: number): void {
    if (this.codePages[p >>> 12] !== 0) this.mem.codeWritten(p, length);
    else if ((e & TlbBit.CODE) !== 0) this.tlb[lin >>> 12] = e & ~TlbBit.CODE;
  }

  private readLin16Slow(lin: number): number {
    if ((lin & PAGE_MASK) === PAGE_MASK) {
      const p0 = this.translateOrFault(lin, false);
      const p1 = this.translateOrFault((lin + 1) | 0, false);
      if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 2, false);
      return this.mem.read8(p0) | (this.mem.read8(p1) << 8);
    }
    const p = this.translateOrFault(lin, false);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 2, false);
    return this.mem.read16(p);
  }

  private readLin32Slow(lin: number): number {
    if ((lin & PAGE_MASK) > PAGE_MASK - 3) {
      const p0 = this.translateOrFault(lin, false);
      const p1 = this.translateOrFault(nextPage(lin), false);
      const split = PAGE_SIZE_BYTES - (lin & PAGE_MASK);
      if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 4, false);
      let v = 0;
      for (let i = 0; i < 4; i++) {
        const b = i < split ? this.mem.read8(p0 + i) : this.mem.read8(p1 + i - split);
        v |= b << (8 * i);
      }
      return v;
    }
    const p = this.translateOrFault(lin, false);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 4, false);
    // As an int32, as the register views hold it: page functions keep registers in locals, where a
    // device's unsigned dword would stay unsigned.
    return this.mem.read32(p) | 0;
  }

  private writeLin16Slow(lin: number, value: number): void {
    if ((lin & PAGE_MASK) === PAGE_MASK) {
      const p0 = this.translateOrFault(lin, true);
      const p1 = this.translateOrFault((lin + 1) | 0, true);
      if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 2, true);
      this.mem.write8(p0, value & 0xff);
      this.mem.write8(p1, (value >>> 8) & 0xff);
      return;
    }
    const p = this.translateOrFault(lin, true);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 2, true);
    this.mem.write16(p, value & 0xffff);
  }

  private writeLin32Slow(lin: number, value: number): void {
    if ((lin & PAGE_MASK) > PAGE_MASK - 3) {
      const p0 = this.translateOrFault(lin, true);
      const p1 = this.translateOrFault(nextPage(lin), true);
      const split = PAGE_SIZE_BYTES - (lin & PAGE_MASK);
      if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 4, true);
      for (let i = 0; i < 4; i++) {
        const b = (value >>> (8 * i)) & 0xff;
        if (i < split) this.mem.write8(p0 + i, b);
        else this.mem.write8(p1 + i - split, b);
      }
      return;
    }
    const p = this.translateOrFault(lin, true);
    if (this.onWatchedAccess !== undefined) this.onWatchedAccess(lin, 4, true);
    this.mem.write32(p, value);
  }

  /** Walks the page tables for the current privilege; raises #PF on failure. Returns the physical address. */
  translateOrFault(lin: number, write: boolean): number {
    const phys = this.mmu.translate(lin, write, this.st[CPL] === 3);
    if (phys < 0) {
      this.st[CR2] = lin;
      this.raise(Vector.PF, this.mmu.faultCode);
    }
    return phys;
  }

  /**
   * Supervisor-privilege access to system structures (descriptor tables, TSS, IDT): paging applies
   * but the user/supervisor check is made as for CPL 0.
   */
  systemTranslate(lin: number, write: boolean): number {
    const phys = this.mmu.translate(lin, write, false);
    if (phys < 0) {
      this.st[CR2] = lin;
      this.raise(Vector.PF, this.mmu.faultCode);
    }
    return phys;
  }

  systemRead32(lin: number): number {
    if ((lin & PAGE_MASK) > PAGE_MASK - 3) {
      return this.systemRead16(lin) | (this.systemRead16((lin + 2) | 0) << 16);
    }
    return this.mem.read32(this.systemTranslate(lin, false));
  }
  systemRead16(lin: number): number {
    if ((lin & PAGE_MASK) === PAGE_MASK) {
      return this.systemRead8(lin) | (this.systemRead8((lin + 1) | 0) << 8);
    }
    return this.mem.read16(this.systemTranslate(lin, false));
  }
  systemRead8(lin: number): number {
    return this.mem.read8(this.systemTranslate(lin, false));
  }
  systemWrite32(lin: number, value: number): void {
    if ((lin & PAGE_MASK) > PAGE_MASK - 3) {
      const p0 = this.systemTranslate(lin, true);
      const p1 = this.systemTranslate(nextPage(lin), true);
      const split = PAGE_SIZE_BYTES - (lin & PAGE_MASK);
      for (let i = 0; i < 4; i++) {
        const b = (value >>> (8 * i)) & 0xff;
        if (i < split) this.mem.write8(p0 + i, b);
        else this.mem.write8(p1 + i - split, b);
      }
      return;
    }
    this.mem.write32(this.systemTranslate(lin, true), value);
  }
  systemWrite16(lin: number, value: number): void {
    if ((lin & PAGE_MASK) === PAGE_MASK) {
      const p0 = this.systemTranslate(lin, true);
      const p1 = this.systemTranslate((lin + 1) | 0, true);
      this.mem.write8(p0, value & 0xff);
      this.mem.write8(p1, (value >>> 8) & 0xff);
      return;
    }
    this.mem.write16(this.systemTranslate(lin, true), value & 0xffff);
  }
  systemWrite8(lin: number, value: number): void {
    this.mem.write8(this.systemTranslate(lin, true), value & 0xff);
  }

  // ---- flags --------------------------------------------------------------------------------

  /** Records an arithmetic result for lazy flag evaluation (see flags.ts for the lazy word). */
  setLazy(lazy: number, res: number, a: number, b: number): void {
    const st = this.st;
    st[LAZY] = lazy;
    st[RES] = res;
    st[OPA] = a;
    st[OPB] = b;
  }

  /** Like setLazy for INC/DEC, which keep CF: CF is first made concrete. */
  setLazyKeepCf(lazy: number, res: number, a: number, b: number): void {
    const st = this.st;
    st[FLAGS] = (st[FLAGS] & ~Flag.CF) | this.getCf();
    st[LAZY] = lazy;
    st[RES] = res;
    st[OPA] = a;
    st[OPB] = b;
  }

  /**
   * Sets flags explicitly, leaving the others as they are; `mask` says which ones. Status flags it
   * sets stop being lazy; the rest of a lazy state stays lazy (a rotate sets CF and OF after an ADD
   * without evaluating the ADD's other flags).
   */
  setFlagBits(mask: number, values: number): void {
    const st = this.st;
    st[LAZY] &= ~((mask & ARITH_FLAGS) << 16);
    st[FLAGS] = (st[FLAGS] & ~mask) | (values & mask);
  }

  /** Folds the lazy flags into the EFLAGS word. */
  materializeFlags(): void {
    const st = this.st;
    const lazy = st[LAZY];
    if (lazy === 0) return;
    const mask = lazy >>> 16;
    const computed = lazyFlags(lazy, st[RES], st[OPA], st[OPB]);
    st[FLAGS] = (st[FLAGS] & ~mask) | (computed & mask);
    st[LAZY] = 0;
  }

  getCf(): number {
    const st = this.st;
    return carryFlag(st[FLAGS], st[LAZY], st[RES], st[OPA], st[OPB]);
  }
  getPf(): boolean {
    const st = this.st;
    return parityFlag(st[FLAGS], st[LAZY], st[RES]);
  }
  getAf(): boolean {
    const st = this.st;
    const lazy = st[LAZY];
    if ((lazy & (Flag.AF << 16)) === 0) return (st[FLAGS] & Flag.AF) !== 0;
    return lazyAf(lazy, st[RES], st[OPA], st[OPB]) !== 0;
  }
  getZf(): boolean {
    const st = this.st;
    return zeroFlag(st[FLAGS], st[LAZY], st[RES]);
  }
  getSf(): boolean {
    const st = this.st;
    return signFlag(st[FLAGS], st[LAZY], st[RES]);
  }
  getOf(): boolean {
    const st = this.st;
    return overflowFlag(st[FLAGS], st[LAZY], st[RES], st[OPA], st[OPB]);
  }

  /** Condition code test for Jcc/SETcc/CMOVcc (the low nibble of the opcode). */
  condition(cc: number): boolean {
    let r: boolean;
    switch (cc >>> 1) {
      case 0:
        r = this.getOf();
        break;
      case 1:
        r = this.getCf() !== 0;
        break;
      case 2:
        r = this.getZf();
        break;
      case 3:
        r = this.getCf() !== 0 || this.getZf();
        break;
      case 4:
        r = this.getSf();
        break;
      case 5:
        r = this.getPf();
        break;
      case 6:
        r = this.getSf() !== this.getOf();
        break;
      default:
        r = this.getZf() || this.getSf() !== this.getOf();
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }

  /** The full EFLAGS value. */
  get eflags(): number {
    const st = this.st;
    const lazy = st[LAZY];
    if (lazy === 0) return st[FLAGS];
    const mask = lazy >>> 16;
    return (st[FLAGS] & ~mask) | (lazyFlags(lazy, st[RES], st[OPA], st[OPB]) & mask);
  }

  /**
   * Replaces EFLAGS as a whole (no privilege filtering; POPF/IRET filter first). Bit 1 is forced on,
   * reserved bits off. A change of VM re-evaluates segment checks.
   */
  set eflags(value: number) {
    const st = this.st;
    const old = st[FLAGS];
    st[FLAGS] = (value & 0x3f7fd5) | Flag.FIXED1;
    st[LAZY] = 0;
    if (((old ^ value) & Flag.VM) !== 0) this.refreshSegments();
  }

  /** The status flags only (for LAHF/PUSHF-like readers that do not need the rest). */
  get statusFlags(): number {
    return this.eflags & ARITH_FLAGS;
  }

  // ---- exceptions ---------------------------------------------------------------------------

  /** Raises an exception with an error code: records it and unwinds the instruction. */
  raise(vector: number, errorCode: number): never {
    this.faultVector = vector;
    this.faultCode = errorCode & 0xffff;
    this.faultHasCode = true;
    throw CPU_FAULT;
  }

  /** Raises an exception that has no error code (#DE, #UD, #NM, #BR, ...). */
  raiseNoCode(vector: number): never {
    this.faultVector = vector;
    this.faultCode = 0;
    this.faultHasCode = false;
    throw CPU_FAULT;
  }

  /** #PF keeps the full error code; the 16-bit truncation in raise() is for selector codes. */
  raisePageFault(lin: number, code: number): never {
    this.st[CR2] = lin;
    this.faultVector = Vector.PF;
    this.faultCode = code;
    this.faultHasCode = true;
    throw CPU_FAULT;
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /** Architectural and hidden state at an instruction boundary (the x87 unit saves its own). */
  saveSnapshotState(w: StateWriter): void {
    w.bytes('r32', this.r32);
    w.bytes('st', this.st);
    w.bytes('dr', this.dr);
    w.bytes('segSel', this.segSel);
    w.bytes('segBase', this.segBase);
    w.bytes('segLimit', this.segLimit);
    w.bytes('segAttr', this.segAttr);
    w.bytes('segMin', this.segMin);
    w.bytes('segMax', this.segMax);
    w.bytes('segAccess', this.segAccess);
    w.number('instructions', this.instructions);
    w.number('stalls', this.stalls);
    w.number('tscOffset', this.tscOffset);
    w.flag('interruptShadow', this.interruptShadow);
    w.flag('halted', this.halted);
    w.flag('ferrWaiting', this.ferrWaiting);
    w.flag('ignne', this.ignne);
    w.number('deliveries', this.deliveries);
  }

  /** Loads saveSnapshotState's fields; the TLB and the paging mode are rebuilt from CR0, CR3 and CR4. */
  loadSnapshotState(r: StateReader): void {
    r.into('r32', this.r32);
    r.into('st', this.st);
    r.into('dr', this.dr);
    r.into('segSel', this.segSel);
    r.into('segBase', this.segBase);
    r.into('segLimit', this.segLimit);
    r.into('segAttr', this.segAttr);
    r.into('segMin', this.segMin);
    r.into('segMax', this.segMax);
    r.into('segAccess', this.segAccess);
    // Restored memory may map any CS:EIP to other code: no memo made before the restore holds.
    this.updateSegmentChecks(Seg.CS);
    this.newFetchEpoch();
    const cpl = this.st[CPL];
    if (cpl < 0 || cpl > 3) throw r.error('st', `holds CPL ${cpl}`);
    this.instructions = r.int('instructions', 0, Number.MAX_SAFE_INTEGER);
    this.stalls = r.int('stalls', 0, this.instructions);
    this.tscOffset = r.int('tscOffset', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    this.interruptShadow = r.flag('interruptShadow');
    this.halted = r.flag('halted');
    this.ferrWaiting = r.flag('ferrWaiting');
    this.ignne = r.flag('ignne');
    this.deliveries = r.int('deliveries', 0, Number.MAX_SAFE_INTEGER);
    this.insEip = this.st[EIP];
    this.exitBlock = true;
    this.setCpl(cpl);
    this.syncPaging();
    this.mmu.setCr3(this.st[CR3]);
    this.mmu.flushAll();
  }
}

/** CS:EIP, privilege and mode of a CPU state saved by saveSnapshotState, for snapshot summaries. */
export function describeSavedCpu(r: StateReader): string {
  const st = new Int32Array(STATE_WORDS);
  const segSel = new Uint16Array(9);
  r.into('st', st);
  r.into('segSel', segSel);
  const cr0 = st[CR0];
  const mode = (cr0 & Cr0.PE) === 0 ? 'real mode' : (cr0 & Cr0.PG) !== 0 ? 'protected mode, paging' : 'protected mode';
  const hex = (v: number, n: number) => (v >>> 0).toString(16).padStart(n, '0');
  const idle = r.flag('halted') ? ', halted' : '';
  return `${hex(segSel[Seg.CS], 4)}:${hex(st[EIP], 8)}, CPL ${st[CPL]}, ${mode}${idle}`;
}

const PAGE_SIZE_BYTES = PAGE_MASK + 1;

/** Linear address of the first byte of the page after the one holding `lin`. */
function nextPage(lin: number): number {
  return ((lin | PAGE_MASK) + 1) | 0;
}
