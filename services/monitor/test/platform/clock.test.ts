/**
 * The virtual clock: time from executed instructions, warps that move the TSC along, and timers
 * that fire in deadline order, re-arm from their callbacks and cut a running slice short.
 */

import { describe, expect, it } from 'vitest';
import { DEFAULT_NS_PER_INSTRUCTION, VirtualClock } from '../../src/platform/clock.js';
import { pcMachine } from './support.js';

describe('VirtualClock', () => {
  it('derives time from instructions and keeps RDTSC in step through warps', () => {
    const m = pcMachine();
    const clock = m.clock;
    expect(clock.nsPerInstruction).toBe(DEFAULT_NS_PER_INSTRUCTION);
    expect(clock.hz).toBe(200e6);
    m.cpu.instructions = 1000;
    expect(clock.now()).toBe(5000);
    clock.warpTo(1_000_000);
    expect(clock.now()).toBe(1_000_000);
    expect(m.cpu.instructions + m.cpu.tscOffset).toBe(200_000);
    // Never backwards.
    clock.warpTo(10);
    expect(clock.now()).toBe(1_000_000);
    expect(clock.instructionsUntil(1_000_001)).toBe(1);
    expect(clock.instructionsUntil(999_999)).toBe(0);
  });

  it('can run a slower or faster virtual CPU and rejects a nonsense rate', () => {
    const m = pcMachine({ nsPerInstruction: 10 });
    m.cpu.instructions = 7;
    expect(m.clock.now()).toBe(70);
    expect(() => new VirtualClock(m.cpu, 0)).toThrow(/positive/);
    expect(() => new VirtualClock(m.cpu, Number.NaN)).toThrow(/positive/);
  });

  it('fires due timers in one pass, lets them re-arm, and reports the next deadline', () => {
    const m = pcMachine();
    const clock = m.clock;
    const fired: string[] = [];
    const a = clock.timer('a', (now) => {
      fired.push(`a@${now}`);
      clock.arm(a, now + 1000);
    });
    const b = clock.timer('b', () => fired.push('b'));
    clock.arm(a, 500);
    clock.arm(b, 300);
    expect(clock.nextDeadline()).toBe(300);
    expect(clock.runDue()).toBe(0);
    m.cpu.instructions = 120;
    expect(clock.runDue()).toBe(2);
    expect(fired).toEqual(['a@600', 'b']);
    expect(clock.nextDeadline()).toBe(1600);
    clock.cancel(a);
    expect(clock.nextDeadline()).toBe(Infinity);
    expect(a.armed).toBe(false);
  });

  it('asks to cut the running slice when a timer is armed before its end', () => {
    const m = pcMachine();
    const clock = m.clock;
    let cuts = 0;
    clock.onEarlier = () => cuts++;
    const t = clock.timer('t', () => undefined);
    clock.arm(t, 100);
    expect(cuts).toBe(0);
    clock.cancel(t);
    clock.horizon = 10_000;
    clock.arm(t, 20_000);
    expect(cuts).toBe(0);
    clock.arm(t, 5_000);
    expect(cuts).toBe(1);
    expect(() => clock.arm(t, Number.NaN)).toThrow(/NaN/);
  });
});
