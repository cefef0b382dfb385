/**
 * Virtual time. The guest's clock is the CPU's count of instruction-times (`Cpu.instructions`: one
 * per executed instruction, more for a PAUSE) at a fixed virtual CPU frequency, plus a warp offset
 * that grows when a halted guest skips ahead to its next timer event, so runs are reproducible and
 * idling costs nothing. The time-stamp counter ticks once per instruction-time (it is the same
 * count), so a TSC calibrated against the PIT agrees with it.
 *
 * Devices own one `Timer` each and re-arm it; nothing is allocated when a timer fires.
 */

import { WIDE_ZERO, type Cpu } from '../cpu/cpu.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';

/** 5 ns per instruction: a 200 MHz virtual CPU (and a 200 MHz TSC). */
export const DEFAULT_NS_PER_INSTRUCTION = 5;

export type TimerCallback = (nowNs: number) => void;

/** A device's timer: armed for one deadline at a time, re-armed by its owner. */
export class Timer {
  /** Virtual nanoseconds at which it fires; Infinity while disarmed. */
  deadline = Infinity;
  constructor(
    readonly name: string,
    readonly fire: TimerCallback,
  ) {}
  get armed(): boolean {
    return this.deadline !== Infinity;
  }
}

export class VirtualClock {
  readonly nsPerInstruction: number;
  /** Instruction-times added by warps (also added to the CPU's TSC offset). */
  private warped = WIDE_ZERO;
  private readonly timers: Timer[] = [];
  /** The earliest armed deadline (cached; timers change far less often than it is read). */
  private next = Infinity;
  /**
   * Called when a timer is armed before `horizon`: the run loop sets the horizon to the end of the
   * slice it is running (and back to -Infinity after it), so a guest that programs an earlier event
   * gets the slice cut short.
   */
  onEarlier: (() => void) | undefined = undefined;
  horizon = -Infinity;

  constructor(
    private readonly cpu: Cpu,
    nsPerInstruction = DEFAULT_NS_PER_INSTRUCTION,
  ) {
    if (!(nsPerInstruction > 0) || !Number.isFinite(nsPerInstruction)) {
      throw new RangeError(`nsPerInstruction must be a positive number, got ${nsPerInstruction}`);
    }
    this.nsPerInstruction = nsPerInstruction;
  }

  /** Virtual nanoseconds since the CPU's reset. */
  now(): number {
    return (this.cpu.instructions + this.warped) * this.nsPerInstruction;
  }

  /** The virtual CPU (and TSC) frequency in Hz. */
  get hz(): number {
    return 1e9 / this.nsPerInstruction;
  }

  /** Creates a timer (devices create theirs once, at attach time). */
  timer(name: string, fire: TimerCallback): Timer {
    const t = new Timer(name, fire);
    this.timers.push(t);
    return t;
  }

  arm(timer: Timer, deadlineNs: number): void {
    if (Number.isNaN(deadlineNs)) throw new RangeError(`timer ${timer.name}: deadline is NaN`);
    timer.deadline = deadlineNs;
    if (deadlineNs < this.next) {
      this.next = deadlineNs;
      if (deadlineNs < this.horizon) this.onEarlier?.();
    } else this.recompute();
  }

  cancel(timer: Timer): void {
    if (timer.deadline === Infinity) return;
    timer.deadline = Infinity;
    this.recompute();
  }

  /** The earliest armed deadline in virtual ns (Infinity when none). */
  nextDeadline(): number {
    return this.next;
  }

  /** Instructions to run before `deadlineNs` is reached (at least 1 when it lies in the future). */
  instructionsUntil(deadlineNs: number): number {
    const d = deadlineNs - this.now();
    return d <= 0 ? 0 : Math.ceil(d / this.nsPerInstruction);
  }

  /** Fires every timer whose deadline has passed (each is disarmed first and may re-arm). */
  runDue(): number {
    let fired = 0;
    // A callback may re-arm at a time that is already due; bounded passes keep that from spinning.
    for (let pass = 0; pass < 8 && this.next <= this.now(); pass++) {
      const now = this.now();
      const timers = this.timers;
      for (let i = 0; i < timers.length; i++) {
        const t = timers[i];
        if (t.deadline <= now) {
          t.deadline = Infinity;
          fired++;
          t.fire(now);
        }
      }
      this.recompute();
    }
    return fired;
  }

  /** Moves virtual time forward to `ns` (never back); the TSC moves with it. */
  warpTo(ns: number): void {
    const d = ns - this.now();
    if (!(d > 0) || !Number.isFinite(d)) return;
    const n = Math.ceil(d / this.nsPerInstruction);
    this.warped += n;
    this.cpu.tscOffset += n;
  }

  /** Warped time and every timer's deadline, by name (devices create their timers in a fixed order). */
  saveSnapshotState(w: StateWriter): void {
    w.number('nsPerInstruction', this.nsPerInstruction);
    w.number('warped', this.warped);
    for (const t of this.timers) w.number(`timer.${t.name}`, t.deadline);
  }

  loadSnapshotState(r: StateReader): void {
    const ns = r.number('nsPerInstruction');
    if (ns !== this.nsPerInstruction) {
      throw r.error('nsPerInstruction', `is ${ns}, but this machine runs at ${this.nsPerInstruction}`);
    }
    this.warped = r.int('warped', 0, Number.MAX_SAFE_INTEGER);
    for (const t of this.timers) t.deadline = r.deadline(`timer.${t.name}`);
    this.recompute();
  }

  private recompute(): void {
    let next = Infinity;
    const timers = this.timers;
    for (let i = 0; i < timers.length; i++) if (timers[i].deadline < next) next = timers[i].deadline;
    this.next = next;
  }
}
