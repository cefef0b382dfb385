/**
 * Data movement, arithmetic, logic, shifts, bit operations and BCD: the instructions whose effect stays
 * inside registers, flags and one memory operand.
 */

import type { Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';
import { Flag } from '../registers.js';
import {
  alu,
  AluOp,
  dec,
  div32,
  divideError,
  doubleShift,
  idiv32,
  imul32,
  inc,
  lastMulHigh,
  lastRemainder,
  mul32,
  neg,
  setMulFlags,
  setResultFlags,
  shift,
  sizeMask,
} from './alu.js';
import {
  ea,
  getReg,
  K_REG,
  memSeg,
  readLin,
  readMem,
  readRm,
  rmwLinear,
  setReg,
  writeLin,
  writeRm,
} from './operands.js';
import { on, type Handler } from './table.js';

const SIZES = [8, 16, 32] as const;

function immOf(ins: Instruction, size: number): number {
  return size === 32 ? ins.rawImmediate | 0 : ins.rawImmediate & sizeMask(size);
}

/** Linear address of the memory operand between rmwRead and rmwWrite (no handler nests them). */
let rmwLin = 0;

/** Reads op0 (register or memory) for a read-modify-write; memory is checked for writing first. */
function rmwRead(cpu: Cpu, ins: Instruction, size: number): number {
  if (ins.op0Kind === K_REG) return getReg(cpu, ins.op0Register);
  rmwLin = rmwLinear(cpu, ins, size >>> 3);
  return readLin(cpu, rmwLin, size);
}

/** Writes the result of a read-modify-write back to op0. */
function rmwWrite(cpu: Cpu, ins: Instruction, size: number, v: number): void {
  if (ins.op0Kind === K_REG) setReg(cpu, ins.op0Register, v);
  else writeLin(cpu, rmwLin, size, v);
}

// ---- group 1 ALU operations ----

function aluRmReg(op: number, size: number): Handler {
  return (cpu, ins) => {
    const b = getReg(cpu, ins.op1Register);
    if (ins.op0Kind === K_REG) {
      const r = alu(cpu, op, size, getReg(cpu, ins.op0Register), b);
      if (op !== AluOp.CMP) setReg(cpu, ins.op0Register, r);
    } else if (op === AluOp.CMP) {
      alu(cpu, op, size, readMem(cpu, memSeg(ins), ea(cpu, ins), size), b);
    } else {
      const lin = rmwLinear(cpu, ins, size >>> 3);
      writeLin(cpu, lin, size, alu(cpu, op, size, readLin(cpu, lin, size), b));
    }
  };
}

function aluRmImm(op: number, size: number): Handler {
  return (cpu, ins) => {
    const b = immOf(ins, size);
    if (ins.op0Kind === K_REG) {
      const r = alu(cpu, op, size, getReg(cpu, ins.op0Register), b);
      if (op !== AluOp.CMP) setReg(cpu, ins.op0Register, r);
    } else if (op === AluOp.CMP) {
      alu(cpu, op, size, readMem(cpu, memSeg(ins), ea(cpu, ins), size), b);
    } else {
      const lin = rmwLinear(cpu, ins, size >>> 3);
      writeLin(cpu, lin, size, alu(cpu, op, size, readLin(cpu, lin, size), b));
    }
  };
}

function aluRegRm(op: number, size: number): Handler {
  return (cpu, ins) => {
    const b = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
    const r = alu(cpu, op, size, getReg(cpu, ins.op0Register), b);
    if (op !== AluOp.CMP) setReg(cpu, ins.op0Register, r);
  };
}

function aluAccImm(op: number, size: number): Handler {
  return (cpu, ins) => {
    const r = alu(cpu, op, size, getReg(cpu, ins.op0Register), immOf(ins, size));
    if (op !== AluOp.CMP) setReg(cpu, ins.op0Register, r);
  };
}

const ALU_NAMES = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'];
for (let op = 0; op < 8; op++) {
  const n = ALU_NAMES[op];
  for (const size of SIZES) {
    on(`${n}_rm${size}_r${size}`, aluRmReg(op, size));
    on(`${n}_r${size}_rm${size}`, aluRegRm(op, size));
    on(`${n}_rm${size}_imm${size}`, aluRmImm(op, size));
  }
  on(`${n}_AL_imm8`, aluAccImm(op, 8));
  on(`${n}_AX_imm16`, aluAccImm(op, 16));
  on(`${n}_EAX_imm32`, aluAccImm(op, 32));
  on(`${n}_rm16_imm8`, aluRmImm(op, 16));
  on(`${n}_rm32_imm8`, aluRmImm(op, 32));
}

// TEST is AND without the store.
for (const size of SIZES) {
  on(`Test_rm${size}_r${size}`, (cpu, ins) => {
    alu(cpu, AluOp.AND, size, readRm(cpu, ins, ins.op0Kind, ins.op0Register, size), getReg(cpu, ins.op1Register));
  });
  on(`Test_rm${size}_imm${size}`, (cpu, ins) => {
    alu(cpu, AluOp.AND, size, readRm(cpu, ins, ins.op0Kind, ins.op0Register, size), immOf(ins, size));
  });
}
on('Test_AL_imm8', (cpu, ins) => void alu(cpu, AluOp.AND, 8, cpu.r8[0], ins.rawImmediate & 0xff));
on('Test_AX_imm16', (cpu, ins) => void alu(cpu, AluOp.AND, 16, cpu.r16[0], ins.rawImmediate & 0xffff));
on('Test_EAX_imm32', (cpu, ins) => void alu(cpu, AluOp.AND, 32, cpu.r32[0], ins.rawImmediate | 0));

// ---- INC, DEC, NOT, NEG ----

for (const size of [16, 32]) {
  on(`Inc_r${size}`, (cpu, ins) => setReg(cpu, ins.op0Register, inc(cpu, size, getReg(cpu, ins.op0Register))));
  on(`Dec_r${size}`, (cpu, ins) => setReg(cpu, ins.op0Register, dec(cpu, size, getReg(cpu, ins.op0Register))));
}
for (const size of SIZES) {
  const mask = sizeMask(size);
  on(`Inc_rm${size}`, (cpu, ins) => rmwWrite(cpu, ins, size, inc(cpu, size, rmwRead(cpu, ins, size))));
  on(`Dec_rm${size}`, (cpu, ins) => rmwWrite(cpu, ins, size, dec(cpu, size, rmwRead(cpu, ins, size))));
  on(`Not_rm${size}`, (cpu, ins) => rmwWrite(cpu, ins, size, ~rmwRead(cpu, ins, size) & mask));
  on(`Neg_rm${size}`, (cpu, ins) => rmwWrite(cpu, ins, size, neg(cpu, size, rmwRead(cpu, ins, size))));
}

// ---- MUL, IMUL, DIV, IDIV ----

on('Mul_rm8', (cpu, ins) => {
  const r = cpu.r8[0] * readRm(cpu, ins, ins.op0Kind, ins.op0Register, 8);
  cpu.r16[0] = r;
  setMulFlags(cpu, 8, r, r > 0xff);
});
on('Mul_rm16', (cpu, ins) => {
  const r = cpu.r16[0] * readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16);
  cpu.r16[0] = r;
  cpu.r16[4] = r >>> 16;
  setMulFlags(cpu, 16, r, r > 0xffff);
});
on('Mul_rm32', (cpu, ins) => {
  const lo = mul32(cpu.r32[0], readRm(cpu, ins, ins.op0Kind, ins.op0Register, 32));
  const hi = lastMulHigh();
  cpu.r32[0] = lo;
  cpu.r32[2] = hi;
  setMulFlags(cpu, 32, lo, hi !== 0);
});
on('Imul_rm8', (cpu, ins) => {
  const r = ((cpu.r8[0] << 24) >> 24) * ((readRm(cpu, ins, ins.op0Kind, ins.op0Register, 8) << 24) >> 24);
  cpu.r16[0] = r;
  setMulFlags(cpu, 8, r, r !== (r << 24) >> 24);
});
on('Imul_rm16', (cpu, ins) => {
  const r = ((cpu.r16[0] << 16) >> 16) * ((readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16) << 16) >> 16);
  cpu.r16[0] = r;
  cpu.r16[4] = r >>> 16;
  setMulFlags(cpu, 16, r, r !== (r << 16) >> 16);
});
on('Imul_rm32', (cpu, ins) => {
  const lo = imul32(cpu.r32[0], readRm(cpu, ins, ins.op0Kind, ins.op0Register, 32));
  const hi = lastMulHigh();
  cpu.r32[0] = lo;
  cpu.r32[2] = hi;
  setMulFlags(cpu, 32, lo, hi !== lo >> 31);
});

