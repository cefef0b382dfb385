/**
 * SnapshotService on a run's bus: a save while the guest runs holds it at an instruction boundary
 * and lets it run on to its normal end; the file continues in a fresh machine to the same end.
 * Saving with stop ends the run; bad paths are refused without touching anything.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusError, createInProcessBus } from '@plex86/bus';
import { ErrorCode } from '@plex86/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMachine, type RunOptions } from '../machine/run.js';
import { requestSnapshotSave } from './bus-service.js';
import { SnapshotFile } from './file.js';
import { withoutHostTime, assembleTicker } from '../../test/support/ticker.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-snapbus-'));
const bus = createInProcessBus();
let kernel: string;

beforeAll(() => {
  assembleTicker(dir);
  kernel = join(dir, 'ticker.bin');
});
afterAll(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

const decoder = new TextDecoder();

/** Runs the ticker program with its debug console collected; `during` runs once it has started. */
async function run(
  options: Partial<RunOptions>,
  during?: () => Promise<void>,
): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let started!: () => void;
  const start = new Promise<void>((resolve) => (started = resolve));
  const running = runMachine(
    { kernel, memory: '8M', debugcon: ['stdio'], exitPort: '0xf4', serial: join(dir, 'serial.txt'), ...options },
    {
      stdout: (d) => (out += decoder.decode(d)),
      stderr: (t) => (err += t),
      onStart: () => started(),
    },
  );
  let duringError: unknown;
  if (during !== undefined) {
    await start;
    await during().catch((e: unknown) => (duringError = e));
  }
  const status = await running;
  if (duringError !== undefined) throw duringError;
  return { status, out, err };
}

describe('SnapshotService', () => {
  it('saves a running guest, which runs on; the snapshot continues to the same end', async () => {
    const whole = await run({});
    expect(whole.status).toBe(1);
    const path = join(dir, 'live.snap');
    let pauseMs = -1;
    const live = await run({ bus, vm: 'live' }, async () => {
      // Let the guest get going first.
      await new Promise((r) => setTimeout(r, 10));
      const reply = await requestSnapshotSave(bus, 'live', path);
      pauseMs = reply.pauseMs;
      expect(reply.info?.checksumsValid).toBe(true);
    });
    expect(live.status).toBe(1);
    expect(withoutHostTime(live.out)).toBe(withoutHostTime(whole.out));
    expect(pauseMs).toBeGreaterThanOrEqual(0);

    const file = SnapshotFile.open(path);
    let restored;
    try {
      restored = await run({ restore: file });
    } finally {
      file.close();
    }
    expect(restored.status).toBe(1);
    expect(withoutHostTime(whole.out).endsWith(withoutHostTime(restored.out))).toBe(true);
    expect(restored.out.length).toBeGreaterThan(0);
  });

  it('ends the run when asked to stop, and refuses relative paths and files that are not snapshots', async () => {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'keep me');
    const stopped = await run({ bus, vm: 'stopper' }, async () => {
      for (const [path, why] of [
        ['relative.snap', /must be absolute/],
        [notes, /is not a plex86 snapshot; it is left alone/],
      ] as const) {
        const e = await requestSnapshotSave(bus, 'stopper', path).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(BusError);
        expect((e as BusError).code).toBe(ErrorCode.ERROR_CODE_BAD_REQUEST);
        expect((e as BusError).message).toMatch(why);
      }
      await requestSnapshotSave(bus, 'stopper', join(dir, 'stop.snap'), { stop: true });
    });
    expect(stopped.status).toBe(0);
    expect(stopped.err).toMatch(/snapshot saved to .*stop\.snap; the VM stopped/);
    expect(readFileSync(notes, 'latin1')).toBe('keep me');
  });
});
