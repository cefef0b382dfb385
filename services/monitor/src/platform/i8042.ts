/**
 * The 8042 keyboard controller (data 60h, status/command 64h) with a PS/2 keyboard and a PS/2 mouse
 * on its AUX port, enough for Linux's i8042 and atkbd/psmouse probing: controller self test and
 * interface tests, the command byte, AUX loopback (D3h) and AUX IRQ 12, keyboard and mouse reset,
 * identify and parameter commands. The output port drives A20 and CPU reset (command FEh pulses
 * reset). Also the PS/2 "system control port A" at 92h (fast A20 and reset) and the POST/io-delay
 * port 80h.
 */

import type { PortSpace } from '../io/port-space.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../snapshot/state.js';

const enum Status {
  OBF = 0x01,
  SYS = 0x04,
  CMD = 0x08,
  UNLOCKED = 0x10,
  AUXB = 0x20,
}

const enum Ctr {
  KBDINT = 0x01,
  AUXINT = 0x02,
  SYS = 0x04,
  KBDDIS = 0x10,
  AUXDIS = 0x20,
  XLATE = 0x40,
}

const ACK = 0xfa;
const RESEND = 0xfe;
const BAT_OK = 0xaa;
const QUEUE_SIZE = 32;

export type ResetRequest = (source: string) => void;

export interface I8042Options {
  setIrq: (irq: number, level: boolean) => void;
  /** The controller or port 92h pulsed the CPU's reset line. */
  reset: ResetRequest;
  /** The A20 gate changed (output port bit 1, port 92h bit 1). */
  setA20: (enabled: boolean) => void;
}

const I8042_FIELDS = [
  'ctr',
  'a20',
  'head',
  'count',
  'lastByte',
  'lastWasCommand',
  'pendingCommand',
  'kbdPending',
  'mousePending',
  'kbdLast',
  'mouseRate',
  'mouseResolution',
  'mouseScaling21',
  'mouseEnabled',
  'irq1',
  'irq12',
  'port92',
] as const;

export class I8042 {
  /** The command byte ("controller RAM" byte 0). */
  ctr = Ctr.XLATE | Ctr.AUXDIS | Ctr.SYS | Ctr.KBDINT;
  a20 = true;
  private readonly queue = new Uint8Array(QUEUE_SIZE);
  private readonly queueAux = new Uint8Array(QUEUE_SIZE);
  private head = 0;
  private count = 0;
  private lastByte = 0;
  private lastWasCommand = false;
  /** A controller command waiting for its data byte on port 60h (0 when none). */
  private pendingCommand = 0;
  /** A keyboard / mouse command waiting for its parameter byte (0 when none). */
  private kbdPending = 0;
  private mousePending = 0;
  private kbdLast = 0;
  private mouseRate = 100;
  private mouseResolution = 2;
  private mouseScaling21 = false;
  private mouseEnabled = false;
  private irq1 = false;
  private irq12 = false;
  /** Port 92h bits 0 and 1 as last written. */
  private port92 = 0x02;

  constructor(private readonly options: I8042Options) {}

  /** The output queue, pending commands, mouse settings, IRQ lines and ports 92h/A20. */
  saveSnapshotState(w: StateWriter): void {
    w.bytes('queue', this.queue);
    w.bytes('queueAux', this.queueAux);
    saveFields(w, this, I8042_FIELDS);
  }

  loadSnapshotState(r: StateReader): void {
    r.into('queue', this.queue);
    r.into('queueAux', this.queueAux);
    loadFields(r, this, I8042_FIELDS);
    if (this.head < 0 || this.head >= QUEUE_SIZE || this.count < 0 || this.count > QUEUE_SIZE) {
      throw r.error('head', `${this.head} or count ${this.count} is outside the queue`);
    }
  }

