/**
 * The dispatcher: runs blocks of pre-decoded instructions through the interpreter's handler table,
 * takes faults (rolling EIP back to the faulting instruction) and external interrupts at block
 * boundaries, and stops on HLT, on request or when its instruction budget is spent.
 */

import { Block, BlockEnd, CodeMode, DecodeStatus, type Instruction } from '@plex86/x86';
import { ST_EIP, WIDE_ZERO, type Cpu } from '../cpu/cpu.js';
import { CPU_FAULT, CpuShutdown, hasErrorCode, Vector } from '../cpu/fault.js';
import { deliverException, deliverInterrupt, IntSource } from '../cpu/interrupts.js';
import { Seg } from '../cpu/registers.js';
import { HANDLERS, undefinedOpcode, type Handler } from '../cpu/exec/table.js';
import '../cpu/exec/index.js';
import { fastHandler } from '../cpu/exec/fast.js';
import type { BlockSource, HandlerResolver } from './block-source.js';
import { CrossPageFetch } from './cross-page.js';
import { packedInterpreter, type PackedInterpreter } from './interpreter.js';
import type { RecordArena } from './record-arena.js';
import {
  borrowedMembers,
  compileRegion,
  endsPassingOn,
  type HandOff,
  linkHolds,
  Links,
  linkEntryKey,
  mayEnter,
  regionMembers,
  type CompiledCode,
  type Region,
} from './region.js';
import { MAX_FALLBACKS, WarmTier, type WarmBlock } from './wasm/block-tier.js';

/** Why `run` returned. */
export const enum StopReason {
  /** The instruction budget is spent. */
  BUDGET = 0,
  /** HLT with nothing to wake the CPU (IF clear, or no interrupt pending). */
  HALTED = 1,
  /** stop() was called (e.g. by a device handler). */
  STOPPED = 2,
  /** Triple fault: the processor shut down; `shutdownMessage` says why. */
  SHUTDOWN = 3,
}

/**
 * The interrupt controller as the CPU sees it: an INTR line and the acknowledge cycle. The run loop
 * reads the line before each block it runs and once when page functions begin to hand control to
 * each other or the interpreter to run on from block to block, not between them: the line changes
 * only between runs (the devices' timers, host input) or at port I/O, after which control returns to
 * the run loop.
 */
export interface InterruptLine {
  /** True while an interrupt request is pending. */
  pending(): boolean;
  /** Acknowledges the highest-priority request and returns its vector. */
  acknowledge(): number;
}

export interface EngineStats {
  blocks: number;
  /**
   * Sensitive or privileged instructions run (counted for blocks that end with one): the work a
   * plex86 monitor takes over from the fast path.
   */
  sensitive: number;
  /** Hot blocks turned into generated code. */
  compiledBlocks: number;
  /** Generated functions made (each holds the hot blocks of one page, see region.ts). */
  regions: number;
  /** Blocks compiled into the page functions of other pages that borrowed them (region.ts borrowedMembers). */
  borrowedBlocks: number;
  /** Instructions run inside generated functions (the rest ran through the handlers one by one). */
  regionInstructions: number;
  /** Page functions entered straight from another one, without the run loop (runRegion). */
  regionHandoffs: number;
  /** Of those, the hand-offs that found no link that holds and looked the page function up (Engine.relink). */
  regionRelinks: number;
  /** Blocks interpreted straight after the block before them, without the run loop (interpretOn). */
  chainedBlocks: number;
  /** Blocks compiled to WebAssembly by the warm tier, in how many modules. */
  warmBlocks: number;
  warmModules: number;
  /** Records of those blocks, and how many of them became WebAssembly code (the rest call their handlers). */
  warmRecords: number;
  warmInlined: number;
  /** Instructions run in warm-tier blocks. */
  warmInstructions: number;
  slowFetches: number;
  faults: number;
  interrupts: number;
  /** Exceptions delivered, by vector. */
  exceptionsByVector: number[];
}

/**
 * Block runs (cache hits) before a block of code outside CPL 0 is compiled, with the warm blocks of
 * its page, into a function of its page (region.ts). Generated code pays off only once V8 has
 * optimised it; compiling lukewarm code costs more than it saves. Measured on the default Linux
 * guest (boot and a quarter of the bench workload, CPU seconds of the run), when each block was a
 * function of its own: 2048 runs 92-97 s, 8192 78-80 s, 16384 66-71 s, 65536 67 s, 262144 71 s,
 * never compiling 85 s; with page functions (seconds to the prompt and of the workload), 4096 runs
 * 32 + 29 s, 8192 28 + 27 s, 16384 26 + 25 s; again with region hand-offs and inline dword
 * accesses, 4096 runs 18.2 + 19.7 s, 8192 17.1 + 17.3 s, 16384 14.6 + 15.5 s. V8 optimises a new
 * page function with Maglev some 10 ms after it is made and with TurboFan some 150 ms after
 * (medians, from V8's code log of such a run). Once conditional jumps stopped deoptimising page
 * functions (fast.ts selectCode), lower thresholds paid again (half of the workload, means of
 * alternating runs, to the prompt + workload): 16384 runs 20.0 + 35.0 s (9 runs), 8192 19.7 + 32.6
 * s (6), 4096 20.1 + 33.6 s (6), 2048 22.5 + 36.0 s (3). With the guest state in locals of page
 * functions (state-locals.ts), 4096 runs took 20.9 + 34.2 s against 18.3 + 35.9 s at 8192 (three
 * runs each). Once the interpreter ran on from block to block (interpretOn), 4096 runs against 8192
 * in `plex86 bench boot --against` (four rounds, each build bundled from its own sources): to the
 * prompt 1.011x, workload 0.981x (gzip 0.857x, the awk sum 0.937x), with 5-16 % more hand-offs and
 * 96-99 % of each long step's instructions in page functions instead of 91-98 %; 16384 runs: to the
 * prompt 1.068x, workload 0.934x (the awk generator 0.856x).
 *
 * The workload's forking loop, which interprets most (runs of fork, exec and exit below either
 * threshold), is not held back by the thresholds: with 1024 runs for all code it took as long
 * (5.98 s against 5.94 s in one run of the workload each; the prompt after 11.5 s against 8.2 s).
 * Run twice in one guest, its second pass then ran 280 of its 285 million instructions in page
 * functions instead of 236 million, with twice the hand-offs (13.3 million against 7.0 million,
 * relinks 0.92 million against 0.27 million): the time the interpreter spent went to runRegion
 * (15 % of that pass's samples), relink (5 %) and the generic call builtins (6 %).
 */
const COMPILE_THRESHOLD = 8192;

