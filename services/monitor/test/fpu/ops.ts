// The x87 instructions exercised by the differential tests, as encodings shared by the native
// harness (raw bytes, so no assembler mnemonic quirk can hide a mismatch) and our FPU (the FOP).

/** Kinds of memory operand, for the random operand generator. */
export const enum Mem {
  None,
  F32,
  F64,
  F80,
  I16,
  I32,
  I64,
  Bcd,
  Cw,
  Env14,
  Env28,
  State94,
  State108,
  /** Written by the instruction: the harness pre-fills random bytes. */
  Out,
  /** An FXSAVE image (first 112 bytes; the rest of the 512 are zero). */
  FxImage,
}

export interface X87Op {
  readonly name: string;
  /** 11-bit x87 opcode ((escape & 7) << 8 | modrm). */
  readonly fop: number;
  /** Operand-size prefix (16-bit environment layouts). */
  readonly o16: boolean;
  readonly mem: Mem;
  /** FXSAVE/FXRSTOR (0F AE /0, /1): not escape opcodes, run through Fpu.fxsave/fxrstor. */
  readonly fx?: 'save' | 'restore';
}

const ARITH = ['fadd', 'fmul', 'fcom', 'fcomp', 'fsub', 'fsubr', 'fdiv', 'fdivr'];

function memOp(esc: number, reg: number): { name: string; mem: Mem } | undefined {
  switch (esc) {
    case 0:
      return { name: `${ARITH[reg]} m32`, mem: Mem.F32 };
    case 2:
      return { name: `fi${ARITH[reg].slice(1)} m32`, mem: Mem.I32 };
    case 4:
      return { name: `${ARITH[reg]} m64`, mem: Mem.F64 };
    case 6:
      return { name: `fi${ARITH[reg].slice(1)} m16`, mem: Mem.I16 };
    case 1:
      return [
        { name: 'fld m32', mem: Mem.F32 },
        undefined,
        { name: 'fst m32', mem: Mem.Out },
        { name: 'fstp m32', mem: Mem.Out },
        { name: 'fldenv', mem: Mem.Env28 },
        { name: 'fldcw', mem: Mem.Cw },
        { name: 'fnstenv', mem: Mem.Out },
        { name: 'fnstcw', mem: Mem.Out },
      ][reg];
    case 3:
      return [
        { name: 'fild m32', mem: Mem.I32 },
        { name: 'fisttp m32', mem: Mem.Out },
        { name: 'fist m32', mem: Mem.Out },
        { name: 'fistp m32', mem: Mem.Out },
        undefined,
        { name: 'fld m80', mem: Mem.F80 },
        undefined,
        { name: 'fstp m80', mem: Mem.Out },
      ][reg];
    case 5:
      return [
        { name: 'fld m64', mem: Mem.F64 },
        { name: 'fisttp m64', mem: Mem.Out },
        { name: 'fst m64', mem: Mem.Out },
        { name: 'fstp m64', mem: Mem.Out },
        { name: 'frstor', mem: Mem.State108 },
        undefined,
        { name: 'fnsave', mem: Mem.Out },
        { name: 'fnstsw m16', mem: Mem.Out },
      ][reg];
    default:
      return [
        { name: 'fild m16', mem: Mem.I16 },
        { name: 'fisttp m16', mem: Mem.Out },
        { name: 'fist m16', mem: Mem.Out },
        { name: 'fistp m16', mem: Mem.Out },
        { name: 'fbld', mem: Mem.Bcd },
        { name: 'fild m64', mem: Mem.I64 },
        { name: 'fbstp', mem: Mem.Out },
        { name: 'fistp m64', mem: Mem.Out },
      ][reg];
  }
}

const D9_NAMES: Record<number, string> = {
  0xd0: 'fnop',
  0xe0: 'fchs',
  0xe1: 'fabs',
  0xe4: 'ftst',
  0xe5: 'fxam',
  0xe8: 'fld1',
  0xe9: 'fldl2t',
  0xea: 'fldl2e',
  0xeb: 'fldpi',
  0xec: 'fldlg2',
  0xed: 'fldln2',
  0xee: 'fldz',
  0xf0: 'f2xm1',
  0xf1: 'fyl2x',
  0xf2: 'fptan',
  0xf3: 'fpatan',
  0xf4: 'fxtract',
  0xf5: 'fprem1',
  0xf6: 'fdecstp',
  0xf7: 'fincstp',
  0xf8: 'fprem',
  0xf9: 'fyl2xp1',
  0xfa: 'fsqrt',
  0xfb: 'fsincos',
  0xfc: 'frndint',
  0xfd: 'fscale',
  0xfe: 'fsin',
  0xff: 'fcos',
};

