import { Instruction } from '../decoder/instruction.js';

/**
 * Free list of instruction records: dropped blocks give theirs back and scans take them, so a warm
 * cache scans without allocating records.
 */
export class InstructionPool {
  private readonly free: Instruction[] = [];
  private size = 0;
  /** Records this pool ever created. */
  created = 0;

  /** Number of records waiting in the pool. */
  get available(): number {
    return this.size;
  }

  take(): Instruction {
    if (this.size > 0) {
      const rec = this.free[--this.size] as Instruction;
      return rec;
    }
    this.created++;
    return new Instruction();
  }

  give(rec: Instruction): void {
    this.free[this.size++] = rec;
  }

  /** Calls `fn` for every pooled record (for the invariant checker). */
  forEach(fn: (rec: Instruction) => void): void {
    for (let i = 0; i < this.size; i++) fn(this.free[i] as Instruction);
  }
}
