/**
 * The code of a hot block inside a generated function (region.ts puts the hot blocks of a page
 * together). Records whose form has a template (fast.ts) and whose handler is that template's are
 * inlined as straight-line code with their registers, immediates, displacements and branch targets
 * as literals; every other record calls its handler as the interpreter would.
 *
 * What the run loop relies on is kept at every point where it can be observed:
 * - `cpu.insEip` holds the start of the record that is running before anything that can fault, so
 *   a fault restarts the right instruction and the run loop counts the records before it;
 * - `st[0]` (EIP) holds the next record's IP before a handler runs, when the block returns early and
 *   when it ends (register-only records in between do not need it);
 * - `cpu.exitBlock` is tested after every handler and every record that writes memory (a write into a
 *   code page drops the block through the block source's invalidation, which requests an exit); an
 *   exit a read requests waits for the block's end (fast.ts WRITES).
 * A conditional jump after an inlined ADD, SUB/CMP or logic operation (with only flag-preserving
 * inlined records in between) tests the operands and result in the state words directly.
 */

import type { Instruction } from '@plex86/x86';
import {
  Effect,
  fastHandler,
  flagUse,
  inlineCode,
  selectParts,
  type BranchParts,
  type FlagSource,
} from '../cpu/exec/fast.js';
import type { Handler } from '../cpu/exec/table.js';
import { LazyKind } from '../cpu/flags.js';

/** Generated source of a block's body and how many records it inlined. */
export interface BlockSource {
  source: string;
  inlined: number;
  /**
   * With BodyContext.splitBranch, the parts of the conditional jump that ends the block, whose code
   * is then left out of `source` for the caller to write (EIP is the target or the next IP).
   */
  branch?: BranchParts;
}

/** Where a block's body finds its handlers and records, and how it leaves early. */
export interface BodyContext {
  /** Index of the block's first handler and record in the function's `h` and `r` arrays. */
  readonly base: number;
  /** The statement that leaves after `done` of the block's records completed (the block ends early). */
  readonly leave: (done: number) => string;
  /** The code runs only while the CPU's segments are flat (Cpu.flatSegments; fast.ts Operands.flat). */
  readonly flat: boolean;
  /** Code before each call of a handler (a page function brings the instruction count up to date). */
  readonly beforeCall?: string;
  /** Code after each call of a handler. */
  readonly afterCall?: string;
  /**
   * A conditional jump of flat code that ends the block is left to the caller (BlockSource.branch):
   * a page function then sets EIP and its next member on each path, instead of testing EIP again.
   */
  readonly splitBranch?: boolean;
}

/**
 * Generated code's test of `cpu.exitBlock`. V8 tracks no field type for a boolean field, so a bare
 * `if (cpu.exitBlock)` becomes a full ToBoolean (seven comparisons, with null, the empty string,
 * numbers and BigInts) after every memory access and handler call; a comparison with `true` is one.
 * Measured on the sort step of the bench workload: 9.0 s a round before, 7.65 s after.
 */
export const EXIT_REQUESTED = 'cpu.exitBlock === true';

const SINGLE_BLOCK: BodyContext = { base: 0, leave: (done) => `return ${done};`, flat: false };

/**
 * The body of a block entered at its own start IP (`bits` is the code size), up to its end: the
 * caller decides what follows the last record. With `inline` false every record calls its handler
 * (the form the interpreter's handlers give).
 */
