/**
 * The MC146818 real-time clock and CMOS RAM (index port 70h, data port 71h). The clock starts at the
 * host's time (UTC) and advances with virtual time; it reads in BCD or binary and in 12 or 24 hour
 * form per register B, shows update-in-progress in register A for the 244 us before each second,
 * and raises periodic, alarm and update-ended interrupts on IRQ 8, acknowledged by reading register
 * C. Bit 7 of the index port is the NMI mask. The CMOS bytes describe memory the way an AT BIOS does.
 */

import type { PortSpace } from '../io/port-space.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../snapshot/state.js';
import type { Timer, VirtualClock } from './clock.js';

const NS_PER_SECOND = 1e9;
/** UIP rises this long before each update. */
const UIP_NS = 244_000;
/** The time base crystal: periodic rates divide it. */
const RTC_HZ = 32768;

const enum Reg {
  SECONDS = 0x00,
  SECONDS_ALARM = 0x01,
  MINUTES = 0x02,
  MINUTES_ALARM = 0x03,
  HOURS = 0x04,
  HOURS_ALARM = 0x05,
  WEEKDAY = 0x06,
  DAY = 0x07,
  MONTH = 0x08,
  YEAR = 0x09,
  A = 0x0a,
  B = 0x0b,
  C = 0x0c,
  D = 0x0d,
  CENTURY = 0x32,
}

const enum RegB {
  SET = 0x80,
  PIE = 0x40,
  AIE = 0x20,
  UIE = 0x10,
  DM_BINARY = 0x04,
  H24 = 0x02,
}

const enum RegC {
  IRQF = 0x80,
  PF = 0x40,
  AF = 0x20,
  UF = 0x10,
}

export interface RtcOptions {
  /** Guest RAM in bytes (for the CMOS memory-size bytes). */
  memory: number;
  /** Wall-clock time at virtual time 0, in ms since the epoch (default: the host's time now). */
  startTime?: number;
}

/** Time fields in binary, as the clock keeps them. */
interface Fields {
  sec: number;
  min: number;
  hour: number;
  wday: number;
  mday: number;
  mon: number;
  year: number;
}

const RTC_FIELDS = ['index', 'nmiMasked', 'baseSeconds', 'baseNs', 'flags', 'checkedNs', 'irqLevel'] as const;
const FIELD_NAMES = ['sec', 'min', 'hour', 'wday', 'mday', 'mon', 'year'] as const;

export class Rtc {
  /** CMOS RAM; bytes 00h-0Dh are the clock's registers, kept here except for the time. */
  readonly cmos = new Uint8Array(128);
  index = 0;
  /** Bit 7 of the last index write: NMI disabled. */
  nmiMasked = false;
  /** Seconds since the epoch at virtual time `baseNs`. */
  private baseSeconds: number;
  private baseNs = 0;
  /** Flags of register C, brought up to date by `catchUp`. */
  private flags = 0;
  /** Virtual time up to which flags have been computed. */
  private checkedNs = 0;
  private irqLevel = false;
  private readonly timer: Timer;
  private readonly fields: Fields = { sec: 0, min: 0, hour: 0, wday: 0, mday: 0, mon: 0, year: 0 };
  /** The time fields held while SET is on: the guest writes them one by one, in any order. */
  private readonly frozen: Fields = { sec: 0, min: 0, hour: 0, wday: 0, mday: 1, mon: 1, year: 2000 };

