/**
 * The warm tier: blocks of 32-bit code that ran often, but not yet often enough for a page function
 * (region.ts), compiled to WebAssembly. WebAssembly compiles in microseconds where a JavaScript
 * page function costs V8 milliseconds, so this tier can start early.
 *
 * A block becomes one function on the machine memory (memory/machine-memory.ts). ALU, TEST, MOV,
 * LEA, MOVZX/MOVSX, NOT, PUSH, POP, CALL, RET, JMP and a Jcc fused with the ALU record before it are
 * WebAssembly code. A memory operand takes the fast path cpu.ts takes for it (per-module address
 * helpers check the same conditions); when that path does not apply, the record's handler runs, and
 * faults, writes into code and branches beyond the CS limit are its business. Records without
 * WebAssembly code call their handlers. A handler call sets `insEip` and EIP as the interpreter does
 * and reports `exitBlock`, so the run loop's invariants hold wherever they can be observed.
 *
 * Blocks compile in batches, one module per batch (instantiating a module costs about 0.1 ms
 * whatever its size), and the run loop reaches them all through one dispatcher (WarmTier).
 */

import { OpKind, Register, type Block, type Instruction } from '@plex86/x86';
import { Attr, SegAccess, ST_EIP, ST_LAZY, ST_OPA, ST_OPB, ST_RES, type Cpu } from '../../cpu/cpu.js';
import { MACHINE_LAYOUT } from '../../memory/machine-memory.js';
import { REG8_OFFSET, Seg } from '../../cpu/registers.js';
import { CC, fastFlagEffect, fastHandler } from '../../cpu/exec/fast.js';
import { codeNamed, type Handler } from '../../cpu/exec/table.js';
import { LazyKind, lazyWord } from '../../cpu/flags.js';
import type { CompiledCode } from '../region.js';
import { FunctionBody, ModuleBuilder, Op } from './encoder.js';

/** Locals of a block function: operands and result of an ALU record, and the physical address of an access. */
const A = 0;
const B = 1;
const RES = 2;
const PHYS = 3;
const LOCALS = 4;

const L = MACHINE_LAYOUT;
const reg32 = (r: Register): number => L.regs + (r - Register.EAX) * 4;
const reg16 = (r: Register): number => L.regs + (r - Register.AX) * 4;
const reg8 = (r: Register): number => L.regs + (REG8_OFFSET[r - Register.AL] as number);
const state = (word: number): number => L.state + word * 4;

/** Pushes a 32-bit register. */
function load32(f: FunctionBody, r: Register): void {
  f.i32(0).memory(Op.I32Load, reg32(r));
}

/** Stores the value `value` leaves on the stack into a 32-bit register. */
function store32(f: FunctionBody, r: Register, value: () => void): void {
  f.i32(0);
  value();
  f.memory(Op.I32Store, reg32(r));
}

function storeState(f: FunctionBody, word: number, value: () => void): void {
  f.i32(0);
  value();
  f.memory(Op.I32Store, state(word));
}

/** Group-1 operations by their ModRM reg field (ADC and SBB read CF and stay in JavaScript). */
const enum Alu {
  ADD = 0,
  OR = 1,
  AND = 4,
  SUB = 5,
  XOR = 6,
  CMP = 7,
}

const ALU_OP: Partial<Record<Alu, Op>> = {
  [Alu.ADD]: Op.I32Add,
  [Alu.OR]: Op.I32Or,
  [Alu.AND]: Op.I32And,
  [Alu.SUB]: Op.I32Sub,
  [Alu.XOR]: Op.I32Xor,
  [Alu.CMP]: Op.I32Sub,
};

/**
 * res = a op b with the lazy flags an ALU operation leaves (fast.ts aluCode): the kind, the result,
 * and the operands for ADD and SUB. The result is left in RES; `store` writes it back.
 */
