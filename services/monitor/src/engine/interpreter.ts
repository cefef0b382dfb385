/**
 * The interpreter's loop over a block's packed records (cpu/exec/packed.ts), generated once per
 * Cpu: the most frequent forms run inline, each as a case of a switch on the routine index with its
 * template in the packed view (cpu/exec/fast.ts); every other record calls its routine. A call
 * through the routine table costs V8's generic call builtin and the handler's entry and exit for
 * every record, where a case of a dense switch is one indirect jump.
 */

import type { Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu/cpu.js';
import { Effect, generatedFunction, packedForm, type FormVariant } from '../cpu/exec/fast.js';
import { Packed, PACKED_SHIFT, READS_RECORD, routineId, ROUTINES } from '../cpu/exec/packed.js';
import { EXIT_REQUESTED } from './compile.js';

/**
 * The forms that run inline, the most frequent first: the 64 commonest among the records the
 * interpreter ran on the default guest (boot and the bench workload at a quarter scale), 91.5 % of
 * them. Each names a specialised handler's form (fast.ts) and which of its handlers.
 */
const INLINE_FORMS: readonly (readonly [string, FormVariant])[] = [
  ['Mov_r32_rm32', 'base'],
  ['Mov_rm32_r32', 'reg'],
  ['Mov_rm32_r32', 'base'],
  ['Push_r32', 'reg'],
  ['Pop_r32', 'reg'],
  ['Xor_rm32_r32', 'reg'],
  ['Add_rm32_r32', 'reg'],
  ['Lea_r32_m', 'base'],
  ['Call_rel32', 'reg'],
  ['Je_rel8_32', 'reg'],
  ['Test_rm32_r32', 'reg'],
  ['Jne_rel8_32', 'reg'],
  ['Ret_32', 'reg'],
  ['Add_rm32_imm8', 'reg'],
  ['Ror_rm32_imm8', 'reg'],
  ['Je_rel32', 'reg'],
  ['Sub_rm32_imm8', 'reg'],
  ['Cmp_rm32_r32', 'reg'],
  ['Lea_r32_m', 'mem'],
  ['Mov_r32_imm32', 'reg'],
  ['Jne_rel32', 'reg'],
  ['Mov_rm32_imm32', 'base'],
  ['Rol_rm32_imm8', 'reg'],
  ['Cmp_rm32_imm8', 'reg'],
  ['Mov_r32_rm32', 'mem'],
  ['And_rm32_imm8', 'reg'],
  ['Jmp_rel8_32', 'reg'],
  ['Sub_rm32_r32', 'reg'],
  ['Movzx_r32_rm8', 'base'],
  ['Jmp_rel32', 'reg'],
  ['Shr_rm32_imm8', 'reg'],
  ['Mov_EAX_moffs32', 'mem'],
  ['Add_rm32_imm32', 'reg'],
  ['Test_rm8_r8', 'reg'],
  ['Cmp_rm32_r32', 'base'],
  ['And_rm32_r32', 'reg'],
  ['Cmp_rm8_imm8', 'base'],
  ['Jae_rel8_32', 'reg'],
  ['Jb_rel8_32', 'reg'],
  ['Or_rm32_r32', 'reg'],
  ['Mov_rm8_r8', 'base'],
  ['Inc_r32', 'reg'],
  ['Mov_r8_rm8', 'base'],
  ['Mov_rm32_r32', 'mem'],
  ['Test_rm8_imm8', 'base'],
  ['Sub_r32_rm32', 'mem'],
  ['Cmp_AL_imm8', 'reg'],
  ['Cmp_rm32_imm8', 'base'],
  ['Add_r32_rm32', 'mem'],
  ['Shl_rm32_imm8', 'reg'],
  ['Cmp_rm8_imm8', 'reg'],
  ['And_rm32_imm32', 'reg'],
  ['Test_rm8_imm8', 'reg'],
  ['Jbe_rel8_32', 'reg'],
  ['Add_rm32_imm8', 'base'],
  ['Cmp_rm32_imm32', 'reg'],
  ['Movzx_r32_rm8', 'reg'],
  ['Ja_rel8_32', 'reg'],
  ['Mov_rm32_imm32', 'reg'],
  ['And_EAX_imm32', 'reg'],
  ['Mov_rm8_imm8', 'base'],
  ['Test_AL_imm8', 'reg'],
  ['Movzx_r32_rm16', 'base'],
  ['Add_r32_rm32', 'base'],
];

/**
 * Runs records 0 to n-1 of a block from their packed form, which starts at offset `at` of `packed`
 * (the block source's arena), at IPs moved by `delta` and wrapped by `mask`, until one sets
 * `cpu.exitBlock`; adds the records that ran (a faulting one not) to `cpu.instructions`, also when
 * one faults.
 */
export type PackedInterpreter = (
  cpu: Cpu,
  records: readonly Instruction[],
  packed: Int32Array,
  at: number,
  n: number,
  delta: number,
  mask: number,
) => void;

/** Each inline form's routine index, code, and what it may do besides registers and flags. */
const INLINE = INLINE_FORMS.map(([name, variant]) => {
  const form = packedForm(name, variant);
  if (form === undefined) throw new Error(`the interpreter's inline form ${name} (${variant}) has no template`);
  return { id: routineId(form.twin), code: form.code, effect: form.effect };
});

/** The routine indexes the interpreter runs inline. */
export const INLINE_ROUTINES: readonly number[] = INLINE.map((form) => form.id);

/**
 * Sets `cpu.insEip` to the start of the record at `po` and EIP to the next one's: what a record that
 * may jump, read EIP or call a handler must find before it runs.
 */
function syncIp(po: string): string {
  return `{ const start = (_pk[${po} + ${Packed.IP}] + delta) & mask; cpu.insEip = start;
    st[0] = (start + _pk[${po} + ${Packed.LENGTH}]) & mask; _synced = true; }`;
}

/**
 * The interpreter for `cpu`: its arrays (registers, state words, TLB, RAM) are constants of the
 * function (generatedFunction), so V8 drops the map check and the reloads of length and backing
 * store that an array read from `cpu` needs at each access after a call. The TLB masks are read at
 * each call: the interpreter runs at every privilege.
 */
export function packedInterpreter(cpu: Cpu): PackedInterpreter {
  // A form of registers and flags only (Effect.NONE) cannot fault, end the block or read EIP: it
  // skips the IP bookkeeping and the exit test. One that reaches memory but does not jump needs only
  // `insEip`, for a fault (the run loop restarts the instruction there) or a device or debugger that
  // looks at it. The loop sets EIP when the block ends after either, also when it ends early. Only
  // forms that write memory are followed by the exit test: what a read asks for waits for the
  // block's end, as in page functions (fast.ts WRITES).
  const cases = INLINE.map((form) => {
    if (form.effect === Effect.NONE) return `case ${form.id}: { ${form.code} } _synced = false; continue;\n`;
    const sync =
      (form.effect & Effect.BRANCH) === 0
        ? `cpu.insEip = (_pk[_po + ${Packed.IP}] + delta) & mask; _synced = false;`
        : syncIp('_po');
    return `case ${form.id}: { ${sync} ${form.code} } ${(form.effect & Effect.EXITS) !== 0 ? 'break' : 'continue'};\n`;
  }).join('');
  // Int32 arguments as small integers, which V8 would otherwise check and untag at every use.
  const body = `at |= 0; n |= 0; delta |= 0; mask |= 0; let i = 0, _synced = true;
  try {
    for (; i < n; i++) {
      const _po = at + (i << ${PACKED_SHIFT});
      const id = _pk[_po + ${Packed.ROUTINE}];
      switch (id) {
${cases}default: ${syncIp('_po')} ROUTINES[id](cpu, READS_RECORD[id] === 1 ? records[i] : null, _pk, _po);
      }
      if (${EXIT_REQUESTED}) { i++; break; }
    }
    if (!_synced) ${syncIp(`at + ((i - 1) << ${PACKED_SHIFT})`)}
  } finally { cpu.instructions += i; }`;
  return generatedFunction(
    'interpret',
    'cpu, records, _pk, at, n, delta, mask',
    body,
    { ROUTINES, READS_RECORD },
    { cpu, privilege: false },
  ) as PackedInterpreter;
}
