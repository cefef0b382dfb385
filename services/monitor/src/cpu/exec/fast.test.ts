import { Code, decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../io/port-space.js';
import { PhysicalMemory } from '../../memory/physical-memory.js';
import { Attr, Cpu } from '../cpu.js';
import { CPU_FAULT } from '../fault.js';
import { Cr0 } from '../registers.js';
import { fastCodes, fastHandler, packedTwin } from './fast.js';
import { packRecord, PACKED_STRIDE, routineId, type PackedHandler } from './packed.js';
import './index.js';
import { HANDLERS } from './table.js';
import { vectorOf } from '../../../test/support/faults.js';

const RAM = 1 << 20;

function makeCpu(bits: 16 | 32): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: RAM }), new PortSpace());
  if (bits === 32) {
    cpu.setCr0(cpu.cr0 | Cr0.PE);
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
    for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === 1 ? attr | Attr.CODE : attr);
  } else {
    for (let s = 0; s < 6; s++) cpu.loadRealSegment(s, 0);
  }
  return cpu;
}

/** Runs one handler and returns the vector it raised, or -1. */
function exec(cpu: Cpu, handler: (c: Cpu, i: Instruction) => void, ins: Instruction): number {
  return vectorOf(cpu, () => handler(cpu, ins));
}

/** Runs a packed routine on the record at offset `o` of `p` and returns the vector it raised, or -1. */
function execPacked(cpu: Cpu, handler: PackedHandler, p: Int32Array, o: number): number {
  // The record object is the generic handlers' input; a packed twin must not need it.
  return vectorOf(cpu, () => handler(cpu, undefined as unknown as Instruction, p, o));
}