function alu(f: FunctionBody, op: Alu, a: () => void, b: () => void, store: (() => void) | undefined): void {
  a();
  f.set(A);
  b();
  f.set(B);
  f.get(A)
    .get(B)
    .op(ALU_OP[op] as Op)
    .set(RES);
  const kind = op === Alu.ADD ? LazyKind.ADD : op === Alu.SUB || op === Alu.CMP ? LazyKind.SUB : LazyKind.LOGIC;
  storeState(f, ST_LAZY, () => f.i32(lazyWord(kind, 32)));
  storeState(f, ST_RES, () => f.get(RES));
  if (kind !== LazyKind.LOGIC) {
    storeState(f, ST_OPA, () => f.get(A));
    storeState(f, ST_OPB, () => f.get(B));
  }
  if (store !== undefined && op !== Alu.CMP) store();
}

/** Pushes the effective address of a memory operand with a 32-bit address size. */
function pushEa(f: FunctionBody, ins: Instruction): void {
  f.i32(ins.rawDisplacement | 0);
  if (ins.memBase !== Register.None) {
    load32(f, ins.memBase);
    f.op(Op.I32Add);
  }
  if (ins.memIndex !== Register.None) {
    load32(f, ins.memIndex);
    const shift = 31 - Math.clz32(ins.memScale);
    if (shift !== 0) f.i32(shift).op(Op.I32Shl);
    f.op(Op.I32Add);
  }
}

const READ_ACCESS = SegAccess.READ | SegAccess.FLAT;
const WRITE_ACCESS = SegAccess.WRITE | SegAccess.FLAT;

/** How an access uses its page: read, write, or read and then write (a read-modify-write operand). */
const enum Access {
  READ = 0,
  WRITE = 1,
  UPDATE = 2,
}

/**
 * The module's address helpers, after the handler import: (segment, offset) -> the physical address
 * when the access takes the fast path that cpu.ts takes for it, -1 otherwise. One copy per module
 * keeps the block code short (the warm tier runs much code only a few thousand times, so its size
 * costs more than a call).
 */
const HELPERS: [Access, number][] = [
  [Access.READ, 1],
  [Access.READ, 2],
  [Access.READ, 4],
  [Access.WRITE, 4],
  [Access.UPDATE, 4],
];

function helperIndex(access: Access, size: number): number {
  const i = HELPERS.findIndex(([a, s]) => a === access && s === size);
  if (i < 0) throw new Error(`no address helper for access ${access} of ${size} bytes`);
  return 1 + i;
}

/**
 * The body of an address helper: a flat segment that allows the access, a TLB word that allows it
 * for the current privilege (both words' checks for an update; the write mask keeps writes off pages
 * with scanned code, TlbBit.CODE), no page crossing, and RAM. Parameters: segment, offset; locals:
 * linear address, TLB word, physical address.
 */
function addressHelper(access: Access, size: number, ramSize: number): FunctionBody {
  const SEG = 0;
  const OFFSET = 1;
  const LINEAR = 2;
  const WORD = 3;
  const PHYSICAL = 4;
  const f = new FunctionBody();
  f.locals = 3;
  const need = access === Access.READ ? READ_ACCESS : WRITE_ACCESS;
  f.get(SEG).memory(Op.I32Load8U, L.segAccess).i32(need).op(Op.I32And).i32(need).op(Op.I32Eq);
  f.get(SEG).i32(2).op(Op.I32Shl).memory(Op.I32Load, L.segBase).get(OFFSET).op(Op.I32Add).set(LINEAR);
  f.get(LINEAR).i32(12).op(Op.I32ShrU).i32(2).op(Op.I32Shl).memory(Op.I32Load, L.tlb).set(WORD);
  // Read mask and want at tlbMasks, write mask and want after them (cpu.ts readMask ... writeWant).
  const permits = (masks: number): void => {
    f.get(WORD).i32(0).memory(Op.I32Load, masks).op(Op.I32And);
    f.i32(0)
      .memory(Op.I32Load, masks + 4)
      .op(Op.I32Eq)
      .op(Op.I32And);
  };
  if (access !== Access.WRITE) permits(L.tlbMasks);
  if (access !== Access.READ) permits(L.tlbMasks + 8);
  if (size > 1)
    f.get(LINEAR)
      .i32(0xfff)
      .op(Op.I32And)
      .i32(0x1000 - size)
      .op(Op.I32LeU)
      .op(Op.I32And);
  f.get(WORD).i32(~0xfff).op(Op.I32And).get(LINEAR).i32(0xfff).op(Op.I32And).op(Op.I32Or).tee(PHYSICAL);
  // RAM only: the TLB never lets anything else through, and WebAssembly would trap where a typed
  // array reads undefined.
  f.i32(ramSize - size + 1)
    .op(Op.I32LtU)
    .op(Op.I32And);
  f.ifThen().get(PHYSICAL).op(Op.Return).op(Op.End);
  f.i32(-1);
  return f;
}

