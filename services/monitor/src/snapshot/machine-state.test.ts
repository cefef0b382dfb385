/**
 * A snapshot restored into a fresh Machine continues exactly: testdata/ticker.asm (PIT interrupts
 * through the PIC, HLT with time warps, x87, paging, RDTSC, CMOS and PIT reads, the UART) is saved
 * mid-run through a real file, restored, saved and restored again, and must end with the output,
 * instruction count, component state and RAM of an uninterrupted run. Any state a component forgets
 * shows up as a difference.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineSetup } from '@plex86/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../machine/machine.js';
import { SnapshotFile, writeSnapshotFile } from './file.js';
import { captureMachineState, nonZeroPageRuns, restoreMachineState } from './machine-state.js';
import { restoreSnapshot } from './session.js';
import { assembleTicker } from '../../test/support/ticker.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-snapshot-'));
let program: Uint8Array;

beforeAll(() => {
  program = assembleTicker(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SETUP = MachineSetup.fromPartial({
  memoryBytes: 8n << 20n,
  nsPerInstruction: 5,
  serial: true,
  debugconPorts: [0xe9],
  exitPort: 0xf4,
});

interface Rig {
  machine: Machine;
  output: () => string;
}

/** A machine as `plex86 run` builds one for a test program: debug console, exit port, COM1. */
function build(): Rig {
  const machine = new Machine({ memory: 8 << 20, rtcStartTime: Date.UTC(2026, 0, 2, 3, 4, 5), compileThreshold: 0 });
  let debug = '';
  let serial = '';
  machine.addDebugcon(0xe9, (b) => (debug += String.fromCharCode(b)));
  machine.addSerial((b) => (serial += String.fromCharCode(b)));
  machine.setExitPort(0xf4);
  return { machine, output: () => `${debug}|${serial}` };
}

function save(machine: Machine, name: string): string {
  const path = join(dir, name);
  writeSnapshotFile(path, { vmId: 'vm1', state: captureMachineState({ machine }, SETUP), ram: machine.mem.ram });
  return path;
}

function restore(path: string): Rig {
  const rig = build();
  const file = SnapshotFile.open(path);
  try {
    restoreSnapshot({ machine: rig.machine }, file);
  } finally {
    file.close();
  }
  return rig;
}

describe('snapshot and restore of a running machine', () => {
  it('continues exactly where it was, through two snapshots', async () => {
    const whole = build();
    whole.machine.loadKernel(program);
    const end = await whole.machine.run(50_000_000);
    expect(end.end).toBe('exit-port');
    expect(whole.output()).toMatch(/^(([0-9a-f]{8} ){5}\n){15}/);

    const first = build();
    first.machine.loadKernel(program);
    const part1 = await first.machine.run(Math.floor(end.instructions / 3));
    expect(part1.end).toBe('max-instructions');
    const snap1 = save(first.machine, 'one.snap');

    const second = restore(snap1);
    const part2 = await second.machine.run(Math.floor(end.instructions / 3) + 12_345);
    expect(part2.end).toBe('max-instructions');
    const snap2 = save(second.machine, 'two.snap');

    const third = restore(snap2);
    const part3 = await third.machine.run(50_000_000);
    expect(part3.end).toBe('exit-port');

    expect(part1.instructions + part2.instructions + part3.instructions).toBe(end.instructions);
    const pieces = [first, second, third].map((r) => r.output().split('|'));
    expect(`${pieces.map((p) => p[0]).join('')}|${pieces.map((p) => p[1]).join('')}`).toBe(whole.output());
    // Every component ends in the same state, and so does RAM.
    expect(captureMachineState({ machine: third.machine }, SETUP)).toEqual(
      captureMachineState({ machine: whole.machine }, SETUP),
    );
    expect(Buffer.compare(third.machine.mem.ram, whole.machine.mem.ram)).toBe(0);
  });

  it('stores only the pages that are not all zero', async () => {
    const rig = build();
    rig.machine.loadKernel(program);
    await rig.machine.run(200_000);
    const runs = nonZeroPageRuns(rig.machine.mem.ram);
    const stored = runs.reduce((n, r) => n + Number(r.pageCount), 0);
    expect(stored).toBeGreaterThan(3);
    expect(stored).toBeLessThan(64);
    const ram = rig.machine.mem.ram;
    for (const run of runs) {
      const first = Number(run.firstPage) * 4096;
      expect(ram.subarray(first, first + 4096).some((b) => b !== 0)).toBe(true);
    }
  });

  it('refuses state for another machine: a different RAM size, a missing or an unknown component', async () => {
    const rig = build();
    rig.machine.loadKernel(program);
    await rig.machine.run(100_000);
    const state = captureMachineState({ machine: rig.machine }, SETUP);
    const other = new Machine({ memory: 16 << 20 });
    expect(() => restoreMachineState({ machine: other }, state)).toThrow(/8388608 bytes of RAM, the machine 16777216/);
    const fresh = build();
    const noPit = { ...state, components: state.components.filter((c) => c.id !== 'pit') };
    expect(() => restoreMachineState({ machine: fresh.machine }, noPit)).toThrow(/no state for pit/);
    const extra = { ...state, components: [...state.components, { id: 'virtio-vdb', version: 1, fields: [] }] };
    expect(() => restoreMachineState({ machine: fresh.machine }, extra)).toThrow(/virtio-vdb, which this machine/);
    const bare = new Machine({ memory: 8 << 20 });
    expect(() => restoreMachineState({ machine: bare }, state)).toThrow(/com1, which this machine does not have/);
  });
});
