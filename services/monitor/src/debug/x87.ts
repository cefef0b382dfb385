/** The x87 state in the DebugService shape (FSAVE's view: ST(0)..ST(7) in stack order) and back. */

import { CTL_CW, CTL_EMPTY, CTL_FCS, CTL_FDP, CTL_FDS, CTL_FIP, CTL_FOP, CTL_SW, CTL_TOP, Fpu } from '../fpu/fpu.js';
import type { WireX87State } from './wire.js';

const ST_BYTES = 10;
const TAG_EMPTY = 3;
const SW_TOP = 0x3800;

/** The CPU's FPU, when the CPU has one attached. */
export function cpuFpu(cpu: object): Fpu | undefined {
  const fpu = (cpu as { fpu?: unknown }).fpu;
  return fpu instanceof Fpu ? fpu : undefined;
}

export function readX87(fpu: Fpu): WireX87State {
  const c = fpu.ctl;
  const st: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const p = fpu.phys(i);
    const bytes = new Uint8Array(ST_BYTES);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, fpu.lo[p], true);
    view.setUint32(4, fpu.hi[p], true);
    view.setUint16(8, fpu.se[p], true);
    st.push(bytes);
  }
  return {
    control: fpu.controlWord() & 0xffff,
    status: fpu.statusWord() & 0xffff,
    tag: fpu.tagWord() & 0xffff,
    lastOpcode: c[CTL_FOP] & 0x7ff,
    instructionOffset: c[CTL_FIP] >>> 0,
    instructionSelector: c[CTL_FCS] & 0xffff,
    operandOffset: c[CTL_FDP] >>> 0,
    operandSelector: c[CTL_FDS] & 0xffff,
    st,
  };
}

/**
 * Loads the x87 state: TOP from the status word, empty registers from the tag word (the other tags
 * follow from the values, as on FRSTOR), ST(i) values where given (10 bytes each).
 */
export function writeX87(fpu: Fpu, x87: WireX87State): void {
  const c = fpu.ctl;
  c[CTL_CW] = x87.control & 0xffff;
  c[CTL_SW] = x87.status & 0xffff & ~SW_TOP;
  c[CTL_TOP] = (x87.status >>> 11) & 7;
  let empty = 0;
  for (let p = 0; p < 8; p++) if (((x87.tag >>> (2 * p)) & 3) === TAG_EMPTY) empty |= 1 << p;
  c[CTL_EMPTY] = empty;
  c[CTL_FOP] = x87.lastOpcode & 0x7ff;
  c[CTL_FIP] = x87.instructionOffset >>> 0;
  c[CTL_FCS] = x87.instructionSelector & 0xffff;
  c[CTL_FDP] = x87.operandOffset >>> 0;
  c[CTL_FDS] = x87.operandSelector & 0xffff;
  for (let i = 0; i < 8; i++) {
    const bytes = x87.st[i];
    if (bytes === undefined || bytes.length !== ST_BYTES) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset, ST_BYTES);
    const p = fpu.phys(i);
    fpu.lo[p] = view.getUint32(0, true);
    fpu.hi[p] = view.getUint32(4, true);
    fpu.se[p] = view.getUint16(8, true);
  }
}