  attach(io: PortSpace): void {
    io.register(0x60, 1, 'i8042-data@60', {
      read8: () => this.readData(),
      write8: (_port, value) => this.writeData(value),
    });
    io.register(0x64, 1, 'i8042-cmd@64', {
      read8: () => this.readStatus(),
      write8: (_port, value) => this.writeCommand(value),
    });
    io.register(0x92, 1, 'port-a@92', {
      read8: () => (this.port92 & 0x01) | (this.a20 ? 0x02 : 0),
      write8: (_port, value) => this.writePort92(value),
    });
    // POST codes and Linux's io_delay: accepted and dropped.
    io.register(0x80, 1, 'post@80', { read8: () => 0xff, write8: () => undefined });
  }

  readStatus(): number {
    let s = Status.UNLOCKED;
    if ((this.ctr & Ctr.SYS) !== 0) s |= Status.SYS;
    if (this.lastWasCommand) s |= Status.CMD;
    if (this.count > 0) {
      s |= Status.OBF;
      if (this.queueAux[this.head] !== 0) s |= Status.AUXB;
    }
    return s;
  }

  readData(): number {
    if (this.count > 0) {
      this.lastByte = this.queue[this.head];
      this.head = (this.head + 1) % QUEUE_SIZE;
      this.count--;
      // The line drops with the read; the next byte raises a new edge.
      this.setLines(false, false);
      this.updateIrq();
    }
    return this.lastByte;
  }

  writeData(value: number): void {
    this.lastWasCommand = false;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    switch (cmd) {
      case 0x60:
        this.ctr = value;
        this.updateIrq();
        return;
      case 0xd1:
        this.writeOutputPort(value);
        return;
      case 0xd2:
        this.push(value, false);
        return;
      case 0xd3:
        this.push(value, true);
        return;
      case 0xd4:
        this.mouseCommand(value);
        return;
      default:
        if (cmd >= 0x61 && cmd <= 0x7f) return;
        this.keyboardCommand(value);
    }
  }

  writeCommand(value: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (value >= 0x20 && value <= 0x3f) {
      this.push(value === 0x20 ? this.ctr : 0, false);
      return;
    }
    if (value >= 0x60 && value <= 0x7f) {
      this.pendingCommand = value;
      return;
    }
    switch (value) {
      case 0xa7:
        this.ctr |= Ctr.AUXDIS;
        return;
      case 0xa8:
        this.ctr &= ~Ctr.AUXDIS;
        return;
      case 0xa9: // AUX interface test: no error
      case 0xab: // keyboard interface test: no error
        this.push(0x00, false);
        return;
      case 0xaa: // controller self test
        this.ctr |= Ctr.SYS;
        this.push(0x55, false);
        return;
      case 0xad:
        this.ctr |= Ctr.KBDDIS;
        return;
      case 0xae:
        this.ctr &= ~Ctr.KBDDIS;
        return;
      case 0xc0: // input port: keyboard not locked
        this.push(0x80, false);
        return;
      case 0xd0:
        this.push(this.outputPort(), false);
        return;
      case 0xd1:
      case 0xd2:
      case 0xd3:
      case 0xd4:
        this.pendingCommand = value;
        return;
      case 0xdd:
        this.setA20(false);
        return;
      case 0xdf:
        this.setA20(true);
        return;
      case 0xe0: // test inputs
        this.push(0x00, false);
        return;
      default:
        // F0h-FFh pulse output port bits 0-3 low for 6 us; bit 0 is the CPU reset line.
        if (value >= 0xf0 && (value & 1) === 0) this.options.reset('keyboard controller command FEh');
    }
  }

  private outputPort(): number {
    let v = 0x01 | (this.a20 ? 0x02 : 0);
    if (this.count > 0) v |= this.queueAux[this.head] !== 0 ? 0x20 : 0x10;
    return v;
  }

  private writeOutputPort(value: number): void {
    this.setA20((value & 0x02) !== 0);
    if ((value & 0x01) === 0) this.options.reset('keyboard controller output port (reset line low)');
  }

  private writePort92(value: number): void {
    const old = this.port92;
    this.port92 = value & 0x03;
    this.setA20((value & 0x02) !== 0);
    if ((value & 0x01) !== 0 && (old & 0x01) === 0) this.options.reset('port 92h fast reset');
  }