  constructor(
    private readonly clock: VirtualClock,
    private readonly setIrq8: (level: boolean) => void,
    options: RtcOptions,
  ) {
    this.timer = clock.timer('rtc', (now) => this.fire(now));
    this.baseSeconds = Math.floor((options.startTime ?? Date.now()) / 1000);
    this.baseNs = clock.now();
    this.checkedNs = this.baseNs;
    const c = this.cmos;
    c[Reg.A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    c[Reg.B] = RegB.H24;
    c[Reg.D] = 0x80; // valid RAM and time
    writeMemorySize(c, options.memory);
    c[Reg.CENTURY] = 0x20;
    // AT BIOS checksum over 10h-2Dh.
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += c[i];
    c[0x2e] = (sum >>> 8) & 0xff;
    c[0x2f] = sum & 0xff;
  }

  /**
   * CMOS, the index register and the clock's base, so that the guest's wall clock continues from
   * the snapshot's virtual time (the clock saves the timer's deadline).
   */
  saveSnapshotState(w: StateWriter): void {
    w.bytes('cmos', this.cmos);
    saveFields(w, this, RTC_FIELDS);
    saveFields(w, this.frozen, FIELD_NAMES, 'frozen.');
  }

  loadSnapshotState(r: StateReader): void {
    r.into('cmos', this.cmos);
    loadFields(r, this, RTC_FIELDS);
    loadFields(r, this.frozen, FIELD_NAMES, 'frozen.');
    if (this.index < 0 || this.index > 0x7f) throw r.error('index', `is ${this.index}`);
  }

  attach(io: PortSpace): void {
    io.register(0x70, 2, 'rtc@70', {
      read8: (port) => (port === 0x70 ? 0xff : this.read(this.index)),
      write8: (port, value) => {
        if (port === 0x70) {
          this.index = value & 0x7f;
          this.nmiMasked = (value & 0x80) !== 0;
        } else this.write(this.index, value);
      },
    });
  }

  /** The clock's time now, in seconds since the epoch. */
  seconds(now = this.clock.now()): number {
    if ((this.cmos[Reg.B] & RegB.SET) !== 0) return fieldsToSeconds(this.frozen);
    return this.baseSeconds + Math.floor((now - this.baseNs) / NS_PER_SECOND);
  }

  read(reg: number): number {
    const now = this.clock.now();
    switch (reg) {
      case Reg.SECONDS:
      case Reg.MINUTES:
      case Reg.HOURS:
      case Reg.WEEKDAY:
      case Reg.DAY:
      case Reg.MONTH:
      case Reg.YEAR:
      case Reg.CENTURY:
        return this.timeRegister(reg, now);
      case Reg.A: {
        const uip = (this.cmos[Reg.B] & RegB.SET) === 0 && this.fraction(now) >= NS_PER_SECOND - UIP_NS;
        return (this.cmos[Reg.A] & 0x7f) | (uip ? 0x80 : 0);
      }
      case Reg.C: {
        this.catchUp(now);
        const v = this.flags;
        this.flags = 0;
        this.updateIrq();
        this.schedule(now);
        return v;
      }
      default:
        return this.cmos[reg & 0x7f];
    }
  }

  write(reg: number, value: number): void {
    const now = this.clock.now();
    switch (reg) {
      case Reg.SECONDS:
      case Reg.MINUTES:
      case Reg.HOURS:
      case Reg.WEEKDAY:
      case Reg.DAY:
      case Reg.MONTH:
      case Reg.YEAR:
      case Reg.CENTURY:
        this.setTimeRegister(reg, value, now);
        return;
      case Reg.A:
        this.catchUp(now);
        this.cmos[Reg.A] = value & 0x7f;
        this.schedule(now);
        return;
      case Reg.B: {
        this.catchUp(now);
        const old = this.cmos[Reg.B];
        if ((value & RegB.SET) !== 0 && (old & RegB.SET) === 0) {
          this.toFields(this.seconds(now));
          Object.assign(this.frozen, this.fields);
        }
        if ((value & RegB.SET) === 0 && (old & RegB.SET) !== 0) {
          // Leaving SET starts the clock from the written time, at the start of a second.
          this.baseSeconds = fieldsToSeconds(this.frozen);
          this.baseNs = now;
          this.checkedNs = now;
        }
        // SET stops update interrupts from being enabled.
        this.cmos[Reg.B] = (value & RegB.SET) !== 0 ? value & ~RegB.UIE : value;
        this.updateIrq();
        this.schedule(now);
        return;
      }
      case Reg.C:
      case Reg.D:
        return;
      default:
        this.cmos[reg & 0x7f] = value;
    }
  }

  /** Nanoseconds into the current second. */
  private fraction(now: number): number {
    const d = now - this.baseNs;
    return d - Math.floor(d / NS_PER_SECOND) * NS_PER_SECOND;
  }

  private periodNs(): number {
    const rs = this.cmos[Reg.A] & 0x0f;
    if (rs === 0 || (this.cmos[Reg.A] & 0x70) !== 0x20) return Infinity;
    const ticks = rs < 3 ? 1 << (rs + 6) : 1 << (rs - 1);
    return (ticks * NS_PER_SECOND) / RTC_HZ;
  }

  /** Sets the flags of events between `checkedNs` and `now`; returns nothing (flags and IRQ follow). */
  private catchUp(now: number): void {
    if (now <= this.checkedNs) return;
    const from = this.checkedNs;
    this.checkedNs = now;
    const period = this.periodNs();
    if (period !== Infinity && Math.floor(now / period) > Math.floor(from / period)) this.flags |= RegC.PF;
    if ((this.cmos[Reg.B] & RegB.SET) === 0) {
      const s0 = this.baseSeconds + Math.floor((from - this.baseNs) / NS_PER_SECOND);
      const s1 = this.baseSeconds + Math.floor((now - this.baseNs) / NS_PER_SECOND);
      if (s1 > s0) {
        this.flags |= RegC.UF;
        // The alarm compares at each update; checking the latest is enough when interrupts are off,
        // and the update timer visits every second when they are on.
        if (this.alarmMatches(s1)) this.flags |= RegC.AF;
      }
    }
    this.updateIrq();
  }

  private alarmMatches(seconds: number): boolean {
    this.toFields(seconds);
    const f = this.fields;
    const c = this.cmos;
    const match = (alarm: number, value: number): boolean => alarm >= 0xc0 || this.decode(alarm) === value;
    return (
      match(c[Reg.SECONDS_ALARM], f.sec) &&
      match(c[Reg.MINUTES_ALARM], f.min) &&
      this.hourMatches(c[Reg.HOURS_ALARM], f.hour)
    );
  }

  private hourMatches(alarm: number, hour: number): boolean {
    if (alarm >= 0xc0) return true;
    return this.decodeHour(alarm) === hour;
  }

  private updateIrq(): void {
    const b = this.cmos[Reg.B];
    // PIE, AIE and UIE sit at the bit positions of PF, AF and UF.
    const enabled = this.flags & b & (RegB.PIE | RegB.AIE | RegB.UIE);
    if (enabled !== 0) this.flags |= RegC.IRQF;
    else this.flags &= ~RegC.IRQF;
    const level = (this.flags & RegC.IRQF) !== 0;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.setIrq8(level);
    }
  }

