/**
 * The interpreter's dispatch table: one handler per opcode identity (`Code`). Codes without a handler
 * (MMX, SSE and the rest of what a P6 without those units lacks) raise #UD.
 */

import { Code, CODE_COUNT, type Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';

export type Handler = (cpu: Cpu, ins: Instruction) => void;

/** #UD: undefined opcode, or an instruction this processor does not implement. */
export const undefinedOpcode: Handler = (cpu) => cpu.raiseNoCode(Vector.UD);

export const HANDLERS: Handler[] = new Array<Handler>(CODE_COUNT).fill(undefinedOpcode);

/** Code names that have a handler, for the coverage report. */
const registered = new Set<number>();

/** The Code of a name; a name the decoder does not know is a programming error. */
export function codeNamed(name: string): number {
  const code = (Code as unknown as Record<string, number | undefined>)[name];
  if (typeof code !== 'number') throw new Error(`unknown instruction code ${name}`);
  return code;
}

/** Registers a handler under a Code name. */
export function on(name: string, handler: Handler): void {
  const code = codeNamed(name);
  if (registered.has(code)) throw new Error(`instruction code ${name} registered twice`);
  registered.add(code);
  HANDLERS[code] = handler;
}

/** True when the code has a handler of its own. */
export function isImplemented(code: number): boolean {
  return registered.has(code);
}
