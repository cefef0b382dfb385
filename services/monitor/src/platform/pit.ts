/**
 * The 8254 programmable interval timer (40h-43h) and the AT's system control port B (61h).
 *
 * Counters run at 1.193182 MHz of virtual time and are evaluated when read, never stepped: each
 * counter remembers the virtual time and value at which it last started counting. Counter 0 drives
 * IRQ 0 through one clock timer armed for its next rising OUT edge; counter 2's gate is bit 0 of
 * port 61h and its OUT is bit 5 there (what Linux's TSC calibration polls); bit 4 toggles with the
 * DRAM refresh request every 15.085 us.
 */

import type { PortSpace } from '../io/port-space.js';
import type { Timer, VirtualClock } from './clock.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../snapshot/state.js';

/** Input clock of every counter, Hz (14.31818 MHz / 12, as Linux's PIT_TICK_RATE). */
export const PIT_HZ = 1_193_182;
const NS_PER_SECOND = 1e9;
/** The refresh request period behind port 61h bit 4. */
const REFRESH_NS = 15_085;

const enum Access {
  LATCH = 0,
  LSB = 1,
  MSB = 2,
  WORD = 3,
}

/** Ticks of the counter input clock between two virtual times. */
function ticksBetween(fromNs: number, toNs: number): number {
  const d = toNs - fromNs;
  return d <= 0 ? 0 : Math.floor((d * PIT_HZ) / NS_PER_SECOND);
}

/** Virtual time of tick `ticks` after `fromNs` (the earliest ns at which ticksBetween reaches it). */
function tickTime(fromNs: number, ticks: number): number {
  return fromNs + Math.ceil((ticks * NS_PER_SECOND) / PIT_HZ);
}

function toBcd(v: number): number {
  return (
    (v % 10) |
    ((Math.floor(v / 10) % 10) << 4) |
    ((Math.floor(v / 100) % 10) << 8) |
    ((Math.floor(v / 1000) % 10) << 12)
  );
}

function fromBcd(v: number): number {
  return (v & 0xf) + ((v >>> 4) & 0xf) * 10 + ((v >>> 8) & 0xf) * 100 + ((v >>> 12) & 0xf) * 1000;
}

/** The counter state a snapshot holds (everything a channel changes after construction). */
const PIT_CHANNEL_FIELDS = [
  'mode',
  'access',
  'bcd',
  'reload',
  'nullCount',
  'gate',
  'running',
  'startNs',
  'startValue',
  'triggered',
  'idleOut',
  'writeMsbNext',
  'lsbWritten',
  'readMsbNext',
  'latched',
  'latchValue',
  'latchMsbNext',
  'statusLatched',
  'statusValue',
] as const;

export class PitChannel {
  mode = 0;
  access = Access.WORD;
  bcd = false;
  /** The count register as written (binary; 0 means the full range). */
  reload = 0;
  /** A control word was written and no count has been loaded since. */
  nullCount = true;
  gate: boolean;
  /** Counting: started at `startNs` with value `startValue`, or stopped (gate low, awaiting count/trigger). */
  running = false;
  startNs = 0;
  startValue = 0;
  /** Modes 1 and 5: triggered at least once (OUT idles high before the first trigger). */
  triggered = false;
  /** OUT level while not running. */
  idleOut = true;
  // Write and read byte sequencing for word access.
  writeMsbNext = false;
  lsbWritten = 0;
  readMsbNext = false;
  // The output latch (count latch command) and the status latch (read-back).
  latched = false;
  latchValue = 0;
  latchMsbNext = false;
  statusLatched = false;
  statusValue = 0;

  constructor(
    readonly index: number,
    gate: boolean,
  ) {
    this.gate = gate;
  }

  /** The counter's modulus: 0 counts as 2^16 (binary) or 10^4 (BCD). */
  get period(): number {
    if (this.reload !== 0) return this.reload;
    return this.bcd ? 10000 : 0x10000;
  }