/**
 * Block runs before a block of CPL 0 code is compiled. The boot and the workload want different
 * thresholds: at 16384 runs for all code the boot took 0.94x as long and the workload 1.07x; the
 * kernel's code alone waits longer, and the programs' hot loops compile as soon as before. Twice
 * the threshold for CPL 0, against one threshold (`plex86 bench boot --against`, four runs of four,
 * four, six and four rounds in turns): to the prompt 1.051x, 1.018x, 1.046x (every round of the six
 * faster) and 1.066x, the workload 1.038x, 1.019x, 0.956x and 1.031x; the awk step that generates
 * the data (and writes it to a file), the workload's first, took 0.88-0.95x as long in every run,
 * with 2 million more blocks interpreted (most likely kernel code the boot had run 8192 to 16384
 * times, compiled there instead). Four times the threshold for CPL 0: to the prompt 1.004x, the
 * workload 0.948x (that awk step 0.854x). Twice the threshold only until the CPU first runs outside
 * CPL 0 (the kernel's own start, before init): to the prompt 0.990x, the workload 1.044x (four
 * noisy rounds), with the awk step's share of instructions in page functions back at 91.5 % from
 * 87.9 %: the boot's gain seems to come from kernel code that runs after init has started. With the
 * kernel's threshold at 16384, the user threshold at 6144 against 8192: to the prompt 0.948x (every
 * round slower), the workload 0.989x (gzip 0.929x).
 */
const KERNEL_COMPILE_THRESHOLD = 2 * COMPILE_THRESHOLD;

/**
 * The lowest CPL whose page functions are laid out as nested loops (member-layout.ts); the kernel's
 * pass control through one dispatch loop. `plex86 bench boot --against` the dispatch loop for all
 * code, four rounds in turns: nested loops for all code, the workload 1.020x (shell arithmetic
 * 1.117x, every round faster) but the boot 0.958x (every round slower); for user code only, the
 * workload 1.020x (shell arithmetic 1.109x, the awk sum 0.968x) and the boot 0.984x; three more
 * runs (the last two with the lookup breaking to the member's unit): the workload 1.033x, 1.006x
 * and 1.004x, the boot 1.000x, 0.985x and 0.980x, shell arithmetic 1.134x, 1.115x and 1.091x (every
 * round faster), the forking loop 1.007x, 0.953x and 0.984x, sha1sum 0.80-1.06x. The second pass
 * of the long steps, user code only (two rounds in turns, twice): shell arithmetic 1.24-1.36x, sort
 * 0.97-1.05x, the awk sum 0.90-1.01x, gzip and the forking loop within the machine's noise. The
 * boot's loss looks like warm-up rather than speed: V8 counts a function's way to optimisation by
 * its loops' back edges and its returns, not by forward jumps, so a nested function that hands
 * control on after a few members gets to TurboFan later than one whose every passage went round the
 * dispatch loop (by the end of a gzip run, 222 page functions compiled by TurboFan against 267).
 * Lower V8 thresholds (--invocation-count-for-turbofan=750 with --invocation-count-for-maglev=100,
 * or --invocation-count-for-osr=100) made the boot and the workload slower still. Also measured
 * and not kept (four rounds each): only loops nested, the top level's members cases of the dispatch
 * loop (for all code), the workload 0.974x and the boot 0.976x, shell arithmetic 0.987x: its gain
 * comes from forward jumps as breaks more than from loops; user code nested only in functions with
 * a loop, against nested in all, the workload 0.992x, shell arithmetic 0.938x.
 */
const NESTED_LAYOUT_CPL = 1;

/**
 * Block runs before a block of 32-bit code joins the warm tier's queue (wasm/block-tier.ts); negative:
 * never. A WebAssembly module compiles in well under a millisecond, so warm code need not wait for
 * the page-function threshold, but the tier is off by default: on the default Linux guest (the
 * shell-arithmetic and fork steps of the workload at a quarter scale) it runs 10-14% of the
 * instructions at 256 runs and the steps take as long as without it. The interpreter's records and
 * the tier's code for code that runs a few thousand times cost the same: cache misses. Once the
 * interpreter ran on from block to block without the run loop (interpretOn), which stops at a warm
 * block, the tier cost time: at 256 runs the bench workload's forking loop took 8.4 s instead of
 * 5.6 s and its sort 9.8 s instead of 8.2 s (7.2 s and 10.3 s at 1024 runs).
 *
 * Where that time goes, measured with no page functions at all on the workload's two awk steps
 * (blocks in the tier from 256 runs on; it ran 73% of the generating step's records): the tier's
 * WebAssembly runs a record in about 11 ns, the interpreter's loop in about 15 ns (25 ns with its
 * chain from block to block and the handlers it calls), but each warm block costs the run loop about
 * 100 ns (runBlock, the memo or jump-cache probe, the call into WebAssembly), so the steps ran at 34
 * and 40 MIPS against the interpreter's 40 and 43. Letting interpretOn run warm blocks in its chain
 * (and go on after one) made that 42 and 52 MIPS; still, with page functions at their threshold, the
 * six long steps took 24.9-25.8 s with the tier at 256, 1024 or 2048 runs against 22.8-23.3 s without
 * it (one run each, four without). Without that chain, turning off V8's lazy WebAssembly compilation
 * and Wasm inlining took four of the steps from 23% to 14% longer than without the tier. Passing
 * control from block to block inside WebAssembly as well (a tail call to a static successor on the
 * same page, with the chain's budget and records, the slot running and per-slot hit counts in
 * machine memory) made the six steps take 28-29 s: the forking loop ran 16% of its records in the
 * tier at about 44 ns each, most of it Liftoff's code and its frame set-up on every call (code that
 * runs a few thousand times never reaches V8's optimising tier), against the interpreter's 25 ns.
 * The 11 ns above is the optimised code of blocks that ran far more often.
 */
const WARM_THRESHOLD = -1;

/** Blocks compiled together into one WebAssembly module. */
const WARM_BATCH = 64;

/** Instructions a queued block waits at most before a smaller batch is compiled. */
const WARM_WAIT = 20_000_000;

/** The most records a page function is asked to run in one call: a small integer. */
const BUDGET_PART = 0x3fffffff;

/**
 * Entries of the jump cache (a power of two). Larger caches, measured and not kept (`plex86 bench boot
 * --against` this size, four rounds in turns): with 65536 entries the forking loop, whose code is
 * spread over many pages, ran 1.047x as fast (every round faster) and gzip 0.943x (every round
 * slower), the workload 1.009x and the boot 1.014x; with 16384, the forking loop 1.025x, gzip 0.973x,
 * the workload 1.004x and the boot 0.985x.
 */
const JUMP_CACHE_SIZE = 4096;

