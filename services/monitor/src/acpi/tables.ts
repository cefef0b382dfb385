/**
 * The ACPI tables a kernel booted without firmware finds in the BIOS area (ACPI 6.5 §5.2): an
 * ACPI 1.0 RSDP on a 16-byte boundary (Linux scans 0xE0000-0xFFFFF for it), an RSDT listing the
 * FADT, the FADT (revision 3, the ACPI 2.0 layout, for RESET_REG and IAPC_BOOT_ARCH) with its FACS,
 * and a DSDT that gives the soft-off sleep type (\_S5) and the PCI root bridge with its windows and
 * a static interrupt routing table.
 *
 * There is no MADT: the machine is a uniprocessor with the 8259A pair and no local or I/O APIC,
 * which is what an OS assumes when the MADT is missing.
 *
 * The PCI interrupt routing (_PRT) names IRQs directly instead of link devices: the PIIX3's PIRQ
 * registers start out routed like firmware leaves them (PciBus' defaults), and an OS using ACPI
 * for routing does not reprogram them when every entry is a fixed GSI.
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { PCI_SLOT_COUNT, pirqLink } from '../pci/pci-bus.js';
import {
  AddressSpace,
  buffer,
  device,
  dwordAddressSpace,
  eisaId,
  END_TAG,
  integer,
  IO_ENTIRE_RANGE,
  MEM_CACHEABLE_RW,
  MEM_NONCACHEABLE_RW,
  name,
  pkg,
  scope,
  wordAddressSpace,
} from './aml.js';
import {
  ACPI_RESET_PORT,
  ACPI_RESET_VALUE,
  PM1_CNT_LEN,
  PM1_EVT_LEN,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM_TMR_BLK,
  PM_TMR_LEN,
  SCI_IRQ,
  SLP_TYP_S5,
} from './pm.js';

/** Where the tables go by default: the start of the BIOS segment, well below the $PIR table. */
export const ACPI_TABLES_ADDRESS = 0xf0000;
/** The end of the space they may take (the $PIR table starts at 0xFDF00). */
export const ACPI_TABLES_LIMIT = 0xfd000;
/** The IRQs the PIIX3 routes PIRQA..D to at power-on (PciBus' defaults). */
export const DEFAULT_PIRQ_IRQS: readonly number[] = [10, 11, 10, 11];

export const RSDP_SIGNATURE = 'RSD PTR ';
/** RSDP: 20 bytes in ACPI 1.0 (§5.2.5.3). */
export const RSDP_V1_SIZE = 20;
/** System description table header (§5.2.6). */
export const HEADER_SIZE = 36;
/** FADT revision 3 (ACPI 2.0): 244 bytes, up to and including X_GPE1_BLK. */
export const FADT_REVISION = 3;
export const FADT_SIZE = 244;
export const FACS_SIZE = 64;

const OEM_ID = 'PLEX86';
const OEM_TABLE_ID = 'PLEX86PC';
const CREATOR_ID = 'PX86';

/** Byte offsets in the FADT (§5.2.9, Table 5.9). */
export const enum Fadt {
  FIRMWARE_CTRL = 36,
  DSDT = 40,
  INT_MODEL = 44,
  PREFERRED_PM_PROFILE = 45,
  SCI_INT = 46,
  SMI_CMD = 48,
  PM1A_EVT_BLK = 56,
  PM1A_CNT_BLK = 64,
  PM_TMR_BLK = 76,
  GPE0_BLK = 80,
  PM1_EVT_LEN = 88,
  PM1_CNT_LEN = 89,
  PM_TMR_LEN = 91,
  GPE0_BLK_LEN = 92,
  P_LVL2_LAT = 96,
  P_LVL3_LAT = 98,
  CENTURY = 108,
  IAPC_BOOT_ARCH = 109,
  FLAGS = 112,
  RESET_REG = 116,
  RESET_VALUE = 128,
}