/**
 * Pushes whether an access of `size` bytes at `seg`:offset (pushed by `offset`) takes the fast path,
 * and leaves its physical address in PHYS.
 */
function fastAccess(f: FunctionBody, seg: number, offset: () => void, size: number, access: Access): void {
  f.i32(seg);
  offset();
  f.call(helperIndex(access, size)).tee(PHYS).i32(-1).op(Op.I32Ne);
}

const RAM_LOAD: Record<number, Op> = { 1: Op.I32Load8U, 2: Op.I32Load16U, 4: Op.I32Load };

/** Pushes the value at PHYS (after fastAccess). */
function loadPhys(f: FunctionBody, size: number): void {
  f.get(PHYS).memory(RAM_LOAD[size] as Op, L.ram);
}

function storePhys(f: FunctionBody, value: () => void): void {
  f.get(PHYS);
  value();
  f.memory(Op.I32Store, L.ram);
}

/** The segment register number of a memory operand. */
const segOf = (ins: Instruction): number => ins.memSegment - Register.ES;

/**
 * Where the record being emitted sits: `slow()` emits its handler call (the slow path of a guarded
 * record, or the whole of a record without WebAssembly code).
 */
interface BlockContext {
  slow(): void;
}

/**
 * Emits the record's fast path under `condition` (which pushes an i32), with its handler as the
 * slow path; `after` runs on the slow path once the handler returned and the block goes on.
 */
function guarded(
  f: FunctionBody,
  ctx: BlockContext,
  condition: () => void,
  fast: () => void,
  after?: () => void,
): void {
  condition();
  f.ifThen();
  fast();
  f.op(Op.Else);
  ctx.slow();
  after?.();
  f.op(Op.End);
}

/** After a slow path, the locals of a flag-setting record hold what its handler left in the state words. */
function reloadFlags(f: FunctionBody): void {
  f.i32(0).memory(Op.I32Load, state(ST_OPA)).set(A);
  f.i32(0).memory(Op.I32Load, state(ST_OPB)).set(B);
  f.i32(0).memory(Op.I32Load, state(ST_RES)).set(RES);
}

/** Emits one record; false (having emitted nothing) when its form has no WebAssembly code. */
type Emitter = (f: FunctionBody, ins: Instruction, ctx: BlockContext) => boolean;

const EMITTERS = new Map<number, Emitter>();

const isReg = (k: OpKind): boolean => k === OpKind.Register;
const isMem = (k: OpKind): boolean => k === OpKind.Memory;
const imm32 = (f: FunctionBody, ins: Instruction) => (): void => void f.i32(ins.rawImmediate | 0);
const reg = (f: FunctionBody, r: Register) => (): void => load32(f, r);
/** Memory operands the warm tier inlines: 32-bit address size. */
const inlineMem = (ins: Instruction): boolean => ins.addressSize === 32;

/** An ALU form with a r/m first operand and `source` second (a register or the immediate). */
function aluRm(op: Alu, source: (f: FunctionBody, ins: Instruction) => () => void): Emitter {
  return (f, ins, ctx) => {
    if (isReg(ins.op0Kind)) {
      const dest = ins.op0Register;
      alu(f, op, reg(f, dest), source(f, ins), () => store32(f, dest, () => f.get(RES)));
      return true;
    }
    if (!isMem(ins.op0Kind) || !inlineMem(ins)) return false;
    const seg = segOf(ins);
    const ea = (): void => pushEa(f, ins);
    if (op === Alu.CMP) {
      guarded(
        f,
        ctx,
        () => fastAccess(f, seg, ea, 4, Access.READ),
        () => alu(f, op, () => loadPhys(f, 4), source(f, ins), undefined),
        () => reloadFlags(f),
      );
      return true;
    }
    guarded(
      f,
      ctx,
      () => fastAccess(f, seg, ea, 4, Access.UPDATE),
      () =>
        alu(
          f,
          op,
          () => loadPhys(f, 4),
          source(f, ins),
          () => storePhys(f, () => f.get(RES)),
        ),
      () => reloadFlags(f),
    );
    return true;
  };
}