/** IMUL r, r/m[, imm]: truncated product; CF = OF = the truncation lost significant bits. */
function imulTrunc(cpu: Cpu, size: number, a: number, b: number): number {
  if (size === 32) {
    const lo = imul32(a, b);
    setMulFlags(cpu, 32, lo, lastMulHigh() !== lo >> 31);
    return lo;
  }
  const r = ((a << 16) >> 16) * ((b << 16) >> 16);
  const t = (r << 16) >> 16;
  setMulFlags(cpu, 16, r & 0xffff, r !== t);
  return r & 0xffff;
}
for (const size of [16, 32]) {
  on(`Imul_r${size}_rm${size}`, (cpu, ins) => {
    const b = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
    setReg(cpu, ins.op0Register, imulTrunc(cpu, size, getReg(cpu, ins.op0Register), b));
  });
  const immForm: Handler = (cpu, ins) => {
    const a = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
    setReg(cpu, ins.op0Register, imulTrunc(cpu, size, a, immOf(ins, size)));
  };
  on(`Imul_r${size}_rm${size}_imm${size}`, immForm);
  on(`Imul_r${size}_rm${size}_imm8`, immForm);
}

on('Div_rm8', (cpu, ins) => {
  const d = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 8);
  if (d === 0) divideError(cpu);
  const ax = cpu.r16[0];
  const q = Math.floor(ax / d);
  if (q > 0xff) divideError(cpu);
  cpu.r8[0] = q;
  cpu.r8[1] = ax - q * d;
});
on('Div_rm16', (cpu, ins) => {
  const d = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16);
  if (d === 0) divideError(cpu);
  const n = cpu.r16[4] * 65536 + cpu.r16[0];
  const q = Math.floor(n / d);
  if (q > 0xffff) divideError(cpu);
  cpu.r16[0] = q;
  cpu.r16[4] = n - q * d;
});
on('Div_rm32', (cpu, ins) => {
  const d = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 32);
  const q = div32(cpu, cpu.r32[2], cpu.r32[0], d);
  cpu.r32[0] = q;
  cpu.r32[2] = lastRemainder();
});
on('Idiv_rm8', (cpu, ins) => {
  const d = (readRm(cpu, ins, ins.op0Kind, ins.op0Register, 8) << 24) >> 24;
  if (d === 0) divideError(cpu);
  const n = (cpu.r16[0] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 127 || q < -128) divideError(cpu);
  cpu.r8[0] = q;
  cpu.r8[1] = n - q * d;
});
on('Idiv_rm16', (cpu, ins) => {
  const d = (readRm(cpu, ins, ins.op0Kind, ins.op0Register, 16) << 16) >> 16;
  if (d === 0) divideError(cpu);
  const n = (cpu.r16[4] << 16) | cpu.r16[0];
  const q = Math.trunc(n / d);
  if (q > 32767 || q < -32768) divideError(cpu);
  cpu.r16[0] = q;
  cpu.r16[4] = n - q * d;
});
on('Idiv_rm32', (cpu, ins) => {
  const d = readRm(cpu, ins, ins.op0Kind, ins.op0Register, 32);
  const q = idiv32(cpu, cpu.r32[2], cpu.r32[0], d);
  cpu.r32[0] = q;
  cpu.r32[2] = lastRemainder();
});

