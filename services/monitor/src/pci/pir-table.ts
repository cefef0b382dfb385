/**
 * The $PIR interrupt routing table (Microsoft "PCI IRQ Routing Table Specification" 1.0), which
 * firmware leaves on a 16-byte boundary in 0xF0000-0xFFFFF. Without ACPI, Linux's
 * arch/x86/pci/irq.c finds it there, finds the router it names (our PIIX3) and reads the PIRQ
 * registers to learn each slot's IRQ, setting the ELCR to level for it.
 *
 * Layout: a 32-byte header (signature, version 1.0, size, router bus/devfn, exclusive IRQs,
 * compatible router vendor/device, miniport data, 11 reserved bytes, checksum making all bytes sum
 * to 0), then one 16-byte entry per slot (bus, devfn, four (link, IRQ bitmap) pairs, slot, reserved).
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { INTEL_VENDOR_ID, PIIX3_ISA_DEVICE_ID, PIIX3_PIRQ_ROUTE } from './chipset.js';
import { ISA_BRIDGE_SLOT, pirqLink, type PciBus, PCI_SLOT_COUNT } from './pci-bus.js';

export const PIR_SIGNATURE = 0x52495024; // '$PIR' little-endian
export const PIR_HEADER_SIZE = 32;
export const PIR_ENTRY_SIZE = 16;
/** Where the table goes by default: a quiet spot in the BIOS segment. */
export const PIR_DEFAULT_ADDRESS = 0xfdf00;
/** IRQs a PIRQ link may be steered to: 3, 4, 5, 7, 9, 10, 11, 12, 14, 15. */
export const PIR_IRQ_BITMAP = 0xdeb8;

/** Builds the table for the slots that hold a device (the chipset's own slots included). */
export function buildPirTable(pci: PciBus): Uint8Array {
  const slots: number[] = [];
  for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) if (pci.device(slot) !== undefined) slots.push(slot);
  const size = PIR_HEADER_SIZE + PIR_ENTRY_SIZE * slots.length;
  const t = new Uint8Array(size);
  const v = new DataView(t.buffer);
  v.setUint32(0, PIR_SIGNATURE, true);
  v.setUint16(4, 0x0100, true);
  v.setUint16(6, size, true);
  t[8] = 0;
  t[9] = ISA_BRIDGE_SLOT << 3;
  v.setUint16(10, 0, true);
  v.setUint16(12, INTEL_VENDOR_ID, true);
  v.setUint16(14, PIIX3_ISA_DEVICE_ID, true);
  slots.forEach((slot, i) => {
    const at = PIR_HEADER_SIZE + PIR_ENTRY_SIZE * i;
    t[at] = 0;
    t[at + 1] = slot << 3;
    for (let pin = 1; pin <= 4; pin++) {
      // The link value is what Linux's PIIX router passes back as the config register to read.
      t[at + 2 + 3 * (pin - 1)] = PIIX3_PIRQ_ROUTE + pirqLink(slot, pin);
      v.setUint16(at + 3 + 3 * (pin - 1), PIR_IRQ_BITMAP, true);
    }
    // Slot 0 means "embedded on the board", which all of ours are.
    t[at + 14] = 0;
  });
  let sum = 0;
  for (let i = 0; i < size; i++) sum += t[i];
  t[31] = -sum & 0xff;
  return t;
}

/**
 * Writes the table into guest memory at `address` (16-byte aligned, inside 0xF0000-0xFFFFF and in
 * RAM) for a kernel booted without firmware. Returns the table's size.
 */
export function writePirTable(mem: PhysicalMemory, pci: PciBus, address = PIR_DEFAULT_ADDRESS): number {
  const table = buildPirTable(pci);
  if (address % 16 !== 0 || address < 0xf0000 || address + table.length > 0x100000) {
    throw new RangeError(
      `the $PIR table must sit on a 16-byte boundary in 0xF0000-0xFFFFF, got 0x${address.toString(16)}`,
    );
  }
  if (address + table.length > mem.ramSize) throw new RangeError('the $PIR table lies beyond guest RAM');
  mem.ram.set(table, address);
  for (let p = address >>> 12; p <= (address + table.length - 1) >>> 12; p++) {
    if (mem.codePages[p] !== 0) mem.codeWritten(p << 12, 4096);
  }
  return table.length;
}
