import { Attr, Cpu } from '../../src/cpu/cpu.js';
import { Seg } from '../../src/cpu/registers.js';
import { Engine, resolveHandler, type InterruptLine } from '../../src/engine/engine.js';
import { SbeBlockSource } from '../../src/engine/sbe-source.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';

/** Where haltOnVector puts the descriptor tables. */
const GDT = 0x20000;
const IDT = 0x21000;

export interface FlatMachine {
  cpu: Cpu;
  engine: Engine;
  blocks: SbeBlockSource;
  /** The guest's RAM as little-endian words. */
  view: DataView;
}

/**
 * A machine of 1 MiB in 32-bit protected mode with flat 4 GiB segments (code through selector
 * 0x10) and no descriptor tables yet, run by the engine on the SBE block source: the setting of the
 * run loop's tests. `intr` makes the interrupt line the engine looks at, if there is one.
 */
export function flatMachine(intr?: (cpu: Cpu) => InterruptLine): FlatMachine {
  const mem = new PhysicalMemory({ ramSize: 1 << 20 });
  const cpu = new Cpu(mem, new PortSpace());
  const blocks = new SbeBlockSource(mem, resolveHandler);
  blocks.onInvalidate = () => cpu.requestExit();
  const engine = new Engine(cpu, blocks, intr?.(cpu));
  const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  cpu.setCr0(cpu.cr0 | 1);
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? attr | Attr.CODE : attr);
  return { cpu, engine, blocks, view: new DataView(mem.ram.buffer, mem.ram.byteOffset) };
}

/**
 * Makes `vector` go to a HLT at `handler` through an interrupt gate: a GDT (at 0x20000) with the
 * flat code segment at selector 0x10, and an IDT (at 0x21000) with that gate.
 */
export function haltOnVector({ cpu, view }: FlatMachine, vector: number, handler: number): void {
  view.setUint32(GDT + 0x10, 0x0000ffff, true);
  view.setUint32(GDT + 0x14, 0x00cf9a00, true);
  cpu.setGdt(GDT, 0x17);
  const gate = IDT + vector * 8;
  view.setUint32(gate, (0x10 << 16) | (handler & 0xffff), true);
  view.setUint32(gate + 4, (handler & 0xffff0000) | 0x8e00, true);
  cpu.setIdt(IDT, 0x7ff);
  cpu.ram[handler] = 0xf4;
}
