/**
 * A machine's state as a MachineState message and back: every stateful part as a named component,
 * RAM as runs of non-zero pages. Capture needs the CPU at an instruction boundary with no device
 * work in flight (Machine.holdAtBoundary); restore goes into a machine built with the same setup.
 * Derived caches (TLB, scanned and compiled blocks) are not saved: a restore rebuilds them.
 */

import type { ComponentState, MachineSetup, MachineState, PageRun } from '@plex86/proto';
import { describeSavedCpu } from '../cpu/cpu.js';
import type { Machine } from '../machine/machine.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../memory/physical-memory.js';
import type { PciBus } from '../pci/pci-bus.js';
import type { VirtioPciDevice } from '../virtio/pci-transport.js';
import { SnapshotError, StateReader, StateWriter } from './state.js';

/**
 * Field layout version of every component written by this code. Version 2 (an FPU with valid-tag
 * marks) is refused: the FPU writes version 1's fields again.
 */
export const COMPONENT_VERSION = 1;

/** What a snapshot covers besides the Machine: the PCI bus and virtio devices of a run. */
export interface SnapshotTarget {
  readonly machine: Machine;
  readonly pci?: PciBus;
  /** Virtio devices by id ("vda", "hvc0", "eth0"), in PCI order. */
  readonly virtio?: readonly { readonly id: string; readonly device: VirtioPciDevice }[];
}

interface Part {
  readonly id: string;
  save(w: StateWriter): void;
  load(r: StateReader): void;
}

/**
 * The machine's parts in load order. The PIC comes last: devices restoring their interrupt lines
 * (PCI INTx) drive it, and its saved state already reflects those lines.
 */
function parts(target: SnapshotTarget): Part[] {
  const m = target.machine;
  const p = m.platform;
  const list: Part[] = [
    { id: 'memory', save: (w) => m.mem.saveSnapshotState(w), load: (r) => m.mem.loadSnapshotState(r) },
    { id: 'cpu', save: (w) => m.cpu.saveSnapshotState(w), load: (r) => m.cpu.loadSnapshotState(r) },
    { id: 'fpu', save: (w) => m.cpu.fpu.saveSnapshotState(w), load: (r) => m.cpu.fpu.loadSnapshotState(r) },
    { id: 'clock', save: (w) => m.clock.saveSnapshotState(w), load: (r) => m.clock.loadSnapshotState(r) },
    { id: 'pit', save: (w) => p.pit.saveSnapshotState(w), load: (r) => p.pit.loadSnapshotState(r) },
    { id: 'rtc', save: (w) => p.rtc.saveSnapshotState(w), load: (r) => p.rtc.loadSnapshotState(r) },
    { id: 'kbc', save: (w) => p.kbc.saveSnapshotState(w), load: (r) => p.kbc.loadSnapshotState(r) },
    { id: 'acpi', save: (w) => m.acpi.saveSnapshotState(w), load: (r) => m.acpi.loadSnapshotState(r) },
  ];
  const uart = m.uart;
  if (uart !== undefined) {
    list.push({ id: 'com1', save: (w) => uart.saveSnapshotState(w), load: (r) => uart.loadSnapshotState(r) });
  }
  const pci = target.pci;
  if (pci !== undefined) {
    list.push({ id: 'pci', save: (w) => pci.saveSnapshotState(w), load: (r) => pci.loadSnapshotState(r) });
  }
  for (const { id, device } of target.virtio ?? []) {
    list.push({
      id: `virtio-${id}`,
      save: (w) => device.saveVirtioState(w),
      load: (r) => device.loadVirtioState(r),
    });
  }
  list.push({ id: 'pic', save: (w) => p.pic.saveSnapshotState(w), load: (r) => p.pic.loadSnapshotState(r) });
  return list;
}

