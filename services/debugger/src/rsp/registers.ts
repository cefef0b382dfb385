/**
 * The i386 register set as GDB numbers it: the org.gnu.gdb.i386.core feature (general registers,
 * EIP, EFLAGS, the six segment selectors, ST0-ST7 and the x87 control registers) followed by the
 * control registers in a plex86 feature. The target description and the g/G/p/P packets share
 * this one table, so register numbers and sizes cannot drift apart.
 */

import type { CpuRegisters, SegmentRegister, X87State } from '@plex86/proto';

type SegmentName = 'cs' | 'ss' | 'ds' | 'es' | 'fs' | 'gs';
type Word =
  'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi' | 'eip' | 'eflags' | 'cr0' | 'cr2' | 'cr3' | 'cr4';
type X87Word =
  | 'control'
  | 'status'
  | 'tag'
  | 'instructionSelector'
  | 'instructionOffset'
  | 'operandSelector'
  | 'operandOffset'
  | 'lastOpcode';

type Source =
  | { readonly kind: 'word'; readonly field: Word }
  | { readonly kind: 'selector'; readonly field: SegmentName }
  | { readonly kind: 'st'; readonly index: number }
  | { readonly kind: 'x87'; readonly field: X87Word; readonly bits: number };

export interface RegisterInfo {
  readonly name: string;
  /** Size in bytes in the g packet. */
  readonly size: number;
  readonly type: string;
  readonly group?: string;
  readonly feature: 'core' | 'system';
  readonly source: Source;
}

const word = (name: Word, type = 'int32', feature: 'core' | 'system' = 'core'): RegisterInfo => ({
  name,
  size: 4,
  type,
  feature,
  source: { kind: 'word', field: name },
});
const selector = (name: SegmentName): RegisterInfo => ({
  name,
  size: 4,
  type: 'int32',
  feature: 'core',
  source: { kind: 'selector', field: name },
});
const x87 = (name: string, field: X87Word, bits: number): RegisterInfo => ({
  name,
  size: 4,
  type: 'int',
  group: 'float',
  feature: 'core',
  source: { kind: 'x87', field, bits },
});

export const REGISTERS: readonly RegisterInfo[] = [
  word('eax'),
  word('ecx'),
  word('edx'),
  word('ebx'),
  word('esp', 'data_ptr'),
  word('ebp', 'data_ptr'),
  word('esi'),
  word('edi'),
  word('eip', 'code_ptr'),
  word('eflags', 'i386_eflags'),
  selector('cs'),
  selector('ss'),
  selector('ds'),
  selector('es'),
  selector('fs'),
  selector('gs'),
  ...Array.from({ length: 8 }, (_, i) => ({
    name: `st${i}`,
    size: 10,
    type: 'i387_ext',
    feature: 'core' as const,
    source: { kind: 'st' as const, index: i },
  })),
  x87('fctrl', 'control', 16),
  x87('fstat', 'status', 16),
  x87('ftag', 'tag', 16),
  x87('fiseg', 'instructionSelector', 16),
  x87('fioff', 'instructionOffset', 32),
  x87('foseg', 'operandSelector', 16),
  x87('fooff', 'operandOffset', 32),
  x87('fop', 'lastOpcode', 11),
  word('cr0', 'int32', 'system'),
  word('cr2', 'data_ptr', 'system'),
  word('cr3', 'int32', 'system'),
  word('cr4', 'int32', 'system'),
];

/** Bytes of the g packet. */
export const REGISTER_FILE_SIZE = REGISTERS.reduce((n, r) => n + r.size, 0);

const ST_BYTES = 10;
/** FTW with every register empty, as after FNINIT. */
const EMPTY_TAG = 0xffff;

function emptySegment(): SegmentRegister {
  return { selector: 0, base: 0, limit: 0, attributes: 0 };
}

function emptyX87(): X87State {
  return {
    control: 0x37f,
    status: 0,
    tag: EMPTY_TAG,
    lastOpcode: 0,
    instructionOffset: 0,
    instructionSelector: 0,
    operandOffset: 0,
    operandSelector: 0,
    st: [],
  };
}

/** Writes register `info` of `regs` into `out` at `offset`, little-endian. */
function put(regs: CpuRegisters, info: RegisterInfo, out: Uint8Array, offset: number): void {
  const src = info.source;
  let value: number;
  switch (src.kind) {
    case 'st': {
      const st = regs.x87?.st[src.index];
      for (let i = 0; i < ST_BYTES; i++) out[offset + i] = st !== undefined && i < st.length ? st[i] : 0;
      return;
    }
    case 'word':
      value = regs[src.field];
      break;
    case 'selector':
      value = regs[src.field]?.selector ?? 0;
      break;
    case 'x87':
      value = regs.x87 === undefined ? emptyX87()[src.field] : regs.x87[src.field];
      break;
  }
  out[offset] = value & 0xff;
  out[offset + 1] = (value >>> 8) & 0xff;
  out[offset + 2] = (value >>> 16) & 0xff;
  out[offset + 3] = (value >>> 24) & 0xff;
}

