import type { Instruction } from '../decoder/instruction.js';
import type { CodeMode } from './constants.js';

/**
 * Why a block ends. The first group names the block's last instruction, which is part of the block; the
 * second group means the block stops before an instruction it does not contain, which the CPU fetches
 * and decodes the slow way (or, for a breakpoint, reports to the debugger first).
 */
export enum BlockEnd {
  /** The last instruction transfers control (jump, call, return, interrupt, HLT, UD2, ...). */
  ControlTransfer = 0,
  /** The last instruction is sensitive: the monitor decides, with the live CPL/IOPL/VM, how it runs. */
  Sensitive,
  /** The last instruction is privileged (CPL 0 only); the monitor emulates it or raises #GP. */
  Privileged,
  /** The last instruction is serializing: what follows may depend on state it changes. */
  Serializing,
  /** The last record is an undefined encoding: executing it raises #UD. */
  Invalid,
  /** The last record is longer than 15 bytes: executing it raises #GP(0). */
  TooLong,
  /** The page ends after the last instruction (which may cross into the next page, see `crossPage`). */
  PageEnd,
  /** The block reached its instruction limit; keeps the time between interrupt checks bounded. */
  Limit,
  /** The next instruction has a debugger breakpoint. A block that starts at one is empty. */
  Breakpoint = 100,
  /**
   * The next instruction crosses into a page that cannot be fetched (outside memory, unmapped, or the
   * cache was made without a next-page resolver).
   */
  NextPageUnavailable,
  /** The next instruction would run past the top of the IP range (64 KiB for 16-bit code). */
  IpWrap,
}

/**
 * A run of pre-decoded instructions that starts at one physical address and runs straight on; the unit
 * the fast path executes and a later JIT compiles.
 *
 * The CPU runs `instructions[0 .. count-1]`, each at its recorded `ip`, and then looks at `endReason`.
 * Records hold absolute IPs and branch targets for `startIp`; a CPU entering the block with another IP
 * (the same physical code at a different linear address or CS base) adds `eip - startIp` to them, and
 * checks that the block fits under its CS limit.
 *
 * After any instruction that writes memory (`writesMemory` tells whether the block has one), the CPU
 * checks `valid`: a write that hit this block's bytes (self-modifying code) turns it false, and the CPU
 * must then stop after the current instruction and look up the next IP again, which rescans the new
 * bytes. Once `valid` is false, the records stay readable until the next lookup, which may reuse them.
 */
export class Block {
  // The fields a run loop reads for every block come first: V8 lays fields out in this order, so
  // they share the object's first two cache lines. (`mode` among them and `slot` after
  // `instructions`, for the interpreter's chain: the bench workload 0.988x, four rounds in turns.)

  /** False once the block was dropped (written over, evicted, flushed or breakpointed). */
  valid = true;
  /** Lookups that returned this block: the hotness a JIT uses to pick what to compile. */
  hits = 0;
  /** Index of the block in its scanned page's block table (bookkeeping of the cache). */
  slot = -1;
  /** Instructions in the block: the first `count` of `instructions`. */
  count = 0;
  /**
   * IP the block was scanned for (the `ip` of `instructions[0]`), as a signed 32-bit integer
   * (`ip | 0`): V8 keeps such a field unboxed, so a run loop reads it without another load.
   */
  startIp = 0;
  endReason: BlockEnd = BlockEnd.ControlTransfer;
  /**
   * Where the executor's compact copy of the records starts (e.g. in an arena of typed words), and
   * the arena's generation then; opaque here. -1: no copy (dropped with the block).
   */
  packedAt = -1;
  packedGen = -1;
  /** Slot for a compiled form of the whole block (e.g. a JavaScript function); opaque here, dropped with the block. */
  compiled: unknown = null;
  /**
   * A successor memo for the run loop: the block it found at IP `nextIp` after this one, while its
   * address-translation state was `nextEpoch`. Opaque here; a dropped block is never revived, so
   * `valid` tells whether the memo may still be used.
   */
  next: Block | null = null;
  nextIp = 0;
  nextEpoch = -1;
  /** Pre-decoded instructions; only the first `count` belong to the block. */
  instructions: Instruction[] = [];
  /** Slot for the executor's routine per instruction; opaque here, dropped with the block. */
  routines: unknown = null;
  /** Guest-physical address of the first byte. */
  physAddr = 0;
  /** Mode the bytes were decoded in. */
  mode: CodeMode = 0;
  /** Bytes covered, counted from `physAddr`; any beyond the end of the start page lie in `crossPage`. */
  byteLength = 0;
  /** Physical page that holds the bytes of an instruction crossing the page end, or -1. */
  crossPage = -1;
  /** Some instruction of the block writes memory, so the CPU must watch `valid`. */
  writesMemory = false;
  /** 128-byte chunks of the start page that the block covers (bit n = bytes n*128 .. n*128+127). */
  startMask = 0;
  /** Chunks of `crossPage` that the block covers. */
  crossMask = 0;
  /**
   * The block's place in its compiled form (e.g. among blocks compiled together); opaque here. Read
   * only when control enters that form through a link it has not followed before, so it comes last.
   */
  compiledIndex = -1;
}