export class Engine {
  /** Block runs before a block of CPL 0 code is compiled. */
  kernelThreshold = KERNEL_COMPILE_THRESHOLD;
  /** Block runs before a block of code at CPL 1 to 3 is compiled. */
  userThreshold = COMPILE_THRESHOLD;
  /** One threshold for code at every privilege; tests lower it to compile everything. */
  set compileThreshold(runs: number) {
    this.kernelThreshold = runs;
    this.userThreshold = runs;
  }
  /** Compiled blocks inline the records that have templates (off: every record calls its handler). */
  inlineRecords = true;
  /** The lowest CPL whose page functions are laid out as nested loops; tests lower it to 0. */
  nestedLayoutCpl = NESTED_LAYOUT_CPL;
  /**
   * Runs of a block of 32-bit code before the one at which it goes to the warm tier (0: at its
   * first run, which then runs compiled); a negative value turns the tier off.
   */
  warmThreshold = WARM_THRESHOLD;
  /** Blocks per warm-tier module; tests lower it. */
  warmBatch = WARM_BATCH;
  /** Records without WebAssembly code a block may have to join the warm tier; tests raise it. */
  warmFallbacks = MAX_FALLBACKS;
  /** The block a hand-off found without a page function, interpreted when the region returns (relink). */
  private leftFor: Block | null = null;
  /** Page functions borrow the hot blocks of the pages they pass control to (region.ts borrowedMembers). */
  borrowBlocks = true;
  /** Interpreted blocks run on into the blocks that follow them without the run loop (interpretOn). */
  chainInterpreted = true;
  /**
   * Control may pass between the blocks of a region, and from an interpreted block to the next,
   * without the run loop (see lookupEveryBlock).
   */
  private chainRegions = true;
  /** The counters of blocks and instructions outgrow 32 bits, so they start as doubles (WIDE_ZERO). */
  readonly stats: EngineStats = {
    blocks: WIDE_ZERO,
    sensitive: WIDE_ZERO,
    compiledBlocks: 0,
    regions: 0,
    borrowedBlocks: 0,
    regionInstructions: WIDE_ZERO,
    regionHandoffs: WIDE_ZERO,
    regionRelinks: WIDE_ZERO,
    chainedBlocks: WIDE_ZERO,
    warmBlocks: 0,
    warmModules: 0,
    warmRecords: 0,
    warmInlined: 0,
    warmInstructions: WIDE_ZERO,
    slowFetches: WIDE_ZERO,
    faults: 0,
    interrupts: 0,
    exceptionsByVector: new Array<number>(32).fill(0),
  };
  shutdownMessage = '';
  private stopRequested = false;
  /** The instruction count at which the current run's budget is spent. */
  private end = WIDE_ZERO;
  /** Instructions that cross a page, fetched and kept for the next run (runSlow). */
  readonly crossPage = new CrossPageFetch();
  /** The block source's arena of packed records. */
  private readonly records: RecordArena;
  /** Runs blocks from their packed records (interpreter.ts), made for this engine's Cpu. */
  private readonly interpret: PackedInterpreter;
  /** The SBE block that ran last, whose successor memo the next lookup may use. */
  private prevBlock: Block | null = null;
  /** The linear address of the code being looked up (nextCodePage). */
  private fetchLinear = 0;
  /**
   * EIP -> SBE block for the successors a one-entry memo misses (both ways of a Jcc, returns): an
   * entry holds while the fetch epoch it was made in lasts, as the memo does.
   */
  private readonly jumpIp = new Int32Array(JUMP_CACHE_SIZE);
  private readonly jumpEpoch = new Int32Array(JUMP_CACHE_SIZE).fill(-1);
  private readonly jumpBlock: (Block | null)[] = new Array<Block | null>(JUMP_CACHE_SIZE).fill(null);
  /** Blocks waiting for the warm tier, and the instruction count when the first of them came. */
  private warmQueue: Block[] = [];
  private warmSince = WIDE_ZERO;
  /** The warm tier, made when the first batch compiles. */
  private warm: WarmTier | null = null;

  constructor(
    readonly cpu: Cpu,
    readonly blocks: BlockSource,
    readonly intr: InterruptLine | undefined = undefined,
  ) {
    this.records = blocks.records;
    this.interpret = packedInterpreter(cpu);
    // Before epochs start again, every block goes: memos and jump-cache entries are used only while
    // the block they lead to is valid, hand-off links only at the drop count they were made at.
    cpu.onEpochsSpent = () => this.blocks.flush();
    blocks.nextPage = (page) => this.nextCodePage(page);
    // The counters that started as -0 to be doubles stay doubles; reported, they read 0.
    const s = this.stats;
    s.blocks =
      s.sensitive =
      s.regionInstructions =
      s.regionHandoffs =
      s.regionRelinks =
      s.chainedBlocks =
      s.warmInstructions =
        0;
    s.slowFetches = 0;
  }

  /**
   * While `on`, every block the CPU enters comes from the block source's lookup, where a debugger
   * hooks in: regions run one block per call, and the successor memos and jump-cache entries made
   * before are dropped (a new fetch epoch).
   */
  lookupEveryBlock(on: boolean): void {
    this.chainRegions = !on;
    if (on) this.cpu.newFetchEpoch();
  }

  /**
   * The physical page the TLB maps the linear page after the one being looked up (`fetchLinear`) to,
   * with the access code fetches need, when `page` is the physical page of the lookup; else -1. A
   * block source asks it to decode an instruction that crosses into the next page (BlockSource
   * nextPage); the run loop checks the translation again before each block found by lookup.
   */
  private nextCodePage(page: number): number {
    const lin = this.fetchLinear;
    if ((this.cpu.tlb[lin >>> 12] as number) >>> 12 !== page) return -1;
    return this.codePage(((lin >>> 12) + 1) & 0xfffff);
  }

  /** The physical page the TLB maps linear page `linear` to with the access code fetches need, or -1. */
  private codePage(linear: number): number {
    const cpu = this.cpu;
    const e = cpu.tlb[linear] as number;
    return (e & cpu.readMask) === cpu.readWant ? e >>> 12 : -1;
  }

  /** Makes `run` return at the next instruction boundary (the current instruction completes). */
  stop(): void {
    this.stopRequested = true;
    this.cpu.requestExit();
  }

  /**
   * Executes up to `budget` instructions (a block may overrun it by a few) and says why it stopped.
   * Triple faults end the run with SHUTDOWN rather than an exception.
   */
  run(budget: number): StopReason {
    const cpu = this.cpu;
    const end = cpu.instructions + budget;
    this.end = end;
    this.stopRequested = false;
    if (this.warmQueue.length > 0 && cpu.instructions - this.warmSince >= WARM_WAIT) this.compileWarm();
    while (cpu.instructions < end) {
      if (this.stopRequested) return StopReason.STOPPED;
      if (cpu.halted && !this.interruptReady()) return StopReason.HALTED;
      try {
        this.runBlocks(end);
      } catch (e) {
        if (e !== CPU_FAULT) {
          if (e instanceof CpuShutdown) {
            this.shutdownMessage = e.message;
            return StopReason.SHUTDOWN;
          }
          throw e;
        }
        try {
          this.handleFault();
        } catch (e2) {
          if (e2 instanceof CpuShutdown) {
            this.shutdownMessage = e2.message;
            return StopReason.SHUTDOWN;
          }
          throw e2;
        }
      }
    }
    return this.stopRequested ? StopReason.STOPPED : StopReason.BUDGET;
  }

