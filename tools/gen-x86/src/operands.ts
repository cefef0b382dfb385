/** Turns SDM operand notation (`Ev`, `Vdq`, `Rv/Mw`, `Ibs`, `AL`, ...) into decoder operand templates. */
import { IsaError } from './parse.js';

/** Operand template kinds; the decoder switches on these (emitted into the generated tables). */
export const OPERAND_KIND = {
  NONE: 0,
  /** ModRM r/m: register (class base in `reg`) or memory (`mem`). */
  RM: 1,
  /** ModRM.reg register (class base in `reg`). */
  REG: 2,
  /** ModRM memory only. */
  MEM: 3,
  /** ModRM.rm register (class base in `reg`). */
  RMREG: 4,
  /** Register number in the opcode's low three bits (class base in `reg`). */
  OPREG: 5,
  /** A fixed register (`reg`). */
  FIXED: 6,
  IMM8: 7,
  IMM16: 8,
  IMM32: 9,
  IMM8S16: 10,
  IMM8S32: 11,
  IMM8_2ND: 12,
  REL8_16: 13,
  REL8_32: 14,
  REL16: 15,
  REL32: 16,
  FAR16: 17,
  FAR32: 18,
  MOFFS: 19,
  STR_SRC: 20,
  STR_DST: 21,
  ONE: 22,
  XLAT: 23,
  MASKMOV: 24,
} as const;

/** Enum values of the runtime library the tables refer to. */
export interface RuntimeEnums {
  readonly register: Readonly<Record<string, number>>;
  readonly memorySize: Readonly<Record<string, number>>;
  readonly codeAttr: Readonly<Record<string, number>>;
  readonly flowControl: Readonly<Record<string, number>>;
  readonly feature: Readonly<Record<string, number>>;
}

export type RegClass = 'gpr8' | 'gpr16' | 'gpr32' | 'seg' | 'cr' | 'dr' | 'st' | 'mmx' | 'xmm';

export interface OperandTemplate {
  readonly kind: number;
  /** Register class base or fixed register (Register value), 0 if none. */
  readonly reg: number;
  /** MemorySize value, 0 if none. */
  readonly mem: number;
  /** Fragment of the Code name. */
  readonly name: string;
  /** Register class, for the MMX/SSE attribute bits. */
  readonly regClass: RegClass | null;
  /** The operand can be the ModRM memory operand. */
  readonly modrmMemory: boolean;
}

const CLASS_BASE: Record<RegClass, string> = {
  gpr8: 'AL',
  gpr16: 'AX',
  gpr32: 'EAX',
  seg: 'ES',
  cr: 'CR0',
  dr: 'DR0',
  st: 'ST0',
  mmx: 'MM0',
  xmm: 'XMM0',
};

const CLASS_NAME: Record<RegClass, string> = {
  gpr8: 'r8',
  gpr16: 'r16',
  gpr32: 'r32',
  seg: 'Sreg',
  cr: 'cr',
  dr: 'dr',
  st: 'sti',
  mmx: 'mm',
  xmm: 'xmm',
};

const MEM_NAME: Record<string, string> = {
  Unknown: 'm',
  Byte: 'm8',
  Word: 'm16',
  Dword: 'm32',
  Qword: 'm64',
  Xmmword: 'm128',
  FarPtr16: 'm1616',
  FarPtr32: 'm1632',
  Bound16: 'm1616',
  Bound32: 'm3232',
  Descriptor: 'm1632',
  Float32: 'm32fp',
  Float64: 'm64fp',
  Float80: 'm80fp',
  Int16: 'm16int',
  Int32: 'm32int',
  Int64: 'm64int',
  Bcd80: 'm80bcd',
  FpuEnv14: 'm14byte',
  FpuEnv28: 'm28byte',
  FpuState94: 'm94byte',
  FpuState108: 'm108byte',
  Fxsave512: 'm512byte',
};

const FIXED_REGISTERS = new Set([
  'AL',
  'CL',
  'DL',
  'BL',
  'AH',
  'CH',
  'DH',
  'BH',
  'AX',
  'CX',
  'DX',
  'BX',
  'SP',
  'BP',
  'SI',
  'DI',
  'EAX',
  'ECX',
  'EDX',
  'EBX',
  'ESP',
  'EBP',
  'ESI',
  'EDI',
  'ES',
  'CS',
  'SS',
  'DS',
  'FS',
  'GS',
  'ST0',
]);

