/**
 * The PC's 8259A programmable interrupt controller pair ("XT-PIC"): the master at 20h/21h, the
 * slave at A0h/A1h cascaded on the master's IR2, and the edge/level control registers at 4D0h/4D1h.
 * Initialization (ICW1-ICW4), masking (OCW1), EOI and priority rotation (OCW2), register reads, poll
 * and special mask mode (OCW3), auto-EOI and special fully nested mode, per-line edge or level
 * sensing, and spurious IR7 when a request goes away before the acknowledge.
 *
 * The CPU's view is `InterruptLine`: `pending()` is read before every block the run loop runs, so the
 * output is kept up to date in a field whenever state changes, never computed there.
 */

import type { InterruptLine } from '../engine/engine.js';
import type { PortSpace } from '../io/port-space.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../snapshot/state.js';

/** No request can be serviced. */
const NONE = 8;

/** One 8259A. */
export class I8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Input levels as last driven (edge detection). */
  lines = 0;
  /** Level-triggered inputs (ELCR, or all of them with ICW1.LTIM). */
  elcr = 0;
  /** Bits of ELCR that exist (IR0-2 of the master and IR0/IR5 of the slave are always edge). */
  readonly elcrMask: number;
  levelAll = false;
  vectorBase = 0;
  /** The IR with the lowest priority (7 after initialization); rotation moves it. */
  lowest = 7;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialMask = false;
  specialFullyNested = false;
  readIsr = false;
  poll = false;
  /** Which ICW the data port expects next (0: initialized, OCW1 writes the mask). */
  icwStep = 0;
  needIcw4 = false;
  single = false;
  /** ICW3: the master's cascade inputs, or the slave's identity. */
  cascade = 0;
  /** Completed an ICW1-ICW2(-ICW3)(-ICW4) sequence since power-on; an uninitialized chip stays quiet. */
  initialized = false;
  /** The INT output. */
  output = false;

  constructor(
    readonly name: string,
    readonly isMaster: boolean,
    elcrMask: number,
    private readonly onOutput: () => void,
  ) {
    this.elcrMask = elcrMask;
  }

  /** Inputs sensed by level: ELCR, all with ICW1.LTIM, and the master's cascade inputs (a slave's INT). */
  levelBits(): number {
    if (this.levelAll) return 0xff;
    return this.elcr | (this.isMaster && !this.single ? this.cascade : 0);
  }

  private priorityOf(mask: number): number {
    if (mask === 0) return NONE;
    for (let p = 0; p < 8; p++) if ((mask & (1 << ((p + this.lowest + 1) & 7))) !== 0) return p;
    return NONE;
  }

  private irqOfPriority(p: number): number {
    return (p + this.lowest + 1) & 7;
  }

  /** The IR to service next, or -1: the highest-priority unmasked request above every in-service IR. */
  highestRequest(): number {
    const req = this.irr & ~this.imr;
    const p = this.priorityOf(req);
    if (p === NONE) return -1;
    let inService = this.isr;
    // Special mask mode: masked in-service levels do not block lower ones.
    if (this.specialMask) inService &= ~this.imr;
    const q = this.priorityOf(inService);
    const irq = this.irqOfPriority(p);
    if (p < q) return irq;
    // Special fully nested mode (master): a slave already in service may interrupt with a higher request.
    if (p === q && this.isMaster && this.specialFullyNested && (this.cascade & (1 << irq)) !== 0) return irq;
    return -1;
  }

  update(): void {
    // Level-sensed requests follow their inputs.
    const level = this.levelBits();
    this.irr = (this.irr & ~level) | (this.lines & level);
    const out = this.initialized && this.highestRequest() >= 0;
    if (out !== this.output) {
      this.output = out;
      this.onOutput();
    }
  }

  setLine(irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      // An edge-sensed request latches on the rising edge and stays in IRR until acknowledged.
      if ((this.lines & bit) === 0) this.irr |= bit;
      this.lines |= bit;
    } else this.lines &= ~bit;
    this.update();
  }

  /** The acknowledge cycle for `irq` (from highestRequest): ISR set (unless auto-EOI), IRR updated. */
  ack(irq: number): void {
    const bit = 1 << irq;
    // Edge requests are consumed; a level request stays while its input is high (update() keeps it).
    this.irr &= ~bit;
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.lowest = irq;
    } else this.isr |= bit;
  }

  writeCommand(value: number): void {
    if ((value & 0x10) !== 0) {
      // ICW1: restart initialization. IMR and ISR clear, IR7 lowest, special mask off, read IRR.
      this.levelAll = (value & 0x08) !== 0;
      this.single = (value & 0x02) !== 0;
      this.needIcw4 = (value & 0x01) !== 0;
      this.imr = 0;
      this.isr = 0;
      this.irr = 0;
      this.lowest = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.poll = false;
      this.autoEoi = false;
      this.rotateOnAutoEoi = false;
      this.specialFullyNested = false;
      this.icwStep = 2;
      this.initialized = false;
      this.update();
      return;
    }
    if ((value & 0x08) !== 0) {
      // OCW3
      if ((value & 0x40) !== 0) this.specialMask = (value & 0x20) !== 0;
      if ((value & 0x02) !== 0) this.readIsr = (value & 0x01) !== 0;
      this.poll = (value & 0x04) !== 0;
      this.update();
      return;
    }
    // OCW2
    const cmd = value >>> 5;
    const level = value & 7;
    switch (cmd) {
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const p = this.priorityOf(this.specialMask ? this.isr & ~this.imr : this.isr);
        if (p !== NONE) {
          const irq = this.irqOfPriority(p);
          this.isr &= ~(1 << irq);
          if (cmd === 5) this.lowest = irq;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << level);
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.lowest = level;
        break;
      case 6: // set priority
        this.lowest = level;
        break;
      case 4: // set rotate in auto-EOI mode
        this.rotateOnAutoEoi = true;
        break;
      case 0: // clear rotate in auto-EOI mode
        this.rotateOnAutoEoi = false;
        break;
      default: // 2: no operation
        break;
    }
    this.update();
  }

  writeData(value: number): void {
    switch (this.icwStep) {
      case 2:
        this.vectorBase = value & 0xf8;
        this.icwStep = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        break;
      case 3:
        this.cascade = value;
        this.icwStep = this.needIcw4 ? 4 : 0;
        break;
      case 4:
        this.autoEoi = (value & 0x02) !== 0;
        this.specialFullyNested = (value & 0x10) !== 0;
        this.icwStep = 0;
        break;
      default:
        this.imr = value;
        break;
    }
    if (this.icwStep === 0) this.initialized = true;
    this.update();
  }

  readCommand(): number {
    return this.readIsr ? this.isr : this.irr;
  }
}