/** FADT fixed feature flags (§5.2.9, Table 5.10). */
export const enum FadtFlag {
  WBINVD = 1 << 0,
  PROC_C1 = 1 << 2,
  /** Set: the power button is not a fixed feature. Ours is one, so this stays clear. */
  PWR_BUTTON = 1 << 4,
  /** Set: there is no fixed-feature sleep button. */
  SLP_BUTTON = 1 << 5,
  /** Set: RTC wake status is not in the fixed register space. */
  FIX_RTC = 1 << 6,
  /** Set: the PM timer counts 32 bits; clear: 24 bits. */
  TMR_VAL_EXT = 1 << 8,
  RESET_REG_SUP = 1 << 10,
}

/** IA-PC boot architecture flags (§5.2.9.3). */
export const enum BootArch {
  /** Legacy ISA devices the OS cannot enumerate (the UART, the CMOS). */
  LEGACY_DEVICES = 1 << 0,
  I8042 = 1 << 1,
  VGA_NOT_PRESENT = 1 << 2,
}

/** Generic Address Structure space id for system I/O (§5.2.3.2). */
const GAS_SYSTEM_IO = 1;
/** GAS access size 1: byte access. */
const GAS_BYTE_ACCESS = 1;
/** A P_LVL2_LAT above 100 and a P_LVL3_LAT above 1000 say C2 and C3 are not supported. */
const NO_C2 = 101;
const NO_C3 = 1001;
/** CMOS register holding the century (our RTC keeps it at 32h). */
const CMOS_CENTURY = 0x32;

export interface AcpiTableOptions {
  /** Physical address of the block (64-byte aligned; RSDP first). */
  address?: number;
  /** IRQs PIRQA..D are routed to, as the PIIX3 has them. */
  pirqIrqs?: readonly number[];
}

/** The tables as one block of bytes and where each one sits. */
export interface AcpiTables {
  bytes: Uint8Array;
  address: number;
  rsdp: number;
  rsdt: number;
  facs: number;
  fadt: number;
  dsdt: number;
}

/** Offsets of the tables in the block. */
const RSDT_AT = 0x20;
const FACS_AT = 0x80;
const FADT_AT = 0x100;
const DSDT_AT = 0x200;

