/**
 * The snapshot file: a round trip, and every kind of damage refused with an error that says what is
 * wrong — a flipped byte in either section, truncation, another format version, bad magic, a huge
 * header length, sections outside the file or overlapping, RAM runs that do not fit.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineSetup, MachineState, SnapshotHeader } from '@plex86/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_HEADER_BYTES, SNAPSHOT_FORMAT_VERSION, SnapshotFile, writeSnapshotFile } from './file.js';
import { nonZeroPageRuns } from './machine-state.js';
import { StateWriter } from './state.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-snapfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RAM_BYTES = 1 << 20;

/** 1 MiB of RAM with data in pages 0, 1, 7 and the last page; the rest zero. */
function sampleRam(): Uint8Array {
  const ram = new Uint8Array(RAM_BYTES);
  for (const page of [0, 1, 7, 255]) for (let i = 0; i < 4096; i += 97) ram[page * 4096 + i] = (page + i) & 0xff || 1;
  return ram;
}

function sampleState(ram: Uint8Array): MachineState {
  const w = new StateWriter('pit', 1);
  w.number('ch0.mode', 2);
  w.number('deadline', Infinity);
  w.bytes('cmos', new Uint8Array(128).fill(0x26));
  return {
    setup: MachineSetup.fromPartial({ memoryBytes: BigInt(RAM_BYTES), nsPerInstruction: 5, serial: true }),
    components: [w.finish()],
    ram: { sizeBytes: BigInt(RAM_BYTES), runs: nonZeroPageRuns(ram) },
    instructionsRetired: 123_456_789n,
    virtualTimeNs: 617_283_945n,
  };
}

function write(name: string): { path: string; ram: Uint8Array; state: MachineState } {
  const ram = sampleRam();
  const state = sampleState(ram);
  const path = join(dir, name);
  writeSnapshotFile(path, { vmId: 'vm7', state, ram, createdUnixMs: 1_795_000_000_000 });
  return { path, ram, state };
}

/** A copy of `path` with `edit` applied to its bytes. */
function damaged(path: string, name: string, edit: (bytes: Uint8Array) => Uint8Array): string {
  const out = join(dir, name);
  writeFileSync(out, edit(new Uint8Array(readFileSync(path))));
  return out;
}

/** The file with its header replaced (sections left where they are). */
function withHeader(path: string, name: string, change: (h: SnapshotHeader) => void): string {
  return damaged(path, name, (bytes) => {
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const header = SnapshotHeader.decode(bytes.subarray(4, 4 + n));
    change(header);
    const encoded = SnapshotHeader.encode(header).finish();
    if (encoded.length > n) throw new Error('the test header grew');
    // Same length: pad with an unknown field the decoder skips.
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(0, encoded.length, true);
    out.set(encoded, 4);
    return out;
  });
}

function sectionOffsets(path: string): { machine: number; ram: number } {
  const file = SnapshotFile.open(path);
  try {
    return { machine: Number(file.header.sections[0].offset), ram: Number(file.header.sections[1].offset) };
  } finally {
    file.close();
  }
}

