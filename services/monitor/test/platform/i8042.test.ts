/**
 * The 8042 conversation of Linux's i8042 driver (self test, command byte, AUX loopback and IRQ 12
 * test, interface tests) and of atkbd/psmouse probing, A20 control, and the reset paths (command
 * FEh, output port, port 92h) that end a run.
 */

import { describe, expect, it } from 'vitest';
import { initPicLikeLinux, MASTER_BASE, pcMachine, SLAVE_BASE } from './support.js';

type M = ReturnType<typeof pcMachine>;

/** i8042_command: the command, its parameter bytes, then as many result bytes as expected. */
function command(m: M, cmd: number, params: number[] = [], results = 0): number[] {
  expect(m.io.read8(0x64) & 0x02).toBe(0);
  m.io.write8(0x64, cmd);
  for (const p of params) m.io.write8(0x60, p);
  return readAll(m, results);
}

function readAll(m: M, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    expect(m.io.read8(0x64) & 0x01).toBe(1);
    out.push(m.io.read8(0x60));
  }
  return out;
}

/** Sends a byte to the keyboard (port 60h) and reads its answer. */
function kbd(m: M, byte: number, results: number): number[] {
  m.io.write8(0x60, byte);
  return readAll(m, results);
}

function mouse(m: M, byte: number, results: number): number[] {
  m.io.write8(0x64, 0xd4);
  m.io.write8(0x60, byte);
  const status = m.io.read8(0x64);
  if (results > 0) expect(status & 0x21).toBe(0x21);
  return readAll(m, results);
}

