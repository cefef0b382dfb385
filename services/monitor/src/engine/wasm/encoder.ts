/**
 * A small writer of WebAssembly modules in the binary format (WebAssembly Core Specification,
 * chapter 5): function types, imported memory and functions, defined functions with their code, and
 * exports. Only what the block compiler emits is here: i32 values, loads and stores with constant
 * offsets, structured control and calls.
 */

/** Value type i32. */
const I32 = 0x7f;
/** The empty block type. */
const VOID = 0x40;

/** Opcodes the block compiler uses (the specification's numbering). */
export const enum Op {
  Unreachable = 0x00,
  Block = 0x02,
  If = 0x04,
  Else = 0x05,
  End = 0x0b,
  Br = 0x0c,
  BrIf = 0x0d,
  Return = 0x0f,
  Call = 0x10,
  CallIndirect = 0x11,
  Drop = 0x1a,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  I32Load = 0x28,
  I32Load8U = 0x2d,
  I32Load16U = 0x2f,
  I32Store = 0x36,
  I32Store8 = 0x3a,
  I32Store16 = 0x3b,
  I32Const = 0x41,
  I32Eqz = 0x45,
  I32Eq = 0x46,
  I32Ne = 0x47,
  I32LtS = 0x48,
  I32LtU = 0x49,
  I32GtS = 0x4a,
  I32GtU = 0x4b,
  I32LeS = 0x4c,
  I32LeU = 0x4d,
  I32GeS = 0x4e,
  I32GeU = 0x4f,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32Mul = 0x6c,
  I32And = 0x71,
  I32Or = 0x72,
  I32Xor = 0x73,
  I32Shl = 0x74,
  I32ShrS = 0x75,
  I32ShrU = 0x76,
  I32Extend8S = 0xc0,
  I32Extend16S = 0xc1,
}

/** A growable byte sequence with the format's integer encodings. */
export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
    return this;
  }

  /** Unsigned LEB128. */
  u32(v: number): this {
    let n = v >>> 0;
    do {
      const b = n & 0x7f;
      n >>>= 7;
      this.byte(n !== 0 ? b | 0x80 : b);
    } while (n !== 0);
    return this;
  }

  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): this {
    let n = v | 0;
    for (;;) {
      const b = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }

  append(other: Bytes): this {
    for (let i = 0; i < other.length; i++) this.byte(other.buf[i] as number);
    return this;
  }

  toArray(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** The body of one function: its i32 locals and instructions. */
export class FunctionBody extends Bytes {
  /** Extra i32 locals (after the parameters). */
  locals = 0;

  op(o: Op): this {
    return this.byte(o);
  }

  i32(v: number): this {
    return this.byte(Op.I32Const).s32(v);
  }

  get(local: number): this {
    return this.byte(Op.LocalGet).u32(local);
  }

  set(local: number): this {
    return this.byte(Op.LocalSet).u32(local);
  }

  tee(local: number): this {
    return this.byte(Op.LocalTee).u32(local);
  }

  /** A load or store at constant address `offset` (the address operand is pushed as 0). */
  memory(o: Op, offset: number): this {
    const align = o === Op.I32Load8U || o === Op.I32Store8 ? 0 : o === Op.I32Load16U || o === Op.I32Store16 ? 1 : 2;
    return this.byte(o).u32(align).u32(offset);
  }

  /** `if` without a result. */
  ifThen(): this {
    return this.byte(Op.If).byte(VOID);
  }

  call(index: number): this {
    return this.byte(Op.Call).u32(index);
  }

  /** Calls the function at the index on the stack in table 0, of type `type`. */
  callIndirect(type: number): this {
    return this.byte(Op.CallIndirect).u32(type).u32(0);
  }
}

interface FunctionType {
  params: number;
  results: number;
}

/** A module: one imported memory, imported functions, then the defined functions. */
export class ModuleBuilder {
  private readonly types: FunctionType[] = [];
  private readonly imports: { module: string; name: string; type: number }[] = [];
  private readonly bodies: { type: number; body: FunctionBody }[] = [];
  private readonly exports: { name: string; func: number }[] = [];
  /** Imports table 0 (of function references) when set. */
  private table: { module: string; name: string; size: number } | undefined;

  constructor(
    private readonly memoryModule: string,
    private readonly memoryName: string,
    private readonly memoryPages: number,
  ) {}

  /** Imports a table of function references as table 0, of at least `size` entries. */
  importTable(module: string, name: string, size: number): void {
    this.table = { module, name, size };
  }

  /** Index of the type with `params` i32 parameters and `results` (0 or 1) i32 results. */
  type(params: number, results: number): number {
    const i = this.types.findIndex((t) => t.params === params && t.results === results);
    if (i >= 0) return i;
    this.types.push({ params, results });
    return this.types.length - 1;
  }

  /** Imports a function; imports must come before any defined function. Returns its index. */
  importFunction(module: string, name: string, params: number, results: number): number {
    if (this.bodies.length > 0) throw new Error('functions are imported before any is defined');
    this.imports.push({ module, name, type: this.type(params, results) });
    return this.imports.length - 1;
  }

  /** Adds a defined function, exported as `name` when given; returns its index. */
  define(name: string | undefined, params: number, results: number, body: FunctionBody): number {
    const index = this.imports.length + this.bodies.length;
    this.bodies.push({ type: this.type(params, results), body });
    if (name !== undefined) this.exports.push({ name, func: index });
    return index;
  }

  toBytes(): Uint8Array {
    const out = new Bytes();
    out.byte(0x00).byte(0x61).byte(0x73).byte(0x6d).byte(1).byte(0).byte(0).byte(0);
    const section = (id: number, content: Bytes): void => {
      out.byte(id).u32(content.length).append(content);
    };
    const types = new Bytes().u32(this.types.length);
    for (const t of this.types) {
      types.byte(0x60).u32(t.params);
      for (let i = 0; i < t.params; i++) types.byte(I32);
      types.u32(t.results);
      for (let i = 0; i < t.results; i++) types.byte(I32);
    }
    section(1, types);
    const table = this.table;
    const imports = new Bytes().u32(this.imports.length + 1 + (table !== undefined ? 1 : 0));
    imports.name(this.memoryModule).name(this.memoryName).byte(0x02).byte(0x01);
    imports.u32(this.memoryPages).u32(this.memoryPages);
    // funcref, limits with a minimum only.
    if (table !== undefined)
      imports.name(table.module).name(table.name).byte(0x01).byte(0x70).byte(0x00).u32(table.size);
    for (const imp of this.imports) imports.name(imp.module).name(imp.name).byte(0x00).u32(imp.type);
    section(2, imports);
    const funcs = new Bytes().u32(this.bodies.length);
    for (const b of this.bodies) funcs.u32(b.type);
    section(3, funcs);
    const exports = new Bytes().u32(this.exports.length);
    for (const e of this.exports) exports.name(e.name).byte(0x00).u32(e.func);
    section(7, exports);
    const code = new Bytes().u32(this.bodies.length);
    for (const { body } of this.bodies) {
      const fn = new Bytes();
      if (body.locals > 0) fn.u32(1).u32(body.locals).byte(I32);
      else fn.u32(0);
      fn.append(body).byte(Op.End);
      code.u32(fn.length).append(fn);
    }
    section(10, code);
    return out.toArray();
  }
}
