/**
 * The PC platform a stock kernel needs besides RAM and the CPU: the 8259A pair as the only
 * interrupt controller, the 8254 timer with port 61h, the CMOS/RTC, the keyboard controller with
 * ports 92h and 80h, all on one I/O port space and driven by one virtual clock.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { PortSpace } from '../io/port-space.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { VirtualClock } from './clock.js';
import { I8042, type ResetRequest } from './i8042.js';
import { Pic } from './pic.js';
import { Pit } from './pit.js';
import { Rtc } from './rtc.js';

/** The PC's ISA interrupt lines. */
export const enum Irq {
  TIMER = 0,
  KEYBOARD = 1,
  COM2 = 3,
  COM1 = 4,
  RTC = 8,
  MOUSE = 12,
  FPU = 13,
}

export interface PcPlatformOptions {
  /** Virtual nanoseconds per executed instruction (see clock.ts). */
  nsPerInstruction?: number;
  /** The RTC's wall-clock time at virtual time 0 (ms since the epoch; default: now). */
  rtcStartTime?: number;
  /** Called when the guest pulses the reset line (8042 command FEh, port 92h bit 0). */
  reset: ResetRequest;
}

export class PcPlatform {
  readonly clock: VirtualClock;
  readonly pic: Pic;
  readonly pit: Pit;
  readonly rtc: Rtc;
  readonly kbc: I8042;

  constructor(cpu: Cpu, mem: PhysicalMemory, io: PortSpace, options: PcPlatformOptions) {
    this.clock = new VirtualClock(cpu, options.nsPerInstruction);
    const pic = new Pic();
    this.pic = pic;
    this.pit = new Pit(this.clock, (level) => pic.setIrq(Irq.TIMER, level));
    this.rtc = new Rtc(this.clock, (level) => pic.setIrq(Irq.RTC, level), {
      memory: mem.ramSize,
      startTime: options.rtcStartTime,
    });
    this.kbc = new I8042({
      setIrq: (irq, level) => pic.setIrq(irq, level),
      reset: options.reset,
      setA20: (enabled) => mem.setA20(enabled),
    });
    pic.attach(io);
    this.pit.attach(io);
    this.rtc.attach(io);
    this.kbc.attach(io);
  }
}