// ---- shifts and rotates ----

const SHIFT_NAMES = ['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sal', 'Sar'];
for (let op = 0; op < 8; op++) {
  for (const size of SIZES) {
    const n = `${SHIFT_NAMES[op]}_rm${size}`;
    on(`${n}_1`, (cpu, ins) => rmwWrite(cpu, ins, size, shift(cpu, op, size, rmwRead(cpu, ins, size), 1)));
    on(`${n}_CL`, (cpu, ins) => {
      const count = cpu.r8[4] & 0x1f;
      rmwWrite(cpu, ins, size, shift(cpu, op, size, rmwRead(cpu, ins, size), count));
    });
    on(`${n}_imm8`, (cpu, ins) => {
      const count = ins.rawImmediate & 0x1f;
      rmwWrite(cpu, ins, size, shift(cpu, op, size, rmwRead(cpu, ins, size), count));
    });
  }
}

for (const size of [16, 32]) {
  for (const left of [true, false]) {
    const n = `${left ? 'Shld' : 'Shrd'}_rm${size}_r${size}`;
    on(`${n}_imm8`, (cpu, ins) => {
      const b = getReg(cpu, ins.op1Register);
      rmwWrite(cpu, ins, size, doubleShift(cpu, left, size, rmwRead(cpu, ins, size), b, ins.immediate));
    });
    on(`${n}_CL`, (cpu, ins) => {
      const b = getReg(cpu, ins.op1Register);
      rmwWrite(cpu, ins, size, doubleShift(cpu, left, size, rmwRead(cpu, ins, size), b, cpu.r8[4]));
    });
  }
}