  private get wrap(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Input clock ticks counted since the counter started (0 when stopped). */
  elapsed(now: number): number {
    return this.running ? ticksBetween(this.startNs, now) : 0;
  }

  /** The counting element's value now (binary). */
  value(now: number): number {
    if (!this.running) return this.startValue;
    const d = ticksBetween(this.startNs, now);
    const n = this.period;
    switch (this.mode) {
      case 2: {
        // Counts N..1, reloading on the tick after 1.
        return n - (d % n);
      }
      case 3: {
        // Counts down by two through each half period; odd counts spend one tick longer high.
        const high = (n + 1) >>> 1;
        const phase = d % n;
        const v = phase < high ? n - 2 * phase : n - 2 * (phase - high);
        return v <= 0 ? n & ~1 : v & ~1;
      }
      default: {
        const w = this.wrap;
        return (((this.startValue - d) % w) + w) % w;
      }
    }
  }

  /** The OUT pin now. */
  out(now: number): boolean {
    if (!this.running) return this.idleOut;
    const d = ticksBetween(this.startNs, now);
    const n = this.period;
    switch (this.mode) {
      case 0:
        // High from the terminal count until the counter is reprogrammed.
        return this.idleOut || d >= this.startValue;
      case 1:
        return d >= n;
      case 2:
        return d % n !== n - 1;
      case 3:
        return d % n < (n + 1) >>> 1;
      case 4:
        return d !== this.startValue;
      default:
        // Mode 5: one tick low when the count reaches zero after a trigger.
        return d !== n;
    }
  }

  /** Ticks after the start at which OUT next rises, after tick `after` (Infinity when never). */
  nextRise(after: number): number {
    if (!this.running) return Infinity;
    const n = this.period;
    switch (this.mode) {
      case 0:
        return !this.idleOut && after < this.startValue ? this.startValue : Infinity;
      case 1:
        return after < n ? n : Infinity;
      case 2:
      case 3:
        return (Math.floor(after / n) + 1) * n;
      case 4:
        return after < this.startValue + 1 ? this.startValue + 1 : Infinity;
      default:
        return after < n + 1 ? n + 1 : Infinity;
    }
  }

  /** A complete count was written: the counter loads it and counts in its mode. */
  load(now: number, value: number): void {
    this.reload = value;
    this.nullCount = false;
    switch (this.mode) {
      case 1:
      case 5:
        // Hardware triggered: the count waits for a rising gate.
        if (!this.triggered) {
          this.running = false;
          this.idleOut = true;
          this.startValue = this.period;
        }
        return;
      default:
        // Counts from now while the gate is high; a low gate holds it at the full count.
        this.startValue = this.period;
        this.startNs = now;
        this.running = this.gate;
        this.idleOut = this.mode !== 0;
    }
  }

  setGate(now: number, gate: boolean): void {
    if (gate === this.gate) return;
    this.gate = gate;
    if (this.nullCount) return;
    switch (this.mode) {
      case 0:
      case 4:
        // The gate pauses counting; OUT keeps its level.
        if (!gate) {
          this.idleOut = this.out(now);
          this.startValue = this.value(now);
          this.running = false;
        } else {
          this.startNs = now;
          this.running = true;
        }
        return;
      case 2:
      case 3:
        // Gate low forces OUT high and stops; the rising gate reloads the counter.
        this.running = gate;
        this.idleOut = true;
        this.startValue = this.period;
        this.startNs = now;
        return;
      default:
        // Modes 1 and 5: a rising gate (re)triggers the count.
        if (gate) {
          this.triggered = true;
          this.running = true;
          this.startValue = this.period;
          this.startNs = now;
        }
        return;
    }
  }

  writeControl(mode: number, access: Access, bcd: boolean): void {
    this.mode = mode > 5 ? mode & 3 : mode;
    this.access = access;
    this.bcd = bcd;
    this.nullCount = true;
    this.running = false;
    this.triggered = false;
    this.idleOut = this.mode !== 0;
    this.writeMsbNext = false;
    this.readMsbNext = false;
    this.latched = false;
    this.statusLatched = false;
  }

  latchCount(now: number): void {
    if (this.latched) return;
    this.latched = true;
    this.latchValue = this.value(now);
    this.latchMsbNext = false;
  }

  latchStatus(now: number): void {
    if (this.statusLatched) return;
    this.statusLatched = true;
    this.statusValue =
      (this.out(now) ? 0x80 : 0) |
      (this.nullCount ? 0x40 : 0) |
      (this.access << 4) |
      (this.mode << 1) |
      (this.bcd ? 1 : 0);
  }

  private encode(v: number): number {
    return this.bcd ? toBcd(v % 10000) : v & 0xffff;
  }

  read(now: number): number {
    if (this.statusLatched) {
      this.statusLatched = false;
      return this.statusValue;
    }
    if (this.latched) {
      const v = this.encode(this.latchValue);
      if (this.access === Access.MSB) {
        this.latched = false;
        return v >>> 8;
      }
      if (this.access === Access.LSB) {
        this.latched = false;
        return v & 0xff;
      }
      if (!this.latchMsbNext) {
        this.latchMsbNext = true;
        return v & 0xff;
      }
      this.latched = false;
      this.latchMsbNext = false;
      return v >>> 8;
    }
    const v = this.encode(this.value(now));
    switch (this.access) {
      case Access.LSB:
        return v & 0xff;
      case Access.MSB:
        return v >>> 8;
      default: {
        const msb = this.readMsbNext;
        this.readMsbNext = !msb;
        return msb ? v >>> 8 : v & 0xff;
      }
    }
  }

  /** A count byte; returns the count (binary) once all its bytes are written, else -1. */
  write(value: number): number {
    let count: number;
    switch (this.access) {
      case Access.LSB:
        count = value;
        break;
      case Access.MSB:
        count = value << 8;
        break;
      default:
        if (!this.writeMsbNext) {
          this.writeMsbNext = true;
          this.lsbWritten = value;
          return -1;
        }
        this.writeMsbNext = false;
        count = this.lsbWritten | (value << 8);
    }
    return this.bcd ? fromBcd(count) % 10000 : count;
  }
}

export class Pit {
  readonly channels: PitChannel[] = [new PitChannel(0, true), new PitChannel(1, true), new PitChannel(2, false)];
  /** Port 61h bits 0-3 as written: timer 2 gate, speaker data, parity and channel check disables. */
  portB = 0;
  /** Rising edges of OUT0 delivered to IRQ 0. */
  irq0Edges = 0;
  private readonly timer: Timer;
  /** Ticks after counter 0's start of the OUT0 edge its timer is armed for. */
  private armedTick = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly setIrq0: (level: boolean) => void,
  ) {
    this.timer = clock.timer('pit0', (now) => this.fire(now));
  }