/** Reads register `info` from `data` at `offset` into `regs` (which must be a private copy). */
function take(regs: CpuRegisters, info: RegisterInfo, data: Uint8Array, offset: number): void {
  const src = info.source;
  if (src.kind === 'st') {
    const x = (regs.x87 ??= emptyX87());
    while (x.st.length <= src.index) x.st.push(new Uint8Array(ST_BYTES));
    x.st[src.index] = data.slice(offset, offset + ST_BYTES);
    return;
  }
  const value = (data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | (data[offset + 3] << 24)) >>> 0;
  switch (src.kind) {
    case 'word':
      regs[src.field] = value;
      return;
    case 'selector': {
      const seg = regs[src.field] ?? emptySegment();
      regs[src.field] = { ...seg, selector: value & 0xffff };
      return;
    }
    case 'x87': {
      const x = (regs.x87 ??= emptyX87());
      x[src.field] = src.bits === 32 ? value : value & ((1 << src.bits) - 1);
      return;
    }
  }
}

/** The g packet's bytes for a register file. */
export function encodeRegisterFile(regs: CpuRegisters): Uint8Array {
  const out = new Uint8Array(REGISTER_FILE_SIZE);
  let offset = 0;
  for (const info of REGISTERS) {
    put(regs, info, out, offset);
    offset += info.size;
  }
  return out;
}

/** One register's bytes for a p packet, or undefined for a number out of range. */
export function encodeRegister(regs: CpuRegisters, regnum: number): Uint8Array | undefined {
  const info = REGISTERS[regnum];
  if (info === undefined) return undefined;
  const out = new Uint8Array(info.size);
  put(regs, info, out, 0);
  return out;
}

function copyRegisters(regs: CpuRegisters): CpuRegisters {
  return {
    ...regs,
    x87: regs.x87 === undefined ? undefined : { ...regs.x87, st: [...regs.x87.st] },
  };
}

/**
 * `base` with the registers of a G packet applied; `data` may be shorter than the whole file (GDB
 * sends only what it knows), but not cut inside a register. Undefined when it is malformed.
 */
export function applyRegisterFile(base: CpuRegisters, data: Uint8Array): CpuRegisters | undefined {
  if (data.length > REGISTER_FILE_SIZE) return undefined;
  const regs = copyRegisters(base);
  let offset = 0;
  for (const info of REGISTERS) {
    if (offset === data.length) break;
    if (offset + info.size > data.length) return undefined;
    take(regs, info, data, offset);
    offset += info.size;
  }
  return regs;
}

/** `base` with one register (a P packet) applied, or undefined when the number or size is wrong. */
export function applyRegister(base: CpuRegisters, regnum: number, data: Uint8Array): CpuRegisters | undefined {
  const info = REGISTERS[regnum];
  if (info === undefined || data.length !== info.size) return undefined;
  const regs = copyRegisters(base);
  take(regs, info, data, 0);
  return regs;
}

const EFLAGS_FIELDS: readonly (readonly [string, number])[] = [
  ['CF', 0],
  ['', 1],
  ['PF', 2],
  ['AF', 4],
  ['ZF', 6],
  ['SF', 7],
  ['TF', 8],
  ['IF', 9],
  ['DF', 10],
  ['OF', 11],
  ['NT', 14],
  ['RF', 16],
  ['VM', 17],
  ['AC', 18],
  ['VIF', 19],
  ['VIP', 20],
  ['ID', 21],
];

function regElement(info: RegisterInfo, regnum: number): string {
  const group = info.group === undefined ? '' : ` group="${info.group}"`;
  return `    <reg name="${info.name}" bitsize="${info.size * 8}" type="${info.type}" regnum="${regnum}"${group}/>`;
}

/** The target description GDB reads through qXfer:features:read:target.xml. */
export function targetDescription(): string {
  const core: string[] = [];
  const system: string[] = [];
  REGISTERS.forEach((info, regnum) => (info.feature === 'core' ? core : system).push(regElement(info, regnum)));
  const flags = EFLAGS_FIELDS.map(([name, bit]) => `      <field name="${name}" start="${bit}" end="${bit}"/>`);
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '  <architecture>i386</architecture>',
    '  <feature name="org.gnu.gdb.i386.core">',
    '    <flags id="i386_eflags" size="4">',
    ...flags,
    '    </flags>',
    ...core,
    '  </feature>',
    '  <feature name="org.plex86.i386.system">',
    ...system,
    '  </feature>',
    '</target>',
    '',
  ].join('\n');
}
