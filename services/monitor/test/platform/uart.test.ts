/**
 * COM1 on IRQ 4 of the PIC, checked against what Linux's 8250 driver relies on: THRE interrupts
 * when IER.THRI is enabled (and again after being cleared, or the port is flagged UART_BUG_THRE),
 * IIR priorities and FIFO bits, receive interrupts for host input with no bytes lost.
 */

import { describe, expect, it } from 'vitest';
import { initPicLikeLinux, MASTER_BASE, pcMachine } from './support.js';

const COM1 = 0x3f8;

function serialMachine(): { m: ReturnType<typeof pcMachine>; out: number[] } {
  const m = pcMachine();
  const out: number[] = [];
  m.addSerial((b) => out.push(b));
  initPicLikeLinux(m, 0xef, 0xff);
  return { m, out };
}

describe('16550A UART on IRQ 4', () => {
  it('identifies as a 16550A with FIFOs (autoconfig) and keeps its interrupt off until MCR.OUT2', () => {
    const { m } = serialMachine();
    const io = m.io;
    io.write8(COM1 + 2, 0x07);
    expect(io.read8(COM1 + 2) >>> 6).toBe(3);
    io.write8(COM1 + 1, 0x02);
    expect(m.platform.pic.pending()).toBe(false);
    io.write8(COM1 + 4, 0x08);
    expect(m.platform.pic.pending()).toBe(true);
    expect(m.platform.pic.acknowledge()).toBe(MASTER_BASE + 4);
  });

  it('re-asserts THRE whenever THRI is enabled while the transmitter is idle (no UART_BUG_THRE)', () => {
    const { m, out } = serialMachine();
    const io = m.io;
    io.write8(COM1 + 2, 0x07);
    io.write8(COM1 + 4, 0x0b);
    // serial8250_do_startup's test: IER=THRI, read IIR, IER=0, IER=THRI, read IIR.
    io.write8(COM1 + 1, 0x02);
    const iir1 = io.read8(COM1 + 2);
    io.write8(COM1 + 1, 0x00);
    io.write8(COM1 + 1, 0x02);
    const iir2 = io.read8(COM1 + 2);
    expect(iir1).toBe(0xc2);
    expect(iir2).toBe(0xc2);
    // Reading IIR acknowledged THRE; a transmitted byte raises it again, with a new edge at the PIC.
    expect(io.read8(COM1 + 2)).toBe(0xc1);
    const pic = m.platform.pic;
    while (pic.pending()) {
      pic.acknowledge();
      io.write8(0x20, 0x64);
    }
    io.write8(COM1, 0x41);
    expect(out).toEqual([0x41]);
    expect(io.read8(COM1 + 5) & 0x60).toBe(0x60);
    expect(pic.pending()).toBe(true);
    expect(io.read8(COM1 + 2)).toBe(0xc2);
  });

  it('raises receive interrupts for host input and delivers every byte in order through the FIFO', () => {
    const { m } = serialMachine();
    const io = m.io;
    const pic = m.platform.pic;
    io.write8(COM1 + 2, 0x07);
    io.write8(COM1 + 1, 0x01);
    io.write8(COM1 + 4, 0x0b);
    expect(pic.pending()).toBe(false);
    const text = 'the quick brown fox jumps over the lazy dog';
    m.serialInput(new TextEncoder().encode(text));
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 4);
    expect(io.read8(COM1 + 2)).toBe(0xc4);
    let got = '';
    // The driver's receive loop: read while LSR.DR.
    while ((io.read8(COM1 + 5) & 0x01) !== 0) got += String.fromCharCode(io.read8(COM1));
    expect(got).toBe(text);
    expect(io.read8(COM1 + 5) & 0x02).toBe(0);
    expect(io.read8(COM1 + 2)).toBe(0xc1);
  });

  it('orders IIR causes: line status (overrun) before received data before THRE', () => {
    const { m } = serialMachine();
    const io = m.io;
    io.write8(COM1 + 2, 0x07);
    io.write8(COM1 + 1, 0x07);
    io.write8(COM1 + 4, 0x08);
    expect(io.read8(COM1 + 2)).toBe(0xc2);
    io.write8(COM1, 0x30);
    m.uart?.receive(new Uint8Array(17).fill(0x55));
    expect(io.read8(COM1 + 2)).toBe(0xc6);
    expect(io.read8(COM1 + 5) & 0x03).toBe(0x03);
    expect(io.read8(COM1 + 2)).toBe(0xc4);
    for (let i = 0; i < 16; i++) io.read8(COM1);
    expect(io.read8(COM1 + 2)).toBe(0xc2);
    expect(io.read8(COM1 + 2)).toBe(0xc1);
  });

  it('holds one byte at a time without FIFOs and refuses host input beyond its bound', () => {
    const { m } = serialMachine();
    const io = m.io;
    m.serialInput(Uint8Array.of(1, 2, 3));
    expect(m.uart?.queuedInput).toBe(2);
    expect([io.read8(COM1), io.read8(COM1), io.read8(COM1)]).toEqual([1, 2, 3]);
    expect(io.read8(COM1 + 5) & 0x03).toBe(0);
    expect(m.uart?.input(new Uint8Array(70_000))).toBe(65_536);
  });
});