/** The chip state a snapshot holds (everything but the wiring). */
const I8259_FIELDS = [
  'irr',
  'isr',
  'imr',
  'lines',
  'elcr',
  'levelAll',
  'vectorBase',
  'lowest',
  'autoEoi',
  'rotateOnAutoEoi',
  'specialMask',
  'specialFullyNested',
  'readIsr',
  'poll',
  'icwStep',
  'needIcw4',
  'single',
  'cascade',
  'initialized',
  'output',
] as const;

/** IRQ numbers of interest on the PC. */
export const IRQ_CASCADE = 2;

/** The master/slave pair as the CPU and the devices see it. */
export class Pic implements InterruptLine {
  readonly master: I8259;
  readonly slave: I8259;
  /** The master's INT output (read by the CPU at every block boundary). */
  private out = false;
  /** Acknowledge cycles that found no request (spurious IR7/IR15). */
  spurious = 0;

  constructor() {
    this.master = new I8259('master', true, 0xf8, () => {
      this.out = this.master.output;
    });
    this.slave = new I8259('slave', false, 0xde, () => this.master.setLine(IRQ_CASCADE, this.slave.output));
  }

  /** Both chips; loaded last, so that devices restoring their interrupt lines cannot change it. */
  saveSnapshotState(w: StateWriter): void {
    saveFields(w, this.master, I8259_FIELDS, 'master.');
    saveFields(w, this.slave, I8259_FIELDS, 'slave.');
    w.number('spurious', this.spurious);
  }

