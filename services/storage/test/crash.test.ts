/**
 * Nothing lost: a child process writes to an overlay and is killed with SIGKILL at a random
 * moment, many times over. After every kill the image must pass `qemu-img check` without
 * corruption, and every write the child saw acknowledged must be there (as read by qemu-img, not
 * by us); a sector under a write still in flight holds its old or its new contents.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOverlay, openImage } from '../src/images.js';
import { fillPattern, qemuCheck, qemuImg, rng, tempDir } from '../src/testing.js';

const MIB = 1 << 20;
const SIZE = 8 * MIB;
const SECTOR = 512;
const ROUNDS = 20;

interface Op {
  id: number;
  offset: number;
  length: number;
  seed: number;
  acked: boolean;
}

let dir: string;
let cleanup: () => Promise<void>;
let writer: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('plex86-crash-'));
  // One bundle, so each child starts in a fraction of the time a TypeScript loader needs.
  writer = join(dir, 'crash-writer.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'crash-writer.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: writer,
    logLevel: 'silent',
  });
});
afterAll(async () => cleanup());

/** Runs the writer until a random moment, kills it, and returns the operations it reported. */
async function runAndKill(image: string, seed: number, delayMs: number): Promise<{ ops: Op[]; stderr: string }> {
  const child = spawn(process.execPath, [writer, image, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (stdout.includes('ready\n')) {
        clearInterval(poll);
        setTimeout(resolve, delayMs);
      }
    }, 2);
    void exited.then(() => {
      clearInterval(poll);
      reject(new Error(`writer exited before the kill:\n${stderr}`));
    });
  });
  child.kill('SIGKILL');
  await exited;
  const ops = new Map<number, Op>();
  for (const line of stdout.split('\n')) {
    const [kind, id, offset, length, s] = line.split(' ');
    if (kind === 'begin' || kind === 'zero') {
      ops.set(Number(id), {
        id: Number(id),
        offset: Number(offset),
        length: Number(length),
        seed: Number(s),
        acked: false,
      });
    } else if (kind === 'ack') {
      (ops.get(Number(id)) as Op).acked = true;
    }
  }
  return { ops: [...ops.values()].sort((a, b) => a.id - b.id), stderr };
}

function bytesOf(op: Op): Uint8Array {
  return op.seed === 0 ? new Uint8Array(op.length) : fillPattern(new Uint8Array(op.length), op.seed);
}

/**
 * Checks `actual` against the state before the round and the round's operations: per sector,
 * the newest acknowledged write must be there, unless a write issued after it (not acknowledged)
 * replaced it. Returns the number of sectors that hold unacknowledged data.
 */
function verify(before: Uint8Array, actual: Uint8Array, ops: Op[]): number {
  const sectors = SIZE / SECTOR;
  const expected = before.slice();
  const lastAcked = new Int32Array(sectors).fill(-1);
  const data = new Map<number, Uint8Array>();
  for (const op of ops) {
    if (!op.acked) continue;
    const bytes = bytesOf(op);
    expected.set(bytes, op.offset);
    for (let s = op.offset / SECTOR; s < (op.offset + op.length) / SECTOR; s++) lastAcked[s] = op.id;
  }
  let fromInFlight = 0;
  for (let s = 0; s < sectors; s++) {
    const at = s * SECTOR;
    const got = actual.subarray(at, at + SECTOR);
    if (Buffer.compare(got, expected.subarray(at, at + SECTOR)) === 0) continue;
    // Otherwise it must be what an unacknowledged write issued after the last acknowledged one wrote.
    const match = ops.find((op) => {
      if (op.acked || op.id < (lastAcked[s] as number) || at < op.offset || at >= op.offset + op.length) return false;
      let bytes = data.get(op.id);
      if (bytes === undefined) data.set(op.id, (bytes = bytesOf(op)));
      return Buffer.compare(got, bytes.subarray(at - op.offset, at - op.offset + SECTOR)) === 0;
    });
    if (match === undefined) {
      throw new Error(`sector ${s} holds neither its acknowledged contents nor a write in flight`);
    }
    fromInFlight++;
  }
  return fromInFlight;
}

describe('crash safety', () => {
  it(`keeps every acknowledged write across ${ROUNDS} SIGKILLs`, async () => {
    const base = join(dir, 'base.raw');
    const image = join(dir, 'overlay.qcow2');
    const raw = join(dir, 'readback.raw');
    let state = fillPattern(new Uint8Array(SIZE), 77);
    await writeFile(base, state);
    await createOverlay(image, base);
    const random = rng(2024);
    let acked = 0;
    let leakyRounds = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const { ops, stderr } = await runAndKill(image, round, 20 + random(200));
      acked += ops.filter((o) => o.acked).length;
      const check = await qemuCheck(image);
      expect({ round, corruptions: check.corruptions, errors: check.checkErrors }, check.raw).toEqual({
        round,
        corruptions: 0,
        errors: 0,
      });
      if (check.leaks > 0) leakyRounds++;
      expect(stderr).not.toMatch(/Error/);
      expect((await qemuImg('convert', '-f', 'qcow2', '-O', 'raw', image, raw)).code).toBe(0);
      const actual = new Uint8Array(await readFile(raw));
      verify(state, actual, ops);
      state = actual;
    }
    // The runs did real work, so the kills landed in the middle of it.
    expect(acked).toBeGreaterThan(ROUNDS * 5);

    // Opening for writing repairs what the last crash leaked; afterwards the image is clean.
    const img = await openImage(image);
    await img.close();
    const final = await qemuCheck(image);
    expect({ code: final.code, leaks: final.leaks }).toEqual({ code: 0, leaks: 0 });
    await qemuImg('convert', '-f', 'qcow2', '-O', 'raw', image, raw);
    expect(Buffer.compare(new Uint8Array(await readFile(raw)), state)).toBe(0);
    console.info(`crash test: ${acked} acknowledged writes, ${leakyRounds}/${ROUNDS} kills left leaked clusters`);
  });
});
