/**
 * The ACPI tables as Linux reads them: the RSDP found by the 16-byte scan of 0xE0000-0xFFFFF,
 * checksums, the FADT fields ACPICA and arch/x86 use (at their ACPI offsets), the FACS, and the
 * DSDT decoded by a small AML reader that must consume every byte: \_S5 and the PCI root bridge
 * with _CRS windows and a _PRT that agrees with the PIIX3's routing.
 */

import { describe, expect, it } from 'vitest';
import { eisaId, integer, nameString, pkgLength } from '../../src/acpi/aml.js';
import {
  ACPI_RESET_PORT,
  ACPI_RESET_VALUE,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM_TMR_BLK,
  SLP_TYP_S5,
} from '../../src/acpi/pm.js';
import { buildAcpiTables, FADT_SIZE, writeAcpiTables } from '../../src/acpi/tables.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { PciFunction } from '../../src/pci/pci-function.js';
import { PciBus } from '../../src/pci/pci-bus.js';
import { PIR_DEFAULT_ADDRESS } from '../../src/pci/pir-table.js';
import { PortSpace } from '../../src/io/port-space.js';

const text = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));
const sum = (b: Uint8Array) => b.reduce((s, x) => (s + x) & 0xff, 0);

/** What Linux's acpi_find_root_pointer does: signature and checksum on every 16-byte boundary. */
function scanForRsdp(ram: Uint8Array): number {
  for (let at = 0xe0000; at < 0x100000; at += 16) {
    if (text(ram, at, 8) === 'RSD PTR ' && sum(ram.subarray(at, at + 20)) === 0) return at;
  }
  return -1;
}

