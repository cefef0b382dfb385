/**
 * The 8254 and port 61h through their ports, with virtual time advanced as executed instructions
 * would: counting, latches and read-back, access modes and BCD, the IRQ 0 timer, and the channel 2
 * sequences of Linux's TSC calibration (pit_calibrate_tsc, quick_pit_calibrate).
 */

import { describe, expect, it } from 'vitest';
import { PIT_HZ } from '../../src/platform/pit.js';
import { advance, initPicLikeLinux, MASTER_BASE, pcMachine } from './support.js';

/** Virtual ns for `ticks` PIT input clocks. */
const ticksNs = (ticks: number): number => (ticks * 1e9) / PIT_HZ;

function latch0(m: ReturnType<typeof pcMachine>): number {
  m.io.write8(0x43, 0x00);
  return m.io.read8(0x40) | (m.io.read8(0x40) << 8);
}

describe('8254 PIT', () => {
  it('counts channel 0 down in mode 2 and raises IRQ 0 once per period through a clock timer', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfe, 0xff);
    // Linux's setup_pit_timer for HZ=250: mode 2, LATCH = 4773.
    m.io.write8(0x43, 0x34);
    m.io.write8(0x40, 4773 & 0xff);
    m.io.write8(0x40, 4773 >>> 8);
    const start = m.clock.now();
    expect(latch0(m)).toBe(4773);
    const period = ticksNs(4773);
    expect(m.clock.nextDeadline()).toBeGreaterThanOrEqual(start + period);
    expect(m.clock.nextDeadline()).toBeLessThan(start + period + 10);
    advance(m, ticksNs(1000) + 1);
    expect(latch0(m)).toBe(3773);
    expect(pic.pending()).toBe(false);
    advance(m, period - ticksNs(1000));
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE);
    m.io.write8(0x20, 0x60);
    expect(m.platform.pit.irq0Edges).toBe(1);
    // The timer re-armed for the next period.
    const next = m.clock.nextDeadline();
    expect(next).toBeGreaterThan(m.clock.now());
    expect(Math.abs(next - (start + 2 * period))).toBeLessThan(m.clock.nsPerInstruction + 2);
    for (let i = 0; i < 9; i++) advance(m, period);
    expect(m.platform.pit.irq0Edges).toBe(10);
  });

  it('holds a latched count until it is read, ignoring a second latch command meanwhile', () => {
    const m = pcMachine();
    m.io.write8(0x43, 0x34);
    m.io.write8(0x40, 0x00);
    m.io.write8(0x40, 0x00);
    advance(m, ticksNs(100) + 1);
    m.io.write8(0x43, 0x00);
    advance(m, ticksNs(500));
    m.io.write8(0x43, 0x00);
    expect(m.io.read8(0x40) | (m.io.read8(0x40) << 8)).toBe(0x10000 - 100);
    expect(latch0(m)).toBeLessThanOrEqual(0x10000 - 600);
  });

  it('drives OUT2 on port 61h bit 5 in mode 0 with the gate from bit 0 (pit_calibrate_tsc)', () => {
    const m = pcMachine();
    const io = m.io;
    // Gate high, speaker off; channel 2 mode 0, binary, 10 ms of ticks.
    io.write8(0x61, (io.read8(0x61) & ~0x02) | 0x01);
    io.write8(0x43, 0xb0);
    const latch = Math.floor(PIT_HZ / 100);
    io.write8(0x42, latch & 0xff);
    io.write8(0x42, latch >>> 8);
    expect(io.read8(0x61) & 0x20).toBe(0);
    expect(io.read8(0x61) & 0x0f).toBe(0x01);
    advance(m, 9_990_000);
    expect(io.read8(0x61) & 0x20).toBe(0);
    const tsc0 = m.cpu.instructions + m.cpu.tscOffset;
    advance(m, 20_000);
    expect(io.read8(0x61) & 0x20).toBe(0x20);
    // The TSC moved at its own rate meanwhile: 200 MHz by default.
    expect(m.cpu.instructions + m.cpu.tscOffset - tsc0).toBe(4000);
    // Read-back of channel 2's status: OUT high, count loaded, LSB/MSB, mode 0, binary.
    io.write8(0x43, 0xe8);
    expect(io.read8(0x42)).toBe(0x80 | 0x30);
    // No interrupt or timer for channel 2: the OUT pin is computed when read.
    expect(m.clock.nextDeadline()).toBe(Infinity);
  });

  it('lets the gate pause channel 2 in mode 0', () => {
    const m = pcMachine();
    const io = m.io;
    io.write8(0x43, 0xb0);
    io.write8(0x42, 0x00);
    io.write8(0x42, 0x10);
    advance(m, ticksNs(50));
    // Gate still low: not counting.
    io.write8(0x43, 0x80);
    expect(io.read8(0x42) | (io.read8(0x42) << 8)).toBe(0x1000);
    io.write8(0x61, 0x01);
    advance(m, ticksNs(100) + 1);
    io.write8(0x61, 0x00);
    advance(m, ticksNs(1000));
    io.write8(0x43, 0x80);
    expect(io.read8(0x42) | (io.read8(0x42) << 8)).toBe(0x1000 - 100);
  });

  it('reads a running counter without a latch, LSB then MSB, the MSB stepping every 256 ticks (quick_pit_calibrate)', () => {
    const m = pcMachine();
    const io = m.io;
    io.write8(0x61, 0x01);
    io.write8(0x43, 0xb0);
    io.write8(0x42, 0xff);
    io.write8(0x42, 0xff);
    const msbs: number[] = [];
    for (let i = 0; i < 4; i++) {
      io.read8(0x42);
      msbs.push(io.read8(0x42));
      advance(m, ticksNs(256));
    }
    expect(msbs).toEqual([0xff, 0xfe, 0xfd, 0xfc]);
  });

  it('supports LSB-only and MSB-only access and BCD counting', () => {
    const m = pcMachine();
    const io = m.io;
    // Channel 1, LSB only, mode 2: count 100.
    io.write8(0x43, 0x54);
    io.write8(0x41, 100);
    advance(m, ticksNs(30) + 1);
    expect(io.read8(0x41)).toBe(70);
    // MSB only: count 0x0300.
    io.write8(0x43, 0x64);
    io.write8(0x41, 0x03);
    advance(m, ticksNs(1) + 1);
    expect(io.read8(0x41)).toBe(0x02);
    // BCD mode 0 on channel 2 (gate high): 1000 counts down as 0999 after one tick.
    io.write8(0x61, 0x01);
    io.write8(0x43, 0xb1);
    io.write8(0x42, 0x00);
    io.write8(0x42, 0x10);
    advance(m, ticksNs(1) + 1);
    io.write8(0x43, 0x80);
    expect(io.read8(0x42) | (io.read8(0x42) << 8)).toBe(0x0999);
  });

  it('square wave (mode 3) is high for the first half period and low for the second', () => {
    const m = pcMachine();
    const io = m.io;
    io.write8(0x61, 0x01);
    io.write8(0x43, 0xb6);
    io.write8(0x42, 100);
    io.write8(0x42, 0);
    advance(m, ticksNs(10) + 1);
    expect(io.read8(0x61) & 0x20).toBe(0x20);
    // Decrements by two.
    io.write8(0x43, 0x80);
    expect(io.read8(0x42) | (io.read8(0x42) << 8)).toBe(80);
    advance(m, ticksNs(50));
    expect(io.read8(0x61) & 0x20).toBe(0);
    advance(m, ticksNs(40));
    expect(io.read8(0x61) & 0x20).toBe(0x20);
  });

  it('fires a one-shot mode 4 strobe once (Linux oneshot clockevent) and mode 0 once', () => {
    const m = pcMachine();
    initPicLikeLinux(m, 0xfe, 0xff);
    const pit = m.platform.pit;
    m.io.write8(0x43, 0x38);
    m.io.write8(0x40, 200);
    m.io.write8(0x40, 0);
    advance(m, ticksNs(200));
    expect(pit.irq0Edges).toBe(0);
    advance(m, ticksNs(2) + 1);
    expect(pit.irq0Edges).toBe(1);
    expect(m.clock.nextDeadline()).toBe(Infinity);
    m.io.write8(0x43, 0x30);
    m.io.write8(0x40, 50);
    m.io.write8(0x40, 0);
    advance(m, ticksNs(60));
    expect(pit.irq0Edges).toBe(2);
    advance(m, ticksNs(100_000));
    expect(pit.irq0Edges).toBe(2);
    // A new control word stops the counter and its timer.
    m.io.write8(0x43, 0x34);
    expect(m.clock.nextDeadline()).toBe(Infinity);
  });

  it('starts the hardware-triggered modes 1 and 5 on a rising gate (channel 2 through port 61h)', () => {
    const m = pcMachine();
    const io = m.io;
    const out2 = (): number => io.read8(0x61) & 0x20;
    // Mode 1: OUT high until triggered, low while counting, high at the terminal count.
    io.write8(0x43, 0xb2);
    io.write8(0x42, 100);
    io.write8(0x42, 0);
    advance(m, ticksNs(500));
    expect(out2()).toBe(0x20);
    io.write8(0x61, 0x01);
    advance(m, ticksNs(50));
    expect(out2()).toBe(0);
    advance(m, ticksNs(51));
    expect(out2()).toBe(0x20);
    // Retriggering restarts the count.
    io.write8(0x61, 0x00);
    io.write8(0x61, 0x01);
    advance(m, ticksNs(99));
    expect(out2()).toBe(0);
    // Mode 5: a one-tick low strobe when the triggered count reaches zero.
    io.write8(0x61, 0x00);
    io.write8(0x43, 0xba);
    io.write8(0x42, 20);
    io.write8(0x42, 0);
    io.write8(0x61, 0x01);
    advance(m, ticksNs(10) + 1);
    expect(out2()).toBe(0x20);
    advance(m, ticksNs(10));
    expect(out2()).toBe(0);
    advance(m, ticksNs(1));
    expect(out2()).toBe(0x20);
  });

  it('latches several counters and their status with one read-back command, status first', () => {
    const m = pcMachine();
    const io = m.io;
    io.write8(0x43, 0x34);
    io.write8(0x40, 0x34);
    io.write8(0x40, 0x12);
    io.write8(0x43, 0x74);
    io.write8(0x41, 0x78);
    io.write8(0x41, 0x56);
    // Read-back: count and status of counters 0 and 1.
    io.write8(0x43, 0xc6);
    expect(io.read8(0x40)).toBe(0x80 | 0x30 | 0x04);
    expect(io.read8(0x40) | (io.read8(0x40) << 8)).toBe(0x1234);
    expect(io.read8(0x41)).toBe(0x80 | 0x30 | 0x04);
    expect(io.read8(0x41) | (io.read8(0x41) << 8)).toBe(0x5678);
    // A control word without a count yet reports null count.
    io.write8(0x43, 0xb0);
    io.write8(0x43, 0xe8);
    expect(io.read8(0x42) & 0x40).toBe(0x40);
  });

  it('toggles the refresh bit (port 61h bit 4) every 15 us of virtual time', () => {
    const m = pcMachine();
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) {
      seen.add(m.io.read8(0x61) & 0x10);
      advance(m, 15_085);
    }
    expect([...seen].sort()).toEqual([0x00, 0x10]);
  });
});
