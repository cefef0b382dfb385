/**
 * Saving a running machine to a snapshot file and restoring one into a freshly built machine: the
 * hold at an instruction boundary, the disks' identities, the file.
 */

import { open, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { ImageFormat, type MachineSetup, type SnapshotDisk, type SnapshotInfo } from '@plex86/proto';
import { captureMachineState, restoreMachineState, type SnapshotTarget } from './machine-state.js';
import { SNAPSHOT_MAGIC, SnapshotFile, writeSnapshotFile } from './file.js';
import { SnapshotError } from './state.js';

export interface SaveSnapshotOptions {
  vmId: string;
  /** The machine's setup; the disks' file identities are taken at the snapshot. */
  setup: MachineSetup;
  /** End the run once the file is written. */
  stop?: boolean;
}

export interface SavedSnapshot {
  info: SnapshotInfo;
  /** How long the guest was held, in ms. */
  pauseMs: number;
}

/**
 * Holds the machine at an instruction boundary with no device work in flight, records its state
 * and RAM in `path` and lets it run on (or stops the run with `stop`).
 */
export async function saveSnapshot(
  target: SnapshotTarget,
  path: string,
  options: SaveSnapshotOptions,
): Promise<SavedSnapshot> {
  if (!isAbsolute(path)) throw new SnapshotError(`the snapshot path must be absolute, got "${path}"`);
  await checkReplaceable(path);
  const machine = target.machine;
  const release = await machine.holdAtBoundary();
  const start = performance.now();
  try {
    const setup: MachineSetup = { ...options.setup, disks: await withFileIdentities(options.setup.disks) };
    const state = captureMachineState(target, setup);
    const info = writeSnapshotFile(path, { vmId: options.vmId, state, ram: machine.mem.ram });
    if (options.stop === true) machine.requestStop(`snapshot saved to ${path}; the VM stopped`);
    return { info, pauseMs: performance.now() - start };
  } finally {
    release();
  }
}

/** A save replaces an older snapshot, never another kind of file (the path may come over the bus). */
async function checkReplaceable(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SnapshotError(`cannot check ${path}: ${(e as Error).message}`);
  }
  try {
    const head = new Uint8Array(14);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead < head.length || new TextDecoder().decode(head.subarray(6, 14)) !== SNAPSHOT_MAGIC) {
      throw new SnapshotError(`${path} exists and is not a plex86 snapshot; it is left alone`);
    }
  } finally {
    await file.close();
  }
}

/** The disks with the size and modification time of their files now. */
async function withFileIdentities(disks: readonly SnapshotDisk[]): Promise<SnapshotDisk[]> {
  const out: SnapshotDisk[] = [];
  for (const disk of disks) {
    const files = [];
    for (const f of disk.files) {
      const s = await stat(f.path, { bigint: true }).catch((e: unknown) => {
        throw new SnapshotError(`disk ${disk.id}: cannot read ${f.path}: ${(e as Error).message}`);
      });
      files.push({ path: f.path, sizeBytes: s.size, mtimeNs: s.mtimeNs });
    }
    out.push({ ...disk, files });
  }
  return out;
}

/**
 * Checks that every disk file a snapshot refers to is still there, with the size and modification
 * time it had: a guest restored over a changed disk would find its file systems inconsistent with
 * its page cache.
 */
export async function checkSnapshotDisks(setup: MachineSetup): Promise<void> {
  for (const disk of setup.disks) {
    for (const f of disk.files) {
      let s;
      try {
        s = await stat(f.path, { bigint: true });
      } catch (e) {
        throw new SnapshotError(`disk ${disk.id}: ${f.path} is missing (${(e as Error).message})`);
      }
      if (s.size !== f.sizeBytes || s.mtimeNs !== f.mtimeNs) {
        throw new SnapshotError(
          `disk ${disk.id}: ${f.path} changed since the snapshot ` +
            `(size ${f.sizeBytes} -> ${s.size}, modified ${new Date(Number(f.mtimeNs / 1_000_000n)).toISOString()} -> ` +
            `${new Date(Number(s.mtimeNs / 1_000_000n)).toISOString()}); restoring over it would corrupt the guest's view`,
        );
      }
    }
  }
}

/** Loads an opened snapshot into a machine built from its setup: devices, CPU, then RAM. */
export function restoreSnapshot(target: SnapshotTarget, file: SnapshotFile): void {
  restoreMachineState(target, file.state);
  file.readRam(target.machine.mem.ram);
  // Scanned and compiled code is rebuilt from the restored RAM.
  target.machine.blocks.flush();
}

export function imageFormat(format: 'raw' | 'qcow2' | undefined): ImageFormat {
  return format === 'raw'
    ? ImageFormat.IMAGE_FORMAT_RAW
    : format === 'qcow2'
      ? ImageFormat.IMAGE_FORMAT_QCOW2
      : ImageFormat.IMAGE_FORMAT_UNSPECIFIED;
}
