/**
 * Capture and restore of each device on its own: a device driven into a state with something in
 * flight (latched counts, a pending interrupt, queued input, a set-up virtqueue) is saved, loaded
 * into the same device of a fresh machine, and must then answer the guest exactly as the original
 * does. The state reader's checks are here too.
 */

import { createInProcessBus } from '@plex86/bus';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../machine/machine.js';
import { attachVirtioDevices, type VirtioDevices } from '../virtio/attach.js';
import { captureMachineState, restoreMachineState, type SnapshotTarget } from './machine-state.js';
import { loadFields, saveFields, SnapshotError, StateReader, StateWriter } from './state.js';

function machine(): Machine {
  const m = new Machine({ memory: 4 << 20, rtcStartTime: Date.UTC(2026, 5, 7, 8, 9, 10) });
  m.addSerial(() => undefined);
  return m;
}

/** Moves the whole machine state of `from` into a fresh machine built the same way. */
function copy(from: SnapshotTarget, to: SnapshotTarget): void {
  const state = captureMachineState(from, {
    memoryBytes: 4n << 20n,
    nsPerInstruction: 5,
    serial: true,
    debugconPorts: [],
    disks: [],
    virtioConsoles: [],
    nets: [],
  });
  restoreMachineState(to, state);
  to.machine.mem.ram.set(from.machine.mem.ram);
}

/** The same port reads on both machines give the same values. */
function sameReads(a: Machine, b: Machine, reads: readonly (readonly [number, 8 | 16 | 32])[]): void {
  for (const [port, width] of reads) {
    const read = (m: Machine) =>
      width === 8 ? m.io.read8(port) : width === 16 ? m.io.read16(port) : m.io.read32(port);
    expect(read(b), `port ${port.toString(16)}`).toBe(read(a));
  }
}

function both(a: Machine, b: Machine, f: (m: Machine) => void): void {
  f(a);
  f(b);
}