export function blockSource(
  handlers: readonly Handler[],
  records: readonly Instruction[],
  count: number,
  bits: 16 | 32,
  inline = true,
  context: BodyContext = SINGLE_BLOCK,
): BlockSource {
  const mask = bits === 16 ? 0xffff : -1;
  const { base, leave, flat, beforeCall = '', afterCall = '', splitBranch = false } = context;
  let body = '';
  let inlined = 0;
  // The value insEip is known to hold: the caller sets it to the block's start before the body.
  let insEip = count > 0 ? records[0].ip & mask : 0;
  // The lazy-flag state the records so far leave, when generated code knows it (for Jcc).
  let flags: FlagSource | undefined;
  const dead = inline ? deadFlags(handlers, records, count) : [];
  for (let i = 0; i < count; i++) {
    const ins = records[i];
    const start = ins.ip & mask;
    const next = (start + ins.length) & mask;
    const last = i === count - 1;
    const inl =
      inline && handlers[i] === fastHandler(ins) ? inlineCode(ins, next, flags, flat, dead[i] === true) : undefined;
    if (inl === undefined) {
      flags = undefined;
      if (insEip !== start) body += `cpu.insEip = ${start}; `;
      body += `st[0] = ${next}; ${beforeCall}h[${base + i}](cpu, r[${base + i}]);${afterCall}`;
      body += last ? '\n' : ` if (${EXIT_REQUESTED}) ${leave(i + 1)}\n`;
      insEip = start;
      continue;
    }
    inlined++;
    if (inl.flags !== 'keeps') flags = inl.flags === 'changes' ? undefined : inl.flags;
    const effect = inl.effect;
    // Set the faulting EIP where it matters, and for the last record so that the block leaves it as
    // the interpreter does.
    if (((effect & Effect.FAULTS) !== 0 || last) && insEip !== start) {
      body += `cpu.insEip = ${start}; `;
      insEip = start;
    }
    const branch = last && splitBranch && flat ? selectParts(inl.code) : undefined;
    if (branch !== undefined) return { source: body, inlined, branch };
    // A branch writes EIP only when taken (CALL also pushes it as the return address); a record that
    // is last leaves its successor in EIP. A conditional jump of flat code writes EIP either way
    // (fast.ts selectCode); the store before it then goes to a local of the page function
    // (state-locals.ts), which V8 drops as a dead store.
    if ((effect & Effect.BRANCH) !== 0 || last) body += `st[0] = ${next}; `;
    body += `{ ${inl.code.replace(/\s*\n\s*/g, ' ')} }`;
    if ((effect & Effect.EXITS) !== 0 && !last) body += ` if (${EXIT_REQUESTED}) { st[0] = ${next}; ${leave(i + 1)} }`;
    body += '\n';
  }
  return { source: body, inlined };
}

/**
 * Which of a block's records leave arithmetic flags that nothing can read: a later record of the
 * block sets them all (an inlined ADD, SUB, CMP or logic operation of registers, which leaves every
 * status flag in the lazy words) and the inlined records between neither read the flags nor can
 * fault, jump or call a handler, so that the flags are exact wherever they can be observed (a fault,
 * a handler, the block's end). Shifts and rotates then skip their CF and OF: in a register rotate
 * those were ten times the work of the rotate itself. SHA-256's rounds are mostly rotates and XORs:
 * sha256sum of 3 MB in the guest took 0.44 s instead of 0.54 s once its code was compiled (one run
 * each, back to back on a quiet machine); the bench workload, whose checksum steps are short, took
 * as long as before (1.003x, four rounds in turns).
 */
export function deadFlags(handlers: readonly Handler[], records: readonly Instruction[], count: number): boolean[] {
  const dead = new Array<boolean>(count).fill(false);
  // Walking back: whether the flags are set again before anything can read them.
  let overwritten = false;
  for (let i = count - 1; i >= 0; i--) {
    dead[i] = overwritten;
    const ins = records[i] as Instruction;
    const use = handlers[i] === fastHandler(ins) ? flagUse(ins) : undefined;
    if (use === undefined || use.effect !== Effect.NONE || use.readsFlags) overwritten = false;
    else if (typeof use.flags === 'object' && setsAll(use.flags)) overwritten = true;
    else if (use.flags !== 'keeps') overwritten = false;
  }
  return dead;
}

/** Whether a record that leaves `source` sets every status flag without reading one. */
function setsAll(source: FlagSource): boolean {
  const kind = source.kind;
  return source.keepsCf !== true && (kind === LazyKind.ADD || kind === LazyKind.SUB || kind === LazyKind.LOGIC);
}