  /** Arms the timer for the next event that could raise IRQ 8 (none while the line is already up). */
  private schedule(now: number): void {
    const b = this.cmos[Reg.B];
    let next = Infinity;
    if (!this.irqLevel) {
      if ((b & RegB.PIE) !== 0) {
        const period = this.periodNs();
        if (period !== Infinity) next = (Math.floor(now / period) + 1) * period;
      }
      if ((b & (RegB.AIE | RegB.UIE)) !== 0 && (b & RegB.SET) === 0) {
        const update = now - this.fraction(now) + NS_PER_SECOND;
        if (update < next) next = update;
      }
    }
    if (next === Infinity) this.clock.cancel(this.timer);
    else this.clock.arm(this.timer, next);
  }

  private fire(now: number): void {
    this.catchUp(now);
    this.schedule(now);
  }

  private binary(): boolean {
    return (this.cmos[Reg.B] & RegB.DM_BINARY) !== 0;
  }

  private encode(v: number): number {
    return this.binary() ? v : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private decode(v: number): number {
    return this.binary() ? v : (v >>> 4) * 10 + (v & 0xf);
  }

  private encodeHour(h: number): number {
    if ((this.cmos[Reg.B] & RegB.H24) !== 0) return this.encode(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.encode(h12) | (pm ? 0x80 : 0);
  }

  private decodeHour(v: number): number {
    if ((this.cmos[Reg.B] & RegB.H24) !== 0) return this.decode(v);
    const h12 = this.decode(v & 0x7f) % 12;
    return (v & 0x80) !== 0 ? h12 + 12 : h12;
  }

  private toFields(seconds: number): void {
    const d = new Date(seconds * 1000);
    const f = this.fields;
    f.sec = d.getUTCSeconds();
    f.min = d.getUTCMinutes();
    f.hour = d.getUTCHours();
    f.wday = d.getUTCDay() + 1;
    f.mday = d.getUTCDate();
    f.mon = d.getUTCMonth() + 1;
    f.year = d.getUTCFullYear();
  }

  private timeRegister(reg: number, now: number): number {
    let f = this.frozen;
    if ((this.cmos[Reg.B] & RegB.SET) === 0) {
      this.toFields(this.seconds(now));
      f = this.fields;
    }
    switch (reg) {
      case Reg.SECONDS:
        return this.encode(f.sec);
      case Reg.MINUTES:
        return this.encode(f.min);
      case Reg.HOURS:
        return this.encodeHour(f.hour);
      case Reg.WEEKDAY:
        return this.encode(f.wday);
      case Reg.DAY:
        return this.encode(f.mday);
      case Reg.MONTH:
        return this.encode(f.mon);
      case Reg.YEAR:
        return this.encode(f.year % 100);
      default:
        return this.encode(Math.floor(f.year / 100));
    }
  }

  /** A guest write to a time register: the clock continues from the new time. */
  private setTimeRegister(reg: number, value: number, now: number): void {
    const frozen = (this.cmos[Reg.B] & RegB.SET) !== 0;
    let f = this.frozen;
    if (!frozen) {
      this.toFields(this.seconds(now));
      f = this.fields;
    }
    switch (reg) {
      case Reg.SECONDS:
        f.sec = this.decode(value) % 60;
        break;
      case Reg.MINUTES:
        f.min = this.decode(value) % 60;
        break;
      case Reg.HOURS:
        f.hour = this.decodeHour(value) % 24;
        break;
      case Reg.WEEKDAY:
        // Derived from the date when the clock runs.
        f.wday = this.decode(value);
        break;
      case Reg.DAY:
        f.mday = Math.min(Math.max(this.decode(value), 1), 31);
        break;
      case Reg.MONTH:
        f.mon = Math.min(Math.max(this.decode(value), 1), 12);
        break;
      case Reg.YEAR:
        f.year = f.year - (f.year % 100) + (this.decode(value) % 100);
        break;
      default:
        f.year = (this.decode(value) % 100) * 100 + (f.year % 100);
        break;
    }
    if (frozen) return;
    // Keeps the position within the current second, as the divider chain is not reset.
    this.baseSeconds = fieldsToSeconds(f) - Math.floor((now - this.baseNs) / NS_PER_SECOND);
  }
}

function fieldsToSeconds(f: Fields): number {
  return Math.floor(Date.UTC(f.year, f.mon - 1, f.mday, f.hour, f.min, f.sec) / 1000);
}

/** The AT CMOS memory-size bytes: base (15h/16h), extended (17h/18h, 30h/31h) and above 16 MiB (34h/35h). */
function writeMemorySize(c: Uint8Array, bytes: number): void {
  const base = 640;
  c[0x15] = base & 0xff;
  c[0x16] = base >>> 8;
  const extKb = Math.min(Math.max(Math.floor(bytes / 1024) - 1024, 0), 0xfc00);
  c[0x17] = c[0x30] = extKb & 0xff;
  c[0x18] = c[0x31] = extKb >>> 8;
  const above16 = Math.min(Math.max(Math.floor((bytes - (16 << 20)) / 65536), 0), 0xffff);
  c[0x34] = above16 & 0xff;
  c[0x35] = above16 >>> 8;
}