describe('device state round trips', () => {
  it('PIC: initialised pair, masks, a request in service and one pending, poll mode', () => {
    const a = machine();
    const io = a.io;
    for (const [port, v] of [
      [0x20, 0x11],
      [0x21, 0x30],
      [0x21, 4],
      [0x21, 1],
      [0xa0, 0x11],
      [0xa1, 0x38],
      [0xa1, 2],
      [0xa1, 1],
      [0x21, 0xa8],
      [0xa1, 0x3f],
    ] as const)
      io.write8(port, v);
    a.platform.pic.setIrq(1, true);
    expect(a.platform.pic.acknowledge()).toBe(0x31);
    a.platform.pic.setIrq(4, true);
    a.platform.pic.setIrq(14, true);
    io.write8(0x20, 0x0b); // read ISR
    const b = machine();
    copy({ machine: a }, { machine: b });
    // IRQ 1 in service holds the others back until its EOI.
    expect(b.platform.pic.pending()).toBe(false);
    expect(a.platform.pic.pending()).toBe(false);
    sameReads(a, b, [
      [0x20, 8],
      [0x21, 8],
      [0xa0, 8],
      [0xa1, 8],
      [0x4d0, 8],
    ]);
    both(a, b, (m) => m.io.write8(0x20, 0x20));
    expect(b.platform.pic.pending()).toBe(true);
    const c = machine();
    copy({ machine: b }, { machine: c });
    expect(c.platform.pic.pending()).toBe(true);
    const first = a.platform.pic.acknowledge();
    expect(b.platform.pic.acknowledge()).toBe(first);
    expect(c.platform.pic.acknowledge()).toBe(first);
    both(a, b, (m) => m.io.write8(0xa0, 0x0c)); // poll
    sameReads(a, b, [
      [0xa0, 8],
      [0xa0, 8],
    ]);
  });

  it('PIT: a running periodic counter, a latched count half read, and port 61h with counter 2 gated', () => {
    const a = machine();
    for (const [port, v] of [
      [0x43, 0x34],
      [0x40, 0x9c],
      [0x40, 0x2e],
      [0x61, 0x01],
      [0x43, 0xb6],
      [0x42, 0x10],
      [0x42, 0x27],
    ] as const) {
      a.io.write8(port, v);
    }
    a.cpu.instructions += 12_345;
    a.io.write8(0x43, 0x00); // latch counter 0
    const lsb = a.io.read8(0x40);
    const b = machine();
    copy({ machine: a }, { machine: b });
    expect(b.clock.nextDeadline()).toBe(a.clock.nextDeadline());
    expect(b.io.read8(0x40)).toBe(a.io.read8(0x40)); // the latched MSB
    expect(lsb).toBeGreaterThanOrEqual(0);
    both(a, b, (m) => (m.cpu.instructions += 777));
    sameReads(a, b, [
      [0x40, 8],
      [0x40, 8],
      [0x42, 8],
      [0x42, 8],
      [0x61, 8],
    ]);
    both(a, b, (m) => {
      m.clock.warpTo(m.clock.nextDeadline());
      m.clock.runDue();
    });
    expect(b.platform.pit.irq0Edges).toBe(a.platform.pit.irq0Edges);
    expect(b.clock.nextDeadline()).toBe(a.clock.nextDeadline());
  });

  it('RTC: CMOS, the index register, the periodic interrupt and the time, which continues from the snapshot', () => {
    const a = machine();
    a.io.write8(0x70, 0x0b);
    a.io.write8(0x71, 0x46); // PIE, binary, 24 h
    a.io.write8(0x70, 0x40);
    a.io.write8(0x71, 0x5a); // a CMOS byte
    a.cpu.instructions += 300_000_000; // 1.5 s
    a.clock.runDue();
    a.io.write8(0x70, 0x80 | 0x00); // NMI masked, seconds selected
    const b = machine();
    copy({ machine: a }, { machine: b });
    sameReads(a, b, [[0x71, 8]]);
    both(a, b, (m) => m.io.write8(0x70, 0x40));
    sameReads(a, b, [[0x71, 8]]);
    both(a, b, (m) => m.io.write8(0x70, 0x0c));
    sameReads(a, b, [
      [0x71, 8],
      [0x71, 8],
    ]);
    expect(b.platform.rtc.seconds()).toBe(a.platform.rtc.seconds());
    expect(b.clock.nextDeadline()).toBe(a.clock.nextDeadline());
  });

  it('keyboard controller: queued bytes, a pending command, A20 and port 92h', () => {
    const a = machine();
    a.io.write8(0x64, 0x20); // read the command byte: one byte queued
    a.io.write8(0x64, 0xd1); // write output port: waits for its data byte
    a.io.write8(0x92, 0x00); // A20 off through port 92h
    const b = machine();
    copy({ machine: a }, { machine: b });
    expect(b.mem.a20Enabled).toBe(false);
    sameReads(a, b, [
      [0x64, 8],
      [0x60, 8],
      [0x64, 8],
      [0x92, 8],
    ]);
    both(a, b, (m) => m.io.write8(0x60, 0x03)); // the pending D1 command takes it: A20 on
    expect(b.mem.a20Enabled).toBe(a.mem.a20Enabled);
    expect(b.mem.a20Enabled).toBe(true);
  });

  it('UART: registers, the receive FIFO, host input behind it and a pending THRE interrupt', () => {
    const a = machine();
    for (const [reg, v] of [
      [3, 0x83],
      [0, 0x01],
      [1, 0x00],
      [3, 0x03],
      [2, 0xc7],
      [1, 0x03],
      [4, 0x0b],
      [7, 0x42],
    ] as const) {
      a.io.write8(0x3f8 + reg, v);
    }
    a.serialInput(new TextEncoder().encode('x'.repeat(40)));
    const b = machine();
    copy({ machine: a }, { machine: b });
    expect(b.platform.pic.pending()).toBe(a.platform.pic.pending());
    const drain = (m: Machine) => {
      let s = '';
      for (let i = 0; i < 50; i++)
        s += `${m.io.read8(0x3fd).toString(16)}:${m.io.read8(0x3fa).toString(16)}:${m.io.read8(0x3f8)} `;
      return s;
    };
    const out = drain(b);
    expect(out).toBe(drain(a));
    expect(out).toContain(':120 '); // the bytes came through
    sameReads(a, b, [
      [0x3f9, 8],
      [0x3fb, 8],
      [0x3fc, 8],
      [0x3ff, 8],
    ]);
  });

  it('ACPI PM: enable bits, control register and the SCI', () => {
    const a = machine();
    const PM1_EVT = 0x600;
    a.io.write16(PM1_EVT + 2, 0x0001); // TMR_EN
    a.io.write16(PM1_EVT + 4, 0x0001); // SCI_EN in PM1_CNT
    a.cpu.instructions += 1 << 26;
    a.clock.runDue();
    const b = machine();
    copy({ machine: a }, { machine: b });
    sameReads(a, b, [
      [PM1_EVT, 16],
      [PM1_EVT + 2, 16],
      [PM1_EVT + 4, 16],
    ]);
    expect(b.platform.pic.pending()).toBe(a.platform.pic.pending());
  });
});

