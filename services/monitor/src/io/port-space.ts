/**
 * The 64 Ki I/O port space. Every port has an entry of the same shape (so the dispatch site stays
 * monomorphic); unclaimed ports read as all ones and count the writes they drop.
 */

export type PortRead = (port: number) => number;
export type PortWrite = (port: number, value: number) => void;

/** What a device supplies for the ports it claims; missing widths are split into byte accesses. */
export interface PortDevice {
  read8?: PortRead;
  read16?: PortRead;
  read32?: PortRead;
  write8?: PortWrite;
  write16?: PortWrite;
  write32?: PortWrite;
}

class PortEntry {
  constructor(
    readonly owner: string,
    readonly read8: PortRead,
    readonly read16: PortRead,
    readonly read32: PortRead,
    readonly write8: PortWrite,
    readonly write16: PortWrite,
    readonly write32: PortWrite,
  ) {}
}

export const PORT_COUNT = 0x10000;

export class PortSpace {
  /** Reads of ports nobody claimed. */
  unmappedReads = 0;
  /** Writes to ports nobody claimed (dropped). */
  unmappedWrites = 0;
  private readonly entries: PortEntry[];
  private readonly unclaimed: PortEntry;

  constructor() {
    this.unclaimed = new PortEntry(
      '',
      () => {
        this.unmappedReads++;
        return 0xff;
      },
      () => {
        this.unmappedReads++;
        return 0xffff;
      },
      () => {
        this.unmappedReads++;
        return -1;
      },
      () => {
        this.unmappedWrites++;
      },
      () => {
        this.unmappedWrites++;
      },
      () => {
        this.unmappedWrites++;
      },
    );
    this.entries = new Array<PortEntry>(PORT_COUNT).fill(this.unclaimed);
  }

  /** Claims `count` ports from `first` for a device; claiming a port twice is an error. */
  register(first: number, count: number, owner: string, device: PortDevice): void {
    if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 1 || first + count > PORT_COUNT) {
      throw new RangeError(`bad port range ${first}+${count} for ${owner}`);
    }
    for (let port = first; port < first + count; port++) {
      const existing = this.entries[port];
      if (existing !== this.unclaimed) {
        throw new Error(
          `port 0x${port.toString(16)} is already claimed by ${existing.owner}, cannot give it to ${owner}`,
        );
      }
    }
    const read8 = device.read8 ?? (() => 0xff);
    const write8 = device.write8 ?? (() => undefined);
    const read16 = device.read16 ?? ((port: number) => this.read8(port) | (this.read8((port + 1) & 0xffff) << 8));
    const read32 = device.read32 ?? ((port: number) => this.read16(port) | (this.read16((port + 2) & 0xffff) << 16));
    const write16 =
      device.write16 ??
      ((port: number, value: number) => {
        this.write8(port, value & 0xff);
        this.write8((port + 1) & 0xffff, (value >>> 8) & 0xff);
      });
    const write32 =
      device.write32 ??
      ((port: number, value: number) => {
        this.write16(port, value & 0xffff);
        this.write16((port + 2) & 0xffff, (value >>> 16) & 0xffff);
      });
    const entry = new PortEntry(owner, read8, read16, read32, write8, write16, write32);
    for (let port = first; port < first + count; port++) this.entries[port] = entry;
  }

  /** Who claimed a port ('' when nobody). */
  ownerOf(port: number): string {
    return this.entries[port & 0xffff].owner;
  }

  read8(port: number): number {
    return this.entries[port & 0xffff].read8(port & 0xffff) & 0xff;
  }

  read16(port: number): number {
    return this.entries[port & 0xffff].read16(port & 0xffff) & 0xffff;
  }

  read32(port: number): number {
    return this.entries[port & 0xffff].read32(port & 0xffff) | 0;
  }

  write8(port: number, value: number): void {
    this.entries[port & 0xffff].write8(port & 0xffff, value & 0xff);
  }

  write16(port: number, value: number): void {
    this.entries[port & 0xffff].write16(port & 0xffff, value & 0xffff);
  }

  write32(port: number, value: number): void {
    this.entries[port & 0xffff].write32(port & 0xffff, value | 0);
  }
}