function regOp(esc: number, modrm: number): string | undefined {
  const reg = (modrm >>> 3) & 7;
  const i = modrm & 7;
  switch (esc) {
    case 0:
      return `${ARITH[reg]} st0,st${i}`;
    case 1:
      if (reg === 0) return `fld st${i}`;
      if (reg === 1) return `fxch st${i}`;
      if (reg === 3) return `fstp1 st${i}`;
      return D9_NAMES[modrm];
    case 2:
      if (reg < 4) return `${['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu'][reg]} st0,st${i}`;
      return modrm === 0xe9 ? 'fucompp' : undefined;
    case 3:
      if (reg < 4) return `${['fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'][reg]} st0,st${i}`;
      if (reg === 4)
        return (
          { 0xe0: 'fneni', 0xe1: 'fndisi', 0xe2: 'fnclex', 0xe3: 'fninit', 0xe4: 'fnsetpm' } as Record<number, string>
        )[modrm];
      if (reg === 5) return `fucomi st0,st${i}`;
      if (reg === 6) return `fcomi st0,st${i}`;
      return undefined;
    case 4:
      return `${['fadd', 'fmul', 'fcom2', 'fcomp3', 'fsubr', 'fsub', 'fdivr', 'fdiv'][reg]} st${i},st0`;
    case 5:
      return [`ffree st${i}`, `fxch4 st${i}`, `fst st${i}`, `fstp st${i}`, `fucom st${i}`, `fucomp st${i}`][reg];
    case 6:
      if (reg === 3) return modrm === 0xd9 ? 'fcompp' : undefined;
      return `${['faddp', 'fmulp', 'fcomp5', '', 'fsubrp', 'fsubp', 'fdivrp', 'fdivp'][reg]} st${i},st0`;
    default:
      if (reg === 4) return modrm === 0xe0 ? 'fnstsw ax' : undefined;
      return (
        [
          `ffreep st${i}`,
          `fxch7 st${i}`,
          `fstp8 st${i}`,
          `fstp9 st${i}`,
          '',
          `fucomip st0,st${i}`,
          `fcomip st0,st${i}`,
        ][reg] || undefined
      );
  }
}

/** Every defined x87 encoding (register forms for each ST(i), memory forms with a disp32 operand). */
export function allOps(): X87Op[] {
  const ops: X87Op[] = [];
  for (let esc = 0; esc < 8; esc++) {
    for (let reg = 0; reg < 8; reg++) {
      const m = memOp(esc, reg);
      if (m) {
        const fop = (esc << 8) | (reg << 3) | 5;
        ops.push({ name: m.name, fop, o16: false, mem: m.mem });
        // 16-bit environment and state layouts.
        if ((esc === 1 || esc === 5) && (reg === 4 || reg === 6)) {
          const mem = reg === 6 ? Mem.Out : esc === 1 ? Mem.Env14 : Mem.State94;
          ops.push({ name: `o16 ${m.name}`, fop, o16: true, mem });
        }
      }
    }
    for (let modrm = 0xc0; modrm < 0x100; modrm++) {
      const name = regOp(esc, modrm);
      if (name) ops.push({ name, fop: (esc << 8) | modrm, o16: false, mem: Mem.None });
    }
  }
  ops.push({ name: 'fxsave', fop: 0, o16: false, mem: Mem.Out, fx: 'save' });
  ops.push({ name: 'fxrstor', fop: 0, o16: false, mem: Mem.FxImage, fx: 'restore' });
  return ops;
}

/** The instruction bytes for the native harness (nasm source line). */
export function nativeAsm(op: X87Op): string {
  if (op.fx) return `db 0x0f, 0xae, ${op.fx === 'save' ? '0x05' : '0x0d'}\n    dd mem`;
  const b0 = 0xd8 | (op.fop >>> 8);
  const modrm = op.fop & 0xff;
  const prefix = op.o16 ? '0x66, ' : '';
  if (modrm >= 0xc0) return `db ${prefix}0x${b0.toString(16)}, 0x${modrm.toString(16)}`;
  return `db ${prefix}0x${b0.toString(16)}, 0x${modrm.toString(16)}\n    dd mem`;
}
