/**
 * The snapshot file (snapshot.proto): a uint32 little-endian header length N, the encoded
 * SnapshotHeader (magic "PLEX86SN", format version, SHA-256 per section), then the sections at
 * 4 KiB-aligned offsets: the encoded MachineState and the stored RAM pages. The writer replaces the
 * file atomically (a temporary file renamed into place); the reader checks lengths and offsets
 * against the file's size before it allocates anything, and every checksum before it trusts a byte.
 */

import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import {
  ChecksumAlgorithm,
  MachineState,
  SectionKind,
  SnapshotHeader,
  type PageRun,
  type SnapshotInfo,
  type SnapshotSection,
} from '@plex86/proto';
import { PAGE_SIZE } from '../memory/physical-memory.js';
import { checkPageRuns } from './machine-state.js';
import { SnapshotError } from './state.js';

export const SNAPSHOT_MAGIC = 'PLEX86SN';
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Readers refuse larger headers (snapshot.proto). */
export const MAX_HEADER_BYTES = 65536;
/** Readers refuse a larger MachineState section (device state is kilobytes; RAM is apart). */
export const MAX_MACHINE_STATE_BYTES = 64 << 20;
const SECTION_ALIGN = 4096;
const SHA256_BYTES = 32;
/** RAM is read and hashed in pieces of this size. */
const CHUNK_BYTES = 1 << 20;
const MAGIC_BYTES = new TextEncoder().encode(SNAPSHOT_MAGIC);

/** Pages of `ram` in the order `runs` lists them, as views (no copy). */
function* runViews(ram: Uint8Array, runs: readonly PageRun[]): Generator<Uint8Array> {
  for (const run of runs) {
    const start = Number(run.firstPage) * PAGE_SIZE;
    const end = start + Number(run.pageCount) * PAGE_SIZE;
    for (let at = start; at < end; at += CHUNK_BYTES) yield ram.subarray(at, Math.min(end, at + CHUNK_BYTES));
  }
}

function align(n: number): number {
  return Math.ceil(n / SECTION_ALIGN) * SECTION_ALIGN;
}

export interface WriteSnapshotOptions {
  vmId: string;
  /** The machine state; `state.ram.runs` selects the pages of `ram` that are stored. */
  state: MachineState;
  /** All of guest RAM. */
  ram: Uint8Array;
  /** Host time of the snapshot (default now). */
  createdUnixMs?: number;
}

/** Writes a snapshot file (replacing `path` atomically) and returns its summary. */
export function writeSnapshotFile(path: string, options: WriteSnapshotOptions): SnapshotInfo {
  const { state, ram } = options;
  const runs = state.ram?.runs ?? [];
  const pages = checkPageRuns(runs, ram.byteLength);
  const machineBytes = MachineState.encode(state).finish();
  const ramHash = createHash('sha256');
  for (const view of runViews(ram, runs)) ramHash.update(view);
  const ramLength = pages * PAGE_SIZE;
  const created = options.createdUnixMs ?? Date.now();
  const header: SnapshotHeader = {
    magic: MAGIC_BYTES,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    vmId: options.vmId,
    createdUnixMs: BigInt(created),
    checksumAlgorithm: ChecksumAlgorithm.CHECKSUM_ALGORITHM_SHA256,
    sections: [
      {
        kind: SectionKind.SECTION_KIND_MACHINE_STATE,
        offset: 0n,
        length: BigInt(machineBytes.length),
        checksum: createHash('sha256').update(machineBytes).digest(),
      },
      { kind: SectionKind.SECTION_KIND_RAM, offset: 0n, length: BigInt(ramLength), checksum: ramHash.digest() },
    ],
  };
  // The offsets depend on the header's length, which depends on the offsets: settle them.
  let headerBytes = SnapshotHeader.encode(header).finish();
  for (let i = 0; i < 4; i++) {
    const machineAt = align(4 + headerBytes.length);
    header.sections[0].offset = BigInt(machineAt);
    header.sections[1].offset = BigInt(align(machineAt + machineBytes.length));
    const next = SnapshotHeader.encode(header).finish();
    if (next.length === headerBytes.length) {
      headerBytes = next;
      break;
    }
    headerBytes = next;
  }
  if (headerBytes.length > MAX_HEADER_BYTES) throw new SnapshotError('the snapshot header is too large');
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  let fileSize = 0;
  try {
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, headerBytes.length, true);
    writeSync(fd, prefix, 0, 4, 0);
    writeSync(fd, headerBytes, 0, headerBytes.length, 4);
    const machineAt = Number(header.sections[0].offset);
    writeSync(fd, machineBytes, 0, machineBytes.length, machineAt);
    let at = Number(header.sections[1].offset);
    for (const view of runViews(ram, runs)) {
      writeSync(fd, view, 0, view.length, at);
      at += view.length;
    }
    fileSize = Math.max(at, machineAt + machineBytes.length);
    // An empty RAM section still lies inside the file.
    ftruncateSync(fd, fileSize);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
    rmSync(tmp, { force: true });
    throw e;
  }
  return summarize(path, header, state, fileSize, true);
}

