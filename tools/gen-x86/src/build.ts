/** Expands parsed rows into Codes (one per operand-size form) and builds the decoder's decision trees. */
import { IsaError, type ParsedRow } from './parse.js';
import {
  OPERAND_KIND,
  operandDependsOnSize,
  resolveOperand,
  type OperandTemplate,
  type RuntimeEnums,
} from './operands.js';

/** Kinds of decoder table words (low four bits). */
export const NODE_KIND = {
  INVALID: 0,
  LEAF: 1,
  /** Children: no mandatory prefix, 66, F3, F2. */
  PREFIX: 2,
  /** Children: memory (mod 00/01/10), register (mod 11). */
  MOD: 3,
  /** Children: ModRM.reg 0..7. */
  REG: 4,
  /** Children: ModRM.rm 0..7. */
  RM: 5,
  /** Children: operand size 16, 32. */
  OPSIZE: 6,
  /** Children: address size 16, 32. */
  ADDRSIZE: 7,
  /** First-level entry: escape to the map in the payload (1 = 0F, 2 = 0F 38, 3 = 0F 3A). */
  ESCAPE: 8,
  /** First-level entry: a legacy prefix byte (payload = the byte). */
  PREFIX_BYTE: 9,
} as const;

/** Table word bits above the kind. */
export const NODE_FLAG = {
  /** Leaf: the mandatory prefix that selected it (66, F3 or F2) is part of the opcode. */
  CONSUME: 1 << 4,
  /** First-level entry: a ModRM byte follows the opcode. */
  MODRM: 1 << 5,
  /** First-level entry: ModRM.mod is ignored and treated as 11b. */
  NOMOD: 1 << 6,
  PAYLOAD_SHIFT: 7,
} as const;

const IMMEDIATE_KINDS: ReadonlySet<number> = new Set([
  OPERAND_KIND.IMM8,
  OPERAND_KIND.IMM16,
  OPERAND_KIND.IMM32,
  OPERAND_KIND.IMM8S16,
  OPERAND_KIND.IMM8S32,
]);

export interface CodeDef {
  readonly id: number;
  name: string;
  readonly mnemonic: string;
  readonly templates: readonly OperandTemplate[];
  readonly attributes: number;
  readonly feature: number;
  readonly osize: 16 | 32 | null;
  readonly asize: 16 | 32 | null;
  readonly rows: ParsedRow[];
}

interface Form {
  readonly row: ParsedRow;
  readonly osize: 16 | 32 | null;
  readonly code: CodeDef;
}

export interface BuiltTables {
  readonly codes: readonly CodeDef[];
  /** PascalCase mnemonic names; index 0 is Invalid. */
  readonly mnemonics: readonly string[];
  /** 4 x 256 first-level words. */
  readonly opcodeMap: Uint32Array;
  readonly nodes: Uint32Array;
}

export function pascal(mnemonic: string): string {
  return mnemonic.charAt(0) + mnemonic.slice(1).toLowerCase();
}