  /** The hot loop: block after block until the budget is spent or something needs the outer loop. */
  private runBlocks(end: number): void {
    const cpu = this.cpu;
    const intr = this.intr;
    while (cpu.instructions < end) {
      if (this.stopRequested) return;
      if (cpu.halted) {
        // An interrupt ends the halt (HLT, or an x87 instruction waiting on FERR#).
        if (!this.interruptReady()) return;
        this.takeInterrupt();
      }
      if (cpu.interruptShadow) {
        cpu.interruptShadow = false;
        // The shadow holds off only an interrupt that is pending now (and a single-step trap): with
        // none, the next block runs whole, as it would after any other block, since the line is
        // looked at between blocks anyway. The kernel's STI on every system call and page fault
        // would otherwise split the block after it in two, run through the interpreter.
        if (cpu.trapFlag || this.interruptReady()) {
          this.runBlock(1);
          continue;
        }
      }
      if (cpu.trapFlag) {
        this.singleStep();
        continue;
      }
      if (intr !== undefined && cpu.interruptsEnabled && intr.pending()) this.takeInterrupt();
      this.runBlock(0x7fffffff);
    }
  }

  /**
   * EFLAGS.TF: one instruction, then a #DB trap (DR6.BS) with EIP on the next instruction, unless the
   * instruction faulted, delivered an interrupt (which clears TF for the handler) or opened an
   * interrupt shadow (MOV SS/POP SS hold the trap off for one more instruction).
   */
  private singleStep(): void {
    const cpu = this.cpu;
    const deliveries = cpu.deliveries;
    this.runBlock(1);
    if (cpu.interruptShadow || cpu.deliveries !== deliveries) return;
    cpu.dr[6] |= 0x4000;
    deliverException(cpu, Vector.DB, false, 0);
  }

  private interruptReady(): boolean {
    return this.intr !== undefined && this.cpu.interruptsEnabled && this.intr.pending();
  }

  private takeInterrupt(): void {
    if (this.intr === undefined) return;
    const vector = this.intr.acknowledge();
    this.stats.interrupts++;
    this.cpu.halted = false;
    this.cpu.ferrWaiting = false;
    deliverExternal(this.cpu, vector);
  }

  private handleFault(): void {
    const cpu = this.cpu;
    const vector = cpu.faultVector;
    this.stats.faults++;
    this.stats.exceptionsByVector[vector & 31]++;
    cpu.eip = cpu.insEip;
    cpu.exitBlock = false;
    deliverException(cpu, vector, hasErrorCode(vector), cpu.faultCode);
  }

  /** Runs the block at CS:EIP, at most `limit` instructions of it. */
  private runBlock(limit: number): void {
    const cpu = this.cpu;
    const eip = cpu.eip;
    const bits = cpu.codeBits;
    cpu.insEip = eip;
    // Chaining: the block that ran before remembers its successor at this IP, so the CS limit check,
    // the TLB and the SBE lookup are skipped while nothing that maps CS:EIP to code has changed.
    const prev = this.prevBlock;
    let block: Block;
    let maxBytes = 0;
    // False for a block whose last instruction crosses into a page not mapped as when it was scanned.
    let crossed = true;
    // The jump cache is probed only when the memo misses: its tables are cold more often than not.
    const known = (prev !== null ? this.memoSuccessor(prev, eip) : null) ?? this.jumpCached(prev, eip);
    if (known !== null) {
      block = known;
      block.hits++;
    } else {
      const csLimit = cpu.segLimit[Seg.CS] >>> 0;
      if (eip >>> 0 > csLimit) cpu.raise(Vector.GP, 0);
      maxBytes = csLimit - (eip >>> 0) + 1;
      if (bits === 16 && 0x10000 - eip < maxBytes) maxBytes = 0x10000 - eip;
      const lin = (cpu.segBase[Seg.CS] + eip) | 0;
      const e = cpu.tlb[lin >>> 12];
      const phys =
        (e & cpu.readMask) === cpu.readWant ? ((e & ~0xfff) | (lin & 0xfff)) >>> 0 : cpu.translateOrFault(lin, false);
      let global = cpu.mmu.noteFetch(lin >>> 12);
      this.fetchLinear = lin;
      block = this.blocks.lookup(phys, bits, eip, maxBytes);
      if (block.crossPage >= 0) {
        // Its last instruction was decoded with the bytes of the page after: it runs only while the
        // next linear page maps there, and memos of it hold under the global epoch only if both
        // pages are global. Otherwise the records before that instruction run, and the run loop
        // fetches the instruction itself.
        const last = (lin + block.byteLength - 1) | 0;
        if (this.codePage(last >>> 12) === block.crossPage) {
          global = cpu.mmu.noteFetch(last >>> 12) && global;
        } else {
          crossed = false;
          if (block.count > 1 && limit > block.count - 1) limit = block.count - 1;
        }
      }
      // Only blocks the SBE cache holds (slot >= 0) are never reused for other code once dropped.
      if (crossed && block.slot >= 0 && block.count > 0) {
        // Read again: the translation may have flushed the TLB.
        const epochNow = cpu.fetchEpoch;
        const memoEpoch = global ? cpu.globalEpoch : epochNow;
        if (prev !== null) {
          prev.next = block;
          prev.nextIp = eip;
          prev.nextEpoch = memoEpoch;
        }
        const slot = jumpSlot(eip);
        this.jumpIp[slot] = eip;
        this.jumpEpoch[slot] = memoEpoch;
        this.jumpBlock[slot] = block;
      }
    }
    this.prevBlock = block.slot >= 0 && crossed ? block : null;
    this.stats.blocks++;
    const count = crossed || block.count > 1 ? block.count : 0;
    if (count === 0) {
      this.runSlow(eip, bits, maxBytes);
      return;
    }
    const n = count < limit ? count : limit;
    if (endsSensitive(block)) this.stats.sensitive++;
    const records = block.instructions;
    // The packed form is missing only on blocks a debugger made: their handlers are its own, it moves
    // their records (a trap record goes to each stop's IP), and the run loop compiles none of them.
    // A block packed before the arena started over is packed again.
    let packedAt = block.packedAt;
    if (packedAt >= 0 && block.packedGen !== this.records.gen)
      packedAt = this.records.pack(block, block.routines as Handler[], count);
    const delta = (eip - block.startIp) | 0;
    if (delta === 0 && n === count) {
      // A hot block runs in its page's generated function (region.ts).
      const code = this.currentCode(block);
      if (code !== null) {
        if (code.warmSlot < 0) {
          // A page function made for what the CPU is not now (flat segments, a privilege) waits,
          // interpreted.
          const flat = cpu.flatSegments;
          if (mayEnter(code as Region, cpu, flat)) {
            // Members run on from one to the next only under a flat CS limit: the run loop checks the
            // limit before each block, a region only at its branches.
            const chain = limit === 0x7fffffff && this.chainRegions && cpu.segLimit[Seg.CS] === -1;
            this.runRegions(code as Region, bits, chain, flat);
            return;
          }
        } else if (block.hits < this.threshold()) {
          this.runWarm(block, code as WarmBlock);
          return;
        }
      }
      if (packedAt >= 0 && (code === null || code.warmSlot >= 0)) {
        if (block.hits >= this.threshold()) this.compile(block, bits);
        else if (block.hits === this.warmThreshold && bits === 32) {
          this.queueWarm(block);
          // A batch that just compiled runs at once (tests rely on it to run every block compiled).
          const warm = block.compiled as WarmBlock | null;
          if (warm !== null) {
            this.runWarm(block, warm);
            return;
          }
        }
      }
    }
    const mask = bits === 16 ? 0xffff : -1;
    if (packedAt >= 0) {
      this.interpret(cpu, records, this.records.words, packedAt, n, delta, mask);
      if (
        !cpu.exitBlock &&
        delta === 0 &&
        n === count &&
        limit === 0x7fffffff &&
        this.chainRegions &&
        this.chainInterpreted
      ) {
        const region = this.interpretOn(block, mask);
        if (region !== null) this.runRegions(region, bits, cpu.segLimit[Seg.CS] === -1, cpu.flatSegments);
      }
      cpu.exitBlock = false;
      return;
    }
    const handlers = block.routines as Handler[];
    const st = cpu.st;
    let i = 0;
    try {
      for (; i < n; i++) {
        const ins = records[i];
        const start = (ins.rawIp + delta) & mask;
        cpu.insEip = start;
        st[0] = (start + ins.length) & mask;
        handlers[i](cpu, ins);
        if (cpu.exitBlock) {
          i++;
          break;
        }
      }
    } finally {
      cpu.instructions += i;
    }
    cpu.exitBlock = false;
  }

