/**
 * One call that gives a machine its HAL devices: the PCI bus (host bridge, PIIX3) if the machine
 * has none yet, a virtio-blk function per disk (its geometry asked from the block service first)
 * a virtio-console function per console with its input endpoint, and a virtio-net function per
 * network interface.
 */

import { BusError, methodClient, vmSubject, type Bus, type BusService } from '@plex86/bus';
import { BlockServiceDefinition } from '@plex86/proto';
import type { PortSpace } from '../io/port-space.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { PciBus, type SetIrq } from '../pci/pci-bus.js';
import { VirtioBlock, type WorkTracker } from './block.js';
import { serveVirtioConsoleInput, VirtioConsole } from './console.js';
import { VirtioNet, type NetLink } from './net.js';

export interface VirtioDiskSpec {
  /** Disk id (DiskConfig.id): served on plex86.<vm>.block.<id>. */
  id: string;
  /** Show the guest a read-only device (DiskConfig.read_only). */
  readOnly?: boolean;
  /** Where the image lives, for snapshots (absent when a storage service on the bus serves it). */
  source?: VirtioDiskSource;
}

/** A disk opened by the process that runs the VM: a snapshot records it, a restore reopens it. */
export interface VirtioDiskSource {
  /** The disk as `plex86 run --disk` takes it, with absolute paths. */
  spec: string;
  /** The image's format when known. */
  format?: 'raw' | 'qcow2';
  /** The files the disk reads (image, then overlay): their size and modification time are checked on restore. */
  files: string[];
}

export interface VirtioNetSpec {
  /** Interface id (NetConfig.id). */
  id: string;
  /** Six colon-separated hex bytes. */
  mac: string;
  /** Where frames go and come from: a port on a network segment (hal-net's SegmentPort). */
  link: NetLink;
  /** The segment's name, for snapshots. */
  segment?: string;
}

export interface VirtioConsoleSpec {
  /** Console id (ConsoleConfig.id of a CONSOLE_DEVICE_VIRTIO console). */
  id: string;
}

export interface AttachVirtioOptions {
  bus: Bus;
  vm: string;
  io: PortSpace;
  mem: PhysicalMemory;
  /** Drives ISA IRQ lines with level semantics (the PIC's ELCR makes them level-triggered). */
  setIrq: SetIrq;
  /** Called when an asynchronous completion changed guest-visible state (wakes a halted CPU). */
  onEvent: () => void;
  /** The run loop's counter of asynchronous operations (begin when a block request leaves, end when it settles). */
  work?: WorkTracker;
  disks?: readonly VirtioDiskSpec[];
  consoles?: readonly VirtioConsoleSpec[];
  nets?: readonly VirtioNetSpec[];
  /** An existing PCI bus; one is created (claiming 0xCF8-0xCFF) when absent. */
  pci?: PciBus;
  /** Virtual time for console output stamps. */
  virtualTimeNs?: () => bigint;
  /** Timeout of each block request on the bus. */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface VirtioDevices {
  readonly pci: PciBus;
  readonly blocks: readonly VirtioBlock[];
  readonly consoles: readonly VirtioConsole[];
  readonly nets: readonly VirtioNet[];
  /** Whether any device waits for a backend reply (a halted machine must not end then). */
  readonly busy: boolean;
  /** Whether a network interface takes frames from its segment's peers (see Machine.addPacedSource). */
  readonly paced: boolean;
  /** Stops the console input endpoints. */
  close(): Promise<void>;
}

/**
 * Attaches the devices in order (disks first, then consoles, each in the next free PCI slot).
 * Fails with a message naming the disk when its block service does not answer.
 */
export async function attachVirtioDevices(options: AttachVirtioOptions): Promise<VirtioDevices> {
  const { bus, vm, mem } = options;
  const pci = options.pci ?? new PciBus(options.io, options.setIrq);
  const blocks: VirtioBlock[] = [];
  const consoles: VirtioConsole[] = [];
  const nets: VirtioNet[] = [];
  const services: BusService[] = [];
  for (const disk of options.disks ?? []) {
    const subject = vmSubject(vm, 'block', disk.id);
    let geometry;
    try {
      const reply = await methodClient(bus, subject, BlockServiceDefinition).getBlockGeometry(
        { requestId: `${vm}-${disk.id}-geometry-${Date.now().toString(36)}` },
        options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs },
      );
      geometry = reply.geometry;
    } catch (e) {
      const why = e instanceof BusError ? `${e.codeName}: ${e.message}` : String(e);
      throw new Error(`disk ${disk.id}: no geometry from ${subject} (is the storage service serving it?): ${why}`, {
        cause: e,
      });
    }
    if (geometry === undefined) throw new Error(`disk ${disk.id}: ${subject} answered without a geometry`);
    const device = new VirtioBlock(mem, {
      bus,
      vm,
      disk: disk.id,
      geometry,
      readOnly: disk.readOnly,
      onEvent: options.onEvent,
      work: options.work,
      requestTimeoutMs: options.requestTimeoutMs,
      log: options.log,
    });
    pci.addDevice(device);
    blocks.push(device);
  }
  try {
    for (const spec of options.consoles ?? []) {
      const device = new VirtioConsole(mem, {
        bus,
        vm,
        consoleId: spec.id,
        onEvent: options.onEvent,
        virtualTimeNs: options.virtualTimeNs,
      });
      pci.addDevice(device);
      consoles.push(device);
      services.push(await serveVirtioConsoleInput(bus, vm, device));
    }
    for (const spec of options.nets ?? []) {
      const device = new VirtioNet(mem, { id: spec.id, mac: spec.mac, link: spec.link, onEvent: options.onEvent });
      pci.addDevice(device);
      nets.push(device);
    }
  } catch (e) {
    await Promise.all(services.map((s) => s.stop()));
    throw e;
  }
  return {
    pci,
    blocks,
    consoles,
    nets,
    get busy() {
      return blocks.some((b) => b.busy);
    },
    get paced() {
      return nets.some((n) => n.receiving);
    },
    close: async () => {
      await Promise.all(services.map((s) => s.stop()));
    },
  };
}