const ALU_NAMES: [Alu, string][] = [
  [Alu.ADD, 'Add'],
  [Alu.OR, 'Or'],
  [Alu.AND, 'And'],
  [Alu.SUB, 'Sub'],
  [Alu.XOR, 'Xor'],
  [Alu.CMP, 'Cmp'],
];
for (const [op, n] of ALU_NAMES) {
  const fromReg = aluRm(op, (f, ins) => reg(f, ins.op1Register));
  const fromImm = aluRm(op, imm32);
  EMITTERS.set(codeNamed(`${n}_rm32_r32`), fromReg);
  EMITTERS.set(codeNamed(`${n}_rm32_imm32`), fromImm);
  EMITTERS.set(codeNamed(`${n}_rm32_imm8`), fromImm);
  EMITTERS.set(codeNamed(`${n}_EAX_imm32`), fromImm);
  // op0 = register, op1 = r/m
  EMITTERS.set(codeNamed(`${n}_r32_rm32`), (f, ins, ctx) => {
    const dest = ins.op0Register;
    const store = (): void => store32(f, dest, () => f.get(RES));
    if (isReg(ins.op1Kind)) {
      alu(f, op, reg(f, dest), reg(f, ins.op1Register), store);
      return true;
    }
    if (!inlineMem(ins)) return false;
    guarded(
      f,
      ctx,
      () => fastAccess(f, segOf(ins), () => pushEa(f, ins), 4, Access.READ),
      () => alu(f, op, reg(f, dest), () => loadPhys(f, 4), store),
      () => reloadFlags(f),
    );
    return true;
  });
}
/** TEST: an AND that only sets the flags. */
function testRm(source: (f: FunctionBody, ins: Instruction) => () => void): Emitter {
  return (f, ins, ctx) => {
    if (isReg(ins.op0Kind)) {
      alu(f, Alu.AND, reg(f, ins.op0Register), source(f, ins), undefined);
      return true;
    }
    if (!inlineMem(ins)) return false;
    guarded(
      f,
      ctx,
      () => fastAccess(f, segOf(ins), () => pushEa(f, ins), 4, Access.READ),
      () => alu(f, Alu.AND, () => loadPhys(f, 4), source(f, ins), undefined),
      () => reloadFlags(f),
    );
    return true;
  };
}
EMITTERS.set(
  codeNamed('Test_rm32_r32'),
  testRm((f, ins) => reg(f, ins.op1Register)),
);
EMITTERS.set(codeNamed('Test_rm32_imm32'), testRm(imm32));
EMITTERS.set(codeNamed('Test_EAX_imm32'), testRm(imm32));
/** MOV r/m32, source: a register store or a memory write. */
function movToRm(source: (f: FunctionBody, ins: Instruction) => () => void): Emitter {
  return (f, ins, ctx) => {
    if (isReg(ins.op0Kind)) {
      store32(f, ins.op0Register, source(f, ins));
      return true;
    }
    if (!inlineMem(ins)) return false;
    guarded(
      f,
      ctx,
      () => fastAccess(f, segOf(ins), () => pushEa(f, ins), 4, Access.WRITE),
      () => storePhys(f, source(f, ins)),
    );
    return true;
  };
}
EMITTERS.set(
  codeNamed('Mov_rm32_r32'),
  movToRm((f, ins) => reg(f, ins.op1Register)),
);
EMITTERS.set(codeNamed('Mov_rm32_imm32'), movToRm(imm32));
EMITTERS.set(codeNamed('Mov_r32_imm32'), movToRm(imm32));
/** MOV/MOVZX/MOVSX r32, r/m of `size` bytes. */
function loadToReg(size: 1 | 2 | 4, signed: boolean): Emitter {
  return (f, ins, ctx) => {
    const dest = ins.op0Register;
    const extend = (): void => {
      if (signed) f.op(size === 1 ? Op.I32Extend8S : Op.I32Extend16S);
    };
    if (isReg(ins.op1Kind)) {
      store32(f, dest, () => {
        const src = ins.op1Register;
        if (size === 4) load32(f, src);
        else f.i32(0).memory(size === 1 ? Op.I32Load8U : Op.I32Load16U, size === 1 ? reg8(src) : reg16(src));
        extend();
      });
      return true;
    }
    if (!inlineMem(ins)) return false;
    guarded(
      f,
      ctx,
      () => fastAccess(f, segOf(ins), () => pushEa(f, ins), size, Access.READ),
      () =>
        store32(f, dest, () => {
          loadPhys(f, size);
          extend();
        }),
    );
    return true;
  };
}
EMITTERS.set(codeNamed('Mov_r32_rm32'), loadToReg(4, false));
EMITTERS.set(codeNamed('Movzx_r32_rm8'), loadToReg(1, false));
EMITTERS.set(codeNamed('Movzx_r32_rm16'), loadToReg(2, false));
EMITTERS.set(codeNamed('Movsx_r32_rm8'), loadToReg(1, true));
EMITTERS.set(codeNamed('Movsx_r32_rm16'), loadToReg(2, true));
EMITTERS.set(codeNamed('Not_rm32'), (f, ins) => {
  if (!isReg(ins.op0Kind)) return false;
  store32(f, ins.op0Register, () => {
    load32(f, ins.op0Register);
    f.i32(-1).op(Op.I32Xor);
  });
  return true;
});
// LEA computes the address of a 32-bit address-size operand; nothing is read.
EMITTERS.set(codeNamed('Lea_r32_m'), (f, ins) => {
  if (!inlineMem(ins)) return false;
  store32(f, ins.op0Register, () => pushEa(f, ins));
  return true;
});