  /**
   * After the run loop interpreted `from` to its end: interprets the blocks that follow it, as long as
   * the successor memos know them and the run loop would interpret them too, without going back to
   * the run loop between them. Blocks of lukewarm code (run fewer times than a page function takes)
   * are short, and the run loop's checks and the interpreter's entry cost more than their records.
   * Between blocks it checks the budget; it stops after a block that ends with an instruction the run
   * loop must see (region.ts endsPassingOn), at a successor that was packed in an older arena
   * generation or is about to be compiled or queued for the warm tier, and when a record sets
   * `cpu.exitBlock`. A successor with a page function the run loop would enter ends the chain, which
   * returns that function for the caller to enter (runRegions): control passes from lukewarm code to
   * hot code and back all the time, and each time through the run loop cost a lookup of the block
   * again. EFLAGS.TF and the interrupt line, which the run loop also checks between blocks, are read
   * once: they change only at instructions after which the chain stops (POPF, IRET, STI and port I/O
   * do not pass on) or between runs (the devices' timers).
   *
   * A third of its samples (perf, second pass of the long steps) are at the first read of the next
   * block, whose object lukewarm code finds out of cache. Reading the memo successor of the block
   * about to be interpreted (its hit count and first packed word) before interpreting it, so that
   * the read would overlap the records, left the bench workload as it was (1.012x, four rounds in
   * turns, within the machine's drift). Reading the hit count of the block after the one about to be
   * interpreted, measured with each build bundled from its own sources: 1.003x (the forking loop
   * 0.995x, four rounds in turns).
   */
  private interpretOn(from: Block, mask: number): Region | null {
    const cpu = this.cpu;
    const records = this.records;
    let block = from;
    // Blocks entered, counted into the statistics once the chain ends (also by a fault).
    let chained = 0;
    // The page function the chain ends in, which the run loop would enter.
    let region: Region | null = null;
    if (cpu.trapFlag || this.interruptReady()) return null;
    try {
      while (endsPassingOn(block) && cpu.instructions < this.end) {
        const eip = cpu.eip;
        const next = this.memoSuccessor(block, eip) ?? this.jumpCached(block, eip);
        if (next === null || next.startIp !== eip || next.mode !== block.mode) return null;
        if (next.compiled !== null) {
          region = this.enterableRegion(next, cpu.flatSegments);
          if (region !== null) next.hits++;
          break;
        }
        if (!this.admits(next)) return null;
        block = next;
        chained++;
        // Records set `cpu.insEip` as they start.
        this.interpret(cpu, block.instructions, records.words, block.packedAt, block.count, 0, mask);
        if (cpu.exitBlock) return null;
      }
    } finally {
      if (chained > 0) {
        this.prevBlock = block;
        const stats = this.stats;
        stats.blocks += chained;
        stats.chainedBlocks += chained;
        if (endsSensitive(block)) stats.sensitive++;
      }
    }
    if (region !== null) {
      this.stats.blocks++;
      cpu.insEip = cpu.eip;
    }
    return region;
  }

  /** Block runs before a block at the CPU's privilege is compiled. */
  private threshold(): number {
    return this.cpu.cpl === 0 ? this.kernelThreshold : this.userThreshold;
  }

  /**
   * Whether the interpreter may run `next` on from the block before it without the run loop: it was
   * packed in the arena's current generation and is not due to be compiled or queued for the warm
   * tier (the run loop does that). Counts the run when it may.
   */
  private admits(next: Block): boolean {
    if (next.packedGen !== this.records.gen) return false;
    const hits = next.hits + 1;
    if (hits >= this.threshold() || hits === this.warmThreshold) return false;
    next.hits = hits;
    return true;
  }

  /**
   * The page function the run loop would enter at `block` (entered at its start) now, with the
   * segments flat or not (`flat`, Cpu.flatSegments): none for a block that has none or is in the warm
   * tier, or whose function was made for what the CPU is not now (flat segments, a privilege).
   */
  private enterableRegion(block: Block, flat: boolean): Region | null {
    const code = this.currentCode(block);
    if (code === null || code.warmSlot >= 0) return null;
    return mayEnter(code as Region, this.cpu, flat) ? (code as Region) : null;
  }

  /**
   * Compiles `hot` with the blocks of its page that ran at least a quarter as often and are in no
   * page function yet (regionMembers), taking them from the warm tier if they were there, and with
   * the hot blocks of other pages and the blocks of the page's older functions that they pass control
   * to (borrowedMembers), which stay where they are.
   */
  private compile(hot: Block, bits: 16 | 32): void {
    // Members ran at least a quarter of the user threshold, at either privilege. Members from a 32nd
    // (256 runs), so that a page's first function takes more of its blocks, measured and not kept:
    // the workload's steps 20.13 and 20.23 s against 20.74 and 19.97 s (gzip 1.34 and 1.29 s against
    // 1.06 and 1.08 s); from 32 runs, 21.31 and 21.41 s (two rounds in turns).
    const warm = this.userThreshold >>> 2;
    const page = this.blocks.pageBlocks(hot);
    const members = regionMembers(hot, page, warm);
    const borrowed = this.borrowBlocks ? borrowedMembers(members, page, this.userThreshold, warm) : [];
    const all = borrowed.length === 0 ? members : [...members, ...borrowed];
    const region = compileRegion(
      all,
      bits,
      this.cpu,
      this.inlineRecords,
      bits === 32 && this.cpu.flatSegments,
      this.cpu.cpl >= this.nestedLayoutCpl,
    );
    region.drops = this.blocks.drops;
    this.stats.borrowedBlocks += borrowed.length;
    members.forEach((b, k) => {
      if (b.compiled === null) this.stats.compiledBlocks++;
      b.compiled = region;
      b.compiledIndex = k;
    });
    this.stats.regions++;
  }