describe('specialised handlers', () => {
  it('exist for the hot forms', () => {
    expect(fastCodes()).toContain(Code.Add_rm32_r32);
    expect(fastCodes()).toContain(Code.Jne_rel8_32);
    expect(fastCodes().length).toBeGreaterThan(150);
  });

  for (const bits of [16, 32] as const) {
    it(`behave exactly like the generic handlers on random ${bits}-bit instructions and state, packed too`, () => {
      let seed = bits * 7919;
      const rnd = (): number => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0;
        return seed >>> 0;
      };
      const a = makeCpu(bits);
      const b = makeCpu(bits);
      // The packed twin runs on a third CPU, from the record's packed form at a nonzero offset.
      const c = makeCpu(bits);
      const packed = new Int32Array(2 * PACKED_STRIDE);
      const bytes = new Uint8Array(16);
      const ins = new Instruction();
      const seen = new Set<number>();
      const mismatches: string[] = [];
      let tried = 0;
      for (let n = 0; n < 200_000 && tried < 6000; n++) {
        for (let i = 0; i < 16; i++) bytes[i] = rnd() & 0xff;
        if (decodeInstruction(bytes, 0, 16, 0x1000, bits, ins) !== DecodeStatus.Ok) continue;
        const fast = fastHandler(ins);
        if (fast === undefined) continue;
        const twin = packedTwin(fast, ins);
        if (twin === undefined) throw new Error(`${Code[ins.code]} has no packed twin`);
        packRecord(ins, routineId(twin), packed, PACKED_STRIDE);
        tried++;
        seen.add(ins.code);
        // Same random state in both CPUs: registers, a lazy flag state from a random ALU result, memory.
        for (let r = 0; r < 8; r++) {
          const v = rnd() | 0;
          a.r32[r] = v;
          b.r32[r] = v;
          c.r32[r] = v;
        }
        // The arithmetic flags and DF (the string forms step by it).
        const flags = (rnd() & 0xcd5) | 2;
        a.eflags = flags;
        b.eflags = flags;
        c.eflags = flags;
        const lz = [0, 0x8d52001, 0x8d50803, 0x8d41001][rnd() & 3];
        const res = rnd() | 0;
        const opa = rnd() | 0;
        const opb = rnd() | 0;
        a.setLazy(lz, res, opa, opb);
        b.setLazy(lz, res, opa, opb);
        c.setLazy(lz, res, opa, opb);
        for (let i = 0; i < 64; i++) {
          const addr = rnd() % RAM;
          const v = rnd() & 0xff;
          a.mem.write8(addr, v);
          b.mem.write8(addr, v);
          c.mem.write8(addr, v);
        }
        a.eip = 0x1000 + ins.length;
        b.eip = 0x1000 + ins.length;
        c.eip = 0x1000 + ins.length;
        const va = exec(a, HANDLERS[ins.code], ins);
        const vb = exec(b, fast, ins);
        const vc = execPacked(c, twin, packed, PACKED_STRIDE);
        const diffs: string[] = [];
        for (const [name, other, v] of [
          ['fast', b, vb],
          ['packed', c, vc],
        ] as const) {
          if (va !== v) diffs.push(`${name}: fault ${va} != ${v}`);
          for (let r = 0; r < 8; r++) {
            if (a.r32[r] !== other.r32[r]) diffs.push(`${name}: r${r} ${a.r32[r]} != ${other.r32[r]}`);
          }
          if (va === -1 && (a.eflags & 0x8d5) !== (other.eflags & 0x8d5)) {
            diffs.push(`${name}: flags ${a.eflags} != ${other.eflags}`);
          }
          if (a.eip !== other.eip) diffs.push(`${name}: eip ${a.eip} != ${other.eip}`);
          if (Buffer.compare(a.mem.ram, other.mem.ram) !== 0) diffs.push(`${name}: memory differs`);
        }
        if (diffs.length > 0) {
          mismatches.push(
            `${Code[ins.code]} ${Array.from(bytes.subarray(0, ins.length), (x) => x.toString(16)).join(' ')}: ${diffs.join(', ')}`,
          );
          b.mem.ram.set(a.mem.ram);
          c.mem.ram.set(a.mem.ram);
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(tried).toBe(6000);
      expect(seen.size).toBeGreaterThan(100);
    });
  }

  it('run single string instructions with 32-bit addressing as the generic handlers do, in both directions', () => {
    // LODS, STOS, MOVS, SCAS and CMPS of each size; 3E/26/64: DS, ES and FS overrides of the source.
    const opcodes = [0xac, 0xad, 0xaa, 0xab, 0xa4, 0xa5, 0xae, 0xaf, 0xa6, 0xa7];
    const forms = opcodes.flatMap((op) => [[op], [0x66, op], [0x26, op], [0x64, 0x66, op]]);
    const mismatches: string[] = [];
    let runs = 0;
    for (const bytes of forms) {
      const ins = new Instruction();
      expect(decodeInstruction(Uint8Array.from(bytes), 0, bytes.length, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      const fast = fastHandler(ins);
      if (fast === undefined) throw new Error(`${Code[ins.code]} has no specialised handler`);
      const twin = packedTwin(fast, ins) as PackedHandler;
      const packed = new Int32Array(PACKED_STRIDE);
      packRecord(ins, routineId(twin), packed, 0);
      for (const down of [false, true]) {
        for (const [si, di] of [
          [0x2000, 0x3000],
          [0x2ffe, 0x4001],
          [RAM - 2, 0x5000],
        ]) {
          const cpus = [makeCpu(32), makeCpu(32), makeCpu(32)];
          for (const cpu of cpus) {
            for (let i = 0; i < 0x100; i++) {
              cpu.mem.write8(0x2000 + i, (i * 37) & 0xff);
              cpu.mem.write8(0x2f00 + i, (i * 11) & 0xff);
              cpu.mem.write8(0x3000 + i, ((i * 37) & 0xff) ^ (i === 2 ? 1 : 0));
            }
            cpu.r32[0] = 0x5a25;
            cpu.r32[6] = si as number;
            cpu.r32[7] = di as number;
            cpu.eflags = down ? 0x402 : 0x2;
            cpu.eip = 0x1000 + ins.length;
          }
          const [a, b, c] = cpus as [Cpu, Cpu, Cpu];
          const va = exec(a, HANDLERS[ins.code], ins);
          const vb = exec(b, fast, ins);
          const vc = execPacked(c, twin, packed, 0);
          runs++;
          for (const [name, other, v] of [
            ['fast', b, vb],
            ['packed', c, vc],
          ] as const) {
            const same =
              va === v &&
              a.r32.every((x, r) => x === other.r32[r]) &&
              (a.eflags & 0xcd5) === (other.eflags & 0xcd5) &&
              Buffer.compare(a.mem.ram, other.mem.ram) === 0;
            if (!same)
              mismatches.push(`${name} ${bytes.map((x) => x.toString(16)).join(' ')} si=${si} di=${di} down=${down}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(runs).toBe(forms.length * 6);
  });

  it('leave repeated and 16-bit-addressed string instructions to the generic handlers', () => {
    // REP STOSB, REPNE SCASB, REP MOVSD, and LODSB with a 67 (16-bit address) prefix.
    for (const bytes of [
      [0xf3, 0xaa],
      [0xf2, 0xae],
      [0xf3, 0xa5],
      [0x67, 0xac],
    ]) {
      const ins = new Instruction();
      expect(decodeInstruction(Uint8Array.from(bytes), 0, bytes.length, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      expect(fastHandler(ins), Code[ins.code]).toBeUndefined();
    }
  });

  it('reach 32-bit memory through the inline TLB path exactly as the generic handlers do', () => {
    // Paging on, pages of every kind, their translations in the TLB (each instruction runs twice: the
    // first run also sets dirty bits); at CPL 0 and 3, with CR0.WP, through a flat DS, one with a
    // limit and a read-only one, at aligned, unaligned and page-crossing offsets.
    const forms: [string, number[]][] = [
      ['mov eax, [ebx + 4]', [0x8b, 0x43, 0x04]],
      ['mov [ebx], ecx', [0x89, 0x0b]],
      ['cmp eax, [ebx]', [0x3b, 0x03]],
      ['mov [ebx], 0x11223344', [0xc7, 0x03, 0x44, 0x33, 0x22, 0x11]],
      ['push esi', [0x56]],
      ['pop edi', [0x5f]],
      ['mov eax, [0x5ffc]', [0xa1, 0xfc, 0x5f, 0, 0]],
      ['push dword [ebx + 4]', [0xff, 0x73, 0x04]],
      ['push 0x12', [0x6a, 0x12]],
      ['jmp [ebx]', [0xff, 0x23]],
      ['leave', [0xc9]],
      ['bt dword [ebx], 5', [0x0f, 0xba, 0x23, 0x05]],
    ];
    // Linear page -> PTE: user read-write, user read-only, supervisor, not present, user read-write
    // holding code (its writes are reported), user read-write again (so a crossing write continues).
    const ptes = [0x20000 | 7, 0x21000 | 5, 0x22000 | 3, 0, 0x23000 | 7, 0x24000 | 7];
    const setUp = (): { cpu: Cpu; written: string[] } => {
      const cpu = makeCpu(32);
      const written: string[] = [];
      cpu.mem.write32(0x10000, 0x11000 | 7);
      ptes.forEach((pte, i) => cpu.mem.write32(0x11000 + (i + 1) * 4, pte));
      for (let p = 0x20000; p < 0x25000; p += 4) cpu.mem.write32(p, Math.imul(p, 0x9e3779b1));
      cpu.mem.markCode(0x23);
      cpu.mem.setCodeWriteListener((phys, length) => written.push(`${phys.toString(16)}/${length}`));
      cpu.setCr3(0x10000);
      cpu.setCr0(cpu.cr0 | Cr0.PG | Cr0.WP);
      return { cpu, written };
    };
    const generic = setUp();
    const inline = setUp();
    let fallbacks = 0;
    const b = inline.cpu;
    b.read32 = (seg: number, offset: number): number => {
      fallbacks++;
      return Cpu.prototype.read32.call(b, seg, offset);
    };
    b.write32 = (seg: number, offset: number, value: number): void => {
      fallbacks++;
      Cpu.prototype.write32.call(b, seg, offset, value);
    };
    const ins = new Instruction();
    const mismatches: string[] = [];
    let runs = 0;
    let faults = 0;
    for (const [text, bytes] of forms) {
      expect(decodeInstruction(Uint8Array.from(bytes), 0, bytes.length, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      const fast = fastHandler(ins) as (c: Cpu, i: Instruction) => void;
      expect(fast).toBeDefined();
      for (const cpl of [0, 3]) {
        for (const [dsLimit, dsWritable] of [
          [-1, true],
          [0x1fff, true],
          [-1, false],
        ] as const) {
          for (let page = 1; page <= 5; page++) {
            for (const offset of [0, 4, 0xffc, 0xffe, 0xff9, 1]) {
              const address = page * 0x1000 + offset;
              for (const cpu of [generic.cpu, b]) {
                // Translations of every present page are in the TLB before the first run, supervisor
                // pages too.
                cpu.setCpl(0);
                cpu.mmu.flushAll();
                for (let p = 1; p <= 6; p++) {
                  try {
                    cpu.readLin32(p * 0x1000);
                  } catch (e) {
                    if (e !== CPU_FAULT) throw e;
                  }
                }
                cpu.setCpl(cpl);
                const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G | (cpl << 5);
                cpu.loadSegmentCache(3, 0x10 | cpl, 0, dsLimit, dsWritable ? attr : attr & ~Attr.RW);
                cpu.loadSegmentCache(2, 0x10 | cpl, 0, -1, attr);
                cpu.r32[0] = 0x01020304;
                cpu.r32[1] = 0x0a0b0c0d;
                cpu.r32[3] = address;
                cpu.r32[4] = address;
                cpu.r32[5] = address;
                cpu.r32[6] = 0x55667788;
                cpu.eip = 0x1000 + bytes.length;
              }
              for (let run = 0; run < 2; run++) {
                const va = exec(generic.cpu, HANDLERS[ins.code], ins);
                const vb = exec(b, fast, ins);
                runs++;
                if (va >= 0) faults++;
                const a = generic.cpu;
                const diffs: string[] = [];
                if (va !== vb) diffs.push(`fault ${va} != ${vb}`);
                if (va === 14 && (a.faultCode !== b.faultCode || a.cr2 !== b.cr2)) diffs.push('page fault details');
                for (let r = 0; r < 8; r++) if (a.r32[r] !== b.r32[r]) diffs.push(`r${r} ${a.r32[r]} != ${b.r32[r]}`);
                if ((a.eflags & 0x8d5) !== (b.eflags & 0x8d5)) diffs.push('flags');
                if (a.eip !== b.eip) diffs.push(`eip ${a.eip} != ${b.eip}`);
                if (Buffer.compare(a.mem.ram, b.mem.ram) !== 0) diffs.push('memory');
                if (generic.written.join() !== inline.written.join()) diffs.push('code writes');
                if (diffs.length > 0) {
                  mismatches.push(
                    `${text} cpl ${cpl} DS ${dsLimit}${dsWritable ? '' : ' read-only'} at ${address.toString(16)}: ${diffs.join(', ')}`,
                  );
                  b.mem.ram.set(a.mem.ram);
                  inline.written.splice(0, inline.written.length, ...generic.written);
                }
              }
            }
          }
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // Code writes were reported, faults were taken, and both paths ran often.
    expect(generic.written.length).toBeGreaterThan(10);
    expect(faults).toBeGreaterThan(runs / 5);
    expect(fallbacks).toBeGreaterThan(runs / 2);
    expect(runs - fallbacks).toBeGreaterThan(100);
  });

  it('give IMUL the generic carry, overflow and result at the edges of the truncation', () => {
    const edges = [0, 1, -1, 2, 3, 0x7fff, 0x8000, -0x8000, 0xffff, 0x10000, 0xb505, 46341, 0x7fffffff, -0x80000000];
    const forms = [
      [0x0f, 0xaf, 0xc1], // imul eax, ecx
      [0x66, 0x0f, 0xaf, 0xc1], // imul ax, cx
      [0x69, 0xc1, 0, 0x80, 0, 0], // imul eax, ecx, 0x8000
      [0x66, 0x6b, 0xc1, 0xfe], // imul ax, cx, -2
    ];
    const a = makeCpu(32);
    const b = makeCpu(32);
    const ins = new Instruction();
    const mismatches: string[] = [];
    let overflows = 0;
    for (const bytes of forms) {
      expect(decodeInstruction(Uint8Array.from(bytes), 0, bytes.length, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      const fast = fastHandler(ins) as (c: Cpu, i: Instruction) => void;
      expect(fast).toBeDefined();
      for (const x of edges) {
        for (const y of edges) {
          for (const cpu of [a, b]) {
            cpu.r32[0] = x;
            cpu.r32[1] = y;
            cpu.eflags = 0x8d5 | 2;
          }
          HANDLERS[ins.code](a, ins);
          fast(b, ins);
          if ((a.eflags & 1) !== 0) overflows++;
          if (a.r32[0] !== b.r32[0] || a.eflags !== b.eflags) {
            mismatches.push(`${Code[ins.code]} ${x} * ${y}: ${a.r32[0]}/${a.eflags} != ${b.r32[0]}/${b.eflags}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Both outcomes of the truncation were seen.
    expect(overflows).toBeGreaterThan(50);
    expect(overflows).toBeLessThan(forms.length * edges.length ** 2 - 50);
  });
});
