/**
 * Writes `newc` cpio archives, the format the Linux kernel unpacks as an initramfs
 * (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte ASCII header
 * of 13 eight-digit hex fields, the NUL-terminated name padded to 4 bytes, then the data padded to 4.
 */

export const enum CpioType {
  File = 0o100000,
  Directory = 0o040000,
  Symlink = 0o120000,
  CharDevice = 0o020000,
}

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. `bin/busybox`). */
  readonly name: string;
  readonly type: CpioType;
  /** Permission bits, e.g. 0o755. */
  readonly permissions: number;
  /** File contents, or the link target of a symlink. */
  readonly data?: Uint8Array;
  /** Device numbers of a character device. */
  readonly major?: number;
  readonly minor?: number;
}

const TRAILER = 'TRAILER!!!';
const encoder = new TextEncoder();

function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

function pad4(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** Serialises entries in order (directories must precede what they contain), ending with the trailer. */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const push = (bytes: Uint8Array) => {
    chunks.push(bytes);
    total += bytes.length;
  };
  const writeEntry = (ino: number, entry: CpioEntry) => {
    if (entry.name.startsWith('/') || entry.name.split('/').includes('..')) {
      throw new Error(`cpio entry name must be relative and stay inside the archive: "${entry.name}"`);
    }
    const name = encoder.encode(`${entry.name}\0`);
    const data = entry.data ?? new Uint8Array(0);
    const header =
      '070701' +
      hex8(ino) +
      hex8(entry.type | (entry.permissions & 0o7777)) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(entry.type === CpioType.Directory ? 2 : 1) +
      hex8(0) + // mtime: fixed, so the same inputs give the same archive
      hex8(data.length) +
      hex8(0) +
      hex8(0) +
      hex8(entry.major ?? 0) +
      hex8(entry.minor ?? 0) +
      hex8(name.length) +
      hex8(0);
    push(encoder.encode(header));
    push(name);
    push(new Uint8Array(pad4(110 + name.length)));
    push(data);
    push(new Uint8Array(pad4(data.length)));
  };
  entries.forEach((entry, i) => writeEntry(i + 1, entry));
  writeEntry(0, { name: TRAILER, type: 0 as CpioType, permissions: 0 });
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Reads a newc archive back into entries (used to check what was built). */
export function readCpio(archive: Uint8Array): CpioEntry[] {
  const decoder = new TextDecoder();
  const entries: CpioEntry[] = [];
  let at = 0;
  for (;;) {
    if (at + 110 > archive.length) throw new Error(`cpio archive truncated at byte ${at}`);
    const header = decoder.decode(archive.subarray(at, at + 110));
    if (!header.startsWith('070701')) throw new Error(`bad cpio magic at byte ${at}`);
    const field = (i: number) => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = at + 110;
    const name = decoder.decode(archive.subarray(nameStart, nameStart + nameSize - 1));
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (dataStart + size > archive.length) throw new Error(`cpio entry "${name}" runs past the end`);
    if (name === TRAILER) return entries;
    entries.push({
      name,
      type: (mode & 0o170000) as CpioType,
      permissions: mode & 0o7777,
      data: archive.slice(dataStart, dataStart + size),
      major: field(9),
      minor: field(10),
    });
    at = dataStart + size + pad4(size);
  }
}