  loadSnapshotState(r: StateReader): void {
    for (const [chip, prefix] of [
      [this.master, 'master.'],
      [this.slave, 'slave.'],
    ] as const) {
      loadFields(r, chip, I8259_FIELDS, prefix);
      for (const name of [
        'irr',
        'isr',
        'imr',
        'lines',
        'elcr',
        'vectorBase',
        'lowest',
        'icwStep',
        'cascade',
      ] as const) {
        const v = chip[name];
        if (!Number.isInteger(v) || v < 0 || v > 0xff) throw r.error(prefix + name, `is ${v}`);
      }
      if (chip.lowest > 7 || chip.icwStep > 4) throw r.error(prefix + 'lowest', 'or icwStep is out of range');
    }
    this.spurious = r.int('spurious', 0, Number.MAX_SAFE_INTEGER);
    this.out = this.master.output;
  }

  attach(io: PortSpace): void {
    const chip = (pic: I8259, base: number): void => {
      io.register(base, 2, `pic-${pic.name}@${base.toString(16)}`, {
        read8: (port) => (port === base ? this.readCommand(pic) : pic.imr),
        write8: (port, value) => (port === base ? pic.writeCommand(value) : pic.writeData(value)),
      });
    };
    chip(this.master, 0x20);
    chip(this.slave, 0xa0);
    io.register(0x4d0, 2, 'elcr@4d0', {
      read8: (port) => (port === 0x4d0 ? this.master.elcr : this.slave.elcr),
      write8: (port, value) => {
        const pic = port === 0x4d0 ? this.master : this.slave;
        pic.elcr = value & pic.elcrMask;
        pic.update();
      },
    });
  }

  /** Drives ISA interrupt line `irq` (0-15; IRQ2 on the bus is wired to IR9, as on the AT). */
  setIrq(irq: number, level: boolean): void {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15)
      throw new RangeError(`IRQ ${irq} does not exist on the PIC pair`);
    if (irq === IRQ_CASCADE) irq = 9;
    if (irq < 8) this.master.setLine(irq, level);
    else this.slave.setLine(irq - 8, level);
  }

  pending(): boolean {
    return this.out;
  }

  /** The INTA cycle: the vector of the highest request, or the spurious IR7 vector when there is none. */
  acknowledge(): number {
    const m = this.master;
    const irq = m.highestRequest();
    if (irq < 0 || !m.initialized) {
      this.spurious++;
      return (m.vectorBase + 7) & 0xff;
    }
    m.ack(irq);
    let vector: number;
    if ((m.cascade & (1 << irq)) !== 0 && !m.single) {
      const s = this.slave;
      const sirq = s.highestRequest();
      if (sirq < 0) {
        this.spurious++;
        vector = (s.vectorBase + 7) & 0xff;
      } else {
        s.ack(sirq);
        vector = (s.vectorBase + sirq) & 0xff;
      }
      s.update();
    } else vector = (m.vectorBase + irq) & 0xff;
    m.update();
    return vector;
  }

  /** A read of the command port: the poll word when OCW3 asked for one, else IRR or ISR. */
  private readCommand(pic: I8259): number {
    if (!pic.poll) return pic.readCommand();
    pic.poll = false;
    const irq = pic.highestRequest();
    if (irq < 0) return 0;
    pic.ack(irq);
    pic.update();
    return 0x80 | irq;
  }
}
