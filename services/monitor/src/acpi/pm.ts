/**
 * The ACPI fixed hardware the FADT points at (ACPI 6.5 §4.8 "ACPI Hardware Features"), on I/O
 * ports: the PM1a event block (PM1_STS and PM1_EN, §4.8.3.1), the PM1a control block (PM1_CNT,
 * §4.8.3.2), the power management timer (§4.8.3.3) and the reset register (§4.8.3.6).
 *
 * - PM1_STS bits are set by events and cleared by writing 1 to them; the SCI (a level on IRQ 9)
 *   is asserted while a status bit and its enable bit are both set.
 * - SCI_EN always reads 1: the FADT has no SMI command port, so the machine is in ACPI mode from
 *   power-on (§4.8.2.5, §5.2.9).
 * - GBL_RLS is ignored: there is no firmware to hand the global lock to.
 * - Writing SLP_EN with the \_S5 sleep type powers the machine off; the other sleep types are not
 *   implemented and are refused with a notice (the DSDT offers only \_S5, so Linux never asks).
 * - The PM timer is a 24-bit up-counter at 3.579545 MHz derived from the virtual clock; TMR_STS is
 *   set whenever its bit 23 changes.
 * - The reset register behaves like the PIIX's reset control register (a write with the CPU reset
 *   bit set pulses the reset line).
 */

import type { PortSpace } from '../io/port-space.js';
import { loadFields, saveFields, type StateReader, type StateWriter } from '../snapshot/state.js';
import type { Timer, VirtualClock } from '../platform/clock.js';

/** Base of the PM I/O block (the PIIX4's customary PMBASE). */
export const ACPI_PM_BASE = 0x600;
/** PM1a_EVT_BLK: PM1a_STS (2 bytes) then PM1a_EN (2 bytes). */
export const PM1A_EVT_BLK = ACPI_PM_BASE;
export const PM1_EVT_LEN = 4;
/** PM1a_CNT_BLK: PM1a_CNT (2 bytes). */
export const PM1A_CNT_BLK = ACPI_PM_BASE + 4;
export const PM1_CNT_LEN = 2;
/** PM_TMR_BLK: the 32-bit timer register (24 bits count). */
export const PM_TMR_BLK = ACPI_PM_BASE + 8;
export const PM_TMR_LEN = 4;
/** The FADT's RESET_REG: one byte. */
export const ACPI_RESET_PORT = ACPI_PM_BASE + 0x0c;
/** RESET_VALUE: SYS_RST | RST_CPU, as on the PIIX's 0xCF9. */
export const ACPI_RESET_VALUE = 0x06;
/** The IRQ the SCI is wired to (FADT SCI_INT). */
export const SCI_IRQ = 9;
/** The SLP_TYP value the DSDT's \_S5 package gives for the soft-off state. */
export const SLP_TYP_S5 = 5;
/** PM timer frequency in Hz (§4.8.3.3). */
export const PM_TIMER_HZ = 3_579_545;

/** PM1_STS / PM1_EN bits (§4.8.3.1.1, §4.8.3.1.2). */
export const enum Pm1Event {
  TMR = 1 << 0,
  BM = 1 << 4,
  GBL = 1 << 5,
  PWRBTN = 1 << 8,
  SLPBTN = 1 << 9,
  RTC = 1 << 10,
  WAK = 1 << 15,
}

/** PM1_CNT bits (§4.8.3.2.1). */
export const enum Pm1Control {
  SCI_EN = 1 << 0,
  BM_RLD = 1 << 1,
  GBL_RLS = 1 << 2,
  SLP_TYP_SHIFT = 10,
  SLP_TYP_MASK = 7 << 10,
  SLP_EN = 1 << 13,
}

/** Status bits this machine can ever set (the rest read 0 and ignore writes). */
const STS_IMPLEMENTED = Pm1Event.TMR | Pm1Event.GBL | Pm1Event.PWRBTN | Pm1Event.WAK;
/**
 * Enable bits this machine keeps. RTC_EN is kept although RTC_STS never sets (the FADT's FIX_RTC
 * says so): Linux's rtc-cmos installs an RTC event handler regardless and checks that the enable
 * bit reads back.
 */
