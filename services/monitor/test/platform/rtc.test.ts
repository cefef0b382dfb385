/**
 * The MC146818 RTC and CMOS through ports 70h/71h: the time in BCD and binary, 12 and 24 hour
 * forms, UIP, setting the time, the periodic, update and alarm interrupts on IRQ 8 with register C
 * acknowledging, the NMI mask bit and the memory-size bytes.
 */

import { describe, expect, it } from 'vitest';
import { advance, initPicLikeLinux, pcMachine, SLAVE_BASE } from './support.js';

function cmos(m: ReturnType<typeof pcMachine>, reg: number): number {
  m.io.write8(0x70, reg);
  return m.io.read8(0x71);
}

function setCmos(m: ReturnType<typeof pcMachine>, reg: number, value: number): void {
  m.io.write8(0x70, reg);
  m.io.write8(0x71, value);
}

describe('MC146818 RTC/CMOS', () => {
  it('reads the start time in BCD, 24 hour form, and advances it with virtual time', () => {
    // Saturday 2026-11-21 03:04:05 UTC.
    const m = pcMachine();
    expect([0, 2, 4, 6, 7, 8, 9, 0x32].map((r) => cmos(m, r))).toEqual([0x05, 0x04, 0x03, 7, 0x21, 0x11, 0x26, 0x20]);
    expect(cmos(m, 0x0b) & 0x06).toBe(0x02);
    expect(cmos(m, 0x0d)).toBe(0x80);
    advance(m, 2.5e9);
    expect(cmos(m, 0)).toBe(0x07);
    advance(m, 60e9);
    expect(cmos(m, 0)).toBe(0x07);
    expect(cmos(m, 2)).toBe(0x05);
  });

  it('switches to binary and 12 hour form per register B', () => {
    const m = pcMachine({ rtcStartTime: Date.UTC(2026, 10, 21, 15, 59, 58) });
    expect(cmos(m, 4)).toBe(0x15);
    setCmos(m, 0x0b, 0x04);
    // Binary, 12 hour: 3 PM.
    expect(cmos(m, 4)).toBe(0x80 | 3);
    expect(cmos(m, 0)).toBe(58);
    setCmos(m, 0x0b, 0x00);
    expect(cmos(m, 4)).toBe(0x83);
    expect(cmos(m, 2)).toBe(0x59);
  });

  it('shows update-in-progress only in the 244 us before each update', () => {
    const m = pcMachine();
    expect(cmos(m, 0x0a) & 0x80).toBe(0);
    advance(m, 0.5e9);
    expect(cmos(m, 0x0a)).toBe(0x26);
    advance(m, 0.5e9 - 200_000);
    expect(cmos(m, 0x0a)).toBe(0x80 | 0x26);
    advance(m, 250_000);
    expect(cmos(m, 0x0a) & 0x80).toBe(0);
    expect(cmos(m, 0)).toBe(0x06);
  });

  it('takes a new time written with SET and runs on from it', () => {
    const m = pcMachine();
    setCmos(m, 0x0b, 0x82);
    setCmos(m, 0x04, 0x23);
    setCmos(m, 0x02, 0x59);
    setCmos(m, 0x00, 0x50);
    setCmos(m, 0x07, 0x31);
    setCmos(m, 0x08, 0x12);
    setCmos(m, 0x09, 0x99);
    setCmos(m, 0x32, 0x19);
    advance(m, 5e9);
    // Frozen while SET is on.
    expect(cmos(m, 0)).toBe(0x50);
    setCmos(m, 0x0b, 0x02);
    advance(m, 10e9);
    expect([0, 2, 4, 7, 8, 9, 0x32].map((r) => cmos(m, r))).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x20]);
  });

  it('raises IRQ 8 for periodic interrupts at the rate of register A until register C is read', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfb, 0xfe);
    // 1024 Hz, periodic interrupts on.
    setCmos(m, 0x0a, 0x26);
    setCmos(m, 0x0b, 0x42);
    const deadline = m.clock.nextDeadline();
    expect(deadline).toBeGreaterThan(0);
    expect(deadline).toBeLessThanOrEqual(1e9 / 1024 + 1);
    advance(m, deadline - m.clock.now());
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(SLAVE_BASE);
    expect(cmos(m, 0x0c)).toBe(0xc0);
    expect(cmos(m, 0x0c)).toBe(0x00);
    m.io.write8(0xa0, 0x20);
    m.io.write8(0x20, 0x20);
    let count = 0;
    for (let i = 0; i < 1024 * 4; i++) {
      advance(m, 1e9 / 4096);
      if (pic.pending()) {
        pic.acknowledge();
        if ((cmos(m, 0x0c) & 0xc0) === 0xc0) count++;
        m.io.write8(0xa0, 0x20);
        m.io.write8(0x20, 0x20);
      }
    }
    expect(count).toBeGreaterThanOrEqual(1022);
    expect(count).toBeLessThanOrEqual(1025);
  });

  it('sets PF without an interrupt when PIE is off, and arms no timer for it', () => {
    const m = pcMachine();
    setCmos(m, 0x0a, 0x2f);
    expect(m.clock.nextDeadline()).toBe(Infinity);
    advance(m, 0.6e9);
    expect(cmos(m, 0x0c)).toBe(0x40);
    expect(m.platform.pic.pending()).toBe(false);
  });

  it('raises update-ended and alarm interrupts', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfb, 0xfe);
    // Alarm at 03:04:08, alarm and update interrupts on.
    setCmos(m, 0x01, 0x08);
    setCmos(m, 0x03, 0x04);
    setCmos(m, 0x05, 0x03);
    setCmos(m, 0x0b, 0x32);
    expect(m.clock.nextDeadline()).toBe(1e9);
    const flags: number[] = [];
    for (let s = 0; s < 4; s++) {
      advance(m, 1e9);
      expect(pic.pending()).toBe(true);
      pic.acknowledge();
      flags.push(cmos(m, 0x0c));
      m.io.write8(0xa0, 0x20);
      m.io.write8(0x20, 0x20);
    }
    // PF is set too: register A's periodic rate runs whether or not PIE is on.
    expect(flags).toEqual([0xd0, 0xd0, 0xf0, 0xd0]);
  });

  it('keeps the NMI mask bit of the index port apart from the register index', () => {
    const m = pcMachine();
    m.io.write8(0x70, 0x8f);
    expect(m.platform.rtc.nmiMasked).toBe(true);
    m.io.write8(0x71, 0x5a);
    m.io.write8(0x70, 0x0f);
    expect(m.platform.rtc.nmiMasked).toBe(false);
    expect(m.io.read8(0x71)).toBe(0x5a);
  });

  it('describes memory the AT way in the CMOS bytes', () => {
    const m = pcMachine({ memory: 128 << 20 });
    expect(cmos(m, 0x15) | (cmos(m, 0x16) << 8)).toBe(640);
    expect(cmos(m, 0x17) | (cmos(m, 0x18) << 8)).toBe(0xfc00);
    expect(cmos(m, 0x30) | (cmos(m, 0x31) << 8)).toBe(0xfc00);
    expect(cmos(m, 0x34) | (cmos(m, 0x35) << 8)).toBe((112 << 20) >>> 16);
    const small = pcMachine({ memory: 8 << 20 });
    expect(cmos(small, 0x17) | (cmos(small, 0x18) << 8)).toBe(7 * 1024);
    expect(cmos(small, 0x34) | (cmos(small, 0x35) << 8)).toBe(0);
    // The AT checksum over 10h-2Dh.
    let sum = 0;
    for (let r = 0x10; r <= 0x2d; r++) sum += cmos(small, r);
    expect((cmos(small, 0x2e) << 8) | cmos(small, 0x2f)).toBe(sum);
  });
});
