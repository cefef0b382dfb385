/**
 * A 16550A UART (the PC's COM ports): divisor latch, FIFO control, line status, modem control with
 * loopback, scratch register, and the interrupt identification the 8250 drivers probe. Transmission
 * is immediate, so the transmitter always reads as empty (and THRE interrupts re-arm at once, as
 * Linux's 8250 driver expects of a real 16550A). Host input waits in a queue and moves into the
 * receive FIFO as the guest drains it, so a burst of typing is not lost to overruns.
 */

import type { PortSpace } from '../../io/port-space.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../../snapshot/state.js';
import type { ByteSink } from './debugcon.js';

const enum Lsr {
  DR = 0x01,
  OE = 0x02,
  THRE = 0x20,
  TEMT = 0x40,
}
const enum Ier {
  RDA = 0x01,
  THRE = 0x02,
  RLS = 0x04,
  MS = 0x08,
}
const enum Mcr {
  DTR = 0x01,
  RTS = 0x02,
  OUT1 = 0x04,
  OUT2 = 0x08,
  LOOP = 0x10,
}

const FIFO_SIZE = 16;
/** Host bytes held for the guest beyond the FIFO. */
const HOST_QUEUE_LIMIT = 1 << 16;

const UART_FIELDS = [
  'ier',
  'lcr',
  'mcr',
  'scr',
  'dll',
  'dlm',
  'fifoEnabled',
  'threPending',
  'overrun',
  'irqLevel',
  'transmitted',
] as const;

export class Uart16550 {
  private ier = 0;
  private lcr = 0x03;
  private mcr = 0;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  private fifoEnabled = false;
  private threPending = true;
  private overrun = false;
  private readonly rx: number[] = [];
  /** Host input not yet in the FIFO: a ring of HOST_QUEUE_LIMIT bytes. */
  private readonly hostQueue = new Uint8Array(HOST_QUEUE_LIMIT);
  private hostHead = 0;
  private hostCount = 0;
  private irqLevel = false;
  /** Bytes the guest transmitted. */
  transmitted = 0;

  constructor(
    private readonly sink: ByteSink,
    /** Drives the UART's interrupt line (IRQ 4 for COM1); called on every change. */
    private readonly irq: (level: boolean) => void = () => undefined,
  ) {}

  /** Registers, the receive FIFO and host input not yet taken into it. */
  saveSnapshotState(w: StateWriter): void {
    saveFields(w, this, UART_FIELDS);
    w.bytes('rx', Uint8Array.from(this.rx));
    const pending = new Uint8Array(this.hostCount);
    for (let i = 0; i < this.hostCount; i++) pending[i] = this.hostQueue[(this.hostHead + i) % HOST_QUEUE_LIMIT];
    w.bytes('hostQueue', pending);
  }

  loadSnapshotState(r: StateReader): void {
    loadFields(r, this, UART_FIELDS);
    for (const name of ['ier', 'lcr', 'mcr', 'scr', 'dll', 'dlm'] as const) {
      if (this[name] < 0 || this[name] > 0xff || !Number.isInteger(this[name])) throw r.error(name, `is ${this[name]}`);
    }
    this.rx.length = 0;
    for (const b of r.bytes('rx', FIFO_SIZE)) this.rx.push(b);
    const pending = r.bytes('hostQueue', HOST_QUEUE_LIMIT);
    this.hostQueue.set(pending);
    this.hostHead = 0;
    this.hostCount = pending.length;
  }

  attach(io: PortSpace, base: number): void {
    io.register(base, 8, `uart@${base.toString(16)}`, {
      read8: (port) => this.read(port - base),
      write8: (port, value) => this.write(port - base, value),
    });
  }

  /** Bytes arriving on the serial line. Bytes beyond the FIFO (one byte without it) set the overrun flag. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (this.rx.length < this.capacity()) this.rx.push(b);
      else this.overrun = true;
    }
    this.updateIrq();
  }

  /**
   * Bytes from the host (a terminal): they enter the receive FIFO as it has room, with flow control
   * instead of overruns. Returns how many were accepted (the host queue is bounded).
   */
  input(bytes: Uint8Array): number {
    let accepted = 0;
    while (accepted < bytes.length && this.hostCount < HOST_QUEUE_LIMIT) {
      this.hostQueue[(this.hostHead + this.hostCount) % HOST_QUEUE_LIMIT] = bytes[accepted++];
      this.hostCount++;
    }
    this.refill();
    this.updateIrq();
    return accepted;
  }