const EN_IMPLEMENTED = Pm1Event.TMR | Pm1Event.GBL | Pm1Event.PWRBTN | Pm1Event.RTC;
const TICKS_PER_NS = PM_TIMER_HZ / 1e9;
const TMR_MSB_PERIOD = 1 << 23;
/** PIIX reset control register bits. */
const RC_RST_CPU = 0x04;

export interface AcpiPmOptions {
  clock: VirtualClock;
  /** Drives the SCI line (level, active high at the interrupt controller). */
  setSci: (level: boolean) => void;
  /** The guest entered S5: the machine is off. */
  powerOff: () => void;
  /** The guest wrote the reset register. */
  reset: (source: string) => void;
  /** A guest request the machine refuses (for the user). */
  notice: (text: string) => void;
}

const ACPI_PM_FIELDS = ['sts', 'en', 'cnt', 'tmrClearedEpoch', 'resetControl', 'sciLevel'] as const;

export class AcpiPm {
  /** PM1_STS bits other than TMR_STS (which follows the timer). */
  private sts = 0;
  private en = 0;
  /** PM1_CNT bits that read back: BM_RLD and the last SLP_TYP. */
  private cnt = 0;
  /** The timer's bit-23 period count when TMR_STS was last cleared. */
  private tmrClearedEpoch = 0;
  private resetControl = 0;
  private sciLevel = false;
  private readonly tmrTimer: Timer;
  /** Sleep requests refused, by SLP_TYP. */
  readonly refusedSleeps = new Uint32Array(8);

  constructor(private readonly options: AcpiPmOptions) {
    this.tmrTimer = options.clock.timer('acpi-pm-timer', () => this.updateSci());
  }

  /** PM1 event and control registers, the reset register and the SCI level. */
  saveSnapshotState(w: StateWriter): void {
    saveFields(w, this, ACPI_PM_FIELDS);
    w.bytes('refusedSleeps', this.refusedSleeps);
  }

  loadSnapshotState(r: StateReader): void {
    loadFields(r, this, ACPI_PM_FIELDS);
    r.into('refusedSleeps', this.refusedSleeps);
  }

  attach(io: PortSpace): void {
    io.register(PM1A_EVT_BLK, PM1_EVT_LEN, 'acpi-pm1a-evt', {
      read8: (port) => this.readEvtByte(port - PM1A_EVT_BLK),
      read16: (port) => {
        const at = port - PM1A_EVT_BLK;
        return at === 0
          ? this.pm1Status()
          : at === 2
            ? this.en
            : this.readEvtByte(at) | (this.readEvtByte(at + 1) << 8);
      },
      write8: (port, value) => this.writeEvtByte(port - PM1A_EVT_BLK, value & 0xff),
      write16: (port, value) => {
        const at = port - PM1A_EVT_BLK;
        this.writeEvtByte(at, value & 0xff);
        this.writeEvtByte(at + 1, (value >>> 8) & 0xff);
      },
    });
    io.register(PM1A_CNT_BLK, PM1_CNT_LEN, 'acpi-pm1a-cnt', {
      read8: (port) => (this.readCnt() >>> (8 * (port - PM1A_CNT_BLK))) & 0xff,
      read16: (port) => (port === PM1A_CNT_BLK ? this.readCnt() : this.readCnt() >>> 8),
      write8: (port, value) => {
        const shift = 8 * (port - PM1A_CNT_BLK);
        const keep = this.readCnt() & ~(0xff << shift) & ~Pm1Control.SLP_EN;
        this.writeCnt(keep | ((value & 0xff) << shift));
      },
      write16: (port, value) => {
        if (port === PM1A_CNT_BLK) this.writeCnt(value & 0xffff);
        else this.writeCnt((this.readCnt() & 0xff) | ((value & 0xff) << 8));
      },
    });
    io.register(PM_TMR_BLK, PM_TMR_LEN, 'acpi-pm-timer', {
      read8: (port) => (this.timerValue() >>> (8 * (port - PM_TMR_BLK))) & 0xff,
      read16: (port) => (this.timerValue() >>> (8 * (port - PM_TMR_BLK))) & 0xffff,
      read32: (port) => this.timerValue() >>> (8 * (port - PM_TMR_BLK)),
      // The timer is read-only.
      write8: () => undefined,
      write16: () => undefined,
      write32: () => undefined,
    });
    io.register(ACPI_RESET_PORT, 1, 'acpi-reset', {
      read8: () => this.resetControl,
      write8: (_port, value) => this.writeReset(value & 0xff),
    });
  }