export function buildTables(rows: readonly ParsedRow[], enums: RuntimeEnums): BuiltTables {
  const codes: CodeDef[] = [];
  const codeByKey = new Map<string, CodeDef>();
  const forms: Form[] = [];

  for (const row of rows) {
    const sizeDependent =
      row.flags.has('osz') || row.mnemonic16 !== row.mnemonic32 || row.operands.some(operandDependsOnSize);
    if (row.prefix === '66' && sizeDependent)
      throw new IsaError(`a row selected by 66 cannot depend on the operand size: "${row.source}"`);
    const sizes: (16 | 32 | null)[] = row.osize ? [row.osize] : sizeDependent ? [16, 32] : [null];
    for (const osize of sizes) {
      let immediates = 0;
      const templates = row.operands.map((op) => {
        let t: OperandTemplate;
        try {
          t = resolveOperand(op, osize ?? 32, enums);
        } catch (e) {
          throw new IsaError(`${(e as Error).message} in "${row.source}"`);
        }
        if (IMMEDIATE_KINDS.has(t.kind) && immediates++ > 0) {
          // A second immediate (ENTER's nesting level) has a slot of its own.
          if (t.kind !== OPERAND_KIND.IMM8) throw new IsaError(`only a second Ib is supported: "${row.source}"`);
          t = { ...t, kind: OPERAND_KIND.IMM8_2ND };
        }
        return t;
      });
      const mnemonic = pascal(osize === 16 ? row.mnemonic16 : row.mnemonic32);
      const attributes = attributesOf(row, templates, enums);
      const feature = enums.feature[row.feature];
      if (feature === undefined) throw new IsaError(`unknown feature ${row.feature}`);
      const key = JSON.stringify([
        mnemonic,
        templates.map((t) => [t.kind, t.reg, t.mem]),
        attributes,
        feature,
        osize,
        row.asize,
      ]);
      let code = codeByKey.get(key);
      if (!code) {
        const suffix = row.asize ? `_a${row.asize}` : '';
        code = {
          id: codes.length + 1,
          name: [mnemonic, ...templates.map((t) => t.name)].join('_') + suffix,
          mnemonic,
          templates,
          attributes,
          feature,
          osize,
          asize: row.asize,
          rows: [],
        };
        codes.push(code);
        codeByKey.set(key, code);
      }
      code.rows.push(row);
      forms.push({ row, osize, code });
    }
  }
  disambiguateNames(codes);

  const mnemonics = ['Invalid', ...new Set(codes.map((c) => c.mnemonic))].sort((a, b) =>
    a === 'Invalid' ? -1 : b === 'Invalid' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );

  const opcodeMap = new Uint32Array(4 * 256);
  const nodes: number[] = [];
  const childIndex = new Map<string, number>();
  const allocate = (children: number[]): number => {
    const key = children.join(',');
    let index = childIndex.get(key);
    if (index === undefined) {
      index = nodes.length;
      nodes.push(...children);
      childIndex.set(key, index);
    }
    return index;
  };

  const byOpcode = new Map<number, Form[]>();
  for (const form of forms) {
    for (const opcode of form.row.opcodes) {
      const slot = form.row.map * 256 + opcode;
      let list = byOpcode.get(slot);
      if (!list) byOpcode.set(slot, (list = []));
      list.push(form);
    }
  }
  const special = new Map<number, number>();
  for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) {
    special.set(b, NODE_KIND.PREFIX_BYTE | (b << NODE_FLAG.PAYLOAD_SHIFT));
  }
  special.set(0x0f, NODE_KIND.ESCAPE | (1 << NODE_FLAG.PAYLOAD_SHIFT));
  special.set(256 + 0x38, NODE_KIND.ESCAPE | (2 << NODE_FLAG.PAYLOAD_SHIFT));
  special.set(256 + 0x3a, NODE_KIND.ESCAPE | (3 << NODE_FLAG.PAYLOAD_SHIFT));

  for (let slot = 0; slot < 4 * 256; slot++) {
    const list = byOpcode.get(slot);
    const fixed = special.get(slot);
    if (fixed !== undefined) {
      if (list) throw new IsaError(`opcode ${slotName(slot)} is a prefix or escape: "${list[0]?.row.source}"`);
      opcodeMap[slot] = fixed;
      continue;
    }
    if (!list) continue;
    const modrm = list[0]?.row.modrm || list[0]?.code.templates.some(usesModrm);
    const nomod = list[0]?.row.flags.has('nomod');
    for (const form of list) {
      if ((form.row.modrm || form.code.templates.some(usesModrm)) !== modrm)
        throw new IsaError(`opcode ${slotName(slot)} mixes rows with and without ModRM: "${form.row.source}"`);
      if (form.row.flags.has('nomod') !== nomod) throw new IsaError(`opcode ${slotName(slot)} mixes nomod rows`);
    }
    const tree = buildTree(list, 0, allocate, slot);
    opcodeMap[slot] = (tree | (modrm ? NODE_FLAG.MODRM : 0) | (nomod ? NODE_FLAG.NOMOD : 0)) >>> 0;
  }
  return { codes, mnemonics, opcodeMap, nodes: Uint32Array.from(nodes) };
}

function usesModrm(t: OperandTemplate): boolean {
  return (
    t.kind === OPERAND_KIND.RM ||
    t.kind === OPERAND_KIND.REG ||
    t.kind === OPERAND_KIND.MEM ||
    t.kind === OPERAND_KIND.RMREG
  );
}

