/**
 * Named, justified differences between plex86's decoder and iced-x86. The differential tests fail on any
 * difference that no entry here explains.
 */
import type { Described } from './iced-oracle.js';

export interface DiffCase {
  /** Instruction bytes (hex). */
  readonly bytes: string;
  readonly ours: Described;
  readonly iced: Described;
  /** iced's CPUID features of its decode that the modelled CPU does not have. */
  readonly icedOutsideModel: readonly string[];
}

export interface NamedException {
  readonly name: string;
  readonly justification: string;
  matches(c: DiffCase): boolean;
}

/** iced mnemonic → the older instruction the same bytes are on the modelled CPU. */
const OLDER_MEANING: Readonly<Record<string, string>> = {
  tzcnt: 'bsf',
  lzcnt: 'bsr',
  wbnoinvd: 'wbinvd',
  prefetch: 'nop',
  prefetchw: 'nop',
  prefetchwt1: 'nop',
  cldemote: 'nop',
  endbr32: 'nop',
  endbr64: 'nop',
  rdsspd: 'nop',
  incsspd: 'nop',
  prefetchit0: 'nop',
  prefetchit1: 'nop',
  nop: 'nop',
};

export const ICED_EXCEPTIONS: readonly NamedException[] = [
  {
    name: 'outside-model-ud',
    justification:
      'iced decodes every extension it knows (VEX/EVEX/XOP AVX encodings, AES-NI, SHA, GFNI, ADX, MOVBE, ' +
      'SYSCALL/SYSRET, 3DNow!, VMX/SMX, XSAVE, RDRAND/RDSEED, CET, ...). plex86 models a P6-class CPU with ' +
      'MMX and SSE to SSE4.2 and no AVX, on which these encodings raise #UD, so it reports Invalid.',
    matches: (c) => c.iced.valid && !c.ours.valid && c.icedOutsideModel.length > 0,
  },
  {
    name: 'outside-model-older-meaning',
    justification:
      'A newer extension reused an encoding that older CPUs execute as something else: F3 0F BC/BD are ' +
      'BSF/BSR with an ignored REP without BMI1/ABM (TZCNT/LZCNT), F3 0F 09 is WBINVD without WBNOINVD, and ' +
      '0F 0D / 0F 18-0F 1F are hint NOPs without PREFETCHW, PREFETCHI, CLDEMOTE or CET. The modelled CPU runs the ' +
      'older meaning; the length is the same.',
    matches: (c) =>
      c.iced.valid &&
      c.ours.valid &&
      c.icedOutsideModel.length > 0 &&
      c.iced.length === c.ours.length &&
      OLDER_MEANING[c.iced.mnemonic] === c.ours.mnemonic,
  },
  {
    name: 'iced-drops-repne-on-0f1e-register-nop',
    justification:
      'iced gives F2 0F 1E with a register operand (mod 11b) a mandatory-prefix slot (its CET handlers) and ' +
      'does not report the F2 as REPNE, while it does for the memory forms and for 0F 19-0F 1D. The bytes ' +
      'are the same hint NOP either way; plex86 reports the prefix that is present.',
    matches: (c) =>
      /(^| )0f 1e [c-f][0-9a-f]/.test(c.bytes) &&
      c.ours.valid &&
      c.iced.valid &&
      c.ours.mnemonic === 'nop' &&
      c.iced.mnemonic === 'nop' &&
      c.ours.length === c.iced.length &&
      c.ours.operands.join() === c.iced.operands.join() &&
      c.ours.prefixes.replace(/\brepne\b/, '').trim() === c.iced.prefixes.trim(),
  },
];

/** The first exception that explains a difference, or undefined. */
export function explain(
  c: DiffCase,
  exceptions: readonly NamedException[] = ICED_EXCEPTIONS,
): NamedException | undefined {
  return exceptions.find((e) => e.matches(c));
}