// ---- bit tests and scans ----

const enum BitOp {
  BT = 0,
  BTS = 1,
  BTR = 2,
  BTC = 3,
}

function applyBit(op: number, v: number, bit: number): number {
  switch (op) {
    case BitOp.BTS:
      return v | (1 << bit);
    case BitOp.BTR:
      return v & ~(1 << bit);
    case BitOp.BTC:
      return v ^ (1 << bit);
    default:
      return v;
  }
}

function bitTest(op: number, size: number, immediate: boolean): Handler {
  const mask = sizeMask(size);
  return (cpu, ins) => {
    let offset = immediate ? ins.rawImmediate & 0xff : getReg(cpu, ins.op1Register);
    if (ins.op0Kind === K_REG) {
      const bit = offset & (size - 1);
      const v = getReg(cpu, ins.op0Register);
      cpu.setFlagBits(Flag.CF, (v >>> bit) & 1);
      if (op !== BitOp.BT) setReg(cpu, ins.op0Register, applyBit(op, v, bit) & mask);
      return;
    }
    // A register bit offset is signed and may address outside the operand.
    let off = ea(cpu, ins);
    if (!immediate) {
      if (size === 16) offset = (offset << 16) >> 16;
      const step = (offset >> (size === 16 ? 4 : 5)) * (size >>> 3);
      off = ins.addressSize === 16 ? (off + step) & 0xffff : (off + step) | 0;
    }
    const bit = offset & (size - 1);
    const seg = memSeg(ins);
    if (op === BitOp.BT) {
      cpu.setFlagBits(Flag.CF, (readMem(cpu, seg, off, size) >>> bit) & 1);
      return;
    }
    const lin = cpu.prepareWrite(seg, off, size >>> 3);
    const v = readLin(cpu, lin, size);
    cpu.setFlagBits(Flag.CF, (v >>> bit) & 1);
    writeLin(cpu, lin, size, applyBit(op, v, bit) & mask);
  };
}
const BIT_NAMES = ['Bt', 'Bts', 'Btr', 'Btc'];
for (let op = 0; op < 4; op++) {
  for (const size of [16, 32]) {
    on(`${BIT_NAMES[op]}_rm${size}_r${size}`, bitTest(op, size, false));
    on(`${BIT_NAMES[op]}_rm${size}_imm8`, bitTest(op, size, true));
  }
}

for (const size of [16, 32]) {
  on(`Bsf_r${size}_rm${size}`, (cpu, ins) => {
    const v = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
    if (v === 0) {
      cpu.setFlagBits(Flag.ZF, Flag.ZF);
      return;
    }
    cpu.setFlagBits(Flag.ZF, 0);
    setReg(cpu, ins.op0Register, 31 - Math.clz32(v & -v));
  });
  on(`Bsr_r${size}_rm${size}`, (cpu, ins) => {
    const v = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
    if (v === 0) {
      cpu.setFlagBits(Flag.ZF, Flag.ZF);
      return;
    }
    cpu.setFlagBits(Flag.ZF, 0);
    setReg(cpu, ins.op0Register, 31 - Math.clz32(v));
  });
}

