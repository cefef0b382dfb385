// Compiled blocks with inlined records against the same blocks calling their handlers: random
// instruction sequences from random CPU state must leave identical registers, flags, EIP, memory,
// completed-record counts, faults and early exits.

import { Block, BlockEnd, Code, CodeMode, decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { xorshift32 } from '@plex86/x86/testing';
import { describe, expect, it } from 'vitest';
import { Attr, Cpu } from '../../src/cpu/cpu.js';
import { fastHandler } from '../../src/cpu/exec/fast.js';
import { CPU_FAULT } from '../../src/cpu/fault.js';
import { TlbBit } from '../../src/cpu/paging.js';
import { Cr0, Seg } from '../../src/cpu/registers.js';
import { blockSource, deadFlags } from '../../src/engine/compile.js';
import { compileRegion } from '../../src/engine/region.js';
import { resolveGenericHandler, resolveHandler } from '../../src/engine/engine.js';
import type { Handler } from '../../src/cpu/exec/table.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';

const RAM = 1 << 20;
const CODE_IP = 0x1000;
/** Writes to this page request an exit, as a write into a block's code page does. */
const CODE_PAGE = 0x0f;

function makeCpu(bits: 16 | 32): Cpu {
  const mem = new PhysicalMemory({ ramSize: RAM });
  const cpu = new Cpu(mem, new PortSpace());
  if (bits === 32) {
    cpu.setCr0(cpu.cr0 | Cr0.PE);
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
    for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? attr | Attr.CODE : attr);
  } else {
    for (let s = 0; s < 6; s++) cpu.loadRealSegment(s, 0);
  }
  mem.setCodeWriteListener(() => cpu.requestExit());
  return cpu;
}

/** Handler-path forms mixed into the sequences (no control transfer, no I/O, bounded run time). */
const GENERIC =
  /^(Imul_r|Not_|Neg_|Set|Cmov|Xchg_|Bswap|Rol_|Ror_|Rcl_|Rcr_|Bt_|Bts_|Btr_|Cdq|Cwde|Cbw|Cwd|Push_imm|Shld|Shrd|Movzx_r16|Movsx_r16|Lea_r16|Shl_rm(8|16)|Shr_rm(8|16)|Sar_rm(8|16)|Push_r16|Pop_r16|Mul_|Sahf|Lahf|Clc|Stc|Cmc|Xlat)/;

/** The body context of a page function made for flat segments. */
const FLAT = { base: 0, leave: (done: number) => `return ${done};`, flat: true };

/** The records as one block, compiled for `cpu` as the run loop compiles a block alone: a region of one. */
function compileBlock(
  cpu: Cpu,
  handlers: Handler[],
  records: Instruction[],
  count: number,
  bits: 16 | 32,
  inline = true,
  flat = false,
): () => number {
  const block = new Block();
  block.mode = bits === 32 ? CodeMode.Bits32 : CodeMode.Bits16;
  block.instructions = records;
  block.count = count;
  block.startIp = records[0].ip | 0;
  block.endReason = BlockEnd.ControlTransfer;
  block.routines = handlers;
  const region = compileRegion([block], bits, cpu, inline, flat);
  // The records that completed: a member that passes control on adds its count to the instruction
  // count itself, one that returns gives it back.
  return () => {
    const before = cpu.instructions;
    const last = region.run(cpu, 1, -1);
    const completed = cpu.instructions - before + last;
    cpu.instructions = before;
    return completed;
  };
}

interface Sequence {
  records: Instruction[];
  handlers: Handler[];
}