/** Pushes whether SS is a 32-bit stack (ESP rather than SP addresses it). */
function stack32(f: FunctionBody): void {
  f.i32(0)
    .memory(Op.I32Load16U, L.segAttr + 2 * Seg.SS)
    .i32(Attr.DB)
    .op(Op.I32And)
    .i32(0)
    .op(Op.I32Ne);
}

const ESP = Register.ESP;

/**
 * PUSH of `value` on a 32-bit stack: the write, then ESP moves (a faulting push leaves ESP). CALL
 * adds a condition that must hold too (`also`, pushing an i32) and what follows the push (`then`).
 */
function emitPush(f: FunctionBody, ctx: BlockContext, value: () => void, also?: () => void, then?: () => void): void {
  const below = (): void => {
    load32(f, ESP);
    f.i32(-4).op(Op.I32Add);
  };
  guarded(
    f,
    ctx,
    () => {
      stack32(f);
      fastAccess(f, Seg.SS, below, 4, Access.WRITE);
      f.op(Op.I32And);
      if (also !== undefined) {
        also();
        f.op(Op.I32And);
      }
    },
    () => {
      storePhys(f, value);
      store32(f, ESP, below);
      then?.();
    },
  );
}

EMITTERS.set(codeNamed('Push_r32'), (f, ins, ctx) => {
  emitPush(f, ctx, reg(f, ins.op0Register));
  return true;
});
// POP: ESP moves, then the register is written (POP ESP keeps the popped value).
EMITTERS.set(codeNamed('Pop_r32'), (f, ins, ctx) => {
  guarded(
    f,
    ctx,
    () => {
      stack32(f);
      fastAccess(f, Seg.SS, reg(f, ESP), 4, Access.READ);
      f.op(Op.I32And);
    },
    () => {
      loadPhys(f, 4);
      f.set(A);
      store32(f, ESP, () => {
        load32(f, ESP);
        f.i32(4).op(Op.I32Add);
      });
      store32(f, ins.op0Register, () => f.get(A));
    },
  );
  return true;
});

/**
 * Pushes condition `cc` (the low nibble of a Jcc opcode) from the locals of the ALU record of `kind`
 * before it, as fast.ts fusedCondition does in JavaScript; false when the condition needs a flag the
 * locals do not give directly (OF and PF, and CF after ADD).
 */