// ---- data movement ----

for (const size of SIZES) {
  on(`Mov_rm${size}_r${size}`, (cpu, ins) =>
    writeRm(cpu, ins, ins.op0Kind, ins.op0Register, size, getReg(cpu, ins.op1Register)),
  );
  on(`Mov_r${size}_rm${size}`, (cpu, ins) =>
    setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, size)),
  );
  on(`Mov_rm${size}_imm${size}`, (cpu, ins) => writeRm(cpu, ins, ins.op0Kind, ins.op0Register, size, immOf(ins, size)));
  on(`Mov_r${size}_imm${size}`, (cpu, ins) => setReg(cpu, ins.op0Register, immOf(ins, size)));
  on(`Xchg_rm${size}_r${size}`, (cpu, ins) => {
    const b = getReg(cpu, ins.op1Register);
    if (ins.op0Kind === K_REG) {
      setReg(cpu, ins.op1Register, getReg(cpu, ins.op0Register));
      setReg(cpu, ins.op0Register, b);
      return;
    }
    const lin = rmwLinear(cpu, ins, size >>> 3);
    const a = readLin(cpu, lin, size);
    writeLin(cpu, lin, size, b);
    setReg(cpu, ins.op1Register, a);
  });
}
on('Mov_AL_moffs8', (cpu, ins) => (cpu.r8[0] = cpu.read8(memSeg(ins), ea(cpu, ins))));
on('Mov_AX_moffs16', (cpu, ins) => (cpu.r16[0] = cpu.read16(memSeg(ins), ea(cpu, ins))));
on('Mov_EAX_moffs32', (cpu, ins) => (cpu.r32[0] = cpu.read32(memSeg(ins), ea(cpu, ins))));
on('Mov_moffs8_AL', (cpu, ins) => cpu.write8(memSeg(ins), ea(cpu, ins), cpu.r8[0]));
on('Mov_moffs16_AX', (cpu, ins) => cpu.write16(memSeg(ins), ea(cpu, ins), cpu.r16[0]));
on('Mov_moffs32_EAX', (cpu, ins) => cpu.write32(memSeg(ins), ea(cpu, ins), cpu.r32[0]));

on('Xchg_r16_AX', (cpu, ins) => {
  const v = getReg(cpu, ins.op0Register);
  setReg(cpu, ins.op0Register, cpu.r16[0]);
  cpu.r16[0] = v;
});
on('Xchg_r32_EAX', (cpu, ins) => {
  const v = getReg(cpu, ins.op0Register);
  setReg(cpu, ins.op0Register, cpu.r32[0]);
  cpu.r32[0] = v;
});

on('Lea_r16_m', (cpu, ins) => setReg(cpu, ins.op0Register, ea(cpu, ins) & 0xffff));
on('Lea_r32_m', (cpu, ins) => setReg(cpu, ins.op0Register, ea(cpu, ins)));

on('Movzx_r16_rm8', (cpu, ins) => setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, 8)));
on('Movzx_r32_rm8', (cpu, ins) => setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, 8)));
on('Movzx_r16_rm16', (cpu, ins) => setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16)));
on('Movzx_r32_rm16', (cpu, ins) => setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16)));
on('Movsx_r16_rm8', (cpu, ins) =>
  setReg(cpu, ins.op0Register, ((readRm(cpu, ins, ins.op1Kind, ins.op1Register, 8) << 24) >> 24) & 0xffff),
);
on('Movsx_r32_rm8', (cpu, ins) =>
  setReg(cpu, ins.op0Register, (readRm(cpu, ins, ins.op1Kind, ins.op1Register, 8) << 24) >> 24),
);
on('Movsx_r16_rm16', (cpu, ins) => setReg(cpu, ins.op0Register, readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16)));
on('Movsx_r32_rm16', (cpu, ins) =>
  setReg(cpu, ins.op0Register, (readRm(cpu, ins, ins.op1Kind, ins.op1Register, 16) << 16) >> 16),
);

