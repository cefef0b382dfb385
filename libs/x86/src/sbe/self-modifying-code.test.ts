import { afterEach, describe, expect, it } from 'vitest';
import { Decoder } from '../decoder/decoder.js';
import type { Instruction } from '../decoder/instruction.js';
import { OpKind } from '../decoder/op-kind.js';
import { Register } from '../decoder/register.js';
import { Mnemonic } from '../generated/mnemonic.js';
import { BlockEnd } from './block.js';
import { CodeMode, PAGE_SIZE } from './constants.js';
import { ScannedPageCache } from './scanned-page-cache.js';

/**
 * A tiny 32-bit executor over blocks, just enough of the CPU's run loop to test self-modifying code:
 * it runs the pre-decoded records of each block and, after an instruction that wrote memory, stops the
 * block when the SBE has invalidated it (unless told to ignore that, to show what goes wrong).
 */
class TinyCpu {
  readonly regs = new Int32Array(8);
  zf = false;
  eip = 0;
  halted = false;
  steps = 0;

  constructor(
    private readonly memory: Uint8Array,
    private readonly cache: ScannedPageCache,
    private readonly honourInvalidation = true,
  ) {}

  run(entry: number, maxSteps = 1000): void {
    this.eip = entry;
    while (!this.halted) {
      const block = this.cache.lookup(this.eip, CodeMode.Bits32, this.eip);
      if (block === null || block.count === 0) throw new Error(`no code at ${this.eip.toString(16)}`);
      for (let i = 0; i < block.count; i++) {
        if (++this.steps > maxSteps) throw new Error('step budget exceeded');
        const wrote = this.execute(block.instructions[i] as Instruction);
        if (this.halted) break;
        if (wrote && this.honourInvalidation && !block.valid) break;
      }
      if (block.endReason === BlockEnd.Invalid) throw new Error('executed an invalid instruction');
    }
  }

  /** Runs one instruction; returns true when it wrote memory. */
  private execute(ins: Instruction): boolean {
    let next = ins.nextIp;
    let wrote = false;
    switch (ins.mnemonic) {
      case Mnemonic.Nop:
        break;
      case Mnemonic.Inc:
      case Mnemonic.Dec: {
        const r = this.gpr(ins.op0Kind, ins.op0Register);
        const v = (this.regs[r] as number) + (ins.mnemonic === Mnemonic.Inc ? 1 : -1);
        this.regs[r] = v;
        this.zf = (v | 0) === 0;
        break;
      }
      case Mnemonic.Mov:
        if (ins.op0Kind === OpKind.Register && ins.op1Kind === OpKind.Immediate32) {
          this.regs[this.gpr(ins.op0Kind, ins.op0Register)] = ins.immediate;
        } else if (
          ins.op0Kind === OpKind.Memory &&
          ins.memBase === Register.None &&
          ins.op1Kind === OpKind.Immediate8
        ) {
          const addr = ins.memDisplacement >>> 0;
          this.memory[addr] = ins.immediate;
          this.cache.notifyWrite(addr, 1);
          wrote = true;
        } else {
          throw new Error('unsupported mov form');
        }
        break;
      case Mnemonic.Jmp:
        next = ins.branchTarget;
        break;
      case Mnemonic.Jne:
        if (!this.zf) next = ins.branchTarget;
        break;
      case Mnemonic.Hlt:
        this.halted = true;
        break;
      default:
        throw new Error(`unsupported mnemonic ${Mnemonic[ins.mnemonic]}`);
    }
    this.eip = next;
    return wrote;
  }

  private gpr(kind: OpKind, reg: Register): number {
    if (kind !== OpKind.Register || reg < Register.EAX || reg > Register.EDI) throw new Error('want a 32-bit GPR');
    return reg - Register.EAX;
  }
}

const EAX = 0;
const ECX = 1;
const EDX = 2;

let cache: ScannedPageCache | null = null;

function machine(program: [number, number[]][]): { memory: Uint8Array; cache: ScannedPageCache } {
  const memory = new Uint8Array(4 * PAGE_SIZE);
  for (const [addr, bytes] of program) memory.set(bytes, addr);
  cache = new ScannedPageCache({ memory, decoder: new Decoder(), debug: true });
  return { memory, cache };
}

afterEach(() => {
  cache?.checkInvariants();
  cache = null;
});

describe('self-modifying code', () => {
  // 1000: mov byte [1007h], 42h   ; turns the next instruction, inc eax (40), into inc edx (42)
  // 1007: inc eax
  // 1008: hlt
  const patchNext: [number, number[]][] = [[0x1000, [0xc6, 0x05, 0x07, 0x10, 0x00, 0x00, 0x42, 0x40, 0xf4]]];

  it('runs the next instruction of the current block with its new bytes', () => {
    const m = machine(patchNext);
    const first = m.cache.lookup(0x1000, CodeMode.Bits32, 0x1000);
    expect(first?.count).toBe(3); // the inc eax was pre-decoded with the old bytes
    const cpu = new TinyCpu(m.memory, m.cache);
    cpu.run(0x1000);
    expect(first?.valid).toBe(false);
    expect(cpu.regs[EDX]).toBe(1);
    expect(cpu.regs[EAX]).toBe(0);
    expect(m.cache.stats.invalidations).toBe(1);
  });

  it('would run the stale instruction if the CPU ignored the invalidation', () => {
    const m = machine(patchNext);
    const cpu = new TinyCpu(m.memory, m.cache, false);
    cpu.run(0x1000);
    expect(cpu.regs[EAX]).toBe(1);
    expect(cpu.regs[EDX]).toBe(0);
  });

  it('rescans another block that was patched while it was not running', () => {
    // 1000: inc eax; jmp 1010          (patched to inc edx after the first pass)
    // 1010: mov byte [1000h], 42h; dec ecx; jne 1000; hlt
    const m = machine([
      [0x1000, [0x40, 0xeb, 0x0d]],
      [0x1010, [0xc6, 0x05, 0x00, 0x10, 0x00, 0x00, 0x42, 0x49, 0x75, 0xe6, 0xf4]],
    ]);
    const cpu = new TinyCpu(m.memory, m.cache);
    cpu.regs[ECX] = 3;
    cpu.run(0x1000);
    expect(cpu.regs[EAX]).toBe(1);
    expect(cpu.regs[EDX]).toBe(2);
    expect(cpu.regs[ECX]).toBe(0);
    // The patching block itself never lost its code: only the patched block was rescanned.
    expect(m.cache.peek(0x1010, CodeMode.Bits32)?.hits).toBe(2);
    expect(m.cache.stats.invalidations).toBe(3);
  });

  it('keeps running a block whose writes land next to it', () => {
    // 1000: mov byte [1040h], 1; inc eax; hlt  — the data byte shares the code's 128-byte chunk
    const m = machine([[0x1000, [0xc6, 0x05, 0x40, 0x10, 0x00, 0x00, 0x01, 0x40, 0xf4]]]);
    const cpu = new TinyCpu(m.memory, m.cache);
    cpu.run(0x1000);
    expect(cpu.regs[EAX]).toBe(1);
    expect(m.cache.stats.codeWrites).toBe(1);
    expect(m.cache.stats.invalidations).toBe(0);
    expect(m.cache.peek(0x1000, CodeMode.Bits32)?.valid).toBe(true);
  });
});