function pushCondition(f: FunctionBody, cc: number, kind: LazyKind): boolean {
  const zero = (): void => void f.get(RES).op(Op.I32Eqz);
  const sign = (): void => void f.get(RES).i32(0).op(Op.I32LtS);
  const not = (): void => void f.op(Op.I32Eqz);
  const compare = (o: Op): void => void f.get(A).get(B).op(o);
  if (kind === LazyKind.LOGIC) {
    // CF = OF = 0.
    switch (cc) {
      case 2:
        f.i32(0);
        return true;
      case 3:
        f.i32(1);
        return true;
      case 4:
      case 6:
        zero();
        return true;
      case 5:
      case 7:
        zero();
        not();
        return true;
      case 8:
      case 12:
        sign();
        return true;
      case 9:
      case 13:
        sign();
        not();
        return true;
      case 14:
        zero();
        sign();
        f.op(Op.I32Or);
        return true;
      case 15:
        zero();
        sign();
        f.op(Op.I32Or);
        not();
        return true;
      default:
        return false;
    }
  }
  if (cc === 4 || cc === 5) {
    zero();
    if (cc === 5) not();
    return true;
  }
  if (cc === 8 || cc === 9) {
    sign();
    if (cc === 9) not();
    return true;
  }
  if (kind !== LazyKind.SUB) return false;
  const op = [
    0,
    0,
    Op.I32LtU,
    Op.I32GeU,
    0,
    0,
    Op.I32LeU,
    Op.I32GtU,
    0,
    0,
    0,
    0,
    Op.I32LtS,
    Op.I32GeS,
    Op.I32LeS,
    Op.I32GtS,
  ][cc] as Op;
  if (op === 0) return false;
  compare(op);
  return true;
}

/** Jcc and JMP with a relative target, in 32-bit code: cc, or -1 for JMP. */
const BRANCHES = new Map<number, number>();
CC.forEach((c, cc) => {
  BRANCHES.set(codeNamed(`J${c}_rel8_32`), cc);
  BRANCHES.set(codeNamed(`J${c}_rel32`), cc);
});
BRANCHES.set(codeNamed('Jmp_rel8_32'), -1);
BRANCHES.set(codeNamed('Jmp_rel32'), -1);

/** Imports of a block module, by function index. */
const enum Import {
  /** handler(k): runs record k through its handler; returns 1 when the block must stop. */
  Handler = 0,
}

/** Pushes whether `target` lies within the CS limit (a near branch beyond it raises #GP(0)). */
function withinCsLimit(f: FunctionBody, target: () => void): void {
  target();
  f.i32(0)
    .memory(Op.I32Load, L.segLimit + 4 * Seg.CS)
    .op(Op.I32LeU);
}

/**
 * A branch as the last record: EIP becomes the target when the condition holds and the target lies
 * within the CS limit, the next record's IP when it does not hold; the handler raises the #GP(0).
 * CALL pushes the return address first, RET pops the target.
 */
function emitBranch(f: FunctionBody, ins: Instruction, ctx: BlockContext, kind: LazyKind | undefined): boolean {
  const start = ins.rawIp | 0;
  const next = (start + ins.length) | 0;
  const target = ins.rawBranchTarget | 0;
  if (ins.code === CALL_REL32) {
    emitPush(
      f,
      ctx,
      () => f.i32(next),
      () => withinCsLimit(f, () => f.i32(target)),
      () => storeState(f, ST_EIP, () => f.i32(target)),
    );
    return true;
  }
  if (ins.code === RET_32) {
    // The target is read before the limit check; B says whether both let the fast path through.
    stack32(f);
    fastAccess(f, Seg.SS, reg(f, ESP), 4, Access.READ);
    f.op(Op.I32And).ifThen();
    withinCsLimit(f, () => {
      loadPhys(f, 4);
      f.tee(A);
    });
    f.set(B);
    f.op(Op.Else).i32(0).set(B).op(Op.End);
    guarded(
      f,
      ctx,
      () => f.get(B),
      () => {
        store32(f, ESP, () => {
          load32(f, ESP);
          f.i32(4).op(Op.I32Add);
        });
        storeState(f, ST_EIP, () => f.get(A));
      },
    );
    return true;
  }
  const cc = BRANCHES.get(ins.code);
  if (cc === undefined) return false;
  const taken = (): void => {
    guarded(
      f,
      ctx,
      () => withinCsLimit(f, () => f.i32(target)),
      () => storeState(f, ST_EIP, () => f.i32(target)),
    );
  };
  if (cc < 0) {
    taken();
    return true;
  }
  if (kind === undefined || !pushCondition(f, cc, kind)) return false;
  f.ifThen();
  taken();
  f.op(Op.Else);
  storeState(f, ST_EIP, () => f.i32(next));
  f.op(Op.End);
  return true;
}