describe('snapshot files', () => {
  it('round-trip the machine state and exactly the non-zero RAM pages', () => {
    const { path, ram, state } = write('good.snap');
    const bytes = readFileSync(path);
    expect(bytes.subarray(6, 14).toString('latin1')).toBe('PLEX86SN');
    // Four stored pages, 4 KiB-aligned sections.
    expect(bytes.length).toBe(sectionOffsets(path).ram + 4 * 4096);
    const file = SnapshotFile.open(path);
    try {
      expect(file.header.vmId).toBe('vm7');
      expect(file.header.formatVersion).toBe(SNAPSHOT_FORMAT_VERSION);
      expect(file.state).toEqual(state);
      const info = file.info();
      expect(info).toMatchObject({ vmId: 'vm7', storedPages: 4n, checksumsValid: true, memoryBytes: 1048576n });
      expect(info.createdUnixMs).toBe(1_795_000_000_000n);
      const back = new Uint8Array(RAM_BYTES).fill(0xee);
      file.readRam(back);
      expect(Buffer.compare(back, ram)).toBe(0);
    } finally {
      file.close();
    }
  });

  it('writes and reads a machine whose RAM is all zero', () => {
    const ram = new Uint8Array(RAM_BYTES);
    const path = join(dir, 'zero.snap');
    const info = writeSnapshotFile(path, { vmId: 'z', state: sampleState(ram), ram });
    expect(info.storedPages).toBe(0n);
    const file = SnapshotFile.open(path);
    try {
      expect(file.info().checksumsValid).toBe(true);
      const back = new Uint8Array(RAM_BYTES).fill(1);
      file.readRam(back);
      expect(back.every((b) => b === 0)).toBe(true);
    } finally {
      file.close();
    }
  });

  it('finds a flipped byte in either section by its checksum', () => {
    const { path } = write('flip.snap');
    const at = sectionOffsets(path);
    const inState = damaged(path, 'flip-state.snap', (b) => {
      b[at.machine + 3] ^= 0x10;
      return b;
    });
    expect(() => SnapshotFile.open(inState)).toThrow(/checksum mismatch in the machine state section/);
    const inRam = damaged(path, 'flip-ram.snap', (b) => {
      b[at.ram + 4096 + 100] ^= 1;
      return b;
    });
    const file = SnapshotFile.open(inRam);
    try {
      expect(file.info().checksumsValid).toBe(false);
      expect(() => file.readRam(new Uint8Array(RAM_BYTES))).toThrow(/checksum mismatch in the RAM section/);
    } finally {
      file.close();
    }
  });

  it('refuses truncated files', () => {
    const { path } = write('trunc.snap');
    const size = readFileSync(path).length;
    expect(() => SnapshotFile.open(damaged(path, 't0.snap', (b) => b.subarray(0, 2)))).toThrow(/truncated: 2 bytes/);
    expect(() => SnapshotFile.open(damaged(path, 't1.snap', (b) => b.subarray(0, 40)))).toThrow(
      /truncated: the \d+-byte header runs past the end/,
    );
    expect(() => SnapshotFile.open(damaged(path, 't2.snap', (b) => b.subarray(0, size - 1)))).toThrow(
      /truncated: the RAM section ends at byte \d+, the file has \d+/,
    );
  });

  it('refuses another format version, bad magic, a huge header length and a header that does not decode', () => {
    const { path } = write('hdr.snap');
    const v2 = withHeader(path, 'v2.snap', (h) => (h.formatVersion = 2));
    expect(() => SnapshotFile.open(v2)).toThrow(
      /snapshot format version 2 is not supported \(this plex86 reads version 1\)/,
    );
    const magic = withHeader(path, 'magic.snap', (h) => (h.magic = new TextEncoder().encode('PLEX86XX')));
    expect(() => SnapshotFile.open(magic)).toThrow(/not a plex86 snapshot: bad magic/);
    const huge = damaged(path, 'huge.snap', (b) => {
      new DataView(b.buffer).setUint32(0, 0xfffffff0, true);
      return b;
    });
    expect(() => SnapshotFile.open(huge)).toThrow(new RegExp(`header length 4294967280 exceeds ${MAX_HEADER_BYTES}`));
    const junk = damaged(path, 'junk.snap', (b) => {
      b.fill(0xff, 4, 24);
      return b;
    });
    expect(() => SnapshotFile.open(junk)).toThrow(/not a plex86 snapshot: the header does not decode/);
    expect(() => SnapshotFile.open(join(dir, 'missing.snap'))).toThrow(/cannot open snapshot .*missing\.snap/);
  });

  it('refuses sections outside the file, overlapping each other or the header, and RAM runs that do not fit', () => {
    const { path } = write('sect.snap');
    const past = withHeader(path, 'past.snap', (h) => (h.sections[1].length += 4096n));
    expect(() => SnapshotFile.open(past)).toThrow(/truncated: the RAM section ends at byte/);
    const overlap = withHeader(path, 'overlap.snap', (h) => (h.sections[1].offset = h.sections[0].offset));
    expect(() => SnapshotFile.open(overlap)).toThrow(/the sections overlap/);
    const header = withHeader(path, 'inheader.snap', (h) => (h.sections[0].offset = 8n));
    expect(() => SnapshotFile.open(header)).toThrow(/the machine state section overlaps the header/);
    const twice = withHeader(path, 'twice.snap', (h) => (h.sections[1].kind = h.sections[0].kind));
    expect(() => SnapshotFile.open(twice)).toThrow(/2 machine state sections, expected one/);

    // A machine state (with a valid checksum) whose runs leave RAM or disagree with the RAM section.
    const ram = sampleRam();
    const outside = sampleState(ram);
    outside.ram = { sizeBytes: BigInt(RAM_BYTES), runs: [{ firstPage: 250n, pageCount: 10n }] };
    const p1 = join(dir, 'outside.snap');
    expect(() => writeSnapshotFile(p1, { vmId: 'x', state: outside, ram })).toThrow(/outside the 256 pages of RAM/);
  });
});