describe('8042 keyboard controller', () => {
  it('answers the probe: self test 55h, command byte read and write, interface tests 00h', () => {
    const m = pcMachine();
    expect(m.io.read8(0x64) & 0x01).toBe(0);
    expect(command(m, 0xaa, [], 1)).toEqual([0x55]);
    expect(m.io.read8(0x64) & 0x04).toBe(0x04);
    const [ctr] = command(m, 0x20, [], 1);
    expect(ctr & 0x40).toBe(0x40);
    command(m, 0x60, [0x47]);
    expect(command(m, 0x20, [], 1)).toEqual([0x47]);
    expect(command(m, 0xab, [], 1)).toEqual([0x00]);
    expect(command(m, 0xa9, [], 1)).toEqual([0x00]);
    // Nothing left over (i8042_flush finds an empty buffer).
    expect(m.io.read8(0x64) & 0x01).toBe(0);
  });

  it('has an AUX port consistently: loopback echoes with AUXB, the AUX disable bit toggles, and the loop raises IRQ 12', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfb, 0xef);
    m.io.write8(0x64, 0xd3);
    m.io.write8(0x60, 0x5a);
    expect(m.io.read8(0x64) & 0x21).toBe(0x21);
    expect(m.io.read8(0x60)).toBe(0x5a);
    // i8042_toggle_aux: A7h sets CTR bit 5, A8h clears it.
    command(m, 0xa7);
    expect(command(m, 0x20, [], 1)[0] & 0x20).toBe(0x20);
    command(m, 0xa8);
    expect(command(m, 0x20, [], 1)[0] & 0x20).toBe(0);
    // The AUX IRQ test: AUX interrupts on, then a loopback byte arrives as IRQ 12.
    command(m, 0x60, [0x47]);
    expect(pic.pending()).toBe(false);
    m.io.write8(0x64, 0xd3);
    m.io.write8(0x60, 0xa5);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(SLAVE_BASE + 4);
    expect(m.io.read8(0x60)).toBe(0xa5);
    // Active multiplexing probe (F0h, 56h, A4h through the loop): a plain echo means no MUX.
    const echoes = [0xf0, 0x56, 0xa4].map((b) => {
      m.io.write8(0x64, 0xd3);
      m.io.write8(0x60, b);
      return m.io.read8(0x60);
    });
    expect(echoes).toEqual([0xf0, 0x56, 0xa4]);
  });

  it('has a keyboard that resets, identifies as MF2 (translated 41h) and acknowledges settings, on IRQ 1', () => {
    const m = pcMachine();
    const pic = m.platform.pic;
    initPicLikeLinux(m, 0xfd, 0xff);
    expect(kbd(m, 0xff, 2)).toEqual([0xfa, 0xaa]);
    expect(pic.pending()).toBe(true);
    expect(pic.acknowledge()).toBe(MASTER_BASE + 1);
    m.io.write8(0x20, 0x61);
    expect(kbd(m, 0xf2, 3)).toEqual([0xfa, 0xab, 0x41]);
    expect(kbd(m, 0xed, 1)).toEqual([0xfa]);
    expect(kbd(m, 0x00, 1)).toEqual([0xfa]);
    expect(kbd(m, 0xf3, 1)).toEqual([0xfa]);
    expect(kbd(m, 0x20, 1)).toEqual([0xfa]);
    expect(kbd(m, 0xf4, 1)).toEqual([0xfa]);
    expect(kbd(m, 0xee, 1)).toEqual([0xee]);
    expect(kbd(m, 0x12, 1)).toEqual([0xfe]);
    // Without translation the ID is the keyboard's own 83h.
    command(m, 0x60, [0x05]);
    expect(kbd(m, 0xf2, 3)).toEqual([0xfa, 0xab, 0x83]);
  });

  it('has a PS/2 mouse behind D4h: reset, ID 00h, status with the rate and resolution set', () => {
    const m = pcMachine();
    expect(mouse(m, 0xff, 3)).toEqual([0xfa, 0xaa, 0x00]);
    expect(mouse(m, 0xf2, 2)).toEqual([0xfa, 0x00]);
    expect(mouse(m, 0xf3, 1)).toEqual([0xfa]);
    expect(mouse(m, 40, 1)).toEqual([0xfa]);
    expect(mouse(m, 0xe8, 1)).toEqual([0xfa]);
    expect(mouse(m, 3, 1)).toEqual([0xfa]);
    expect(mouse(m, 0xf4, 1)).toEqual([0xfa]);
    expect(mouse(m, 0xe9, 4)).toEqual([0xfa, 0x20, 3, 40]);
  });

  it('resets the machine on command FEh and on port 92h bit 0, and the machine records who asked', () => {
    const m = pcMachine();
    const sources: string[] = [];
    m.onReset = (s) => sources.push(s);
    m.io.write8(0x64, 0xff);
    expect(sources).toEqual([]);
    m.io.write8(0x64, 0xfe);
    expect(sources).toEqual(['keyboard controller command FEh']);
    expect(m.resetSource).toBe('keyboard controller command FEh');
    const m2 = pcMachine();
    m2.io.write8(0x92, 0x02);
    expect(m2.resetSource).toBeUndefined();
    m2.io.write8(0x92, 0x03);
    expect(m2.resetSource).toBe('port 92h fast reset');
  });

  it('drives A20 from port 92h bit 1 and the output port (D1h), and reports it (D0h)', () => {
    const m = pcMachine();
    expect(m.mem.a20Mask).toBe(-1);
    expect(m.io.read8(0x92) & 0x02).toBe(0x02);
    m.io.write8(0x92, 0x00);
    expect(m.mem.a20Mask).toBe(~(1 << 20));
    expect(command(m, 0xd0, [], 1)[0] & 0x03).toBe(0x01);
    command(m, 0xd1, [0x03]);
    expect(m.mem.a20Mask).toBe(-1);
    expect(m.io.read8(0x92) & 0x02).toBe(0x02);
    expect(m.resetSource).toBeUndefined();
    command(m, 0xd1, [0x02]);
    expect(m.resetSource).toMatch(/output port/);
  });

  it('takes POST codes on port 80h without counting them as unclaimed', () => {
    const m = pcMachine();
    for (let i = 0; i < 10; i++) m.io.write8(0x80, i);
    expect(m.io.unmappedWrites).toBe(0);
    expect(m.io.ownerOf(0x80)).not.toBe('');
  });
});