  /** Queues `block` for the warm tier; a full queue compiles. */
  private queueWarm(block: Block): void {
    // The warm tier does not check the page a crossing instruction reaches into.
    if (block.slot < 0 || block.compiled !== null || block.crossPage >= 0) return;
    if (this.warmQueue.length === 0) this.warmSince = this.cpu.instructions;
    this.warmQueue.push(block);
    if (this.warmQueue.length >= this.warmBatch) this.compileWarm();
  }

  /** Compiles the queued blocks that are still valid and in no region into one WebAssembly module. */
  private compileWarm(): void {
    const blocks = this.warmQueue.filter((b) => b.valid && b.compiled === null);
    this.warmQueue = [];
    if (blocks.length === 0) return;
    this.warm ??= new WarmTier(this.cpu);
    const batch = this.warm.compile(blocks, this.warmFallbacks);
    const drops = this.blocks.drops;
    let compiled = 0;
    batch.compiled.forEach((warm, i) => {
      if (warm === null) return;
      warm.drops = drops;
      (blocks[i] as Block).compiled = warm;
      compiled++;
    });
    this.stats.warmBlocks += compiled;
    this.stats.warmModules++;
    this.stats.warmRecords += batch.records;
    this.stats.warmInlined += batch.inlined;
  }

  /**
   * The block `prev` remembers at `eip`, while the translation it was found under holds (or the TLB
   * still maps EIP to it, see stillMapped) and the block is valid; otherwise null.
   */
  private memoSuccessor(prev: Block, eip: number): Block | null {
    const next = prev.next;
    if (prev.nextIp !== eip || next === null) return null;
    const epoch = this.heldEpoch(next, eip, prev.nextEpoch);
    if (epoch < 0) return null;
    prev.nextEpoch = epoch;
    return next;
  }

  /**
   * The epoch a memo of `block` at `eip` made in epoch `memo` holds under now: `memo` while it is
   * current, the epoch stillMapped gives when the TLB still maps EIP to the block, else -1; always -1
   * for a block that is no longer valid.
   */
  private heldEpoch(block: Block, eip: number, memo: number): number {
    // The epoch before the block's validity: finding the epoch may start epochs again, which drops
    // every block.
    const current = memo === this.cpu.fetchEpoch || memo === this.cpu.globalEpoch;
    if (!block.valid) return -1;
    return current ? memo : this.stillMapped(block, eip, memo);
  }

  /**
   * The block the jump cache holds at `eip`, while the translation it was found under holds (or the
   * TLB still maps EIP to it, see stillMapped) and the block is valid, which becomes the successor
   * memo of `prev`; otherwise null. Memos of code on global pages carry the global epoch, the others
   * the epoch.
   */
  private jumpCached(prev: Block | null, eip: number): Block | null {
    const slot = jumpSlot(eip);
    const block = this.jumpBlock[slot] as Block | null;
    if (this.jumpIp[slot] !== eip || block === null) return null;
    const memo = this.heldEpoch(block, eip, this.jumpEpoch[slot] as number);
    if (memo < 0) return null;
    this.jumpEpoch[slot] = memo;
    if (prev !== null) {
      prev.next = block;
      prev.nextIp = eip;
      prev.nextEpoch = memo;
    }
    return block;
  }

  /**
   * For a memo made in an earlier fetch epoch (`memo`): whether the TLB maps CS:`eip` to `block`
   * now, with the access the CPL needs, as the run loop's lookup would find it (flat 32-bit code, a
   * block within one page, scanned at this IP). Returns the epoch to memo it under (the global epoch
   * for a global page), noting the fetch as the lookup does (an INVLPG of the page then starts a new
   * epoch), or -1; always -1 for a memo older than Cpu.memoFloor. Each CR3 load starts a new epoch,
   * after which every memo would otherwise cost a lookup: on the bench workload's forking loop, 3.5
   * million of them, most for code at the same place in each new process.
   */
  private stillMapped(block: Block, eip: number, memo: number): number {
    const cpu = this.cpu;
    if (memo < cpu.memoFloor) return -1;
    if (block.startIp !== eip || block.crossPage >= 0 || block.mode !== CodeMode.Bits32) return -1;
    if (cpu.segLimit[Seg.CS] !== -1 || cpu.codeBits !== 32) return -1;
    const lin = (cpu.segBase[Seg.CS] + eip) | 0;
    const e = cpu.tlb[lin >>> 12] as number;
    if ((e & cpu.readMask) !== cpu.readWant || ((e & ~0xfff) | (lin & 0xfff)) >>> 0 !== block.physAddr) return -1;
    const epoch = cpu.fetchEpoch;
    return cpu.mmu.noteFetch(lin >>> 12) ? cpu.globalEpoch : epoch;
  }

  /** The code compiled for `block`, when all its members are still there. */
  private currentCode(block: Block): CompiledCode | null {
    const code = block.compiled as CompiledCode | null;
    return code !== null && (code.drops === this.blocks.drops || this.stillValid(code)) ? code : null;
  }

  /** After blocks were dropped: whether every member of `code` is still there (if not, it goes). */
  private stillValid(code: CompiledCode): boolean {
    const members = code.members;
    for (const b of members) {
      if (b.valid) continue;
      for (const m of members) if (m.compiled === code) m.compiled = null;
      this.warm?.release(code);
      return false;
    }
    code.drops = this.blocks.drops;
    return true;
  }

