/**
 * Guest programs on the whole machine: the run loop fires PIT and RTC timers on time (also while a
 * guest waits with PAUSE, which takes 128 instruction-times), skips a halted guest ahead to its next
 * timer event (or sleeps in real time), cuts a slice short for an earlier event, waits for device
 * work in flight, and ends on a guest reset.
 */

import { describe, expect, it } from 'vitest';
import { PAUSE_CYCLES } from '../../src/cpu/exec/system.js';
import { StopReason } from '../../src/engine/engine.js';
import type { Machine } from '../../src/machine/machine.js';
import { EXIT_PORT } from '../support/programs.js';
import { assemblePlatformProgram, pcMachine } from './support.js';

async function runProgram(
  m: Machine,
  image: Uint8Array,
  maxInstructions = 20_000_000,
): Promise<{ output: string; end: string; status: number; message: string; instructions: number; seconds: number }> {
  let output = '';
  m.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
  m.setExitPort(EXIT_PORT);
  m.loadKernel(image);
  const r = await m.run(maxInstructions);
  return { ...r, output };
}

function values(output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of output.trim().split('\n')) {
    const [k, v] = line.split('=');
    out[k] = parseInt(v, 16);
  }
  return out;
}

describe('PC machine run loop', () => {
  it('counts 150 PIT ticks at 100 Hz in an STI;HLT loop: 1.5 s of virtual time, RTC interrupts and clock agree', async () => {
    const m = pcMachine();
    const run = await runProgram(m, assemblePlatformProgram('pc-timers'));
    expect(run.end).toBe('exit-port');
    expect(run.status).toBe(1);
    const v = values(run.output);
    expect(v.ticks).toBe(150);
    // 150 periods of 11932 PIT clocks.
    const expectedNs = (150 * 11932 * 1e9) / 1_193_182;
    expect(m.clock.now()).toBeGreaterThanOrEqual(expectedNs);
    expect(m.clock.now()).toBeLessThan(expectedNs + 1e6);
    // The TSC ran at 200 MHz through the halts: 1.5 s of cycles, within the loop's start and end.
    expect(v.cycles).toBeGreaterThan(expectedNs * 0.2 * 0.999);
    expect(v.cycles).toBeLessThan(expectedNs * 0.2 * 1.001);
    // 2 Hz periodic RTC interrupts at 0.5 s, 1.0 s and 1.5 s; the clock went from :05 to :06.
    expect(v.rtc).toBe(3);
    expect(v.sec0).toBe(0x05);
    expect(v.sec1).toBe(0x06);
    // Idle time was skipped, not executed: a few thousand instructions for 300 million cycles.
    expect(run.instructions).toBeLessThan(50_000);
    expect(m.engine.stats.interrupts).toBe(153);
    expect(m.platform.pit.irq0Edges).toBe(150);
  });

  it('runSlice drives timers and idle skips for a caller that runs the machine itself', () => {
    const m = pcMachine();
    let output = '';
    m.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
    m.setExitPort(EXIT_PORT);
    m.loadKernel(assemblePlatformProgram('pc-timers', { TICKS: 20 }));
    let reason = StopReason.BUDGET;
    let slices = 0;
    while (reason === StopReason.BUDGET && slices++ < 10_000) reason = m.runSlice(100_000);
    expect(reason).toBe(StopReason.STOPPED);
    expect(values(output).ticks).toBe(20);
    expect(m.clock.now()).toBeGreaterThanOrEqual((20 * 11932 * 1e9) / 1_193_182);
  });

  it('delivers a one-shot timer interrupt on time inside a busy loop (the slice is cut at the event)', async () => {
    const m = pcMachine();
    const run = await runProgram(m, assemblePlatformProgram('pc-oneshot'));
    expect(run.end).toBe('exit-port');
    // 1000 PIT clocks = 838.1 us = 167,619 instructions at 5 ns; three instructions per spin.
    const spins = values(run.output).spins;
    const expected = (1000 * 1e9) / 1_193_182 / 5 / 3;
    expect(spins).toBeGreaterThan(expected - 50);
    expect(spins).toBeLessThan(expected + 50);
  });

  it.each([
    ['interpreted', Number.MAX_SAFE_INTEGER],
    ['in page functions', 0],
  ])(
    'lets a PAUSE take 128 instruction-times (%s): a TSC delay loop needs fewer rounds, a timer still comes on time',
    async (_, threshold) => {
      const m = pcMachine();
      m.engine.compileThreshold = threshold;
      const delay = 100_000;
      const run = await runProgram(m, assemblePlatformProgram('pc-oneshot', { DELAY: delay }));
      expect(run.end).toBe('exit-port');
      const { delay: rounds, spins } = values(run.output);
      // Five instructions and a PAUSE per round: 133 instruction-times (16,667 rounds if a PAUSE took one).
      const perRound = 5 + PAUSE_CYCLES;
      expect(rounds).toBeGreaterThanOrEqual(Math.floor(delay / perRound));
      expect(rounds).toBeLessThanOrEqual(Math.ceil(delay / perRound) + 1);
      // 167,619 instruction-times to the interrupt, three instructions and a PAUSE per spin: the run loop
      // saw the time each PAUSE took and cut the slice at the timer's deadline.
      const expected = (1000 * 1e9) / 1_193_182 / 5 / (3 + PAUSE_CYCLES);
      expect(Math.abs(spins - expected)).toBeLessThan(3);
      // The stalls are time, not instructions.
      expect(m.cpu.stalls).toBe((rounds + spins) * (PAUSE_CYCLES - 1));
      expect(run.instructions).toBe(m.cpu.instructions - m.cpu.stalls);
      // Page functions count the instructions they ran, not the time the PAUSEs in them took.
      expect(m.engine.stats.regionInstructions).toBeLessThanOrEqual(run.instructions);
      if (threshold === 0) expect(m.engine.stats.regionInstructions).toBeGreaterThan(run.instructions / 2);
      expect(run.instructions).toBeLessThan(rounds * 6 + spins * 4 + 1000);
    },
  );

  it('sleeps in real time in realtime mode: 10 ticks at 100 Hz take at least 100 ms of host time', async () => {
    const m = pcMachine({ clock: 'realtime' });
    const started = performance.now();
    const run = await runProgram(m, assemblePlatformProgram('pc-timers', { TICKS: 10 }));
    const elapsed = performance.now() - started;
    expect(run.end).toBe('exit-port');
    expect(values(run.output).ticks).toBe(10);
    expect(elapsed).toBeGreaterThanOrEqual(95);
  });

  it("keeps a halted guest to the host's clock in warp mode while a paced source (a network interface) is open", async () => {
    const m = pcMachine();
    let open = true;
    m.addPacedSource(() => open);
    const started = performance.now();
    const run = await runProgram(m, assemblePlatformProgram('pc-timers', { TICKS: 10 }));
    expect(run.end).toBe('exit-port');
    expect(values(run.output).ticks).toBe(10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    // Closed again (the interface went down), the idle guest skips ahead as before.
    open = false;
    const again = pcMachine();
    again.addPacedSource(() => open);
    const skipped = await runProgram(again, assemblePlatformProgram('pc-timers', { TICKS: 1000 }));
    expect(values(skipped.output).ticks).toBe(1000);
  });

  it("moves a paced guest's time on by the time it slept when input wakes it before its next timer", async () => {
    const m = pcMachine();
    m.addSerial(() => undefined);
    m.addPacedSource(() => true);
    // The PIT at 18.2 Hz: the input comes before its first tick.
    const program = assemblePlatformProgram('pc-serial-wait', { WITH_PIT: 1, PIT_DIVISOR: 65535 });
    // Once the guest waits in HLT, the input comes 30 ms of host time later.
    let haltedAtNs = NaN;
    const started = performance.now();
    const watch = setInterval(() => {
      if (!m.cpu.halted) return;
      clearInterval(watch);
      haltedAtNs = m.clock.now();
      setTimeout(() => m.serialInput(new TextEncoder().encode('hey')), 30);
    }, 1);
    const run = await runProgram(m, program, Infinity);
    const elapsedNs = (performance.now() - started) * 1e6;
    expect(run.output).toBe('hey');
    // Virtual time went on while the guest waited, but not past the host's.
    expect(m.clock.now() - haltedAtNs).toBeGreaterThanOrEqual(25e6);
    expect(m.clock.now()).toBeLessThanOrEqual(elapsedNs);
  });

  it('ends the run when every timer event is masked at the PIC instead of skipping ahead forever', async () => {
    const m = pcMachine();
    const run = await runProgram(m, assemblePlatformProgram('pc-timers', { MASTER_MASK: '0xff' }));
    expect(run.end).toBe('halted');
    expect(run.message).toMatch(/no interrupt reached it/);
    expect(m.engine.stats.interrupts).toBe(0);
  });

  it('waits in HLT for serial input while a device has work in flight, and takes the receive interrupts', async () => {
    const m = pcMachine();
    m.addSerial(() => undefined);
    m.beginWork();
    setTimeout(() => {
      m.serialInput(new TextEncoder().encode('ok!'));
      m.endWork();
    }, 30);
    const run = await runProgram(m, assemblePlatformProgram('pc-serial-wait'));
    expect(run.end).toBe('exit-port');
    expect(run.output).toBe('ok!');
    expect(m.workInFlight).toBe(0);
  });

  it('lets host input in while an idle guest skips from timer tick to timer tick', async () => {
    const m = pcMachine();
    m.addSerial(() => undefined);
    setTimeout(() => m.serialInput(new TextEncoder().encode('hey')), 30);
    const run = await runProgram(m, assemblePlatformProgram('pc-serial-wait', { WITH_PIT: 1 }), Infinity);
    expect(run.end).toBe('exit-port');
    expect(run.output).toBe('hey');
    // Ticks went by while the host's input was on its way.
    expect(m.platform.pit.irq0Edges).toBeGreaterThan(0);
  });

  it('ends the run in HLT with nothing in flight and no timer, as before', async () => {
    const m = pcMachine();
    m.addSerial(() => undefined);
    const run = await runProgram(m, assemblePlatformProgram('pc-serial-wait'));
    expect(run.end).toBe('halted');
    expect(run.message).toMatch(/with nothing to wake it/);
  });

  it('ends the run on a guest reset (8042 command FEh, port 92h) and says who asked', async () => {
    const m = pcMachine();
    const asked: string[] = [];
    m.onReset = (s) => asked.push(s);
    const run = await runProgram(m, assemblePlatformProgram('pc-reset'));
    expect(run.end).toBe('reset');
    expect(run.status).toBe(0);
    expect(run.message).toMatch(/reset the machine \(keyboard controller command FEh\)/);
    expect(asked).toEqual(['keyboard controller command FEh']);
    const m92 = pcMachine();
    const run92 = await runProgram(m92, assemblePlatformProgram('pc-reset', { PORT92: 1 }));
    expect(run92.end).toBe('reset');
    expect(run92.message).toMatch(/port 92h/);
  });
});