function slotName(slot: number): string {
  const map = ['', '0F ', '0F 38 ', '0F 3A '][slot >> 8];
  return `${map}${(slot & 255).toString(16).toUpperCase().padStart(2, '0')}`;
}

type Dimension = 'prefix' | 'mod' | 'reg' | 'rm' | 'osize' | 'asize';
const DIMENSIONS: readonly Dimension[] = ['prefix', 'mod', 'reg', 'rm', 'osize', 'asize'];
const DIMENSION_KIND: Record<Dimension, number> = {
  prefix: NODE_KIND.PREFIX,
  mod: NODE_KIND.MOD,
  reg: NODE_KIND.REG,
  rm: NODE_KIND.RM,
  osize: NODE_KIND.OPSIZE,
  asize: NODE_KIND.ADDRSIZE,
};
const PREFIX_VALUES = ['NP', '66', 'F3', 'F2'] as const;

function constrains(form: Form, dim: Dimension): boolean {
  switch (dim) {
    case 'prefix':
      return form.row.prefix !== null;
    case 'mod':
      return (
        form.row.mod !== null || form.code.templates.some((t) => t.kind === OPERAND_KIND.MEM) || requiresRegister(form)
      );
    case 'reg':
      return form.row.reg !== null;
    case 'rm':
      return form.row.rm !== null;
    case 'osize':
      return form.osize !== null;
    case 'asize':
      return form.row.asize !== null;
  }
}

/** Register-only operands (R, N, U, STi) need mod 11b unless the opcode ignores mod. */
function requiresRegister(form: Form): boolean {
  return !form.row.flags.has('nomod') && form.code.templates.some((t) => t.kind === OPERAND_KIND.RMREG);
}

function matches(form: Form, dim: Dimension, index: number): boolean {
  switch (dim) {
    case 'prefix':
      return form.row.prefix === null || form.row.prefix === PREFIX_VALUES[index];
    case 'mod': {
      const mod =
        form.row.mod ??
        (form.code.templates.some((t) => t.kind === OPERAND_KIND.MEM) ? 'mem' : requiresRegister(form) ? 'reg' : null);
      if (
        mod === 'mem' &&
        form.code.templates.some((t) => t.kind === OPERAND_KIND.RMREG) &&
        !form.row.flags.has('nomod')
      )
        throw new IsaError(`row needs both memory and a register r/m: "${form.row.source}"`);
      return mod === null || mod === (index === 0 ? 'mem' : 'reg');
    }
    case 'reg':
      return form.row.reg === null || form.row.reg === index;
    case 'rm':
      return form.row.rm === null || form.row.rm === index;
    case 'osize':
      return form.osize === null || form.osize === (index === 0 ? 16 : 32);
    case 'asize':
      return form.row.asize === null || form.row.asize === (index === 0 ? 16 : 32);
  }
}

function buildTree(
  forms: readonly Form[],
  start: number,
  allocate: (children: number[]) => number,
  slot: number,
): number {
  if (forms.length === 0) return NODE_KIND.INVALID;
  for (let d = start; d < DIMENSIONS.length; d++) {
    const dim = DIMENSIONS[d] as Dimension;
    if (!forms.some((f) => constrains(f, dim))) continue;
    if (dim === 'rm' && forms.some((f) => f.row.mod !== 'reg' && f.row.rm !== null))
      throw new IsaError('rm without mod');
    const count = dim === 'prefix' ? 4 : dim === 'mod' || dim === 'osize' || dim === 'asize' ? 2 : 8;
    const children: number[] = [];
    for (let i = 0; i < count; i++) {
      children.push(
        buildTree(
          forms.filter((f) => matches(f, dim, i)),
          d + 1,
          allocate,
          slot,
        ),
      );
    }
    if (children.every((c) => c === children[0])) return children[0] as number;
    return (DIMENSION_KIND[dim] | (allocate(children) << NODE_FLAG.PAYLOAD_SHIFT)) >>> 0;
  }
  // A leaf: one Code must remain; a row with a mandatory prefix beats one without.
  let candidates = forms;
  if (new Set(candidates.map((f) => f.code)).size > 1) candidates = forms.filter((f) => f.row.prefix !== null);
  const distinct = new Set(candidates.map((f) => f.code));
  if (distinct.size !== 1)
    throw new IsaError(
      `ambiguous encoding at opcode ${slotName(slot)}: ${forms.map((f) => `"${f.row.source}"`).join(', ')}`,
    );
  const form = candidates[0] as Form;
  const consume = form.row.prefix !== null && form.row.prefix !== 'NP';
  return (NODE_KIND.LEAF | (consume ? NODE_FLAG.CONSUME : 0) | (form.code.id << NODE_FLAG.PAYLOAD_SHIFT)) >>> 0;
}