  private setA20(enabled: boolean): void {
    if (enabled === this.a20) return;
    this.a20 = enabled;
    this.options.setA20(enabled);
  }

  private push(byte: number, aux: boolean): void {
    if (this.count === QUEUE_SIZE) return;
    const i = (this.head + this.count) % QUEUE_SIZE;
    this.queue[i] = aux || (this.ctr & Ctr.XLATE) === 0 || byte !== 0x83 ? byte : 0x41;
    this.queueAux[i] = aux ? 1 : 0;
    this.count++;
    this.updateIrq();
  }

  private keyboardCommand(value: number): void {
    const pending = this.kbdPending;
    if (pending !== 0) {
      this.kbdPending = 0;
      if (pending === 0xf0 && value === 0) {
        this.push(ACK, false);
        this.push(0x02, false);
        return;
      }
      this.push(ACK, false);
      return;
    }
    switch (value) {
      case 0xed: // LEDs
      case 0xf0: // scan code set
      case 0xf3: // typematic rate
        this.kbdPending = value;
        this.push(ACK, false);
        break;
      case 0xee:
        this.push(0xee, false);
        break;
      case 0xf2: // identify: an MF2 keyboard (83h reads as 41h through translation)
        this.push(ACK, false);
        this.push(0xab, false);
        this.push(0x83, false);
        break;
      case 0xfe:
        this.push(this.kbdLast, false);
        return;
      case 0xff:
        this.push(ACK, false);
        this.push(BAT_OK, false);
        break;
      default:
        this.push(value >= 0xf4 ? ACK : RESEND, false);
    }
    this.kbdLast = value;
  }

  private mouseCommand(value: number): void {
    const pending = this.mousePending;
    if (pending !== 0) {
      this.mousePending = 0;
      if (pending === 0xe8) this.mouseResolution = value & 3;
      else this.mouseRate = value;
      this.push(ACK, true);
      return;
    }
    switch (value) {
      case 0xe6:
      case 0xe7:
        this.mouseScaling21 = value === 0xe7;
        this.push(ACK, true);
        return;
      case 0xe8: // resolution
      case 0xf3: // sample rate
        this.mousePending = value;
        this.push(ACK, true);
        return;
      case 0xe9: // status: mode, scaling, enable; resolution; rate
        this.push(ACK, true);
        this.push((this.mouseEnabled ? 0x20 : 0) | (this.mouseScaling21 ? 0x10 : 0), true);
        this.push(this.mouseResolution, true);
        this.push(this.mouseRate, true);
        return;
      case 0xeb: // read data: no movement
        this.push(ACK, true);
        this.push(0x08, true);
        this.push(0x00, true);
        this.push(0x00, true);
        return;
      case 0xf2: // identify: a standard PS/2 mouse
        this.push(ACK, true);
        this.push(0x00, true);
        return;
      case 0xf4:
      case 0xf5:
        this.mouseEnabled = value === 0xf4;
        this.push(ACK, true);
        return;
      case 0xf6:
      case 0xff:
        this.mouseEnabled = false;
        this.mouseRate = 100;
        this.mouseResolution = 2;
        this.mouseScaling21 = false;
        this.push(ACK, true);
        if (value === 0xff) {
          this.push(BAT_OK, true);
          this.push(0x00, true);
        }
        return;
      case 0xea:
      case 0xec:
      case 0xee:
      case 0xf0:
        this.push(ACK, true);
        return;
      default:
        this.push(RESEND, true);
    }
  }

  private updateIrq(): void {
    const aux = this.count > 0 && this.queueAux[this.head] !== 0;
    const ready = this.count > 0;
    this.setLines(ready && !aux && (this.ctr & Ctr.KBDINT) !== 0, ready && aux && (this.ctr & Ctr.AUXINT) !== 0);
  }

  private setLines(irq1: boolean, irq12: boolean): void {
    if (irq1 !== this.irq1) {
      this.irq1 = irq1;
      this.options.setIrq(1, irq1);
    }
    if (irq12 !== this.irq12) {
      this.irq12 = irq12;
      this.options.setIrq(12, irq12);
    }
  }
}
