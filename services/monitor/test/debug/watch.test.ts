/**
 * Read and access watchpoints on a real program (test/programs/watch.asm): each stops right after the
 * instruction whose access overlaps the range, on plain, read-modify-write and repeated string
 * instructions, and never for other bytes of the same page or, for a read watch, for a write.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MachineDebugger } from '../../src/debug/machine-debugger.js';
import { WireAddressSpace, WireStopReason, WireWatchKind, type WireStopEvent } from '../../src/debug/wire.js';
import { Machine } from '../../src/machine/machine.js';
import { assemble, EXIT_PORT } from '../support/programs.js';

const TABLE = 0x7000;
const IMAGE = assemble('watch');

let machine: Machine;
let dbg: MachineDebugger;
let stops: WireStopEvent[];
let output: string;

function start(compileThreshold: number): void {
  machine = new Machine({ memory: 16 << 20, compileThreshold });
  output = '';
  machine.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
  machine.setExitPort(EXIT_PORT);
  machine.loadKernel(IMAGE);
  dbg = new MachineDebugger(machine, { sliceInstructions: 10_000 });
  stops = [];
  dbg.onStop((s) => stops.push(s));
}

async function continueToStop(): Promise<WireStopEvent> {
  const before = stops.length;
  dbg.continue();
  for (let i = 0; i < 2000 && stops.length === before; i++) await new Promise((r) => setImmediate(r));
  expect(stops.length).toBe(before + 1);
  return stops[stops.length - 1];
}

function watchStop(stop: WireStopEvent, kind: WireWatchKind, address: number, length: number, at: number): void {
  expect(stop.reason).toBe(WireStopReason.WATCHPOINT);
  expect(stop.detail).toEqual({ $case: 'watchpoint', value: { kind, address: BigInt(address), length } });
  expect(stop.address).toBe(BigInt(at));
}

/** Runs to the point where the program has published its addresses; returns them. */
async function table(): Promise<{
  data: number;
  afterRead: number;
  afterAccess: number;
  afterMovs: number;
  afterStos: number;
  afterEdge: number;
  edge: number;
}> {
  await dbg.halt();
  dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(TABLE), 4);
  expect((await continueToStop()).reason).toBe(WireStopReason.WATCHPOINT);
  dbg.removeWatchpoint(WireWatchKind.WRITE, BigInt(TABLE), 4);
  const bytes = dbg.readMemory(WireAddressSpace.LINEAR, BigInt(TABLE), 28);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [data, afterRead, afterAccess, afterMovs, afterStos, afterEdge, edge] = [0, 4, 8, 12, 16, 20, 24].map((o) =>
    view.getUint32(o, true),
  );
  return { data, afterRead, afterAccess, afterMovs, afterStos, afterEdge, edge };
}

describe('read and access watchpoints', () => {
  for (const threshold of [0, 1_000_000]) {
    describe(threshold === 0 ? 'compiled blocks' : 'interpreted blocks', () => {
      beforeEach(() => start(threshold));

      it('stop after the instruction that reads or touches the range, and not after removal', async () => {
        const t = await table();
        expect(t.data & 0xfff).toBe(0);
        dbg.insertWatchpoint(WireWatchKind.READ, BigInt(t.data + 4), 4);
        watchStop(await continueToStop(), WireWatchKind.READ, t.data + 4, 4, t.afterRead);
        // The write of 7 before the read did not stop the run; the read saw its upper half.
        expect(machine.cpu.r32[0]).toBe(0x11110000);

        dbg.insertWatchpoint(WireWatchKind.ACCESS, BigInt(t.data + 8), 4);
        watchStop(await continueToStop(), WireWatchKind.ACCESS, t.data + 8, 4, t.afterAccess);
        expect(machine.mem.read32(t.data + 8)).toBe(0x11111112);
        dbg.removeWatchpoint(WireWatchKind.ACCESS, BigInt(t.data + 8), 4);

        dbg.insertWatchpoint(WireWatchKind.READ, BigInt(t.data + 40), 1);
        watchStop(await continueToStop(), WireWatchKind.READ, t.data + 40, 1, t.afterMovs);
        expect(machine.cpu.r32[1]).toBe(0);
        dbg.removeWatchpoint(WireWatchKind.READ, BigInt(t.data + 40), 1);

        // A read watch does not see the fill's writes; an access watch does.
        dbg.insertWatchpoint(WireWatchKind.READ, BigInt(t.data + 48), 4);
        dbg.insertWatchpoint(WireWatchKind.ACCESS, BigInt(t.data + 60), 4);
        watchStop(await continueToStop(), WireWatchKind.ACCESS, t.data + 60, 4, t.afterStos);
        expect(machine.mem.read32(t.data + 60)).toBe(0);
        dbg.removeWatchpoint(WireWatchKind.READ, BigInt(t.data + 48), 4);
        dbg.removeWatchpoint(WireWatchKind.ACCESS, BigInt(t.data + 60), 4);

        // A watch across a page boundary, hit by a read split across it.
        expect(t.edge & 0xfff).toBe(0);
        dbg.insertWatchpoint(WireWatchKind.READ, BigInt(t.edge - 1), 2);
        watchStop(await continueToStop(), WireWatchKind.READ, t.edge - 1, 2, t.afterEdge);
        expect(machine.cpu.r32[0]).toBe(0x22115a5a);
        dbg.removeWatchpoint(WireWatchKind.READ, BigInt(t.edge - 1), 2);

        // With every watch removed the final read of the first range runs on to the end.
        dbg.removeWatchpoint(WireWatchKind.READ, BigInt(t.data + 4), 4);
        expect(dbg.status().watchpointCount).toBe(0);
        expect(machine.cpu.onWatchedAccess).toBeUndefined();
        const end = await continueToStop();
        expect(end.reason).toBe(WireStopReason.EXITED);
        expect(output).toContain('done=11120000');
      });
    });
  }

  it('leaves no watched page behind after detach', async () => {
    start(0);
    const t = await table();
    dbg.insertWatchpoint(WireWatchKind.ACCESS, BigInt(t.data + 4), 4);
    const page = t.data >>> 12;
    expect(machine.cpu.mmu.watchPages?.[page]).not.toBe(0);
    await dbg.detach(false);
    expect(machine.cpu.mmu.watchPages?.[page]).toBe(0);
    expect(machine.cpu.onWatchedAccess).toBeUndefined();
  });
});