  /** The PM timer's 24-bit count now. */
  timerValue(): number {
    return this.ticks() % 0x1000000;
  }

  /** The fixed-feature power button was pressed: PWRBTN_STS is set (an SCI if enabled). */
  pressPowerButton(): void {
    this.sts |= Pm1Event.PWRBTN;
    this.updateSci();
  }

  /** Whether the SCI line is asserted. */
  get sci(): boolean {
    return this.sciLevel;
  }

  private ticks(): number {
    return Math.floor(this.options.clock.now() * TICKS_PER_NS);
  }

  private epoch(): number {
    return Math.floor(this.ticks() / TMR_MSB_PERIOD);
  }

  private pm1Status(): number {
    return this.epoch() !== this.tmrClearedEpoch ? this.sts | Pm1Event.TMR : this.sts;
  }

  /** Byte `at` of the event block (PM1_STS low, high, PM1_EN low, high); all ones past its end. */
  private readEvtByte(at: number): number {
    if (at >= PM1_EVT_LEN) return 0xff;
    const reg = at < 2 ? this.pm1Status() : this.en;
    return (reg >>> (8 * (at & 1))) & 0xff;
  }

  /** Writes byte `at` of the event block: status bits are cleared by writing 1, enable bits are stored. */
  private writeEvtByte(at: number, value: number): void {
    if (at >= PM1_EVT_LEN) return;
    const shift = 8 * (at & 1);
    if (at < 2) {
      const clear = value << shift;
      if ((clear & Pm1Event.TMR) !== 0) this.tmrClearedEpoch = this.epoch();
      this.sts &= ~clear;
    } else {
      this.en = (this.en & ~(0xff << shift)) | ((value << shift) & EN_IMPLEMENTED);
    }
    this.updateSci();
  }

  private readCnt(): number {
    return this.cnt | Pm1Control.SCI_EN;
  }

  private writeCnt(value: number): void {
    this.cnt = value & (Pm1Control.BM_RLD | Pm1Control.SLP_TYP_MASK);
    if ((value & Pm1Control.SLP_EN) === 0) return;
    const type = (value & Pm1Control.SLP_TYP_MASK) >>> Pm1Control.SLP_TYP_SHIFT;
    if (type === SLP_TYP_S5) {
      this.options.powerOff();
      return;
    }
    this.refusedSleeps[type]++;
    this.options.notice(
      `plex86: the guest asked for ACPI sleep type ${type} (SLP_TYP), which this machine does not have (only ${SLP_TYP_S5}, soft-off); ignored`,
    );
  }

  private writeReset(value: number): void {
    // RST_CPU is self-clearing: the write itself is the pulse.
    this.resetControl = value & ~RC_RST_CPU;
    if ((value & RC_RST_CPU) !== 0) this.options.reset('ACPI reset register');
  }

  /** Recomputes the SCI level; while the timer event is enabled and clear, arms a timer for its next change. */
  private updateSci(): void {
    const level = (this.pm1Status() & this.en & STS_IMPLEMENTED) !== 0;
    if (level !== this.sciLevel) {
      this.sciLevel = level;
      this.options.setSci(level);
    }
    const clock = this.options.clock;
    if ((this.en & Pm1Event.TMR) !== 0 && !level) {
      const nextTick = (this.epoch() + 1) * TMR_MSB_PERIOD;
      // One ns late, so rounding never lands the deadline just before the bit changes.
      clock.arm(this.tmrTimer, Math.ceil(nextTick / TICKS_PER_NS) + 1);
    } else if (this.tmrTimer.armed) clock.cancel(this.tmrTimer);
  }
}