const CALL_REL32 = codeNamed('Call_rel32');
const RET_32 = codeNamed('Ret_32');

/** A block compiled by the warm tier: its function's slot, and what the run loop needs after it. */
export interface WarmBlock extends CompiledCode {
  /** The IP of the block's last record (the interpreter leaves it in insEip). */
  readonly lastIp: number;
}

/** What one compiled batch did: the compiled form of each block (null where it did not qualify), and counts. */
export interface WasmBatch {
  compiled: (WarmBlock | null)[];
  inlined: number;
  records: number;
}

/**
 * Records of a block that may run only through their handlers for the block to be compiled: each
 * call from WebAssembly back into JavaScript costs more than the interpreter spends on a record.
 */
export const MAX_FALLBACKS = 1;

/** A block's function and the records its handler calls name, before they are added to the module. */
interface BlockCode {
  body: FunctionBody;
  records: Instruction[];
  handlers: Handler[];
  inlined: number;
}

/**
 * The body of `block` (32-bit code entered at its start IP), or null with more than `maxFallbacks`
 * records that have no WebAssembly code. `firstSite` is the module's index of the block's first
 * handler call.
 */
function blockCode(block: Block, firstSite: number, maxFallbacks: number): BlockCode | null {
  const f = new FunctionBody();
  f.locals = LOCALS;
  const routines = block.routines as Handler[];
  const count = block.count;
  const records: Instruction[] = [];
  const handlers: Handler[] = [];
  let inlined = 0;
  let fallbacks = 0;
  let i = 0;
  const ctx: BlockContext = {
    slow: () => {
      const ins = block.instructions[i] as Instruction;
      // One handler call per record, even when its code has several slow paths.
      let k = records.lastIndexOf(ins);
      if (k < 0) {
        records.push(ins);
        handlers.push(routines[i] as Handler);
        k = records.length - 1;
      }
      f.i32(firstSite + k).call(Import.Handler);
      if (i < count - 1)
        f.ifThen()
          .i32(i + 1)
          .op(Op.Return)
          .op(Op.End);
      else f.op(Op.Drop);
    },
  };
  // The flags the locals hold, while the records since the last flag-setting inlined record kept them.
  let kind: LazyKind | undefined;
  for (; i < count; i++) {
    const ins = block.instructions[i] as Instruction;
    const handler = routines[i] as Handler;
    const last = i === count - 1;
    const mark = f.length;
    const fast = handler === fastHandler(ins);
    const emit = fast ? EMITTERS.get(ins.code) : undefined;
    if (last && fast && emitBranch(f, ins, ctx, kind)) {
      inlined++;
      continue;
    }
    if (f.length !== mark) throw new Error('a branch declined after emitting code');
    if (emit !== undefined && emit(f, ins, ctx)) {
      inlined++;
      // The form's flag effect (fast.ts) says what the locals hold: the emitted ALU records keep
      // their operands and result there.
      const effect = fastFlagEffect(ins);
      if (effect !== 'keeps') kind = typeof effect === 'object' && effect.keepsCf !== true ? effect.kind : undefined;
      // The interpreter leaves EIP on the successor of the last record.
      if (last) storeState(f, ST_EIP, () => f.i32((ins.rawIp + ins.length) | 0));
      continue;
    }
    if (f.length !== mark) throw new Error('an emitter declined after emitting code');
    if (++fallbacks > maxFallbacks) return null;
    kind = undefined;
    ctx.slow();
  }
  f.i32(count);
  return { body: f, records, handlers, inlined };
}

/** Function-table entries added at a time. */
const TABLE_STEP = 1024;

/**
 * The warm tier's compiled blocks and the way in: every block function sits in one function table,
 * and the run loop calls them all through one exported dispatcher, `run(slot)`. One call site that
 * always reaches the same WebAssembly function is one V8 optimises into a direct call; a call site
 * that reaches thousands of exports goes through the generic JavaScript-to-WebAssembly entry.
 */