/** Decodes random bytes at consecutive IPs until `count` acceptable records are found. */
function randomSequence(rnd: () => number, bits: 16 | 32, count: number): Sequence {
  const bytes = new Uint8Array(16);
  const records: Instruction[] = [];
  let ip = CODE_IP;
  const endWithJump = (rnd() & 1) === 0;
  // Often a flag-setting operation right before the jump, whose flags the jump may test directly.
  const setterFirst = endWithJump && (rnd() & 1) === 0;
  while (records.length < count) {
    const last = records.length === count - 1;
    const beforeLast = records.length === count - 2;
    const ins = new Instruction();
    for (let i = 0; i < 16; i++) bytes[i] = rnd() & 0xff;
    if (decodeInstruction(bytes, 0, 16, ip, bits, ins) !== DecodeStatus.Ok) continue;
    const name = Code[ins.code];
    const jump = /^(J|Call_|Ret_)/.test(name);
    if (jump !== (last && endWithJump)) continue;
    if (fastHandler(ins) === undefined && !GENERIC.test(name)) continue;
    if (beforeLast && setterFirst && !/^(Cmp|Sub|Test|And|Or|Xor|Add)_/.test(name)) continue;
    records.push(ins);
    ip += ins.length;
  }
  return { records, handlers: records.map((r) => resolveHandler(r, DecodeStatus.Ok)) };
}

/** The records of 32-bit code `bytes` at `ip`, with the handlers the run loop would give them. */
function decodeBlock(bytes: Uint8Array, ip = CODE_IP): Sequence {
  const records: Instruction[] = [];
  for (let off = 0; off < bytes.length;) {
    const ins = new Instruction();
    expect(decodeInstruction(bytes, off, bytes.length, ip + off, 32, ins)).toBe(DecodeStatus.Ok);
    records.push(ins);
    off += ins.length;
  }
  return { records, handlers: records.map((r) => resolveHandler(r, DecodeStatus.Ok)) };
}

interface Outcome {
  completed: number;
  vector: number;
  code: number;
}

/** Runs a block function as the run loop does (insEip at the block start; the count on a fault). */
function runBlock(cpu: Cpu, fn: () => number, records: readonly Instruction[], mask: number): Outcome {
  cpu.insEip = records[0].ip;
  cpu.eip = records[0].ip;
  try {
    return { completed: fn(), vector: -1, code: 0 };
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    let done = 0;
    while (done < records.length && ((records[done].ip ^ cpu.insEip) & mask) !== 0) done++;
    return { completed: done, vector: cpu.faultVector, code: cpu.faultCode };
  }
}

/** Random state, the same in both CPUs: registers near RAM, flags, a lazy flag state, segment limits. */
function randomize(rnd: () => number, cpus: Cpu[], bits: 16 | 32, image: Uint8Array): void {
  const regs = Array.from({ length: 8 }, () => {
    const k = rnd() & 7;
    if (k === 0) return rnd() | 0;
    if (k === 1) return (CODE_PAGE << 12) + (rnd() & 0xfff);
    return bits === 16 ? rnd() & 0xffff : rnd() % RAM;
  });
  const flags = (rnd() & 0x8d5) | 2;
  const lz = [0, 0x8d52001, 0x8d50803, 0x8d41001][rnd() & 3];
  const res = rnd() | 0;
  const opa = rnd() | 0;
  const opb = rnd() | 0;
  // Now and then a data segment that ends early (#GP) or a CS limit a jump can pass (#GP).
  const top = bits === 16 ? 0xffff : -1;
  const dsLimit = (rnd() & 3) === 0 ? rnd() & top & (RAM - 1) : top;
  const csLimit = (rnd() & 3) === 0 ? CODE_IP + (rnd() & 0xfff) : top;
  for (const cpu of cpus) {
    cpu.ram.set(image);
    cpu.mem.markCode(CODE_PAGE);
    for (let r = 0; r < 8; r++) cpu.r32[r] = regs[r];
    cpu.eflags = flags;
    cpu.setLazy(lz, res, opa, opb);
    cpu.exitBlock = false;
    // In real mode the limits are the descriptor caches' too (as left by protected mode).
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | (bits === 32 ? Attr.DB | Attr.G : 0);
    cpu.loadSegmentCache(Seg.DS, bits === 32 ? 0x10 : 0, 0, dsLimit, attr);
    cpu.loadSegmentCache(Seg.CS, bits === 32 ? 0x08 : 0, 0, csLimit, attr | Attr.CODE);
  }
}

function describeState(cpu: Cpu, out: Outcome): string {
  const regs = Array.from(cpu.r32, (v) => (v >>> 0).toString(16)).join(' ');
  // After a fault EIP is not looked at: the run loop restarts the instruction at insEip.
  const eip = out.vector >= 0 ? '-' : cpu.eip.toString(16);
  return `done ${out.completed} fault ${out.vector}/${out.code} insEip ${cpu.insEip.toString(16)} eip ${eip} exit ${cpu.exitBlock} flags ${cpu.eflags.toString(16)} regs ${regs}`;
}

