/**
 * The 8259A pair driven through its ports as Linux's i8259 driver programs it, with devices raising
 * lines through setIrq and the CPU's acknowledge cycle through the InterruptLine interface.
 */

import { describe, expect, it } from 'vitest';
import { initPicLikeLinux, MASTER_BASE, pcMachine, readIrr, readIsr, SLAVE_BASE } from './support.js';

function pulse(m: ReturnType<typeof pcMachine>, irq: number): void {
  m.platform.pic.setIrq(irq, true);
  m.platform.pic.setIrq(irq, false);
}

describe('8259A PIC pair', () => {
  it('stays quiet until initialized, and passes Linux probe_8259A (IMR reads back)', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    pulse(m, 0);
    expect(pic.pending()).toBe(false);
    m.io.write8(0x21, 0xa5);
    expect(m.io.read8(0x21)).toBe(0xa5);
    initPicLikeLinux(m, 0xfb, 0xff);
    expect(m.io.read8(0x21)).toBe(0xfb);
    expect(m.io.read8(0xa1)).toBe(0xff);
    // The edge latched before initialization was cleared by ICW1.
    expect(pic.pending()).toBe(false);
    expect(m.engine.intr).toBe(pic);
  });

  it('delivers IRQ 0 at vector 30h, holds equal and lower levels while in service, and re-arms on EOI', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfa, 0xff);
    pulse(m, 0);
    expect(readIrr(m) & 1).toBe(1);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE);
    expect(readIsr(m)).toBe(0x0001);
    expect(readIrr(m) & 1).toBe(0);
    expect(pic.pending()).toBe(false);
    // Another tick while IRQ 0 is in service waits in IRR.
    pulse(m, 0);
    expect(pic.pending()).toBe(false);
    expect(readIrr(m) & 1).toBe(1);
    // Specific EOI (Linux: 60h + irq).
    m.io.write8(0x20, 0x60);
    expect(readIsr(m)).toBe(0);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE);
  });

  it('masks lines in IMR and delivers a latched edge once unmasked', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xff, 0xff);
    pulse(m, 1);
    expect(pic.pending()).toBe(false);
    expect(readIrr(m) & 2).toBe(2);
    m.io.write8(0x21, 0xfd);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 1);
  });

  it('serves the highest priority first and nests a higher request over a lower one in service', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0x00, 0xff);
    pulse(m, 3);
    pulse(m, 1);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 1);
    // IRQ 3 is lower than IRQ 1 in service.
    expect(pic.pending()).toBe(false);
    pulse(m, 0);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE);
    expect(readIsr(m)).toBe(0x0003);
    // Non-specific EOI ends the highest in service (IRQ 0), then IRQ 1; then IRQ 3 gets through.
    m.io.write8(0x20, 0x20);
    expect(readIsr(m)).toBe(0x0002);
    expect(pic.pending()).toBe(false);
    m.io.write8(0x20, 0x20);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 3);
  });

  it('cascades the slave through IR2: IRQ 8 is vector 38h, with both ISRs set until both EOIs', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfb, 0xfe);
    pulse(m, 8);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(SLAVE_BASE);
    expect(readIsr(m)).toBe(0x0104);
    pulse(m, 8);
    expect(pic.pending()).toBe(false);
    m.io.write8(0xa0, 0x60);
    m.io.write8(0x20, 0x62);
    expect(readIsr(m)).toBe(0);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(SLAVE_BASE);
    // IRQ 2 on the ISA bus is the slave's IR1 (IRQ 9).
    m.io.write8(0xa0, 0x20);
    m.io.write8(0x20, 0x20);
    m.io.write8(0xa1, 0xfc);
    pulse(m, 2);
    expect(pic.acknowledge()).toBe(SLAVE_BASE + 1);
  });

  it('senses levels per ELCR: a level request stays until its line drops, and ELCR bits 0-2 of the master do not exist', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfb, 0xfb);
    m.io.write8(0x4d0, 0xff);
    expect(m.io.read8(0x4d0)).toBe(0xf8);
    m.io.write8(0x4d1, 0x04);
    expect(m.io.read8(0x4d1)).toBe(0x04);
    pic.setIrq(10, true);
    expect(pic.acknowledge()).toBe(SLAVE_BASE + 2);
    m.io.write8(0xa0, 0x62);
    m.io.write8(0x20, 0x62);
    // Still high: requested again.
    expect(pic.pending()).toBe(true);
    pic.setIrq(10, false);
    expect(pic.pending()).toBe(false);
    // An edge-sensed line (IRQ 11) keeps its request after the line drops.
    m.io.write8(0xa1, 0xf3);
    pic.setIrq(11, true);
    pic.setIrq(11, false);
    expect(pic.pending()).toBe(true);
  });

  it('answers a request that went away before the acknowledge with spurious IRQ 7', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0x00, 0xff);
    m.io.write8(0x4d0, 0x20);
    pic.setIrq(5, true);
    expect(pic.pending()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 7);
    expect(pic.spurious).toBe(1);
    // No ISR bit for a spurious interrupt (what Linux checks before counting it).
    expect(readIsr(m) & 0x80).toBe(0);
  });

  it('auto-EOI leaves nothing in service', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    const io = m.io;
    io.write8(0x20, 0x11);
    io.write8(0x21, 0x20);
    io.write8(0x21, 0x04);
    io.write8(0x21, 0x03);
    io.write8(0x21, 0x00);
    pulse(m, 4);
    expect(pic.acknowledge()).toBe(0x24);
    expect(readIsr(m) & 0xff).toBe(0);
    pulse(m, 4);
    expect(pic.pending()).toBe(true);
  });

  it('rotates priorities with set-priority and rotate-on-EOI commands', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0x00, 0xff);
    // IR2 lowest: IR3 is now the highest priority.
    m.io.write8(0x20, 0xc2);
    pulse(m, 1);
    pulse(m, 3);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 3);
    // Rotate on non-specific EOI: IR3 becomes the lowest, IR4 the highest.
    m.io.write8(0x20, 0xa0);
    pulse(m, 3);
    pulse(m, 4);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 4);
    m.io.write8(0x20, 0x64);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 1);
    m.io.write8(0x20, 0x61);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 3);
  });

  it('polls: OCW3 with P set makes the next read the acknowledge, 80h | level', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    // Polling is for a CPU with interrupts off: the request is unmasked but never acknowledged by INTA.
    initPicLikeLinux(m, 0xbf, 0xff);
    pulse(m, 6);
    m.io.write8(0x20, 0x0c);
    expect(m.io.read8(0x20)).toBe(0x86);
    expect(readIsr(m) & 0x40).toBe(0x40);
    m.io.write8(0x20, 0x0c);
    expect(m.io.read8(0x20)).toBe(0);
    expect(pic.pending()).toBe(false);
  });

  it('special mask mode lets a lower level through while a masked one is in service', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0x00, 0xff);
    pulse(m, 1);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 1);
    pulse(m, 3);
    expect(pic.pending()).toBe(false);
    m.io.write8(0x21, 0x02);
    m.io.write8(0x20, 0x68);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 3);
    m.io.write8(0x20, 0x48);
    m.io.write8(0x20, 0x63);
    m.io.write8(0x20, 0x61);
    expect(readIsr(m)).toBe(0);
  });

  it('rejects IRQ numbers outside 0-15', () => {
    const m = pcMachine();
    expect(() => m.platform.pic.setIrq(16, true)).toThrow(/IRQ 16/);
    expect(() => m.platform.pic.setIrq(-1, true)).toThrow(RangeError);
  });
});
