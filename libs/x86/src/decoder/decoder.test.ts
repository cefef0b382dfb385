import { describe, expect, it } from 'vitest';
import { Code } from '../generated/code.js';
import { DecodeStatus } from './decode-status.js';
import { Decoder, decodeGeneral, decodeInstruction } from './decoder.js';
import { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { Register } from './register.js';

describe('Decoder', () => {
  const decoder = new Decoder();

  it('decodes at an offset inside a larger buffer and honours end', () => {
    const bytes = Uint8Array.of(0x90, 0x8b, 0x45, 0xf8, 0xcc);
    const ins = new Instruction();
    expect(decoder.decode(bytes, 1, 5, 0x401001, 32, ins)).toBe(DecodeStatus.Ok);
    expect(ins.code).toBe(Code.Mov_r32_rm32);
    expect(ins.length).toBe(3);
    expect(ins.ip).toBe(0x401001);
    expect(ins.nextIp).toBe(0x401004);
    expect(decoder.decode(bytes, 1, 3, 0x401001, 32, ins)).toBe(DecodeStatus.NeedMoreBytes);
    expect(ins.length).toBe(2);
  });

  it('never reads past the array even when end is larger', () => {
    const bytes = Uint8Array.of(0xe8, 0x00, 0x00);
    const ins = new Instruction();
    expect(decodeInstruction(bytes, 0, 100, 0, 32, ins)).toBe(DecodeStatus.NeedMoreBytes);
    expect(ins.length).toBe(3);
  });

  it('reports NeedMoreBytes with length 0 for an empty range or an offset outside the array', () => {
    const bytes = Uint8Array.of(0x90);
    const ins = new Instruction();
    for (const [offset, end] of [
      [1, 1],
      [0, 0],
      [5, 10],
      [-1, 1],
    ] as const) {
      expect(decoder.decode(bytes, offset, end, 0, 32, ins)).toBe(DecodeStatus.NeedMoreBytes);
      expect(ins.length).toBe(0);
      expect(ins.code).toBe(Code.Invalid);
    }
  });

  it('overwrites every header and operand field of a reused record', () => {
    const ins = new Instruction();
    decoder.decode(Uint8Array.of(0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08), 0, 6, 0, 32, ins);
    expect(ins.opCount).toBe(3);
    decoder.decode(Uint8Array.of(0x40), 0, 1, 0, 16, ins);
    expect(ins.opCount).toBe(1);
    expect(ins.op0Kind).toBe(OpKind.Register);
    expect(ins.op0Register).toBe(Register.AX);
    expect([ins.op1Kind, ins.op2Kind, ins.op3Kind]).toEqual([OpKind.None, OpKind.None, OpKind.None]);
    expect(ins.operandSize).toBe(16);
    expect(ins.prefixes).toBe(0);
    expect(ins.bitness).toBe(16);
  });

  it('gives the displacement sign-extended, and unsigned for an absolute address, on both decode paths', () => {
    const cases: [number[], 16 | 32, number][] = [
      [[0x8b, 0x45, 0xf8], 32, -8], // mov eax, [ebp-8]
      [[0x8b, 0x04, 0x8d, 0xfc, 0xff, 0xff, 0xff], 32, -4], // mov eax, [ecx*4-4]
      [[0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff], 32, 0xfffffff0], // mov eax, [0xfffffff0]
      [[0x8b, 0x04, 0x25, 0xf0, 0xff, 0xff, 0xff], 32, 0xfffffff0], // the same through a SIB byte
      [[0xa1, 0xf0, 0xff, 0xff, 0xff], 32, 0xfffffff0], // mov eax, [moffs32]
      [[0x8b, 0x47, 0xfe], 16, -2], // mov ax, [bx-2]
      [[0x8b, 0x06, 0xf0, 0xff], 16, 0xfff0], // mov ax, [0xfff0]
      [[0xa1, 0xf0, 0xff], 16, 0xfff0], // mov ax, [moffs16]
    ];
    for (const [encoding, bits, displacement] of cases) {
      const bytes = Uint8Array.from(encoding);
      for (const decode of [decodeInstruction, decodeGeneral]) {
        const ins = new Instruction();
        expect(decode(bytes, 0, bytes.length, 0, bits, ins)).toBe(DecodeStatus.Ok);
        expect(ins.memDisplacement).toBe(displacement);
        expect(ins.rawDisplacement).toBe(displacement | 0);
      }
    }
  });

  it('keeps the opcode byte and the ModRM byte as encoded, on both decode paths', () => {
    const cases: [number[], number][] = [
      [[0x90], 0x9000], // nop: no ModRM
      [[0x8b, 0x45, 0xf8], 0x8b45], // mov eax, [ebp-8]
      [[0x0f, 0xaf, 0xc1], 0xafc1], // imul eax, ecx: the opcode's last byte
      [[0x3e, 0xdd, 0x45, 0xf8], 0xdd45], // ds: fld qword [ebp-8]
      [[0xdc, 0xd1], 0xdcd1], // fcom st1 in its DC encoding, which decodes as D8 D1 does
      [[0x0f, 0x20, 0x00], 0x2000], // mov eax, cr0 with ModRM 00: its mod bits ignored, kept as encoded
    ];
    for (const [encoding, opcodeModrm] of cases) {
      const bytes = Uint8Array.from(encoding);
      for (const decode of [decodeInstruction, decodeGeneral]) {
        const ins = new Instruction();
        expect(decode(bytes, 0, bytes.length, 0, 32, ins)).toBe(DecodeStatus.Ok);
        expect(ins.opcodeModrm.toString(16), encoding.map((b) => b.toString(16)).join(' ')).toBe(
          opcodeModrm.toString(16),
        );
      }
    }
  });

  it('wraps the next IP of 16-bit code at 64 KiB', () => {
    const ins = new Instruction();
    decoder.decode(Uint8Array.of(0xb8, 0x34, 0x12), 0, 3, 0xfffe, 16, ins);
    expect(ins.nextIp).toBe(0x0001);
  });

  it('keeps every record on one hidden class whatever the values', () => {
    const a = new Instruction();
    const b = new Instruction();
    decoder.decode(Uint8Array.of(0xb8, 0xff, 0xff, 0xff, 0xff), 0, 5, 0xfffffff0, 32, a);
    expect(a.immediate).toBe(0xffffffff);
    expect(Object.keys(a)).toEqual(Object.keys(b));
    b.copyFrom(a);
    expect(b).toEqual(a);
  });
});
