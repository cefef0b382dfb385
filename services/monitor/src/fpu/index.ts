// The x87 FPU: see fpu.ts for how the CPU drives it.

export {
  Fpu,
  FpuResult,
  CTL_OPSIZE32,
  CTL_PROTECTED,
  CTL_NE,
  CTL_IGNNE,
  CTL_CW,
  CTL_SW,
  CTL_TOP,
  CTL_EMPTY,
  CTL_FIP,
  CTL_FCS,
  CTL_FDP,
  CTL_FDS,
  CTL_FOP,
  CTL_WORDS,
  MEM_READ,
  MEM_WRITE,
  MEM_SIZE_MASK,
  memAccess,
  escapeFault,
  waitFault,
} from './fpu.js';
export { arithStats } from './ext80.js';