/** Does this operand token depend on the operand size? */
export function operandDependsOnSize(token: string): boolean {
  if (/^e[A-Z]{2}$/.test(token)) return true;
  if (token === 'Jb' || token === 'Ibs') return true;
  if (token === 'STi' || token === 'ST0') return false;
  return token.split('/').some((part) => {
    const m = /^[A-Z]([a-z]*)$/.exec(part);
    return m !== null && ['v', 'z', 'p', 'a', 'env', 'st'].includes(m[1] as string);
  });
}

export function resolveOperand(token: string, osize: 16 | 32, enums: RuntimeEnums): OperandTemplate {
  const reg = (name: string): number => {
    const value = enums.register[name];
    if (value === undefined) throw new IsaError(`unknown register ${name}`);
    return value;
  };
  const mem = (name: string): number => {
    const value = enums.memorySize[name];
    if (value === undefined) throw new IsaError(`unknown memory size ${name}`);
    return value;
  };
  const t = (
    kind: number,
    r: number,
    m: number,
    name: string,
    regClass: RegClass | null,
    modrmMemory = false,
  ): OperandTemplate => ({
    kind,
    reg: r,
    mem: m,
    name,
    regClass,
    modrmMemory,
  });
  const K = OPERAND_KIND;

  if (token === '1') return t(K.ONE, 0, 0, '1', null);
  if (token === 'STi') return t(K.RMREG, reg('ST0'), 0, 'sti', 'st');
  if (token === 'ST0') return t(K.FIXED, reg('ST0'), 0, 'st0', 'st');
  if (FIXED_REGISTERS.has(token)) return t(K.FIXED, reg(token), 0, token, fixedClass(token));
  const eReg = /^e([A-Z]{2})$/.exec(token);
  if (eReg) {
    const name = osize === 16 ? (eReg[1] as string) : `E${eReg[1]}`;
    return t(K.FIXED, reg(name), 0, name, osize === 16 ? 'gpr16' : 'gpr32');
  }
  if (token === 'Mxlat') return t(K.XLAT, 0, mem('Byte'), 'm8', null);
  const mask = /^Ymask(q|dq)$/.exec(token);
  if (mask) {
    const m = mask[1] === 'q' ? 'Qword' : 'Xmmword';
    return t(K.MASKMOV, 0, mem(m), MEM_NAME[m] as string, null);
  }

  // Register part / memory part, e.g. Rv/Mw or Udq/Mq.
  if (token.includes('/')) {
    const [a, b] = token.split('/') as [string, string];
    const regPart = a.startsWith('M') ? b : a;
    const memPart = a.startsWith('M') ? a : b;
    if (!memPart.startsWith('M') || !/^[RUN]/.test(regPart)) throw new IsaError(`bad operand ${token}`);
    const cls = letterClass(regPart[0] as string, regPart.slice(1), osize);
    const m = memorySize(memPart.slice(1), osize);
    const regName = CLASS_NAME[cls];
    const memName = MEM_NAME[m] as string;
    const name = regName.slice(1) === memName.slice(1) ? `r${memName}` : `${regName}${memName}`;
    return t(K.RM, reg(CLASS_BASE[cls]), mem(m), name, cls, true);
  }

  const match = /^([A-Z])([a-z]*)$/.exec(token);
  if (!match) throw new IsaError(`bad operand ${token}`);
  const letter = match[1] as string;
  const size = match[2] as string;
  switch (letter) {
    case 'E':
    case 'Q':
    case 'W': {
      const cls = letterClass(letter, size, osize);
      const m = memorySize(size, osize);
      const name = cls.startsWith('gpr') ? `rm${MEM_NAME[m]?.slice(1)}` : `${CLASS_NAME[cls]}${MEM_NAME[m]}`;
      return t(K.RM, reg(CLASS_BASE[cls]), mem(m), name, cls, true);
    }
    case 'G':
    case 'P':
    case 'V':
    case 'S':
    case 'C':
    case 'D': {
      const cls = letterClass(letter, size, osize);
      return t(K.REG, reg(CLASS_BASE[cls]), 0, CLASS_NAME[cls], cls);
    }
    case 'R':
    case 'N':
    case 'U': {
      const cls = letterClass(letter, size, osize);
      return t(K.RMREG, reg(CLASS_BASE[cls]), 0, CLASS_NAME[cls], cls);
    }
    case 'Z': {
      const cls = letterClass('G', size, osize);
      return t(K.OPREG, reg(CLASS_BASE[cls]), 0, CLASS_NAME[cls], cls);
    }
    case 'M': {
      const m = memorySize(size, osize);
      return t(K.MEM, 0, mem(m), MEM_NAME[m] as string, null, true);
    }
    case 'I':
      if (size === 'b') return t(K.IMM8, 0, 0, 'imm8', null);
      if (size === 'bs') return t(osize === 16 ? K.IMM8S16 : K.IMM8S32, 0, 0, 'imm8', null);
      if (size === 'w') return t(K.IMM16, 0, 0, 'imm16', null);
      if (size === 'd') return t(K.IMM32, 0, 0, 'imm32', null);
      if (size === 'z' || size === 'v')
        return osize === 16 ? t(K.IMM16, 0, 0, 'imm16', null) : t(K.IMM32, 0, 0, 'imm32', null);
      break;
    case 'J':
      if (size === 'b') return t(osize === 16 ? K.REL8_16 : K.REL8_32, 0, 0, 'rel8', null);
      if (size === 'z') return osize === 16 ? t(K.REL16, 0, 0, 'rel16', null) : t(K.REL32, 0, 0, 'rel32', null);
      break;
    case 'A':
      if (size === 'p') return osize === 16 ? t(K.FAR16, 0, 0, 'ptr1616', null) : t(K.FAR32, 0, 0, 'ptr1632', null);
      break;
    case 'O': {
      const m = memorySize(size, osize);
      return t(K.MOFFS, 0, mem(m), `moffs${MEM_NAME[m]?.slice(1)}`, null);
    }
    case 'X':
    case 'Y': {
      const m = memorySize(size === 'z' ? 'v' : size, osize);
      return t(letter === 'X' ? K.STR_SRC : K.STR_DST, 0, mem(m), MEM_NAME[m] as string, null);
    }
  }
  throw new IsaError(`bad operand ${token}`);
}

