import { readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * Decodes any plex86 message by its fully qualified type name (the `Plex86-Type` header of bus
 * traffic), from the .proto sources at run time, so `plex86 inspect` needs no generated code.
 *
 * Decoded messages are plain objects with camelCase field names and every field present
 * (defaults included); 64-bit integers are decimal strings, enums are value names, bytes are
 * lowercase hex strings (bus payloads are read by people comparing them with frames and sectors,
 * where hex lines up with byte offsets), and a set oneof is named by a property of the oneof's name.
 */

/** The repository's proto/ directory; this module sits two levels below it in src/ or dist/. */
export const PROTO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../proto');

/** The type name is not one of the loaded message types. */
export class UnknownMessageTypeError extends Error {
  constructor(
    readonly typeName: string,
    readonly closeMatches: readonly string[],
  ) {
    super(
      `unknown message type '${typeName}'` +
        (closeMatches.length > 0 ? `; did you mean ${closeMatches.join(', ')}?` : '; see messageTypeNames()'),
    );
    this.name = 'UnknownMessageTypeError';
  }
}

/** The bytes are not a valid encoding of the type. */
export class MessageDecodeError extends Error {
  constructor(
    readonly typeName: string,
    readonly byteLength: number,
    cause: unknown,
  ) {
    super(
      `cannot decode ${byteLength} bytes as ${typeName}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'MessageDecodeError';
  }
}

const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

/** The message types of every .proto file under one directory, loaded on first use. */
export class ProtoRegistry {
  private types: Map<string, protobuf.Type> | undefined;

  constructor(readonly protoDir: string) {}

  /** Fully qualified names of every message type, sorted, without a leading dot. */
  messageTypeNames(): string[] {
    return [...this.load().keys()].sort();
  }

  decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
    const types = this.load();
    const name = typeName.startsWith('.') ? typeName.slice(1) : typeName;
    const type = types.get(name);
    if (!type) throw new UnknownMessageTypeError(typeName, closeMatches(name, [...types.keys()]));
    let message: protobuf.Message;
    try {
      message = type.decode(bytes);
    } catch (e) {
      throw new MessageDecodeError(name, bytes.length, e);
    }
    return bytesToHex(type.toObject(message, TO_OBJECT_OPTIONS)) as Record<string, unknown>;
  }

  private load(): Map<string, protobuf.Type> {
    if (this.types) return this.types;
    const files = protoFiles(this.protoDir);
    const root = new protobuf.Root();
    // Imports are relative to the module root (buf's layout), not to the importing file.
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(this.protoDir, target));
    try {
      root.loadSync(files);
      root.resolveAll();
    } catch (e) {
      throw new Error(`cannot load the plex86 .proto files in ${this.protoDir}: ${(e as Error).message}`, { cause: e });
    }
    const types = new Map<string, protobuf.Type>();
    collectTypes(root, types);
    this.types = types;
    return types;
  }
}

function protoFiles(dir: string): string[] {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`the plex86 .proto files are missing: ${dir} is not a directory (run from a plex86 checkout)`);
  }
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.proto'))
    .map((file) => join(dir, file))
    .sort();
  if (files.length === 0) throw new Error(`no .proto files under ${dir}`);
  return files;
}

function collectTypes(namespace: protobuf.NamespaceBase, into: Map<string, protobuf.Type>): void {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Type) into.set(nested.fullName.slice(1), nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) collectTypes(nested, into);
  }
}

function bytesToHex(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (Array.isArray(value)) return value.map(bytesToHex);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) out[key] = bytesToHex(field);
    return out;
  }
  return value;
}

/** Up to five names close to `name`: same short name in another case, a substring, or a few edits away. */
function closeMatches(name: string, names: string[]): string[] {
  const wanted = name.toLowerCase();
  const wantedShort = shortName(wanted);
  const scored: { name: string; score: number }[] = [];
  for (const candidate of names) {
    const lower = candidate.toLowerCase();
    const short = shortName(lower);
    let score = Math.min(editDistance(wanted, lower), editDistance(wantedShort, short));
    if (wantedShort.length >= 3 && (short.includes(wantedShort) || wantedShort.includes(short))) {
      score = Math.min(score, 1);
    }
    if (score <= Math.max(2, Math.floor(wantedShort.length / 3))) scored.push({ name: candidate, score });
  }
  scored.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  return scored.slice(0, 5).map((s) => s.name);
}

function shortName(name: string): string {
  return name.slice(name.lastIndexOf('.') + 1);
}

function editDistance(a: string, b: string): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

let defaultRegistry: ProtoRegistry | undefined;

function registry(): ProtoRegistry {
  defaultRegistry ??= new ProtoRegistry(PROTO_DIR);
  return defaultRegistry;
}

/**
 * Decodes `bytes` as the plex86 message `typeName` (e.g. `plex86.v1.StopEvent`, a leading dot
 * is accepted). Throws UnknownMessageTypeError (with close matches) or MessageDecodeError.
 */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  return registry().decodeMessage(typeName, bytes);
}

/** Fully qualified names of every plex86 message type, sorted. */
export function messageTypeNames(): string[] {
  return registry().messageTypeNames();
}