on('Cbw', (cpu) => (cpu.r16[0] = (cpu.r8[0] << 24) >> 24));
on('Cwde', (cpu) => (cpu.r32[0] = (cpu.r16[0] << 16) >> 16));
on('Cwd', (cpu) => (cpu.r16[4] = cpu.r16[0] & 0x8000 ? 0xffff : 0));
on('Cdq', (cpu) => (cpu.r32[2] = cpu.r32[0] >> 31));

on('Xlatb_m8', (cpu, ins) => {
  const off = ins.addressSize === 16 ? (cpu.r16[6] + cpu.r8[0]) & 0xffff : (cpu.r32[3] + cpu.r8[0]) | 0;
  cpu.r8[0] = cpu.read8(memSeg(ins), off);
});

on('Bswap_r32', (cpu, ins) => {
  const v = getReg(cpu, ins.op0Register);
  setReg(cpu, ins.op0Register, (v >>> 24) | ((v >>> 8) & 0xff00) | ((v & 0xff00) << 8) | (v << 24));
});
// BSWAP with a 16-bit operand is undefined; a P6 leaves zero in the low word.
on('Bswap_r16', (cpu, ins) => setReg(cpu, ins.op0Register, 0));

for (const size of SIZES) {
  on(`Xadd_rm${size}_r${size}`, (cpu, ins) => {
    const b = getReg(cpu, ins.op1Register);
    if (ins.op0Kind === K_REG) {
      const a = getReg(cpu, ins.op0Register);
      const r = alu(cpu, AluOp.ADD, size, a, b);
      setReg(cpu, ins.op1Register, a);
      setReg(cpu, ins.op0Register, r);
      return;
    }
    const lin = rmwLinear(cpu, ins, size >>> 3);
    const a = readLin(cpu, lin, size);
    const r = alu(cpu, AluOp.ADD, size, a, b);
    writeLin(cpu, lin, size, r);
    setReg(cpu, ins.op1Register, a);
  });
  on(`Cmpxchg_rm${size}_r${size}`, (cpu, ins) => {
    const acc = size === 32 ? cpu.r32[0] : size === 16 ? cpu.r16[0] : cpu.r8[0];
    const src = getReg(cpu, ins.op1Register);
    let dest: number;
    let lin = 0;
    if (ins.op0Kind === K_REG) dest = getReg(cpu, ins.op0Register);
    else {
      lin = rmwLinear(cpu, ins, size >>> 3);
      dest = readLin(cpu, lin, size);
    }
    alu(cpu, AluOp.CMP, size, acc, dest);
    const equal = acc === dest;
    // The destination is always written: with the source on success, with itself otherwise.
    if (ins.op0Kind === K_REG) {
      if (equal) setReg(cpu, ins.op0Register, src);
    } else writeLin(cpu, lin, size, equal ? src : dest);
    if (!equal) {
      if (size === 32) cpu.r32[0] = dest;
      else if (size === 16) cpu.r16[0] = dest;
      else cpu.r8[0] = dest;
    }
  });
}
on('Cmpxchg8b_m64', (cpu, ins) => {
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const lin = rmwLinear(cpu, ins, 8);
  const lo = cpu.readLin32(lin);
  const hi = cpu.readLin32((lin + 4) | 0);
  if (lo === cpu.r32[0] && hi === cpu.r32[2]) {
    cpu.writeLin32(lin, cpu.r32[3]);
    cpu.writeLin32((lin + 4) | 0, cpu.r32[1]);
    cpu.setFlagBits(Flag.ZF, Flag.ZF);
  } else {
    cpu.writeLin32(lin, lo);
    cpu.writeLin32((lin + 4) | 0, hi);
    cpu.r32[0] = lo;
    cpu.r32[2] = hi;
    cpu.setFlagBits(Flag.ZF, 0);
  }
});

// ---- SETcc, CMOVcc ----