export function buildAcpiTables(options: AcpiTableOptions = {}): AcpiTables {
  const address = options.address ?? ACPI_TABLES_ADDRESS;
  // The RSDP is searched for on 16-byte boundaries; the FACS inside the block needs 64.
  if (address % 64 !== 0) throw new RangeError('the ACPI tables must start on a 64-byte boundary');
  const dsdt = buildDsdt(options.pirqIrqs ?? DEFAULT_PIRQ_IRQS);
  const bytes = new Uint8Array(DSDT_AT + HEADER_SIZE + dsdt.length);
  const v = new DataView(bytes.buffer);

  // RSDP (§5.2.5.3): signature, checksum over the 20 bytes, OEM id, revision 0, RSDT address.
  ascii(bytes, 0, RSDP_SIGNATURE);
  ascii(bytes, 9, OEM_ID);
  bytes[15] = 0;
  v.setUint32(16, address + RSDT_AT, true);
  bytes[8] = checksum(bytes.subarray(0, RSDP_V1_SIZE));

  // RSDT (§5.2.7): the header and one 32-bit pointer per table (the FADT; it points at the rest).
  v.setUint32(RSDT_AT + HEADER_SIZE, address + FADT_AT, true);
  header(bytes, RSDT_AT, 'RSDT', HEADER_SIZE + 4, 1);

  // FACS (§5.2.10): no header checksum; hardware signature, waking vector and global lock all 0.
  ascii(bytes, FACS_AT, 'FACS');
  v.setUint32(FACS_AT + 4, FACS_SIZE, true);

  // FADT (§5.2.9).
  const f = FADT_AT;
  v.setUint32(f + Fadt.FIRMWARE_CTRL, address + FACS_AT, true);
  v.setUint32(f + Fadt.DSDT, address + DSDT_AT, true);
  // INT_MODEL (ACPI 1.0; reserved since): 0 is the dual 8259 model.
  bytes[f + Fadt.INT_MODEL] = 0;
  bytes[f + Fadt.PREFERRED_PM_PROFILE] = 0;
  v.setUint16(f + Fadt.SCI_INT, SCI_IRQ, true);
  // No SMI command port: the machine is always in ACPI mode (SCI_EN reads 1).
  v.setUint32(f + Fadt.SMI_CMD, 0, true);
  v.setUint32(f + Fadt.PM1A_EVT_BLK, PM1A_EVT_BLK, true);
  v.setUint32(f + Fadt.PM1A_CNT_BLK, PM1A_CNT_BLK, true);
  v.setUint32(f + Fadt.PM_TMR_BLK, PM_TMR_BLK, true);
  v.setUint32(f + Fadt.GPE0_BLK, 0, true);
  bytes[f + Fadt.PM1_EVT_LEN] = PM1_EVT_LEN;
  bytes[f + Fadt.PM1_CNT_LEN] = PM1_CNT_LEN;
  bytes[f + Fadt.PM_TMR_LEN] = PM_TMR_LEN;
  bytes[f + Fadt.GPE0_BLK_LEN] = 0;
  v.setUint16(f + Fadt.P_LVL2_LAT, NO_C2, true);
  v.setUint16(f + Fadt.P_LVL3_LAT, NO_C3, true);
  bytes[f + Fadt.CENTURY] = CMOS_CENTURY;
  v.setUint16(f + Fadt.IAPC_BOOT_ARCH, BootArch.LEGACY_DEVICES | BootArch.I8042 | BootArch.VGA_NOT_PRESENT, true);
  v.setUint32(
    f + Fadt.FLAGS,
    FadtFlag.WBINVD | FadtFlag.PROC_C1 | FadtFlag.SLP_BUTTON | FadtFlag.FIX_RTC | FadtFlag.RESET_REG_SUP,
    true,
  );
  // RESET_REG: a Generic Address Structure (§5.2.3.2) for one byte in system I/O.
  bytes[f + Fadt.RESET_REG] = GAS_SYSTEM_IO;
  bytes[f + Fadt.RESET_REG + 1] = 8;
  bytes[f + Fadt.RESET_REG + 2] = 0;
  bytes[f + Fadt.RESET_REG + 3] = GAS_BYTE_ACCESS;
  v.setUint32(f + Fadt.RESET_REG + 4, ACPI_RESET_PORT, true);
  bytes[f + Fadt.RESET_VALUE] = ACPI_RESET_VALUE;
  header(bytes, f, 'FACP', FADT_SIZE, FADT_REVISION);

  // DSDT (§5.2.11.1): the header and the AML definition block.
  bytes.set(dsdt, DSDT_AT + HEADER_SIZE);
  header(bytes, DSDT_AT, 'DSDT', dsdt.length + HEADER_SIZE, 1);
  return {
    bytes,
    address,
    rsdp: address,
    rsdt: address + RSDT_AT,
    facs: address + FACS_AT,
    fadt: address + FADT_AT,
    dsdt: address + DSDT_AT,
  };
}

/**
 * The DSDT's AML (without the header):
 *
 *   Name (\_S5, Package (4) { 5, 5, 0, 0 })        // SLP_TYPa, SLP_TYPb for soft-off (§7.4.2)
 *   Scope (\_SB) {
 *     Device (PCI0) {                               // PCI root bridge (§6.1.5, PCI Firmware spec)
 *       Name (_HID, EisaId ("PNP0A03"))
 *       Name (_ADR, 0)
 *       Name (_UID, 0)
 *       Name (_CRS, ResourceTemplate () { bus 0-255, I/O 0-CF7 and D00-FFFF, memory A0000-BFFFF and
 *                                         80000000-FEBFFFFF })
 *       Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, irq }, ... })   // §6.2.13
 *     }
 *   }
 */