  /** Counters, port 61h and the IRQ 0 edge bookkeeping (the clock saves the timer's deadline). */
  saveSnapshotState(w: StateWriter): void {
    for (const ch of this.channels) saveFields(w, ch, PIT_CHANNEL_FIELDS, `ch${ch.index}.`);
    w.number('portB', this.portB);
    w.number('irq0Edges', this.irq0Edges);
    w.number('armedTick', this.armedTick);
  }

  loadSnapshotState(r: StateReader): void {
    for (const ch of this.channels) {
      const prefix = `ch${ch.index}.`;
      loadFields(r, ch, PIT_CHANNEL_FIELDS, prefix);
      if (ch.mode < 0 || ch.mode > 5 || ch.access < 1 || ch.access > 3)
        throw r.error(`${prefix}mode`, 'is out of range');
      if (ch.reload < 0 || ch.reload > 0xffff) throw r.error(`${prefix}reload`, `is ${ch.reload}`);
    }
    this.portB = r.int('portB', 0, 0x0f);
    this.irq0Edges = r.int('irq0Edges', 0, Number.MAX_SAFE_INTEGER);
    this.armedTick = r.int('armedTick', 0, Number.MAX_SAFE_INTEGER);
  }

  attach(io: PortSpace): void {
    io.register(0x40, 4, 'pit@40', {
      read8: (port) => (port === 0x43 ? 0xff : this.channels[port - 0x40].read(this.clock.now())),
      write8: (port, value) => (port === 0x43 ? this.writeControl(value) : this.writeCount(port - 0x40, value)),
    });
    io.register(0x61, 1, 'port-b@61', {
      read8: () => this.readPortB(),
      write8: (_port, value) => this.writePortB(value),
    });
  }

  readPortB(): number {
    const now = this.clock.now();
    const refresh = Math.floor(now / REFRESH_NS) & 1;
    return (this.portB & 0x0f) | (refresh << 4) | (this.channels[2].out(now) ? 0x20 : 0);
  }

  writePortB(value: number): void {
    this.portB = value & 0x0f;
    this.channels[2].setGate(this.clock.now(), (value & 1) !== 0);
  }

  writeControl(value: number): void {
    const now = this.clock.now();
    const sc = value >>> 6;
    if (sc === 3) {
      // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1-3 pick counters 0-2.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const ch = this.channels[i];
        if ((value & 0x10) === 0) ch.latchStatus(now);
        if ((value & 0x20) === 0) ch.latchCount(now);
      }
      return;
    }
    const ch = this.channels[sc];
    const access = (value >>> 4) & 3;
    if (access === Access.LATCH) {
      ch.latchCount(now);
      return;
    }
    ch.writeControl((value >>> 1) & 7, access, (value & 1) !== 0);
    if (sc === 0) this.reschedule(now);
  }

  writeCount(index: number, value: number): void {
    const ch = this.channels[index];
    const count = ch.write(value);
    if (count < 0) return;
    const now = this.clock.now();
    ch.load(now, count);
    if (index === 0) this.reschedule(now);
  }

  /** Arms the IRQ 0 timer for counter 0's next rising OUT edge. */
  private reschedule(now: number): void {
    const ch = this.channels[0];
    const next = ch.nextRise(ch.elapsed(now));
    if (next === Infinity) {
      this.clock.cancel(this.timer);
      return;
    }
    this.armedTick = next;
    this.clock.arm(this.timer, tickTime(ch.startNs, next));
  }

  private fire(now: number): void {
    const ch = this.channels[0];
    if (!ch.running) return;
    this.irq0Edges++;
    this.setIrq0(true);
    this.setIrq0(false);
    // The next edge after the one just delivered (several, when the run fell behind, count as one).
    const elapsed = ch.elapsed(now);
    const next = ch.nextRise(elapsed > this.armedTick ? elapsed : this.armedTick);
    if (next === Infinity) return;
    this.armedTick = next;
    this.clock.arm(this.timer, tickTime(ch.startNs, next));
  }
}