const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
for (let cc = 0; cc < 16; cc++) {
  const name = CC_NAMES[cc];
  on(`Set${name}_rm8`, (cpu, ins) => writeRm(cpu, ins, ins.op0Kind, ins.op0Register, 8, cpu.condition(cc) ? 1 : 0));
  for (const size of [16, 32]) {
    // The source is read (and may fault) whatever the condition.
    on(`Cmov${name}_r${size}_rm${size}`, (cpu, ins) => {
      const v = readRm(cpu, ins, ins.op1Kind, ins.op1Register, size);
      if (cpu.condition(cc)) setReg(cpu, ins.op0Register, v);
    });
  }
}

// ---- flag instructions ----

on('Clc', (cpu) => cpu.setFlagBits(Flag.CF, 0));
on('Stc', (cpu) => cpu.setFlagBits(Flag.CF, Flag.CF));
on('Cmc', (cpu) => cpu.setFlagBits(Flag.CF, cpu.getCf() ^ 1));
on('Cld', (cpu) => cpu.setFlagBits(Flag.DF, 0));
on('Std', (cpu) => cpu.setFlagBits(Flag.DF, Flag.DF));
on('Lahf', (cpu) => (cpu.r8[1] = (cpu.eflags & 0xd5) | Flag.FIXED1));
on('Sahf', (cpu) => cpu.setFlagBits(0xd5, cpu.r8[1]));
on('Salc', (cpu) => (cpu.r8[0] = cpu.getCf() !== 0 ? 0xff : 0));

// ---- BCD ----

on('Daa', (cpu) => {
  const old = cpu.r8[0];
  const oldCf = cpu.getCf();
  let al = old;
  let cf = 0;
  let af = false;
  if ((al & 0xf) > 9 || cpu.getAf()) {
    al += 6;
    cf = oldCf | (al > 0xff ? 1 : 0);
    al &= 0xff;
    af = true;
  }
  if (old > 0x99 || oldCf !== 0) {
    al = (al + 0x60) & 0xff;
    cf = 1;
  } else cf = 0;
  cpu.r8[0] = al;
  setResultFlags(cpu, 8, al, cf, false, af);
});
on('Das', (cpu) => {
  const old = cpu.r8[0];
  const oldCf = cpu.getCf();
  let al = old;
  let cf = 0;
  let af = false;
  if ((al & 0xf) > 9 || cpu.getAf()) {
    cf = oldCf | (al < 6 ? 1 : 0);
    al = (al - 6) & 0xff;
    af = true;
  }
  if (old > 0x99 || oldCf !== 0) {
    al = (al - 0x60) & 0xff;
    cf = 1;
  }
  cpu.r8[0] = al;
  setResultFlags(cpu, 8, al, cf, false, af);
});
on('Aaa', (cpu) => {
  if ((cpu.r8[0] & 0xf) > 9 || cpu.getAf()) {
    cpu.r16[0] = (cpu.r16[0] + 0x106) & 0xffff;
    cpu.r8[0] &= 0xf;
    setResultFlags(cpu, 8, cpu.r8[0], 1, false, true);
  } else {
    cpu.r8[0] &= 0xf;
    setResultFlags(cpu, 8, cpu.r8[0], 0, false, false);
  }
});
on('Aas', (cpu) => {
  if ((cpu.r8[0] & 0xf) > 9 || cpu.getAf()) {
    cpu.r16[0] = (cpu.r16[0] - 6) & 0xffff;
    cpu.r8[1] = (cpu.r8[1] - 1) & 0xff;
    cpu.r8[0] &= 0xf;
    setResultFlags(cpu, 8, cpu.r8[0], 1, false, true);
  } else {
    cpu.r8[0] &= 0xf;
    setResultFlags(cpu, 8, cpu.r8[0], 0, false, false);
  }
});
on('Aam_imm8', (cpu, ins) => {
  const base = ins.rawImmediate & 0xff;
  if (base === 0) divideError(cpu);
  const al = cpu.r8[0];
  cpu.r8[1] = Math.floor(al / base);
  cpu.r8[0] = al % base;
  setResultFlags(cpu, 8, cpu.r8[0], 0, false, false);
});
on('Aad_imm8', (cpu, ins) => {
  const al = (cpu.r8[0] + cpu.r8[1] * (ins.rawImmediate & 0xff)) & 0xff;
  cpu.r16[0] = al;
  setResultFlags(cpu, 8, al, 0, false, false);
});