/** A table at a physical address, checked for its signature and checksum. */
function table(ram: Uint8Array, at: number, signature: string): { bytes: Uint8Array; v: DataView } {
  expect(text(ram, at, 4)).toBe(signature);
  const length = new DataView(ram.buffer, ram.byteOffset + at).getUint32(4, true);
  const bytes = ram.subarray(at, at + length);
  expect(sum(bytes), `${signature} checksum`).toBe(0);
  return { bytes, v: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
}

type Aml =
  number | string | Aml[] | { buffer: number[] } | { name: string; value: Aml } | { scope: string; body: Aml[] };

/** Decodes the AML subset the DSDT uses (ACPI 6.5 §20.2); throws on anything else or a bad length. */
class AmlReader {
  at = 0;
  constructor(private readonly b: Uint8Array) {}
  terms(end: number): Aml[] {
    const out: Aml[] = [];
    while (this.at < end) out.push(this.term());
    if (this.at !== end) throw new Error(`term list overran its package at ${this.at}`);
    return out;
  }
  private pkgEnd(): number {
    const start = this.at;
    const lead = this.b[this.at++];
    const follow = lead >>> 6;
    let length = follow === 0 ? lead & 0x3f : lead & 0x0f;
    for (let i = 0; i < follow; i++) length |= this.b[this.at++] << (4 + 8 * i);
    return start + length;
  }
  private nameString(): string {
    let out = '';
    if (this.b[this.at] === 0x5c) {
      out = '\\';
      this.at++;
    }
    let segs = 1;
    if (this.b[this.at] === 0x2e) {
      segs = 2;
      this.at++;
    }
    const parts: string[] = [];
    for (let i = 0; i < segs; i++) {
      parts.push(text(this.b, this.at, 4));
      this.at += 4;
    }
    return out + parts.join('.');
  }
  term(): Aml {
    const op = this.b[this.at++];
    const v = new DataView(this.b.buffer, this.b.byteOffset);
    switch (op) {
      case 0x00:
        return 0;
      case 0x01:
        return 1;
      case 0x0a:
        return this.b[this.at++];
      case 0x0b:
        this.at += 2;
        return v.getUint16(this.at - 2, true);
      case 0x0c:
        this.at += 4;
        return v.getUint32(this.at - 4, true);
      case 0x08: {
        const name = this.nameString();
        return { name, value: this.term() };
      }
      case 0x10: {
        const end = this.pkgEnd();
        const scope = this.nameString();
        return { scope, body: this.terms(end) };
      }
      case 0x5b: {
        if (this.b[this.at++] !== 0x82) throw new Error('only DeviceOp is expected after ExtOpPrefix');
        const end = this.pkgEnd();
        const scope = this.nameString();
        return { scope: `Device ${scope}`, body: this.terms(end) };
      }
      case 0x12: {
        const end = this.pkgEnd();
        const count = this.b[this.at++];
        const elements = this.terms(end);
        if (elements.length !== count) throw new Error(`package says ${count} elements, holds ${elements.length}`);
        return elements;
      }
      case 0x11: {
        const end = this.pkgEnd();
        const size = this.term() as number;
        const bytes = [...this.b.subarray(this.at, end)];
        if (bytes.length !== size) throw new Error(`buffer says ${size} bytes, holds ${bytes.length}`);
        this.at = end;
        return { buffer: bytes };
      }
      default:
        throw new Error(`unexpected AML opcode 0x${op.toString(16)} at ${this.at - 1}`);
    }
  }
}

function find(terms: Aml[], name: string): Aml {
  for (const t of terms) {
    if (typeof t === 'object' && 'name' in t && t.name === name) return t.value;
  }
  throw new Error(`no ${name}`);
}

function scopeBody(terms: Aml[], scope: string): Aml[] {
  for (const t of terms) {
    if (typeof t === 'object' && 'scope' in t && t.scope === scope) return t.body;
  }
  throw new Error(`no ${scope}`);
}

/** A 16 MiB machine's memory with the tables written where the Linux loader puts them. */
function loaded() {
  const mem = new PhysicalMemory({ ramSize: 16 << 20 });
  const tables = writeAcpiTables(mem);
  return { mem, ram: mem.ram, tables };
}

describe('AML encodings', () => {
  it('encodes PkgLength in one byte up to 63 and with a length nibble and following bytes above', () => {
    expect(pkgLength(62)).toEqual([63]);
    expect(pkgLength(63)).toEqual([0x41, 0x04]); // 65 = 0x41: nibble 1, then 4
    expect(pkgLength(0xffd)).toEqual([0x4f, 0xff]);
    expect(pkgLength(0xffe)).toEqual([0x81, 0x00, 0x01]); // 0x1001
  });

  it('encodes names, integers and EISA ids', () => {
    expect(nameString('\\_S5')).toEqual([0x5c, 0x5f, 0x53, 0x35, 0x5f]);
    expect(nameString('_SB.PCI0')).toEqual(
      [0x2e, ...'_SB_PCI0'].map((c) => (typeof c === 'string' ? c.charCodeAt(0) : c)),
    );
    expect(() => nameString('pci0')).toThrow(/NameSeg/);
    expect(integer(0)).toEqual([0]);
    expect(integer(1)).toEqual([1]);
    expect(integer(0x80)).toEqual([0x0a, 0x80]);
    expect(integer(0x1234)).toEqual([0x0b, 0x34, 0x12]);
    expect(integer(0x1ffff)).toEqual([0x0c, 0xff, 0xff, 0x01, 0x00]);
    expect(eisaId('PNP0A03')).toBe(0x030ad041);
    expect(eisaId('PNP0C0F')).toBe(0x0f0cd041);
  });
});

describe('ACPI tables', () => {
  it('has an ACPI 1.0 RSDP that the BIOS-area scan finds, pointing at an RSDT that lists the FADT', () => {
    const { ram, tables } = loaded();
    const rsdp = scanForRsdp(ram);
    expect(rsdp).toBe(tables.rsdp);
    expect(rsdp % 16).toBe(0);
    expect(ram[rsdp + 15]).toBe(0);
    expect(text(ram, rsdp + 9, 6)).toBe('PLEX86');
    const rsdtAt = new DataView(ram.buffer, ram.byteOffset).getUint32(rsdp + 16, true);
    const rsdt = table(ram, rsdtAt, 'RSDT');
    expect(rsdt.bytes.length).toBe(40);
    expect(rsdt.v.getUint32(36, true)).toBe(tables.fadt);
  });

  it('stays clear of the $PIR table, inside the e820-reserved BIOS segment', () => {
    const { tables } = loaded();
    expect(tables.address).toBeGreaterThanOrEqual(0xf0000);
    expect(tables.address + tables.bytes.length).toBeLessThanOrEqual(PIR_DEFAULT_ADDRESS);
    const mem = new PhysicalMemory({ ramSize: 16 << 20 });
    expect(() => writeAcpiTables(mem, { address: 0xf0010 })).toThrow(/64-byte boundary/);
    expect(() => writeAcpiTables(mem, { address: 0xfd000 })).toThrow(/must lie in/);
    expect(() => writeAcpiTables(mem, { address: 0xd0000 })).toThrow(/must lie in/);
  });

  it('has a revision 3 FADT with the PM blocks, SCI 9, no SMI port, the reset register and the 8042', () => {
    const { ram, tables } = loaded();
    const { bytes, v } = table(ram, tables.fadt, 'FACP');
    expect(bytes.length).toBe(FADT_SIZE);
    expect(bytes[8]).toBe(3);
    expect(v.getUint16(46, true)).toBe(9); // SCI_INT
    expect(v.getUint32(48, true)).toBe(0); // SMI_CMD: always in ACPI mode
    expect(v.getUint32(56, true)).toBe(PM1A_EVT_BLK);
    expect(v.getUint32(60, true)).toBe(0); // no PM1b
    expect(v.getUint32(64, true)).toBe(PM1A_CNT_BLK);
    expect(v.getUint32(76, true)).toBe(PM_TMR_BLK);
    expect(v.getUint32(80, true)).toBe(0); // no GPE0 block
    expect([bytes[88], bytes[89], bytes[91], bytes[92]]).toEqual([4, 2, 4, 0]);
    expect(v.getUint16(96, true)).toBeGreaterThan(100); // no C2
    expect(v.getUint16(98, true)).toBeGreaterThan(1000); // no C3
    expect(bytes[108]).toBe(0x32); // CENTURY in CMOS
    const bootArch = v.getUint16(109, true);
    expect(bootArch & 0x02).toBe(0x02); // 8042 present: Linux probes the keyboard controller
    expect(bootArch & 0x01).toBe(0x01); // legacy devices
    const flags = v.getUint32(112, true);
    expect(flags & (1 << 10)).not.toBe(0); // RESET_REG_SUP
    expect(flags & (1 << 8)).toBe(0); // TMR_VAL_EXT clear: 24-bit timer
    expect(flags & (1 << 4)).toBe(0); // fixed-feature power button
    expect(flags & (1 << 20)).toBe(0); // not HW_REDUCED_ACPI
    // RESET_REG: system I/O, 8 bits at offset 0, byte access, at the reset port.
    expect([...bytes.subarray(116, 120)]).toEqual([1, 8, 0, 1]);
    expect(v.getUint32(120, true)).toBe(ACPI_RESET_PORT);
    expect(v.getUint32(124, true)).toBe(0);
    expect(bytes[128]).toBe(ACPI_RESET_VALUE);
    // The 64-bit X_ fields are zero, so the 32-bit ones above are used as they are.
    expect(bytes.subarray(132, 244).every((b) => b === 0)).toBe(true);
    const facs = v.getUint32(36, true);
    expect(facs).toBe(tables.facs);
    expect(facs % 64).toBe(0);
    expect(text(ram, facs, 4)).toBe('FACS');
    expect(new DataView(ram.buffer, ram.byteOffset).getUint32(facs + 4, true)).toBe(64);
    expect(v.getUint32(40, true)).toBe(tables.dsdt);
  });

  it('has a DSDT whose AML decodes completely: \\_S5 and the PCI root bridge', () => {
    const { ram, tables } = loaded();
    const { bytes } = table(ram, tables.dsdt, 'DSDT');
    const reader = new AmlReader(bytes.subarray(36));
    const terms = reader.terms(bytes.length - 36);
    expect(find(terms, '\\_S5_')).toEqual([SLP_TYP_S5, SLP_TYP_S5, 0, 0]);
    const pci0 = scopeBody(scopeBody(terms, '\\_SB_'), 'Device PCI0');
    expect(find(pci0, '_HID')).toBe(eisaId('PNP0A03'));
    expect(find(pci0, '_ADR')).toBe(0);

    // _CRS: bus numbers 0-FF, I/O around the configuration ports, two memory windows, end tag.
    const crs = (find(pci0, '_CRS') as { buffer: number[] }).buffer;
    const windows: string[] = [];
    let at = 0;
    while (crs[at] !== 0x79) {
      const len = crs[at + 1] | (crs[at + 2] << 8);
      const d = new DataView(new Uint8Array(crs.slice(at, at + 3 + len)).buffer);
      const kind = ['mem', 'io', 'bus'][d.getUint8(3)];
      if (crs[at] === 0x88)
        windows.push(`${kind} ${d.getUint16(8, true).toString(16)}-${d.getUint16(10, true).toString(16)}`);
      else if (crs[at] === 0x87)
        windows.push(`${kind} ${d.getUint32(10, true).toString(16)}-${d.getUint32(14, true).toString(16)}`);
      else throw new Error(`unexpected descriptor 0x${crs[at].toString(16)}`);
      at += 3 + len;
    }
    expect(crs.slice(at)).toEqual([0x79, 0]);
    expect(windows).toEqual(['bus 0-ff', 'io 0-cf7', 'io d00-ffff', 'mem a0000-bffff', 'mem 80000000-febfffff']);
  });

  it('routes every PCI slot and pin in _PRT to the IRQ the PIIX3 actually drives', () => {
    const { ram, tables } = loaded();
    const { bytes } = table(ram, tables.dsdt, 'DSDT');
    const terms = new AmlReader(bytes.subarray(36)).terms(bytes.length - 36);
    const prt = find(scopeBody(scopeBody(terms, '\\_SB_'), 'Device PCI0'), '_PRT') as number[][];
    expect(prt).toHaveLength(32 * 4);
    const routes = new Map<string, number>();
    for (const [address, pin, source, gsi] of prt) {
      expect(address & 0xffff).toBe(0xffff);
      expect(source).toBe(0);
      routes.set(`${address >>> 16}/${pin}`, gsi);
    }
    // A real bus with one device per pin in slots 2-9, as the chipset routes them at power-on.
    class Dev extends PciFunction {
      constructor(pin: number) {
        super(`dev${pin}`, { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0xff0000, interruptPin: pin });
      }
    }
    const pci = new PciBus(new PortSpace(), () => undefined);
    for (let slot = 2; slot < 10; slot++) {
      const pin = 1 + (slot % 4);
      pci.addDevice(new Dev(pin), slot);
      expect(routes.get(`${slot}/${pin - 1}`), `slot ${slot} INT${'ABCD'[pin - 1]}`).toBe(pci.irqOf(slot));
    }
    // Other PIRQ routings give other tables.
    const other = buildAcpiTables({ pirqIrqs: [5, 9, 10, 11] });
    expect(other.bytes).not.toEqual(tables.bytes);
    expect(() => buildAcpiTables({ pirqIrqs: [5, 9, 10] })).toThrow(/four ISA IRQs/);
    expect(() => buildAcpiTables({ pirqIrqs: [5, 9, 10, 16] })).toThrow(/four ISA IRQs/);
  });
});