describe('compiled blocks', () => {
  for (const bits of [32, 16] as const) {
    it(`inline records with the same effect as their handlers (random ${bits}-bit sequences)`, () => {
      const rnd = xorshift32(0x5eed + bits);
      const a = makeCpu(bits);
      const b = makeCpu(bits);
      const image = new Uint8Array(RAM);
      for (let i = 0; i < RAM; i += 4) {
        const v = rnd();
        image[i] = v;
        image[i + 1] = v >>> 8;
        image[i + 2] = v >>> 16;
        image[i + 3] = v >>> 24;
      }
      const mask = bits === 16 ? 0xffff : -1;
      const mismatches: string[] = [];
      const inlinedCodes = new Set<number>();
      let inlined = 0;
      let faults = 0;
      let exits = 0;
      let fused = 0;
      const trials = 800;
      for (let t = 0; t < trials; t++) {
        const { records, handlers } = randomSequence(rnd, bits, 1 + (rnd() % 12));
        const count = records.length;
        const src = blockSource(handlers, records, count, bits);
        inlined += src.inlined;
        // A jump testing the state words rather than calling the flag getters.
        if (/if \((?![^{]*cpu\.get)[^{]*\) \{ const t =/.test(src.source)) fused++;
        for (let i = 0; i < count; i++) if (handlers[i] === fastHandler(records[i])) inlinedCodes.add(records[i].code);
        const called = compileBlock(a, handlers, records, count, bits, false);
        const inline = compileBlock(b, handlers, records, count, bits, true);
        randomize(rnd, [a, b], bits, image);
        const oa = runBlock(a, called, records, mask);
        const ob = runBlock(b, inline, records, mask);
        if (oa.vector >= 0) faults++;
        else if (oa.completed < count) exits++;
        const sa = describeState(a, oa);
        const sb = describeState(b, ob);
        const memSame = Buffer.compare(a.ram, b.ram) === 0;
        if (sa !== sb || !memSame) {
          const text = records.map((r) => Code[r.code]).join('; ');
          mismatches.push(`${text}\n  handlers: ${sa}\n  inlined:  ${sb}${memSame ? '' : '\n  memory differs'}`);
          b.ram.set(a.ram);
        }
      }
      expect(mismatches.slice(0, 5)).toEqual([]);
      // The comparison means something only if the sequences inlined many forms, faulted and exited.
      expect(inlined).toBeGreaterThan(trials * 2);
      expect(inlinedCodes.size).toBeGreaterThan(bits === 32 ? 120 : 80);
      expect(faults).toBeGreaterThan(trials / 20);
      expect(exits).toBeGreaterThan(5);
      expect(fused).toBeGreaterThan(trials / 10);
    }, 60_000);
  }

  it('take conditional jumps after ADD, SUB, CMP and logic operations as the flag getters do', () => {
    const cpu = makeCpu(32);
    const edges = [0, 1, 2, -1, -2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, -0x80000000];
    const mismatches: string[] = [];
    let fused = 0;
    let selects = 0;
    // add, or, and, sub, xor, cmp, test of EAX/AX/AL with EBX/BX/BL, then a Jcc rel8.
    for (const op of [0x00, 0x08, 0x20, 0x28, 0x30, 0x38, 0x84]) {
      // 8-, 32- and 16-bit operands.
      for (const aluBytes of [
        [op, 0xd8],
        [op + 1, 0xd8],
        [0x66, op + 1, 0xd8],
      ]) {
        for (let cc = 0; cc < 16; cc++) {
          const bytes = Uint8Array.of(...aluBytes, 0x70 + cc, 0x10);
          const { records, handlers } = decodeBlock(bytes);
          const src = blockSource(handlers, records, 2, 32).source;
          if (!src.includes('cpu.get')) fused++;
          const flatSrc = blockSource(handlers, records, 2, 32, true, FLAT).source;
          if (/st\[0\] = \(.*\) \? \d+ : \d+;/.test(flatSrc)) selects++;
          const called = compileBlock(cpu, handlers, records, 2, 32, false);
          const inline = compileBlock(cpu, handlers, records, 2, 32, true);
          // Code for flat segments (which the CPU has here) stores the target or the next IP.
          const flat = compileBlock(cpu, handlers, records, 2, 32, true, true);
          for (const x of edges) {
            for (const y of edges) {
              const eips: number[] = [];
              for (const fn of [called, inline, flat]) {
                cpu.r32[0] = x;
                cpu.r32[3] = y;
                runBlock(cpu, fn, records, -1);
                eips.push(cpu.eip);
              }
              if (eips[0] !== eips[1] || eips[0] !== eips[2]) {
                mismatches.push(`${Code[records[0].code]}; ${Code[records[1].code]} with ${x}, ${y}: ${eips}`);
              }
            }
          }
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(fused).toBeGreaterThan(200);
    // Every jump of the flat code is a store of one of two IPs.
    expect(selects).toBe(7 * 3 * 16);
  });

  it('leave a closing conditional jump of flat code to a caller that asks, with its condition, target and next IP', () => {
    // cmp eax, ebx; jne +0x10
    const { records, handlers } = decodeBlock(Uint8Array.of(0x39, 0xd8, 0x75, 0x10));
    const next = CODE_IP + 4;
    const split = blockSource(handlers, records, 2, 32, true, { ...FLAT, splitBranch: true });
    expect(split.branch).toBeDefined();
    expect(split.branch?.target).toBe(String(next + 0x10));
    expect(split.branch?.next).toBe(String(next));
    // The jump's code is the caller's: the body ends with the CMP.
    expect(split.source).not.toContain(`? ${next + 0x10}`);
    expect(split.source).not.toMatch(/st\[0\] =/);
    // Not without the request, not in code whose segments may not be flat, not after another form.
    expect(blockSource(handlers, records, 2, 32, true, FLAT).branch).toBeUndefined();
    expect(
      blockSource(handlers, records, 2, 32, true, { ...FLAT, flat: false, splitBranch: true }).branch,
    ).toBeUndefined();
    expect(blockSource(handlers, records, 1, 32, true, { ...FLAT, splitBranch: true }).branch).toBeUndefined();
  });

  it('make a member that ends with a conditional jump go on to the member on each path, and leave at once on a path to none', () => {
    const cpu = makeCpu(32);
    // A countdown loop: dec ecx; jnz back to it (the loop block is a member that jumps to itself).
    const { records, handlers } = decodeBlock(Uint8Array.of(0x49, 0x75, 0xfd));
    const block = new Block();
    block.mode = CodeMode.Bits32;
    block.instructions = records;
    block.count = 2;
    block.startIp = CODE_IP;
    block.endReason = BlockEnd.ControlTransfer;
    block.routines = handlers;
    for (const nested of [true, false]) {
      const region = compileRegion([block], 32, cpu, true, true, nested);
      const source = region.run.toString();
      // Nested, the jump back is the loop's continue after the budget and exit tests; through the
      // dispatch loop, it names the member and the loop tests once.
      const back = nested
        ? `if \\(_done >= budget \\|\\| cpu\\.exitBlock === true\\) return 0; _k = 0; continue l1;`
        : '_k = 0; break;';
      expect(source).toMatch(new RegExp(`_s0 = ${CODE_IP}; ${back}`));
      expect(source).toMatch(new RegExp(`_s0 = ${CODE_IP + 3}; return 0;`));
      expect(source).not.toMatch(/_k = _s0 ===/);
      // It loops inside the function until ECX is 0, then leaves with EIP after the jump.
      cpu.r32[1] = 1000;
      cpu.eip = CODE_IP;
      cpu.insEip = CODE_IP;
      const before = cpu.instructions;
      const last = region.run(cpu, 1 << 20, 0);
      expect(cpu.r32[1]).toBe(0);
      expect(cpu.eip).toBe(CODE_IP + 3);
      expect(cpu.instructions - before + last).toBe(2000);
    }
  });

  it('leave at once for a return address off their pages, and look up one on them', () => {
    const cpu = makeCpu(32);
    // Member 0 at CODE_IP: ret. Member 1 at CODE_IP + 8: inc eax; ret.
    const member = (ip: number, bytes: Uint8Array): Block => {
      const { records, handlers } = decodeBlock(bytes, ip);
      const block = new Block();
      block.mode = CodeMode.Bits32;
      block.instructions = records;
      block.count = records.length;
      block.startIp = ip;
      block.physAddr = ip;
      block.endReason = BlockEnd.ControlTransfer;
      block.routines = handlers;
      return block;
    };
    // Either layout of the members (MemberLayout).
    for (const nested of [true, false]) {
      const region = compileRegion(
        [member(CODE_IP, Uint8Array.of(0xc3)), member(CODE_IP + 8, Uint8Array.of(0x40, 0xc3))],
        32,
        cpu,
        true,
        true,
        nested,
      );
      // A test of EIP's page at the end of each returning member and before the lookup by EIP.
      const pageTest = new RegExp(`\\(_s0 >>> 12\\) !== ${CODE_IP >>> 12}\\) return 0;`, 'g');
      expect(region.run.toString().match(pageTest)).toHaveLength(3);
      const stack = 0x8000;
      const run = (returns: readonly number[]): number => {
        returns.forEach((ip, i) => cpu.mem.write32(stack + 4 * i, ip));
        cpu.r32[4] = stack;
        cpu.r32[0] = 0;
        cpu.eip = CODE_IP;
        cpu.insEip = CODE_IP;
        const before = cpu.instructions;
        const last = region.run(cpu, 1 << 20, 0);
        return cpu.instructions - before + last;
      };
      // The first return goes to member 1, inside the function; the second to another page.
      expect(run([CODE_IP + 8, 0x5000])).toBe(3);
      expect(cpu.r32[0]).toBe(1);
      expect(cpu.eip).toBe(0x5000);
      expect(cpu.regionAt).toBe(1);
      // A return address on the page that starts no member leaves after the lookup.
      expect(run([CODE_IP + 4])).toBe(1);
      expect(cpu.r32[0]).toBe(0);
      expect(cpu.eip).toBe(CODE_IP + 4);
      expect(cpu.regionAt).toBe(0);
    }
    // A jump to where no member starts leaves at once, without the lookup.
    const jump = compileRegion([member(CODE_IP, Uint8Array.of(0xe9, 0xfb, 0x3f, 0x00, 0x00))], 32, cpu, true, true);
    expect(jump.run.toString()).toMatch(/_done \+= 1; return 0;/);
    cpu.eip = CODE_IP;
    cpu.insEip = CODE_IP;
    expect(jump.run(cpu, 1 << 20, 0)).toBe(0);
    expect(cpu.eip).toBe(0x5000);
  });

  it('compute branch targets from the wrapped next IP of 16-bit code ending at 0x10000', () => {
    // jmp rel32 (operand size 32 in 16-bit code) and call rel32 as the last bytes below 64 KiB.
    for (const opcode of [0xe9, 0xe8]) {
      const bytes = Uint8Array.of(0x66, opcode, 0x10, 0x00, 0x00, 0x00);
      const ins = new Instruction();
      const ip = 0x10000 - bytes.length;
      expect(decodeInstruction(bytes, 0, bytes.length, ip, 16, ins)).toBe(DecodeStatus.Ok);
      const handlers = [resolveHandler(ins, DecodeStatus.Ok)];
      const eips: number[] = [];
      for (const inline of [false, true]) {
        const cpu = makeCpu(16);
        cpu.loadSegmentCache(Seg.CS, 0, 0, -1, Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.CODE);
        cpu.r32[4] = 0x8000;
        const out = runBlock(cpu, compileBlock(cpu, handlers, [ins], 1, 16, inline), [ins], 0xffff);
        expect(out.vector).toBe(-1);
        eips.push(cpu.eip);
      }
      expect(eips[1]).toBe(eips[0]);
      // The displacement counts from the wrapped next IP, 0.
      expect(eips[0]).toBe(0x10);
    }
  });

  it('puts literals in place of record fields for the inlined forms and calls handlers for the rest', () => {
    // add eax, ebx; mov ecx, [esi + 8]; cpuid; jne -0x10
    const bytes = Uint8Array.of(0x01, 0xd8, 0x8b, 0x4e, 0x08, 0x0f, 0xa2, 0x75, 0xf0);
    const { records, handlers } = decodeBlock(bytes);
    const { source, inlined } = blockSource(handlers, records, records.length, 32);
    expect(inlined).toBe(3);
    expect(source).toContain('r32[0] = res');
    // The load: the TLB hit inline, cpu.read32 otherwise.
    expect(source).toContain('_mo = ((r32[6] + 8) | 0)');
    expect(source).toContain('ram32[_mp >>> 2] : cpu.read32(3, _mo)');
    expect(source).toContain('h[2](cpu, r[2])');
    expect(source).not.toMatch(/h\[[013]\]/);
    // The jump's target as a literal: the record after it is at 0x1009, 0x10 back is 0xff9.
    expect(source).toContain(`const t = ${CODE_IP + 9 - 0x10};`);
    // Generic handlers (the differential tests' resolver) are never replaced by inline code.
    const generic = records.map((r) => resolveGenericHandler(r, DecodeStatus.Ok));
    expect(blockSource(generic, records, records.length, 32).inlined).toBe(0);
  });

  it('leave out the CF and OF of shifts and rotates whose flags a later register ALU operation sets first', () => {
    const dead = (...bytes: number[]) => {
      const { records, handlers } = decodeBlock(Uint8Array.from(bytes));
      return deadFlags(handlers, records, records.length);
    };
    const ROR_EAX = [0xc1, 0xc8, 0x06];
    const SHR_EAX = [0xc1, 0xe8, 0x06];
    const MOV_EBX_EAX = [0x89, 0xc3];
    const XOR_ECX_EDX = [0x31, 0xd1];
    // Set again by the XOR, with only a register move between.
    expect(dead(...ROR_EAX, ...MOV_EBX_EAX, ...XOR_ECX_EDX)).toEqual([true, true, false]);
    expect(dead(...SHR_EAX, ...XOR_ECX_EDX)).toEqual([true, false]);
    // Read before they are set again: by a jump, by ADC, by a later block (the block's end).
    expect(dead(...ROR_EAX, 0x72, 0x00)).toEqual([false, false]);
    expect(dead(...ROR_EAX, 0x11, 0xcb, ...XOR_ECX_EDX)).toEqual([false, true, false]);
    expect(dead(...ROR_EAX, ...MOV_EBX_EAX)).toEqual([false, false]);
    // A load between them may fault, and a fault must see the rotate's flags.
    expect(dead(...ROR_EAX, 0x8b, 0x18, ...XOR_ECX_EDX)).toEqual([false, true, false]);
    // A rotate sets only CF and OF: the one before it keeps its flags.
    expect(dead(...ROR_EAX, 0xc1, 0xcb, 0x07, ...XOR_ECX_EDX)).toEqual([false, true, false]);

    const { records, handlers } = decodeBlock(Uint8Array.from([...ROR_EAX, ...MOV_EBX_EAX, ...XOR_ECX_EDX]));
    const { source } = blockSource(handlers, records, records.length, 32);
    expect(source).not.toContain('0x800');
    const kept = decodeBlock(Uint8Array.from([...ROR_EAX, ...MOV_EBX_EAX]));
    expect(blockSource(kept.handlers, kept.records, kept.records.length, 32).source).toContain('0x800');

    // Whatever the rotate left, the block ends with the XOR's flags, as with the handlers.
    const a = makeCpu(32);
    const b = makeCpu(32);
    const called = compileBlock(a, handlers, records, records.length, 32, false);
    const inline = compileBlock(b, handlers, records, records.length, 32, true);
    for (const [eax, ecx, edx, flags] of [
      [0x80000001, 5, 5, 0x8d5],
      [0x7fffffc0, 0x80000000, 1, 0],
      [1, 0, 0, 0x801],
    ]) {
      for (const cpu of [a, b]) {
        cpu.r32[0] = eax as number;
        cpu.r32[1] = ecx as number;
        cpu.r32[2] = edx as number;
        cpu.eflags = (cpu.eflags & ~0x8d5) | (flags as number);
      }
      const oa = runBlock(a, called, records, -1);
      const ob = runBlock(b, inline, records, -1);
      expect(describeState(b, ob)).toBe(describeState(a, oa));
    }
  });

  it('stops right after a write into a code page and leaves EIP on the next record', () => {
    // mov [ebx], eax; inc ecx; inc edx
    const bytes = Uint8Array.of(0x89, 0x03, 0x41, 0x42);
    const { records, handlers } = decodeBlock(bytes);
    const cpu = makeCpu(32);
    const fn = compileBlock(cpu, handlers, records, records.length, 32);
    cpu.mem.markCode(CODE_PAGE);
    cpu.r32[3] = CODE_PAGE << 12;
    cpu.r32[0] = 0x12345678;
    cpu.r32[1] = 7;
    const out = runBlock(cpu, fn, records, -1);
    expect(out).toEqual({ completed: 1, vector: -1, code: 0 });
    expect(cpu.exitBlock).toBe(true);
    expect(cpu.eip).toBe(CODE_IP + 2);
    expect(cpu.r32[1]).toBe(7);
    expect(cpu.mem.read32(CODE_PAGE << 12)).toBe(0x12345678);
    // Off a code page the block runs to its end.
    cpu.exitBlock = false;
    cpu.r32[3] = (CODE_PAGE + 1) << 12;
    expect(runBlock(cpu, fn, records, -1).completed).toBe(3);
    expect(cpu.eip).toBe(CODE_IP + 4);
    expect(cpu.r32[1]).toBe(8);
  });

  it('reports an inline write to a page that got code after its translation was made', () => {
    // mov [esi], ecx; inc edx
    const { records, handlers } = decodeBlock(Uint8Array.of(0x89, 0x0e, 0x42));
    const cpu = makeCpu(32);
    const fn = compileBlock(cpu, handlers, records, records.length, 32, true, true);
    cpu.r32[6] = 0x5000;
    cpu.r32[1] = 7;
    // The first run makes the page's translation, writable, while the page holds no code.
    expect(runBlock(cpu, fn, records, -1).completed).toBe(2);
    expect(cpu.exitBlock).toBe(false);
    cpu.mem.markCode(5);
    cpu.r32[1] = 8;
    // Now the write is reported (the code cache asks for an exit) and the block stops after it.
    expect(runBlock(cpu, fn, records, -1).completed).toBe(1);
    expect(cpu.exitBlock).toBe(true);
    expect(cpu.mem.read32(0x5000)).toBe(8);
    // Once the code is gone, the next write through the CPU lets the translation write directly again.
    cpu.exitBlock = false;
    cpu.mem.unmarkCode(5);
    expect(cpu.tlb[5] & TlbBit.CODE).toBe(TlbBit.CODE);
    expect(runBlock(cpu, fn, records, -1).completed).toBe(2);
    expect(cpu.tlb[5] & TlbBit.CODE).toBe(0);
  });

  it('runs on after a read that asks for an exit (a device) up to the next record that tests for one', () => {
    // mov eax, [ebx]; inc ecx; mov [esi], ecx; inc edx
    const bytes = Uint8Array.of(0x8b, 0x03, 0x41, 0x89, 0x0e, 0x42);
    const { records, handlers } = decodeBlock(bytes);
    const { source } = blockSource(handlers, records, records.length, 32);
    // No test after the read; one after the write.
    expect(source.match(/cpu\.exitBlock/g)).toHaveLength(1);
    const cpu = makeCpu(32);
    const device = RAM - 0x1000;
    cpu.mem.mapMmio(device, 0x1000, { read8: () => (cpu.requestExit(), 0x5a), write8: () => undefined });
    const fn = compileBlock(cpu, handlers, records, records.length, 32);
    cpu.r32[3] = device;
    cpu.r32[6] = 0x2000;
    cpu.r32[1] = 7;
    cpu.r32[2] = 0;
    // The exit waits for the write, which tests it: the block stops after it, as after a write into code.
    expect(runBlock(cpu, fn, records, -1).completed).toBe(3);
    expect(cpu.exitBlock).toBe(true);
    expect(cpu.r32[0]).toBe(0x5a5a5a5a);
    expect(cpu.mem.read32(0x2000)).toBe(8);
    expect(cpu.eip).toBe(CODE_IP + 5);
    expect(cpu.r32[2]).toBe(0);
  });
});