function buildDsdt(pirqIrqs: readonly number[]): Uint8Array {
  if (pirqIrqs.length !== 4 || pirqIrqs.some((irq) => !Number.isInteger(irq) || irq < 1 || irq > 15)) {
    throw new RangeError('pirqIrqs needs four ISA IRQs (1-15), one per PIRQ link');
  }
  const s5 = name('\\_S5', pkg([integer(SLP_TYP_S5), integer(SLP_TYP_S5), integer(0), integer(0)]));
  const crs = buffer([
    ...wordAddressSpace(AddressSpace.BUS_NUMBER, 0, 0x00, 0xff),
    // The configuration ports 0xCF8-0xCFF belong to the bridge itself.
    ...wordAddressSpace(AddressSpace.IO, IO_ENTIRE_RANGE, 0x0000, 0x0cf7),
    ...wordAddressSpace(AddressSpace.IO, IO_ENTIRE_RANGE, 0x0d00, 0xffff),
    ...dwordAddressSpace(AddressSpace.MEMORY, MEM_CACHEABLE_RW, 0x000a0000, 0x000bffff),
    // Guest RAM ends below 2 GiB; the hole stops short of the I/O APIC's and firmware's addresses.
    ...dwordAddressSpace(AddressSpace.MEMORY, MEM_NONCACHEABLE_RW, 0x80000000, 0xfebfffff),
    ...END_TAG,
  ]);
  const prt: number[][] = [];
  for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) {
    for (let pin = 1; pin <= 4; pin++) {
      // Address: device in the high word, 0xFFFF for "any function"; pin 0-3 is INTA-INTD;
      // source 0 means the last field is a global system interrupt, here the ISA IRQ itself.
      const irq = pirqIrqs[pirqLink(slot, pin)];
      prt.push(pkg([integer(((slot << 16) | 0xffff) >>> 0), integer(pin - 1), integer(0), integer(irq)]));
    }
  }
  const prtPackage = pkg(prt);
  const pci0 = device('PCI0', [
    ...name('_HID', integer(eisaId('PNP0A03'))),
    ...name('_ADR', integer(0)),
    ...name('_UID', integer(0)),
    ...name('_CRS', crs),
    ...name('_PRT', prtPackage),
  ]);
  return new Uint8Array([...s5, ...scope('\\_SB', pci0)]);
}

/** Writes the standard header (§5.2.6) of the table at `at` and its checksum. */
function header(bytes: Uint8Array, at: number, signature: string, length: number, revision: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  ascii(bytes, at, signature);
  v.setUint32(at + 4, length, true);
  bytes[at + 8] = revision;
  bytes[at + 9] = 0;
  ascii(bytes, at + 10, OEM_ID);
  ascii(bytes, at + 16, OEM_TABLE_ID);
  v.setUint32(at + 24, 1, true);
  ascii(bytes, at + 28, CREATOR_ID);
  v.setUint32(at + 32, 1, true);
  bytes[at + 9] = checksum(bytes.subarray(at, at + length));
}

/** The byte that makes `bytes` sum to 0 modulo 256 (with the checksum byte itself still 0). */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += bytes[i];
  return -sum & 0xff;
}

function ascii(bytes: Uint8Array, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
}

/**
 * Writes the tables into guest memory for a kernel booted without firmware (the area is reserved
 * in the e820 map) and returns where they went.
 */
export function writeAcpiTables(mem: PhysicalMemory, options: AcpiTableOptions = {}): AcpiTables {
  const tables = buildAcpiTables(options);
  const { address, bytes } = tables;
  if (address < 0xe0000 || address + bytes.length > ACPI_TABLES_LIMIT) {
    throw new RangeError(
      `the ACPI tables (${bytes.length} bytes) must lie in 0xE0000-0x${ACPI_TABLES_LIMIT.toString(16)}, got 0x${address.toString(16)}`,
    );
  }
  if (address + bytes.length > mem.ramSize) throw new RangeError('the ACPI tables lie beyond guest RAM');
  mem.ram.set(bytes, address);
  for (let p = address >>> 12; p <= (address + bytes.length - 1) >>> 12; p++) {
    if (mem.codePages[p] !== 0) mem.codeWritten(p << 12, 4096);
  }
  return tables;
}