  /**
   * Runs a region from the member at EIP: with `chain`, on from member to member and on into the
   * regions that follow until the budget is spent (the last block may overrun it by a few), else one
   * member. `flat` is Cpu.flatSegments, which holds until the run returns (Region.flat). On a fault,
   * counts the records of the faulting block before it.
   *
   * A hand-off is on the path of most guest calls and returns (79% of the regions on the default
   * guest's workload end with a jump to another page), so it keeps to small integers: the budget
   * goes from one region to the next in `cpu.regionLeft` (a stop request sets `cpu.exitBlock`).
   * What a link depends on stays as it is while control passes on from region to region: the epochs
   * and the drop count change only where a member ends the run (a CR3 load, a TLB flush and any other
   * privileged instruction return from the region; a write into code requests an exit), and the
   * privilege and segments only at instructions that return too; so they are read once, when the
   * first hand-off comes, with the interrupt line: the line (port I/O, the devices' timers between
   * runs) and EFLAGS.IF (STI, POPF, IRET) change only at instructions that return from the region, as
   * between the members of one region.
   *
   * Where a hand-off's time goes, measured on the second pass of the bench workload's long steps
   * (about 84 million hand-offs, perf on the main thread): this loop takes 13 % of the samples and
   * the generic call builtins it enters page functions through another 5 %; its samples gather at the
   * first loads after a function returns and before the call (the next function's `run`). With the
   * links' stamps in an Int32Array per function, 22 % of this loop's samples on the sort step waited
   * on two dependent loads, the typed array's header and then its elements, which lie apart from the
   * function's objects; with each link an object of its own (HandOff), made with the function, the
   * workload ran 1.031x as fast (sort 1.078x, the awk sum 1.043x; four rounds in turns, every round
   * faster). One object per member with both its links, which the page function names as a
   * constant and leaves in the Cpu as it returns, so that this loop reaches it with one load instead
   * of through the function's array: the workload 0.988x (the forking loop 1.043x, sort 0.932x), the
   * boot 0.963x. Each link holding its target's `run` and links as well, so that a hand-off reads
   * the link and not the target's object: the workload 1.005x (sort 1.030x, the forking loop 0.975x),
   * the boot 1.010x, within what two identical builds give. Loading the stamps of the function about
   * to run before entering it (0.965x) and one engine-wide table of links keyed by EIP (six long
   * steps, 23.2-23.8 s against 22.8-22.9 s) were measured before each build compared was bundled
   * from its own sources. Page functions that
   * followed their own links and called the next one themselves (the link test in generated code, a
   * call site per member so that V8 calls the target directly, this loop only every 16 nested
   * hand-offs) moved the time rather than saving it: on the sort step this loop fell from 14.8 % of
   * the samples to 1.8 % and the generic call builtins from 5.5 % to 2.4 %, while the page functions
   * rose from 48 % to 61 %; the workload ran at 0.734x the speed (gzip 0.632x, the awk generator
   * 0.666x; four rounds in turns, each build bundled from its own sources). What a hand-off
   * costs is mostly leaving one function and entering the next: the state written back and loaded
   * again, the frame, the dispatch to the member. Calling the page functions from two call sites in
   * turns, so that the processor predicts the target of each from a history of its own, changed
   * nothing measurable (two rounds in turns: sort 4.46 and 4.33 s against 4.38 and 4.59 s, the awk
   * sum 1.90 and 1.90 s against 1.84 and 1.78 s). The links' stamps in one Int32Array for all page
   * functions instead (eight words a link, a member's two links in one cache line, the function's
   * first link's index in the Region, the targets in an array beside it): the workload 1.012x (sort
   * 0.963x, shell arithmetic 1.035x, the forking loop 1.05x; four rounds in turns), and this loop's
   * share of the awk sum's samples as before (20.3 % against 19.9 %): its samples moved to other
   * loads. A micro-benchmark of bare hand-offs between generated functions that load and store 14
   * state words, through a loop like this one or through call_indirect in a WebAssembly loop over
   * WebAssembly functions: 8-9 ns against 6-7 ns. What the workload's hand-offs cost beyond that
   * (28-34 ns) comes with the size of the code and data they reach, not with the way they are made.
   *
   * What the hand-offs are, by the last instruction of the member that left (first pass): of sort's
   * 34.4 million, returns to another page 42 %, calls into another page 21 %, conditional jumps to
   * another function of the same page 20 % (to a newer one about as often as to an older one), jumps
   * and conditional jumps to another page 11 %; of shell arithmetic's 18.4 million, returns 40 %,
   * conditional jumps within the page 33 %, calls 18 %. Calls run in place, measured and not kept:
   * a member whose call goes to another page and returns to a member wrote the state back and
   * called a runner that followed the member's link to the callee's function and handed control on
   * as this loop does until control came back to the return address with ESP above it, up to eight
   * calls deep; the caller then loaded the state again and went on without leaving (7.6 million
   * calls over the workload, the outputs as before). The steps ran at 0.94-0.98x the speed (sort
   * 0.95x, the awk sum 0.94x, shell arithmetic 0.96x; four rounds in turns; with the runner compiled
   * in but off, as fast as without it: sort 4.16 and 4.15 s against 4.50 and 4.54 s with it on): a
   * call still leaves one function and enters another, and writes the state back and loads it again,
   * on both sides, and the runner's checks and the callers' larger functions cost more than the
   * loop's turns they saved.
   */
  private runRegion(region: Region, bits: 16 | 32, chain: boolean, flat: boolean): void {
    const cpu = this.cpu;
    const before = cpu.instructions;
    // The statistics count executed instructions: a PAUSE's stall is time (a PAUSE ends the run).
    const executedBefore = cpu.executed;
    let handoffs = 0;
    // Control passes on only after one member unless the run chains; a budget past 2^30 records (not a
    // small integer) is given in parts, and the run loop starts the next part.
    let left = 1;
    if (chain) {
      const budget = this.end - before;
      left = (budget < BUDGET_PART ? budget : BUDGET_PART) | 0;
    }
    // What a link must have been made under, read at the first hand-off.
    let known = false;
    let fetchEpoch = 0;
    let globalEpoch = 0;
    let drops = 0;
    let entry = 0;
    // The member control enters at: found by EIP at first, then named by the link followed.
    let member = -1;
    const st = cpu.st;
    try {
      for (;;) {
        const last = region.run(cpu, left, member);
        if (last !== 0) {
          // Not `cpu.instructions += region.run(...)`: that would read the count before the members
          // the region passed through added theirs.
          cpu.instructions += last;
          break;
        }
        if (!chain) break;
        left = cpu.regionLeft;
        if (left <= 0 || cpu.exitBlock) break;
        if (!known) {
          if (this.interruptReady()) break;
          // The epoch before the drop count: finding the epoch may start epochs again, which drops
          // every block.
          fetchEpoch = cpu.fetchEpoch;
          globalEpoch = cpu.globalEpoch;
          drops = this.blocks.drops | 0;
          entry = linkEntryKey(cpu, flat);
          known = true;
        }
        const at = cpu.regionAt;
        const eip = st[ST_EIP] as number;
        const way = at * Links.WAYS;
        const links = region.links;
        let next: Region | null;
        let link = links[way] as HandOff;
        if (linkHolds(link, eip, drops, entry, fetchEpoch, globalEpoch)) {
          next = link.to as Region;
        } else if (linkHolds((link = links[way + 1] as HandOff), eip, drops, entry, fetchEpoch, globalEpoch)) {
          next = link.to as Region;
        } else {
          next = this.relink(region, at, eip, flat, drops, entry);
          if (next === null) break;
          link = links[way] as HandOff;
        }
        member = link.member;
        cpu.insEip = eip;
        handoffs++;
        region = next;
      }
    } catch (e) {
      cpu.instructions += recordsBefore(region.members[cpu.regionAt] as Block, cpu.insEip, bits);
      throw e;
    } finally {
      const stats = this.stats;
      stats.regionInstructions += cpu.executed - executedBefore;
      stats.blocks += handoffs;
      stats.regionHandoffs += handoffs;
    }
    const last = region.members[cpu.regionAt] as Block;
    this.prevBlock = last.slot >= 0 ? last : null;
    cpu.exitBlock = false;
  }

  /**
   * Runs `region` (runRegion), and on while control passes between page functions and interpreted
   * blocks without the run loop: into the block a hand-off found without a page function
   * (interpretAfterRegion) and the blocks that follow it, and into the page function a chain of them
   * ends in (interpretOn), until the budget is spent or either must go back to the run loop.
   */
  private runRegions(region: Region, bits: 16 | 32, chain: boolean, flat: boolean): void {
    const cpu = this.cpu;
    for (;;) {
      this.runRegion(region, bits, chain, flat);
      const block = this.leftFor;
      if (block === null) return;
      this.leftFor = null;
      const next = this.interpretAfterRegion(block);
      if (next === null) return;
      region = next;
      bits = 32;
      chain = cpu.segLimit[Seg.CS] === -1;
      flat = cpu.flatSegments;
    }
  }

