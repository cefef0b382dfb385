/**
 * Helpers for tests of the storage service and of services that use it: QEMU's image tools as an
 * independent oracle, deterministic data, and an in-memory model of a disk.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs qemu-img or qemu-io; a missing tool is an error that says what to install. */
export function runQemuTool(tool: 'qemu-img' | 'qemu-io', args: string[]): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') {
        reject(new Error(`${tool} is not installed: apt-get install qemu-utils`));
        return;
      }
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code: status, stdout, stderr });
    });
  });
}

export async function qemuImg(...args: string[]): Promise<ToolResult> {
  return runQemuTool('qemu-img', args);
}

/** Runs qemu-io commands against an image and fails on any error or pattern mismatch. */
export async function qemuIo(image: string, commands: string[], format = 'qcow2'): Promise<string> {
  const args = ['-f', format];
  for (const c of commands) args.push('-c', c);
  args.push(image);
  const r = await runQemuTool('qemu-io', args);
  const out = r.stdout + r.stderr;
  if (r.code !== 0 || /Pattern verification failed|failed:|error/i.test(out)) {
    throw new Error(`qemu-io ${commands.join('; ')} on ${image} failed:\n${out}`);
  }
  return out;
}

export interface CheckReport {
  code: number;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  raw: string;
}

/** `qemu-img check` with its JSON report; exit code 0 clean, 3 leaks only, 2 corruption. */
export async function qemuCheck(image: string): Promise<CheckReport> {
  const r = await qemuImg('check', '--output=json', image);
  let parsed: { corruptions?: number; leaks?: number; 'check-errors'?: number } = {};
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    // leave empty; raw output explains
  }
  return {
    code: r.code,
    corruptions: parsed.corruptions ?? 0,
    leaks: parsed.leaks ?? 0,
    checkErrors: parsed['check-errors'] ?? 0,
    raw: r.stdout + r.stderr,
  };
}

/** A temporary directory removed by the returned cleanup. */
export async function tempDir(prefix = 'plex86-storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Gives the tests of one file a fresh directory (handed to `onReady` before they run), removed after them. */
export function useTempDir(onReady: (dir: string) => void, prefix?: string): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await tempDir(prefix);
    cleanup = made.cleanup;
    onReady(made.dir);
  });
  afterAll(async () => cleanup?.());
}

/** Fills `buf` with bytes determined by `seed` (xorshift32). */
export function fillPattern(buf: Uint8Array, seed: number): Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** A small deterministic random number generator for test plans. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** What a disk should contain after a sequence of operations, to compare an image against. */
export class DiskModel {
  readonly bytes: Uint8Array;

  constructor(
    size: number,
    private readonly clusterSize: number,
    initial?: Uint8Array,
  ) {
    this.bytes = new Uint8Array(size);
    if (initial) this.bytes.set(initial.subarray(0, size));
  }

  write(offset: number, data: Uint8Array): void {
    this.bytes.set(data, offset);
  }

  zero(offset: number, length: number): void {
    this.bytes.fill(0, offset, offset + length);
  }

  /** Discard drops whole clusters of a qcow2 image (they read as zero); parts of clusters stay. */
  discard(offset: number, length: number): void {
    const cs = this.clusterSize;
    const start = Math.ceil(offset / cs) * cs;
    const end = Math.floor((offset + length) / cs) * cs;
    if (end > start) this.bytes.fill(0, start, end);
  }
}

/** Index of the first differing byte, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