/** Runs of pages that hold anything but zeros, ascending. */
export function nonZeroPageRuns(ram: Uint8Array): PageRun[] {
  const words = new Int32Array(ram.buffer, ram.byteOffset, ram.byteLength >>> 2);
  const wordsPerPage = PAGE_SIZE >>> 2;
  const pages = ram.byteLength >>> PAGE_SHIFT;
  const runs: PageRun[] = [];
  let start = -1;
  for (let page = 0; page <= pages; page++) {
    let used = false;
    if (page < pages) {
      const end = (page + 1) * wordsPerPage;
      for (let i = page * wordsPerPage; i < end; i++) {
        if (words[i] !== 0) {
          used = true;
          break;
        }
      }
    }
    if (used && start < 0) start = page;
    else if (!used && start >= 0) {
      runs.push({ firstPage: BigInt(start), pageCount: BigInt(page - start) });
      start = -1;
    }
  }
  return runs;
}

/** Captures the machine's state (RAM contents stay in RAM; `ram.runs` says which pages to store). */
export function captureMachineState(target: SnapshotTarget, setup: MachineSetup): MachineState {
  const m = target.machine;
  if (m.workInFlight > 0) throw new SnapshotError('device requests are in flight; hold the machine first');
  const components: ComponentState[] = [];
  for (const part of parts(target)) {
    const w = new StateWriter(part.id, COMPONENT_VERSION);
    part.save(w);
    components.push(w.finish());
  }
  return {
    setup,
    components,
    ram: { sizeBytes: BigInt(m.mem.ramSize), runs: nonZeroPageRuns(m.mem.ram) },
    instructionsRetired: BigInt(m.cpu.instructions),
    virtualTimeNs: BigInt(Math.round(m.clock.now())),
  };
}

/** Checks that RAM runs are ascending, disjoint and inside RAM; returns the pages they hold. */
export function checkPageRuns(runs: readonly PageRun[], ramBytes: number): number {
  const pages = ramBytes / PAGE_SIZE;
  let next = 0;
  let total = 0;
  for (const [i, run] of runs.entries()) {
    const first = Number(run.firstPage);
    const count = Number(run.pageCount);
    if (count < 1 || first < next || first + count > pages) {
      throw new SnapshotError(
        `RAM run ${i} (pages ${first}+${count}) is empty, out of order or outside the ${pages} pages of RAM`,
      );
    }
    next = first + count;
    total += count;
  }
  return total;
}

/**
 * Loads the components into a machine built with the snapshot's setup. RAM contents follow
 * separately, and with them the flush of scanned and compiled code (restoreSnapshot). Every
 * component must be present, and no other.
 */
export function restoreMachineState(target: SnapshotTarget, state: MachineState): void {
  const m = target.machine;
  const size = Number(state.ram?.sizeBytes ?? 0n);
  if (size !== m.mem.ramSize) {
    throw new SnapshotError(`the snapshot has ${size} bytes of RAM, the machine ${m.mem.ramSize}`);
  }
  const byId = new Map<string, ComponentState>();
  for (const c of state.components) {
    if (byId.has(c.id)) throw new SnapshotError(`component ${c.id} appears twice`);
    byId.set(c.id, c);
  }
  const list = parts(target);
  for (const part of list) {
    if (!byId.has(part.id)) throw new SnapshotError(`the snapshot has no state for ${part.id}`);
  }
  const known = new Set(list.map((p) => p.id));
  for (const id of byId.keys()) {
    if (!known.has(id)) throw new SnapshotError(`the snapshot holds state for ${id}, which this machine does not have`);
  }
  for (const part of list) part.load(new StateReader(byId.get(part.id) as ComponentState, COMPONENT_VERSION));
  if (BigInt(m.cpu.instructions) !== state.instructionsRetired) {
    throw new SnapshotError('the CPU state disagrees with the snapshot on the instruction count');
  }
  m.cpu.requestExit();
}

/** One line about the CPU of a snapshot (CS:EIP, privilege, mode), for `plex86 snapshot info`. */
export function describeCpu(state: MachineState): string {
  const cpu = state.components.find((c) => c.id === 'cpu');
  if (cpu === undefined) return 'no CPU state';
  try {
    return describeSavedCpu(new StateReader(cpu, COMPONENT_VERSION));
  } catch (e) {
    if (e instanceof SnapshotError) return `unreadable CPU state (${e.message})`;
    throw e;
  }
}
