import { ONE_BYTE } from './one-byte.js';
import type { IsaSection } from './section.js';
import { SIMD } from './simd.js';
import { THREE_BYTE } from './three-byte.js';
import { TWO_BYTE } from './two-byte.js';
import { X87 } from './x87.js';

export { FLAG_TOKENS } from './legend.js';
export type { IsaSection } from './section.js';

/** Every section of the instruction table, in the order Codes are numbered. */
export const SECTIONS: readonly IsaSection[] = [...ONE_BYTE, ...X87, ...TWO_BYTE, ...SIMD, ...THREE_BYTE];