  /** Host bytes not yet in the receive FIFO. */
  get queuedInput(): number {
    return this.hostCount;
  }

  private capacity(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  private refill(): void {
    const cap = this.capacity();
    while (this.hostCount > 0 && this.rx.length < cap) {
      this.rx.push(this.hostQueue[this.hostHead]);
      this.hostHead = (this.hostHead + 1) % HOST_QUEUE_LIMIT;
      this.hostCount--;
    }
  }

  read(reg: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (reg) {
      case 0: {
        if (dlab) return this.dll;
        const v = this.rx.shift() ?? 0;
        this.refill();
        this.updateIrq();
        return v;
      }
      case 1:
        return dlab ? this.dlm : this.ier;
      case 2: {
        const id = this.interruptId();
        // Reading IIR while it reports THRE acknowledges that interrupt.
        if (id === 0x02) {
          this.threPending = false;
          this.updateIrq();
        }
        return id | (this.fifoEnabled ? 0xc0 : 0);
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        let v = Lsr.THRE | Lsr.TEMT;
        if (this.rx.length > 0) v |= Lsr.DR;
        if (this.overrun) {
          // Reading LSR clears the overrun and with it the line-status interrupt.
          v |= Lsr.OE;
          this.overrun = false;
          this.updateIrq();
        }
        return v;
      }
      case 6:
        if ((this.mcr & Mcr.LOOP) !== 0) {
          // Loopback: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2.
          const m = this.mcr;
          return (
            ((m & Mcr.RTS) !== 0 ? 0x10 : 0) |
            ((m & Mcr.DTR) !== 0 ? 0x20 : 0) |
            ((m & Mcr.OUT1) !== 0 ? 0x40 : 0) |
            ((m & Mcr.OUT2) !== 0 ? 0x80 : 0)
          );
        }
        // Carrier, data set ready and clear to send: a connected terminal.
        return 0xb0;
      default:
        return this.scr;
    }
  }

  write(reg: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (reg) {
      case 0:
        if (dlab) {
          this.dll = value;
          return;
        }
        if ((this.mcr & Mcr.LOOP) !== 0) this.receive(Uint8Array.of(value));
        else {
          this.transmitted++;
          this.sink(value);
        }
        this.threPending = true;
        this.updateIrq();
        return;
      case 1:
        if (dlab) this.dlm = value;
        else {
          const enablingThre = (value & Ier.THRE) !== 0 && (this.ier & Ier.THRE) === 0;
          this.ier = value & 0x0f;
          if (enablingThre) this.threPending = true;
          this.updateIrq();
        }
        return;
      case 2: {
        const enable = (value & 0x01) !== 0;
        // Changing the FIFO mode, or a receive reset, empties the receiver.
        if (enable !== this.fifoEnabled || (value & 0x02) !== 0) this.rx.length = 0;
        this.fifoEnabled = enable;
        this.refill();
        this.updateIrq();
        return;
      }
      case 3:
        this.lcr = value;
        return;
      case 4:
        this.mcr = value & 0x1f;
        this.updateIrq();
        return;
      case 7:
        this.scr = value;
        return;
      default:
        return;
    }
  }

  private interruptId(): number {
    if ((this.ier & Ier.RLS) !== 0 && this.overrun) return 0x06;
    if ((this.ier & Ier.RDA) !== 0 && this.rx.length > 0) return 0x04;
    if ((this.ier & Ier.THRE) !== 0 && this.threPending) return 0x02;
    return 0x01;
  }

  private updateIrq(): void {
    // OUT2 gates the interrupt line on PC serial ports.
    const level = this.interruptId() !== 0x01 && (this.mcr & Mcr.OUT2) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}

export const COM1_BASE = 0x3f8;