function summarize(
  path: string,
  header: SnapshotHeader,
  state: MachineState,
  fileSize: number,
  valid: boolean,
): SnapshotInfo {
  return {
    path,
    formatVersion: header.formatVersion,
    vmId: header.vmId,
    memoryBytes: state.ram?.sizeBytes ?? 0n,
    storedPages: (state.ram?.runs ?? []).reduce((n, r) => n + r.pageCount, 0n),
    fileSize: BigInt(fileSize),
    createdUnixMs: header.createdUnixMs,
    componentIds: state.components.map((c) => c.id),
    checksumsValid: valid,
    instructionsRetired: state.instructionsRetired,
  };
}

/** An open snapshot file whose header and machine state passed every check. */
export class SnapshotFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly fileSize: number,
    readonly header: SnapshotHeader,
    readonly state: MachineState,
    private readonly ramSection: SnapshotSection,
  ) {}

  /**
   * Opens and checks a snapshot: header length, magic, version, checksum algorithm, the sections'
   * kinds, offsets and lengths against the file, the machine state's checksum and its RAM runs.
   * The RAM section's checksum is checked as it is read (readRam, verify).
   */
  static open(path: string): SnapshotFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new SnapshotError(`cannot open snapshot ${path}: ${(e as Error).message}`);
    }
    try {
      return SnapshotFile.check(path, fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private static check(path: string, fd: number): SnapshotFile {
    const bad = (what: string) => new SnapshotError(`${path}: ${what}`);
    const size = fstatSync(fd).size;
    if (size < 4) throw bad(`truncated: ${size} bytes, not even a header length`);
    const prefix = readExactly(fd, 4, 0);
    const headerLength = new DataView(prefix.buffer).getUint32(0, true);
    if (headerLength > MAX_HEADER_BYTES) {
      throw bad(`not a plex86 snapshot: header length ${headerLength} exceeds ${MAX_HEADER_BYTES}`);
    }
    if (4 + headerLength > size)
      throw bad(`truncated: the ${headerLength}-byte header runs past the end (${size} bytes)`);
    const headerBytes = readExactly(fd, headerLength, 4);
    let header: SnapshotHeader;
    try {
      header = SnapshotHeader.decode(headerBytes);
    } catch (e) {
      throw bad(`not a plex86 snapshot: the header does not decode (${(e as Error).message})`);
    }
    if (!equalBytes(header.magic, MAGIC_BYTES)) throw bad(`not a plex86 snapshot: bad magic`);
    if (header.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
      throw bad(
        `snapshot format version ${header.formatVersion} is not supported (this plex86 reads version ${SNAPSHOT_FORMAT_VERSION})`,
      );
    }
    if (header.checksumAlgorithm !== ChecksumAlgorithm.CHECKSUM_ALGORITHM_SHA256) {
      throw bad(`unknown checksum algorithm ${header.checksumAlgorithm}`);
    }
    const find = (kind: SectionKind, name: string): SnapshotSection => {
      const found = header.sections.filter((s) => s.kind === kind);
      if (found.length !== 1) throw bad(`${found.length} ${name} sections, expected one`);
      return found[0];
    };
    const machine = find(SectionKind.SECTION_KIND_MACHINE_STATE, 'machine state');
    const ram = find(SectionKind.SECTION_KIND_RAM, 'RAM');
    if (header.sections.length !== 2) throw bad(`${header.sections.length} sections, expected 2`);
    const spans: [bigint, bigint, string][] = [];
    for (const [s, name] of [
      [machine, 'machine state'],
      [ram, 'RAM'],
    ] as const) {
      if (s.checksum.length !== SHA256_BYTES) throw bad(`the ${name} section's checksum is not a SHA-256`);
      if (s.offset < BigInt(4 + headerLength)) throw bad(`the ${name} section overlaps the header`);
      if (s.offset + s.length > BigInt(size)) {
        throw bad(`truncated: the ${name} section ends at byte ${s.offset + s.length}, the file has ${size}`);
      }
      spans.push([s.offset, s.offset + s.length, name]);
    }
    if (spans[0][0] < spans[1][1] && spans[1][0] < spans[0][1]) throw bad('the sections overlap');
    if (machine.length > BigInt(MAX_MACHINE_STATE_BYTES)) throw bad(`the machine state section is too large`);
    const machineBytes = readExactly(fd, Number(machine.length), Number(machine.offset));
    if (!equalBytes(createHash('sha256').update(machineBytes).digest(), machine.checksum)) {
      throw bad('checksum mismatch in the machine state section (the file is corrupt)');
    }
    let state: MachineState;
    try {
      state = MachineState.decode(machineBytes);
    } catch (e) {
      throw bad(`the machine state does not decode (${(e as Error).message})`);
    }
    const ramBytes = Number(state.ram?.sizeBytes ?? 0n);
    if (!(ramBytes > 0) || ramBytes % PAGE_SIZE !== 0 || ramBytes > 0x7ffff000) {
      throw bad(`the machine state gives ${ramBytes} bytes of RAM`);
    }
    let pages: number;
    try {
      pages = checkPageRuns(state.ram?.runs ?? [], ramBytes);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (BigInt(pages * PAGE_SIZE) !== ram.length) {
      throw bad(`the RAM section holds ${ram.length} bytes, the machine state lists ${pages} pages`);
    }
    return new SnapshotFile(path, fd, size, header, state, ram);
  }

  /** Reads every stored page into `ram` (which is zeroed first) and checks the RAM checksum. */
  readRam(ram: Uint8Array): void {
    const ramBytes = Number(this.state.ram?.sizeBytes ?? 0n);
    if (ram.byteLength !== ramBytes) {
      throw new SnapshotError(`${this.path}: the snapshot has ${ramBytes} bytes of RAM, the machine ${ram.byteLength}`);
    }
    ram.fill(0);
    const hash = createHash('sha256');
    let at = Number(this.ramSection.offset);
    for (const view of runViews(ram, this.state.ram?.runs ?? [])) {
      readInto(this.fd, view, at);
      hash.update(view);
      at += view.length;
    }
    if (!equalBytes(hash.digest(), this.ramSection.checksum)) {
      throw new SnapshotError(`${this.path}: checksum mismatch in the RAM section (the file is corrupt)`);
    }
  }

  /** Whether the RAM section matches its checksum (the machine state's was checked on open). */
  verifyRam(): boolean {
    const hash = createHash('sha256');
    const buffer = new Uint8Array(Math.min(CHUNK_BYTES, Number(this.ramSection.length)));
    const end = Number(this.ramSection.offset + this.ramSection.length);
    for (let at = Number(this.ramSection.offset); at < end; at += buffer.length) {
      const piece = buffer.subarray(0, Math.min(buffer.length, end - at));
      readInto(this.fd, piece, at);
      hash.update(piece);
    }
    return equalBytes(hash.digest(), this.ramSection.checksum);
  }

  /** The file's summary; `verify` also reads the RAM section to check its checksum. */
  info(verify = true): SnapshotInfo {
    return summarize(this.path, this.header, this.state, this.fileSize, verify ? this.verifyRam() : true);
  }

  close(): void {
    closeSync(this.fd);
  }
}

function readExactly(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  readInto(fd, out, position);
  return out;
}

function readInto(fd: number, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) throw new SnapshotError(`truncated: the file ended at byte ${position + done}`);
    done += n;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
