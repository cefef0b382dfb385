/** Renders a decoded instruction in the notation of the decoder test vectors (see vector-parser.ts). */
import { CodeAttr, FlowControl } from '../decoder/attributes.js';
import { Feature } from '../decoder/feature.js';
import type { Instruction } from '../decoder/instruction.js';
import { memorySizeBytes } from '../decoder/memory-size.js';
import { OpKind } from '../decoder/op-kind.js';
import { Prefix } from '../decoder/prefixes.js';
import { Register, registerName } from '../decoder/register.js';
import { Code } from '../generated/code.js';
import { MNEMONIC_NAMES } from '../generated/mnemonic.js';

const hex = (n: number): string => `0x${n.toString(16)}`;

function memory(ins: Instruction): string {
  const mask = ins.addressSize === 16 ? 0xffff : 0xffffffff;
  let inner = registerName(ins.memBase);
  if (ins.memIndex !== Register.None) {
    // 16-bit addressing has no scale.
    const scale = ins.addressSize === 16 ? '' : `*${ins.memScale}`;
    inner += `${inner ? '+' : ''}${registerName(ins.memIndex)}${scale}`;
  }
  if (ins.memDisplSize !== 0 || !inner) {
    const d = ins.memDisplacement;
    if (!inner) inner = hex((d & mask) >>> 0);
    else inner += d < 0 ? `-${hex(-d)}` : `+${hex(d)}`;
  }
  return `mem=${registerName(ins.memSegment)}:[${inner}]/${memorySizeBytes(ins.memSize)}`;
}

/** Operand `n` as `eax`, `i8=0x5`, `i8s32=0xfffffff0`, `near32=0x1005`, `far16=0x8:0x1234`, `mem=ds:[ecx+0x4]/4`, ... */
export function formatOperand(ins: Instruction, n: number): string {
  const kind = ins.opKind(n);
  switch (kind) {
    case OpKind.Register:
      return registerName(ins.opRegister(n));
    case OpKind.Memory:
      return memory(ins);
    case OpKind.Immediate8:
      return `i8=${hex(ins.immediate)}`;
    case OpKind.Immediate16:
      return `i16=${hex(ins.immediate)}`;
    case OpKind.Immediate32:
      return `i32=${hex(ins.immediate)}`;
    case OpKind.Immediate8to16:
      return `i8s16=${hex(ins.immediate)}`;
    case OpKind.Immediate8to32:
      return `i8s32=${hex(ins.immediate)}`;
    case OpKind.Immediate8Second:
      return `i8b=${hex(ins.immediate2)}`;
    case OpKind.NearBranch16:
      return `near16=${hex(ins.branchTarget)}`;
    case OpKind.NearBranch32:
      return `near32=${hex(ins.branchTarget)}`;
    case OpKind.FarBranch16:
      return `far16=${hex(ins.farSelector)}:${hex(ins.branchTarget)}`;
    case OpKind.FarBranch32:
      return `far32=${hex(ins.farSelector)}:${hex(ins.branchTarget)}`;
    case OpKind.MemorySegSI:
      return `segsi=${registerName(ins.memSegment)}`;
    case OpKind.MemorySegESI:
      return `segesi=${registerName(ins.memSegment)}`;
    case OpKind.MemoryESDI:
      return 'esdi';
    case OpKind.MemoryESEDI:
      return 'esedi';
    case OpKind.MemorySegDI:
      return `segdi=${registerName(ins.memSegment)}`;
    case OpKind.MemorySegEDI:
      return `segedi=${registerName(ins.memSegment)}`;
    default:
      return 'none';
  }
}

/**
 * The value of every vector key for a decoded instruction. Statuses other than Ok only have `status` and
 * `len` meaningful.
 */
export function describeForVector(ins: Instruction, status: string): Map<string, string> {
  const d = new Map<string, string>();
  d.set('status', status);
  d.set('len', String(ins.length));
  d.set('code', Code[ins.code] ?? String(ins.code));
  d.set('mnemonic', MNEMONIC_NAMES[ins.mnemonic] ?? '?');
  const ops: string[] = [];
  for (let i = 0; i < ins.opCount; i++) ops.push(formatOperand(ins, i));
  d.set('ops', ops.join(','));
  const p = ins.prefixes;
  const prefixes = [
    p & Prefix.Lock ? 'lock' : '',
    p & Prefix.Rep ? 'rep' : '',
    p & Prefix.Repne ? 'repne' : '',
    p & Prefix.OperandSize ? 'osize' : '',
    p & Prefix.AddressSize ? 'asize' : '',
    p & Prefix.Segment ? `seg=${registerName(ins.segmentPrefix)}` : '',
  ].filter(Boolean);
  d.set('prefixes', prefixes.join(','));
  d.set('flow', FlowControl[ins.attributes & CodeAttr.FLOW_MASK] ?? '?');
  d.set('osize', String(ins.operandSize));
  d.set('asize', String(ins.addressSize));
  return d;
}

/** Checks an `attrs=` list (`BIT` set, `!BIT` clear) against an attribute word; returns the failures. */
export function checkAttributes(attributes: number, spec: string): string[] {
  const failures: string[] = [];
  for (const item of spec.split(',').filter(Boolean)) {
    const negate = item.startsWith('!');
    const name = negate ? item.slice(1) : item;
    const bit = (CodeAttr as unknown as Record<string, number>)[name];
    if (bit === undefined || name === 'FLOW_MASK') {
      failures.push(`unknown attribute ${name}`);
      continue;
    }
    if (((attributes & bit) !== 0) === negate) failures.push(item);
  }
  return failures;
}

/** Name of a Feature value. */
export function featureName(feature: number): string {
  return Feature[feature] ?? String(feature);
}
