import { describe, expect, it } from 'vitest';
import { Bytes, FunctionBody, ModuleBuilder, Op } from './encoder.js';

const hex = (b: Bytes): string => Buffer.from(b.toArray()).toString('hex');

describe('WebAssembly encoder', () => {
  it('writes LEB128 integers as the binary format specifies', () => {
    expect(hex(new Bytes().u32(0))).toBe('00');
    expect(hex(new Bytes().u32(127))).toBe('7f');
    expect(hex(new Bytes().u32(128))).toBe('8001');
    expect(hex(new Bytes().u32(624485))).toBe('e58e26');
    expect(hex(new Bytes().u32(0xffffffff))).toBe('ffffffff0f');
    expect(hex(new Bytes().s32(0))).toBe('00');
    expect(hex(new Bytes().s32(63))).toBe('3f');
    expect(hex(new Bytes().s32(64))).toBe('c000');
    expect(hex(new Bytes().s32(-64))).toBe('40');
    expect(hex(new Bytes().s32(-65))).toBe('bf7f');
    expect(hex(new Bytes().s32(-123456))).toBe('c0bb78');
    expect(hex(new Bytes().s32(0x7fffffff))).toBe('ffffffff07');
    expect(hex(new Bytes().s32(-0x80000000))).toBe('8080808078');
  });

  it('grows its buffer', () => {
    const b = new Bytes();
    for (let i = 0; i < 1000; i++) b.byte(i & 0xff);
    expect(b.length).toBe(1000);
    expect(b.toArray()[999]).toBe(999 & 0xff);
  });

  it('builds a module that V8 accepts and runs: memory, imports, locals, calls and a table', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    const table = new WebAssembly.Table({ element: 'anyfunc', initial: 4 });
    const words = new Int32Array(memory.buffer);
    words[1] = 40;
    const seen: number[] = [];

    const builder = new ModuleBuilder('env', 'memory', 1);
    builder.importTable('env', 'table', 4);
    const note = builder.importFunction('env', 'note', 1, 1);
    // add(): word 2 = word 1 + 2 + note(word 1), with a local.
    const add = new FunctionBody();
    add.locals = 1;
    add.i32(0).memory(Op.I32Load, 4).tee(0);
    add.call(note).set(0);
    add.i32(0).i32(0).memory(Op.I32Load, 4).i32(2).op(Op.I32Add).get(0).op(Op.I32Add).memory(Op.I32Store, 8);
    add.i32(0).memory(Op.I32Load, 8);
    const addIndex = builder.define('add', 0, 1, add);
    // dispatch(i): calls table[i].
    const dispatch = new FunctionBody();
    dispatch.get(0).callIndirect(builder.type(0, 1));
    builder.define('dispatch', 1, 1, dispatch);
    const bytes = builder.toBytes();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory, table, note: (v: number) => (seen.push(v), 1) },
    });
    const exports = instance.exports as { add: () => number; dispatch: (i: number) => number };
    expect(addIndex).toBe(1);
    expect(exports.add()).toBe(43);
    expect(words[2]).toBe(43);
    expect(seen).toEqual([40]);
    table.set(2, exports.add);
    words[1] = 1;
    expect(exports.dispatch(2)).toBe(4);
    expect(() => exports.dispatch(3)).toThrow();
  });

  it('refuses an import after a defined function', () => {
    const builder = new ModuleBuilder('env', 'memory', 1);
    builder.define('f', 0, 0, new FunctionBody());
    expect(() => builder.importFunction('env', 'g', 0, 0)).toThrow(/imported before/);
  });
});
