/**
 * One component's state as named fields (ComponentState). Each stateful part of the machine writes
 * its fields with a StateWriter next to the state it owns and reads them back with a StateReader,
 * which checks presence, type, range and size and names the component and field in its errors, so
 * a snapshot from another version or a damaged one is refused instead of half-loaded.
 */

import type { ComponentState, StateField } from '@plex86/proto';

/** A snapshot that cannot be written or restored: the message says what is wrong. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

type Bytes = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int32Array | Float64Array;

export class StateWriter {
  private readonly fields: StateField[] = [];

  constructor(
    readonly id: string,
    readonly version: number,
  ) {}

  number(name: string, value: number): void {
    this.fields.push({ name, value: { $case: 'number', value } });
  }

  flag(name: string, value: boolean): void {
    this.fields.push({ name, value: { $case: 'flag', value } });
  }

  text(name: string, value: string): void {
    this.fields.push({ name, value: { $case: 'text', value } });
  }

  /** A copy of a typed array's bytes (little-endian elements, as the host stores them). */
  bytes(name: string, value: Bytes): void {
    const copy = new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
    this.fields.push({ name, value: { $case: 'data', value: copy } });
  }

  /** Numbers as float64s, for lists such as queue contents or per-channel values. */
  numbers(name: string, values: ArrayLike<number>): void {
    this.bytes(name, Float64Array.from(values));
  }

  finish(): ComponentState {
    return { id: this.id, version: this.version, fields: this.fields };
  }
}

export class StateReader {
  private readonly byName = new Map<string, StateField>();

  constructor(
    readonly state: ComponentState,
    version: number,
  ) {
    if (state.version !== version) {
      throw new SnapshotError(
        `component ${state.id}: state version ${state.version} is not the supported version ${version}`,
      );
    }
    for (const f of state.fields) this.byName.set(f.name, f);
  }

  private field(name: string, kind: NonNullable<StateField['value']>['$case']): StateField['value'] {
    const f = this.byName.get(name);
    if (f === undefined) throw this.error(name, 'is missing');
    if (f.value?.$case !== kind) throw this.error(name, `is ${f.value?.$case ?? 'empty'}, not ${kind}`);
    return f.value;
  }

  error(name: string, what: string): SnapshotError {
    return new SnapshotError(`component ${this.state.id}: field ${name} ${what}`);
  }

  /** Any number but NaN (timer deadlines may be Infinity). */
  number(name: string): number {
    const v = this.field(name, 'number');
    const n = v?.$case === 'number' ? v.value : NaN;
    if (Number.isNaN(n)) throw this.error(name, 'is not a number');
    return n;
  }

  /** An integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const n = this.number(name);
    if (!Number.isInteger(n) || n < min || n > max) throw this.error(name, `is ${n}, outside ${min}..${max}`);
    return n;
  }

  /** A 32-bit register value: accepts the signed or unsigned form, returns the int32 bit pattern. */
  int32(name: string): number {
    return this.int(name, -0x80000000, 0xffffffff) | 0;
  }

  /** A deadline: a finite time or Infinity (disarmed). */
  deadline(name: string): number {
    const n = this.number(name);
    if (n !== Infinity && !(Number.isFinite(n) && n >= 0)) throw this.error(name, `is ${n}, not a time`);
    return n;
  }

  flag(name: string): boolean {
    const v = this.field(name, 'flag');
    return v?.$case === 'flag' && v.value;
  }

  text(name: string, maxLength = 4096): string {
    const v = this.field(name, 'text');
    const s = v?.$case === 'text' ? v.value : '';
    if (s.length > maxLength) throw this.error(name, `is longer than ${maxLength} characters`);
    return s;
  }

  /** Bytes of at most `maxLength`. */
  bytes(name: string, maxLength: number): Uint8Array {
    const v = this.field(name, 'data');
    const b = v?.$case === 'data' ? v.value : new Uint8Array(0);
    if (b.length > maxLength) throw this.error(name, `holds ${b.length} bytes, more than ${maxLength}`);
    return b;
  }

  /** Copies the field into `target`, whose byte length it must match exactly. */
  into(name: string, target: Bytes): void {
    const b = this.bytes(name, target.byteLength);
    if (b.length !== target.byteLength) throw this.error(name, `holds ${b.length} bytes, not ${target.byteLength}`);
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(b);
  }

  /** A list written by StateWriter.numbers, at most `maxCount` long. */
  numbers(name: string, maxCount: number): Float64Array {
    const b = this.bytes(name, maxCount * 8);
    if (b.length % 8 !== 0) throw this.error(name, `holds ${b.length} bytes, not a list of numbers`);
    const out = new Float64Array(b.length / 8);
    new Uint8Array(out.buffer).set(b);
    return out;
  }
}

/** Something whose state a snapshot holds. */
export interface Stateful {
  saveSnapshotState(w: StateWriter): void;
  loadSnapshotState(r: StateReader): void;
}

/** Saves plain number and boolean properties of `obj` as fields `prefix + name`. */
export function saveFields(w: StateWriter, obj: object, names: readonly string[], prefix = ''): void {
  const o = obj as Record<string, unknown>;
  for (const name of names) {
    const v = o[name];
    if (typeof v === 'number') w.number(prefix + name, v);
    else if (typeof v === 'boolean') w.flag(prefix + name, v);
    else throw new SnapshotError(`component ${w.id}: ${prefix + name} is not a number or a flag`);
  }
}

/** Loads what saveFields saved; numbers must be finite and flags stay flags. */
export function loadFields(r: StateReader, obj: object, names: readonly string[], prefix = ''): void {
  const o = obj as Record<string, unknown>;
  for (const name of names) {
    if (typeof o[name] === 'boolean') {
      o[name] = r.flag(prefix + name);
      continue;
    }
    const v = r.number(prefix + name);
    if (!Number.isFinite(v)) throw r.error(prefix + name, `is ${v}`);
    o[name] = v;
  }
}