  /**
   * After a hand-off found that the block control went to has no page function (Engine.relink):
   * interprets it, and on into the blocks that follow (interpretOn), as the run loop would, which
   * would look it up again first; leaves it to the run loop when it is due to be compiled or queued
   * for the warm tier or was packed in an older arena generation (admits). The run loop's checks
   * between blocks hold as they do at a hand-off (runRegion). Returns the page function the chain
   * ended in, to be entered next, or null.
   */
  private interpretAfterRegion(block: Block): Region | null {
    if (!this.chainInterpreted || block.mode !== CodeMode.Bits32 || !this.admits(block)) return null;
    this.prevBlock = block;
    this.stats.blocks++;
    if (endsSensitive(block)) this.stats.sensitive++;
    const cpu = this.cpu;
    this.interpret(cpu, block.instructions, this.records.words, block.packedAt, block.count, 0, -1);
    const region = cpu.exitBlock ? null : this.interpretOn(block, -1);
    cpu.exitBlock = false;
    return region;
  }

  /**
   * The page function the run loop would run after member `at` of `region` left it for `eip`, found
   * through the member's successor memo or the jump cache, and made the member's hand-off link; or
   * null when the run loop must look: neither knows the block at EIP (a return or an indirect jump to
   * a target the memo does not hold finds it in the jump cache), or the successor's page function was
   * made for flat segments while they are not (`flat`, Cpu.flatSegments) or for the TLB masks of
   * another privilege. A link holds while the EIP, the fetch epoch its memo was made in (or the
   * global epoch), the drop count (`drops`) and the entry key (`entry`, linkEntryKey) are the same
   * (linkHolds); the new link is the member's first, the one that was first its second.
   * runRegion counts a hand-off as a block the run loop ran. A successor that has no page function is
   * left in `leftFor`, for runRegions to interpret once the region returned.
   */
  private relink(region: Region, at: number, eip: number, flat: boolean, drops: number, entry: number): Region | null {
    const last = region.members[at] as Block;
    const block = this.memoSuccessor(last, eip) ?? this.jumpCached(last, eip);
    if (block === null || block.startIp !== eip) return null;
    const next = this.enterableRegion(block, flat);
    if (next === null) {
      // A block with no page function (currentCode forgets one whose members were dropped) is
      // interpreted next.
      if (block.compiled === null) this.leftFor = block;
      return null;
    }
    // The new link is the member's first; the first becomes its second, whose object it reuses.
    const way = at * Links.WAYS;
    const links = region.links;
    const link = links[way + 1] as HandOff;
    links[way + 1] = links[way] as HandOff;
    links[way] = link;
    link.eip = eip;
    link.epoch = last.nextEpoch;
    link.drops = drops;
    link.entry = entry;
    link.to = next;
    // The block's index among the function's members (compile); -1, found by EIP, should it not be.
    const k = block.compiledIndex;
    link.member = next.members[k] === block ? k : -1;
    block.hits++;
    this.stats.regionRelinks++;
    return next;
  }

  /**
   * Runs a warm-tier block (entered at its start, to its end). On a fault, counts the records before
   * the faulting one, as the interpreter would have.
   */
  private runWarm(block: Block, warm: WarmBlock): void {
    const cpu = this.cpu;
    let done: number;
    try {
      done = (this.warm as WarmTier).run(warm.warmSlot);
    } catch (e) {
      const before = recordsBefore(block, cpu.insEip, 32);
      cpu.instructions += before;
      this.stats.warmInstructions += before;
      throw e;
    }
    cpu.instructions += done;
    this.stats.warmInstructions += done;
    if (done === block.count) cpu.insEip = warm.lastIp;
    this.prevBlock = block;
    cpu.exitBlock = false;
  }

  /**
   * Fetches and runs one instruction that the block source could not hold: it crosses into the next
   * page (fetched through the TLB, so a fault names the right address) or runs past the CS limit.
   */
  private runSlow(eip: number, bits: 16 | 32, maxBytes: number): void {
    const cpu = this.cpu;
    this.stats.slowFetches++;
    const fetch = this.crossPage;
    const status = fetch.fetch(cpu, eip, bits, maxBytes);
    if (status === DecodeStatus.NeedMoreBytes) cpu.raise(Vector.GP, 0);
    const ins = fetch.decoded;
    cpu.insEip = eip;
    cpu.eip = bits === 16 ? (eip + ins.length) & 0xffff : (eip + ins.length) | 0;
    if (status !== DecodeStatus.Ok) badInstruction(cpu, status);
    HANDLERS[ins.code](cpu, ins);
    cpu.instructions++;
    cpu.exitBlock = false;
  }
}

/** Whether `block` ends with a sensitive or privileged instruction (counted in EngineStats.sensitive). */
function endsSensitive(block: Block): boolean {
  return block.endReason === BlockEnd.Sensitive || block.endReason === BlockEnd.Privileged;
}

/** The jump cache's entry for `eip`. */
function jumpSlot(eip: number): number {
  return (eip ^ (eip >>> 12)) & (JUMP_CACHE_SIZE - 1);
}

/** Records of `block` (entered at its start) before the one at `insEip`: those a fault lets count. */
function recordsBefore(block: Block, insEip: number, bits: 16 | 32): number {
  const records = block.instructions;
  const mask = bits === 16 ? 0xffff : -1;
  let done = 0;
  while (done < block.count && (((records[done] as Instruction).rawIp ^ insEip) & mask) !== 0) done++;
  return done;
}

/** #UD for an undefined encoding, #GP(0) for one longer than 15 bytes. */
function badInstruction(cpu: Cpu, status: DecodeStatus): void {
  if (status === DecodeStatus.TooLong) cpu.raise(Vector.GP, 0);
  cpu.raiseNoCode(Vector.UD);
}

const tooLong: Handler = (cpu) => cpu.raise(Vector.GP, 0);

/** The handler for a decoded record: the table's, or #UD/#GP(0) for a record that did not decode. */
export const resolveHandler: HandlerResolver = (ins, status) => {
  if (status === DecodeStatus.TooLong) return tooLong;
  if (status !== DecodeStatus.Ok) return undefinedOpcode;
  return fastHandler(ins) ?? HANDLERS[ins.code];
};

/** Like resolveHandler but never picks a specialised handler (for differential tests). */
export const resolveGenericHandler: HandlerResolver = (ins, status) => {
  if (status === DecodeStatus.TooLong) return tooLong;
  if (status !== DecodeStatus.Ok) return undefinedOpcode;
  return HANDLERS[ins.code];
};

/** Delivers an external interrupt; a fault during delivery follows the exception rules. */
function deliverExternal(cpu: Cpu, vector: number): void {
  try {
    deliverInterrupt(cpu, vector, IntSource.EXTERNAL, false, 0);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    const second = cpu.faultVector;
    deliverException(cpu, second, hasErrorCode(second), cpu.faultCode);
  }
}