describe('PCI and virtio state', () => {
  const bus = createInProcessBus();
  afterAll(() => bus.close());

  async function withConsole(m: Machine): Promise<{ target: SnapshotTarget; devices: VirtioDevices }> {
    const devices = await attachVirtioDevices({
      bus,
      vm: `vm${Math.floor(Math.random() * 1e9)}`,
      io: m.io,
      mem: m.mem,
      setIrq: (line, level) => m.platform.pic.setIrq(line, level),
      onEvent: () => undefined,
      consoles: [{ id: 'hvc0' }],
    });
    return { devices, target: { machine: m, pci: devices.pci, virtio: [{ id: 'hvc0', device: devices.consoles[0] }] } };
  }

  it('a virtio console with a moved BAR, negotiated features, a set-up queue and input waiting for buffers', async () => {
    const a = machine();
    const { target: ta, devices: da } = await withConsole(a);
    try {
      const slot = 2;
      const cfg = (m: Machine, offset: number) => m.io.write32(0xcf8, 0x80000000 | (slot << 11) | offset);
      cfg(a, 0x10);
      a.io.write32(0xcfc, 0xc100); // BAR0 to 0xC100
      const base = 0xc100;
      a.io.write32(base + 4, a.io.read32(base)); // accept every feature
      a.io.write16(base + 14, 0); // queue 0
      a.io.write32(base + 8, 0x100); // its ring at 1 MiB
      a.io.write8(base + 18, 1 | 2 | 4); // ACKNOWLEDGE, DRIVER, DRIVER_OK
      expect(da.consoles[0].queueInput(new TextEncoder().encode('waiting'))).toBe(7);
      da.consoles[0].raiseInterrupt(1);
      cfg(a, 0x04);
      const b = machine();
      const { target: tb, devices: db } = await withConsole(b);
      try {
        copy(ta, tb);
        expect(db.consoles[0].pendingInput).toBe(7);
        expect(b.platform.pic.pending()).toBe(a.platform.pic.pending());
        sameReads(a, b, [
          [0xcfc, 32],
          [base, 32],
          [base + 4, 32],
          [base + 8, 32],
          [base + 12, 16],
          [base + 18, 8],
        ]);
        sameReads(a, b, [
          [base + 19, 8],
          [base + 19, 8],
        ]); // ISR: set, then cleared by the read
        cfg(a, 0x10);
        cfg(b, 0x10);
        sameReads(a, b, [[0xcfc, 32]]);
      } finally {
        await db.close();
      }
    } finally {
      await da.close();
    }
  });
});

describe('state records', () => {
  const record = (fill: (w: StateWriter) => void, version = 1) => {
    const w = new StateWriter('dev', 1);
    fill(w);
    return new StateReader(w.finish(), version);
  };

  it('name the component and field that is missing, of the wrong type or out of range', () => {
    const r = record((w) => {
      w.number('n', 300);
      w.flag('f', true);
      w.bytes('b', new Uint8Array(3));
      w.number('inf', Infinity);
    });
    expect(() => r.number('absent')).toThrow(new SnapshotError('component dev: field absent is missing'));
    expect(() => r.flag('n')).toThrow(/component dev: field n is number, not flag/);
    expect(() => r.int('n', 0, 255)).toThrow(/field n is 300, outside 0\.\.255/);
    expect(() => r.into('b', new Uint8Array(4))).toThrow(/field b holds 3 bytes, not 4/);
    expect(() => r.bytes('b', 2)).toThrow(/field b holds 3 bytes, more than 2/);
    expect(r.deadline('inf')).toBe(Infinity);
    expect(() => r.int('inf', 0, 10)).toThrow(/is Infinity/);
    expect(() => record(() => undefined, 2)).toThrow(/component dev: state version 1 is not the supported version 2/);
  });

  it('keep plain fields as numbers and flags, refusing non-finite numbers where a field needs one', () => {
    const source = { count: 7, on: true, ratio: 0.5 };
    const w = new StateWriter('dev', 1);
    saveFields(w, source, ['count', 'on', 'ratio']);
    const target = { count: 0, on: false, ratio: 0 };
    loadFields(new StateReader(w.finish(), 1), target, ['count', 'on', 'ratio']);
    expect(target).toEqual(source);
    const bad = new StateWriter('dev', 1);
    bad.number('count', NaN);
    expect(() => loadFields(new StateReader(bad.finish(), 1), target, ['count'])).toThrow(
      /field count is not a number/,
    );
  });
});