function attributesOf(row: ParsedRow, templates: readonly OperandTemplate[], enums: RuntimeEnums): number {
  const A = enums.codeAttr;
  const bit = (name: string): number => {
    const value = A[name];
    if (value === undefined) throw new IsaError(`unknown attribute ${name}`);
    return value;
  };
  let attrs = 0;
  let flow: number | null = null;
  const flowTokens: Record<string, string> = {
    jmp: 'Jump',
    ijmp: 'IndirectJump',
    jcc: 'ConditionalJump',
    call: 'Call',
    icall: 'IndirectCall',
    ret: 'Return',
    int: 'Interrupt',
    exc: 'Exception',
  };
  const attrTokens: Record<string, string> = {
    lock: 'LOCKABLE',
    priv: 'PRIVILEGED',
    sens: 'SENSITIVE',
    io: 'IO',
    serial: 'SERIALIZING',
    far: 'FAR',
    segload: 'SEGMENT_LOAD',
    x87: 'X87',
    mmx: 'MMX',
    sse: 'SSE',
  };
  for (const flag of row.flags) {
    const f = flowTokens[flag];
    if (f) {
      if (flow !== null) throw new IsaError(`two control-flow kinds in "${row.source}"`);
      flow = enums.flowControl[f] ?? null;
    }
    const a = attrTokens[flag];
    if (a) attrs |= bit(a);
  }
  attrs |= flow ?? 0;
  if (row.flags.has('sr')) attrs |= bit('STACK') | bit('READS_MEMORY');
  if (row.flags.has('sw')) attrs |= bit('STACK') | bit('WRITES_MEMORY');

  const K = OPERAND_KIND;
  templates.forEach((t, index) => {
    if (t.modrmMemory || t.kind === K.MOFFS || t.kind === K.XLAT) {
      if (row.flags.has('nomem')) return;
      let access = row.flags.has('rw')
        ? 'rw'
        : row.flags.has('w')
          ? 'w'
          : row.flags.has('r')
            ? 'r'
            : index === 0
              ? 'rw'
              : 'r';
      if (index > 0 && (row.flags.has('w') || row.flags.has('rw'))) access = 'r';
      if (access.includes('r')) attrs |= bit('READS_MEMORY');
      if (access.includes('w')) attrs |= bit('WRITES_MEMORY');
    }
    if (t.kind === K.STR_SRC) attrs |= bit('STRING') | bit('READS_MEMORY');
    if (t.kind === K.STR_DST) attrs |= bit('STRING') | bit(row.flags.has('cmp') ? 'READS_MEMORY' : 'WRITES_MEMORY');
    if (t.kind === K.MASKMOV) attrs |= bit('WRITES_MEMORY');
    if (t.regClass === 'mmx') attrs |= bit('MMX');
    if (t.regClass === 'xmm') attrs |= bit('SSE');
  });
  return attrs >>> 0;
}

/** Gives every Code a unique name: `_16`/`_32` for operand-size forms, then the opcode bytes. */
function disambiguateNames(codes: CodeDef[]): void {
  const groups = new Map<string, CodeDef[]>();
  for (const code of codes) {
    let list = groups.get(code.name);
    if (!list) groups.set(code.name, (list = []));
    list.push(code);
  }
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    for (const code of list) if (code.osize !== null) code.name += `_${code.osize}`;
    const again = new Map<string, CodeDef[]>();
    for (const code of list) {
      let l = again.get(code.name);
      if (!l) again.set(code.name, (l = []));
      l.push(code);
    }
    for (const l of again.values()) {
      if (l.length < 2) continue;
      for (const code of l.slice(1)) code.name += `_${code.rows[0]?.opcodeTag}`;
    }
  }
  const seen = new Set<string>();
  for (const code of codes) {
    if (seen.has(code.name)) throw new IsaError(`duplicate Code name ${code.name}`);
    seen.add(code.name);
  }
}