function fixedClass(name: string): RegClass {
  if (/^[A-D][LH]$/.test(name)) return 'gpr8';
  if (name.length === 3 && name.startsWith('E')) return 'gpr32';
  if (/^[ECSDFG]S$/.test(name)) return 'seg';
  return 'gpr16';
}

function letterClass(letter: string, size: string, osize: 16 | 32): RegClass {
  switch (letter) {
    case 'S':
      return 'seg';
    case 'C':
      return 'cr';
    case 'D':
      return 'dr';
    case 'P':
    case 'Q':
    case 'N':
      return 'mmx';
    case 'V':
    case 'W':
    case 'U':
      return 'xmm';
  }
  switch (size) {
    case 'b':
      return 'gpr8';
    case 'w':
      return 'gpr16';
    case 'd':
    case 'y':
      return 'gpr32';
    case 'v':
    case 'z':
      return osize === 16 ? 'gpr16' : 'gpr32';
  }
  throw new IsaError(`no general register of size "${size}"`);
}

/** Name of the MemorySize member for a size suffix. */
function memorySize(size: string, osize: 16 | 32): string {
  switch (size) {
    case '':
      return 'Unknown';
    case 'b':
      return 'Byte';
    case 'w':
      return 'Word';
    case 'd':
    case 'y':
    case 'ss':
      return 'Dword';
    case 'q':
    case 'sd':
      return 'Qword';
    case 'dq':
    case 'x':
    case 'ps':
    case 'pd':
      return 'Xmmword';
    case 'v':
    case 'z':
      return osize === 16 ? 'Word' : 'Dword';
    case 'p':
      return osize === 16 ? 'FarPtr16' : 'FarPtr32';
    case 'a':
      return osize === 16 ? 'Bound16' : 'Bound32';
    case 's':
      return 'Descriptor';
    case 'fs':
      return 'Float32';
    case 'fd':
      return 'Float64';
    case 'ft':
      return 'Float80';
    case 'wi':
      return 'Int16';
    case 'di':
      return 'Int32';
    case 'qi':
      return 'Int64';
    case 'bcd':
      return 'Bcd80';
    case 'env':
      return osize === 16 ? 'FpuEnv14' : 'FpuEnv28';
    case 'st':
      return osize === 16 ? 'FpuState94' : 'FpuState108';
    case 'fx':
      return 'Fxsave512';
  }
  throw new IsaError(`unknown operand size "${size}"`);
}