export class WarmTier {
  /** Runs the block in `slot` and returns how many of its records completed. */
  readonly run: (slot: number) => number;
  private readonly table = new WebAssembly.Table({ element: 'anyfunc', initial: TABLE_STEP });
  /** The block of each slot, or null for a free one. */
  private readonly slots: (WarmBlock | null)[] = [];
  private readonly free: number[] = [];

  constructor(private readonly cpu: Cpu) {
    const memory = cpu.mem.machineMemory;
    const builder = new ModuleBuilder('cpu', 'memory', memory.buffer.byteLength >>> 16);
    builder.importTable('cpu', 'blocks', TABLE_STEP);
    const blockType = builder.type(0, 1);
    const dispatch = new FunctionBody();
    dispatch.get(0).callIndirect(blockType);
    builder.define('run', 1, 1, dispatch);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(builder.toBytes()), {
      cpu: { memory, blocks: this.table },
    });
    this.run = instance.exports['run'] as (slot: number) => number;
  }

  /**
   * Compiles `blocks` (valid blocks of 32-bit code, entered at their start IPs, whose handlers are
   * in `routines`) into one module; each block with at most `maxFallbacks` records without
   * WebAssembly code gets a slot.
   */
  compile(blocks: readonly Block[], maxFallbacks = MAX_FALLBACKS): WasmBatch {
    const cpu = this.cpu;
    const memory = cpu.mem.machineMemory;
    const builder = new ModuleBuilder('cpu', 'memory', memory.buffer.byteLength >>> 16);
    builder.importFunction('cpu', 'handler', 1, 1);
    for (const [access, size] of HELPERS) builder.define(undefined, 2, 1, addressHelper(access, size, cpu.mem.ramSize));
    // The records that handler calls name, by site index.
    const records: Instruction[] = [];
    const handlers: Handler[] = [];
    const names: (string | null)[] = [];
    let inlined = 0;
    let total = 0;
    blocks.forEach((block, j) => {
      const c = blockCode(block, records.length, maxFallbacks);
      if (c === null) {
        names.push(null);
        return;
      }
      total += block.count;
      records.push(...c.records);
      handlers.push(...c.handlers);
      inlined += c.inlined;
      builder.define(`b${j}`, 0, 1, c.body);
      names.push(`b${j}`);
    });
    if (names.every((n) => n === null)) return { compiled: names.map(() => null), inlined, records: total };
    const st = cpu.st;
    const startIps = Int32Array.from(records, (ins) => ins.rawIp | 0);
    const nextIps = Int32Array.from(records, (ins) => (ins.rawIp + ins.length) | 0);
    const handler = (k: number): number => {
      cpu.insEip = startIps[k] as number;
      st[ST_EIP] = nextIps[k] as number;
      (handlers[k] as Handler)(cpu, records[k] as Instruction);
      return cpu.exitBlock ? 1 : 0;
    };
    const instance = new WebAssembly.Instance(new WebAssembly.Module(builder.toBytes()), { cpu: { memory, handler } });
    const compiled = blocks.map((block, j): WarmBlock | null => {
      const name = names[j];
      if (name === null || name === undefined) return null;
      const slot = this.allocate();
      this.table.set(slot, instance.exports[name]);
      const lastIp = (block.instructions[block.count - 1] as Instruction).rawIp | 0;
      const warm: WarmBlock = { members: [block], drops: -1, warmSlot: slot, lastIp };
      this.slots[slot] = warm;
      return warm;
    });
    return { compiled, inlined, records: total };
  }

  /** Frees the slot of a block that was dropped. */
  release(code: CompiledCode): void {
    const slot = code.warmSlot;
    if (slot < 0 || this.slots[slot] !== code) return;
    this.slots[slot] = null;
    this.table.set(slot, null);
    this.free.push(slot);
  }

  private allocate(): number {
    if (this.free.length === 0 && this.slots.length === this.table.length) {
      // Slots of blocks dropped since (they are only found when looked at again) come back first.
      for (const warm of this.slots) if (warm !== null && !(warm.members[0] as Block).valid) this.release(warm);
      if (this.free.length === 0) this.table.grow(TABLE_STEP);
    }
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    this.slots.push(null);
    return this.slots.length - 1;
  }
}
