/**
 * Two-level IA-32 paging (4 KiB pages and, with CR4.PSE, 4 MiB pages; no PAE) with a software TLB.
 *
 * The TLB is direct-mapped by linear page number: one Int32Array word per page of the 4 GiB
 * linear space. A word holds the physical page address in bits 12-31 and TlbBit flags below.
 * The permission bits say what the fast path may do without a walk; a clear bit only means
 * "take the slow path", which walks again and faults if the access is really not allowed.
 */

import { ADDRESS_PAGES } from '../memory/machine-memory.js';
import { PageKind, PhysicalMemory } from '../memory/physical-memory.js';

export const enum TlbBit {
  /** Supervisor read allowed. */
  READ = 0x1,
  /** User read allowed. */
  USER_READ = 0x2,
  /** Supervisor write allowed and the dirty bit is already set. */
  WRITE = 0x4,
  /** User write allowed and the dirty bit is already set. */
  USER_WRITE = 0x8,
  /** Survives a CR3 reload (PTE.G with CR4.PGE). */
  GLOBAL = 0x10,
  /** The entry holds a translation. */
  VALID = 0x20,
  /** Reads must go through the physical dispatch (MMIO, high ROM, unmapped). */
  READ_SLOW = 0x40,
  /** Writes must go through the physical dispatch (ROM, MMIO, unmapped). */
  WRITE_SLOW = 0x80,
  /**
   * The physical page holds scanned code (PhysicalMemory.codePages): writes take the CPU's own path,
   * which reports them to the code map, instead of going to RAM directly (see Mmu.codeArrived).
   */
  CODE = 0x100,
}

/**
 * The TLB's permission test for accesses at one privilege: an entry allows a read when
 * `(entry & readMask) === readWant`, and a write likewise. Supervisor accesses (CPL 0-2) test the
 * supervisor bits, user accesses (CPL 3) the user bits; neither passes an entry whose accesses must
 * go through the physical dispatch, nor a write to a page with scanned code.
 */
export interface AccessMasks {
  readonly readMask: number;
  readonly readWant: number;
  readonly writeMask: number;
  readonly writeWant: number;
}

const SUPERVISOR_ACCESS: AccessMasks = {
  readMask: TlbBit.READ | TlbBit.READ_SLOW,
  readWant: TlbBit.READ,
  writeMask: TlbBit.WRITE | TlbBit.WRITE_SLOW | TlbBit.CODE,
  writeWant: TlbBit.WRITE,
};

const USER_ACCESS: AccessMasks = {
  readMask: TlbBit.USER_READ | TlbBit.READ_SLOW,
  readWant: TlbBit.USER_READ,
  writeMask: TlbBit.USER_WRITE | TlbBit.WRITE_SLOW | TlbBit.CODE,
  writeWant: TlbBit.USER_WRITE,
};

/** The permission test of accesses at `cpl`. */
export function accessMasks(cpl: number): AccessMasks {
  return cpl === 3 ? USER_ACCESS : SUPERVISOR_ACCESS;
}

/** Mmu.watchPages bits: which accesses to a linear page the debugger must see. */
export const enum WatchPage {
  READ = 0x1,
  WRITE = 0x2,
}

/** Page-fault error code bits (SDM vol. 3, 4.7). */
export const enum PfError {
  PRESENT = 0x1,
  WRITE = 0x2,
  USER = 0x4,
  RSVD = 0x8,
}

const enum Pte {
  P = 0x1,
  RW = 0x2,
  US = 0x4,
  A = 0x20,
  D = 0x40,
  PS = 0x80,
  G = 0x100,
}

/** A 4 MiB PDE without PSE-36 must have bits 13-21 clear. */
const PDE4M_RESERVED = 0x3fe000;

const TLB_SIZE = ADDRESS_PAGES;

export interface PagingControl {
  /** CR0.PG */
  paging: boolean;
  /** CR0.WP: supervisor writes honour read-only pages. */
  writeProtect: boolean;
  /** CR4.PSE */
  pse: boolean;
  /** CR4.PGE */
  pge: boolean;
  /** CR3 */
  cr3: number;
}

export class Mmu {
  /** One word per linear page: the physical page and the permission bits (TlbBit). */
  readonly tlb: Int32Array;
  /** Linear page numbers with a live TLB word, so a flush touches only those. */
  private readonly live = new Int32Array(TLB_SIZE);
  private liveCount = 0;
  paging = false;
  writeProtect = false;
  pse = false;
  pge = false;
  cr3 = 0;
  /** Set by a failed translate(): the #PF error code. */
  faultCode = 0;
  /**
   * Per linear page, the debugger's watches (WatchPage bits): the fill sets the matching slow bits so
   * every access to a watched page reaches the CPU's slow paths. Allocated on the first watch.
   */
  watchPages: Uint8Array | undefined = undefined;
  /**
   * Per linear page, the flush count when the run loop last looked code up through its translation,
   * in `fetchedAt` for a non-global one and in `globalFetchedAt` (with the count of global flushes)
   * for a global one: an INVLPG of a page no code came from since the last flush leaves the run
   * loop's memos (the fetch epochs) standing.
   */
  readonly fetchedAt = new Int32Array(TLB_SIZE).fill(-1);
  readonly globalFetchedAt = new Int32Array(TLB_SIZE).fill(-1);
  /** Page walks, for --stats. */
  walks = 0;
  /** Flushes that can have changed where code comes from: they renew the CPU's fetch epoch. */
  flushes = 0;
  /** Those of them that can have changed a global translation code came from (counted in both). */
  globalFlushes = 0;

  /** `tlb`, when given, holds the TLB (a zeroed array of one word per linear page). */
  constructor(
    readonly mem: PhysicalMemory,
    tlb?: Int32Array,
  ) {
    if (tlb !== undefined && tlb.length !== TLB_SIZE) throw new RangeError(`the TLB needs ${TLB_SIZE} words`);
    this.tlb = tlb ?? new Int32Array(TLB_SIZE);
  }

  /** Updates the paging controls; flushes what the change makes stale. */
  configure(control: PagingControl): void {
    const modeChanged =
      control.paging !== this.paging ||
      control.writeProtect !== this.writeProtect ||
      control.pse !== this.pse ||
      control.pge !== this.pge;
    const cr3Changed = (control.cr3 | 0) !== this.cr3;
    this.paging = control.paging;
    this.writeProtect = control.writeProtect;
    this.pse = control.pse;
    this.pge = control.pge;
    this.cr3 = control.cr3 | 0;
    if (modeChanged) this.flushAll();
    else if (cr3Changed) this.flushNonGlobal();
  }

  /** A MOV to CR3 flushes every non-global translation, even when the value is unchanged. */
  setCr3(value: number): void {
    this.cr3 = value | 0;
    this.flushNonGlobal();
  }

  flushAll(): void {
    const tlb = this.tlb;
    const live = this.live;
    for (let i = 0; i < this.liveCount; i++) tlb[live[i]] = 0;
    this.liveCount = 0;
    this.flushes++;
    this.globalFlushes++;
  }

  flushNonGlobal(): void {
    const tlb = this.tlb;
    const live = this.live;
    let kept = 0;
    for (let i = 0; i < this.liveCount; i++) {
      const page = live[i];
      if ((tlb[page] & TlbBit.GLOBAL) !== 0) live[kept++] = page;
      else tlb[page] = 0;
    }
    this.liveCount = kept;
    this.flushes++;
  }

  /**
   * Physical page `page` got scanned code: the translations to it lose direct writes (TlbBit.CODE),
   * so that every write to it is reported to the code map. Translations made later get the bit when
   * they are filled.
   */
  codeArrived(page: number): void {
    const tlb = this.tlb;
    const live = this.live;
    for (let i = 0; i < this.liveCount; i++) {
      const e = tlb[live[i]];
      if (e >>> 12 === page) tlb[live[i]] = e | TlbBit.CODE;
    }
  }

  /** INVLPG: drops the translation of one linear page, global or not. */
  invalidatePage(linear: number): void {
    const page = linear >>> 12;
    this.tlb[page] = 0;
    if (this.globalFetchedAt[page] === this.globalFlushes) {
      this.globalFlushes++;
      this.flushes++;
    } else if (this.fetchedAt[page] === this.flushes) {
      this.flushes++;
    }
  }

  /** The run loop looks code up through the translation of `page`; says whether it is global. */
  noteFetch(page: number): boolean {
    if ((this.tlb[page] & TlbBit.GLOBAL) !== 0) {
      this.globalFetchedAt[page] = this.globalFlushes;
      return true;
    }
    this.fetchedAt[page] = this.flushes;
    return false;
  }

  /** Sets the watch bits of one linear page and drops its translation, so the next fill sees them. */
  setWatchPage(page: number, bits: number): void {
    if (this.watchPages === undefined) {
      if (bits === 0) return;
      this.watchPages = new Uint8Array(TLB_SIZE);
    }
    this.watchPages[page] = bits;
    this.invalidatePage(page << 12);
  }

  /**
   * Translates a linear address for an access, walking the page tables and updating A/D bits.
   * Returns the physical address (0..2^32-1), or -1 with `faultCode` set when the access faults.
   * Fills the TLB word for the page on success.
   */
  translate(linear: number, write: boolean, user: boolean): number {
    const lin = linear >>> 0;
    const page = lin >>> 12;
    const mem = this.mem;
    if (!this.paging) {
      const phys = (lin & mem.a20Mask) >>> 0;
      this.fill(page, phys, TlbBit.READ | TlbBit.USER_READ | TlbBit.WRITE | TlbBit.USER_WRITE);
      return phys;
    }
    this.walks++;
    const errBase = (write ? PfError.WRITE : 0) | (user ? PfError.USER : 0);
    const pdeAddr = ((this.cr3 & ~0xfff) | ((lin >>> 22) << 2)) >>> 0;
    const pde = mem.read32(pdeAddr);
    if ((pde & Pte.P) === 0) return this.fault(errBase);
    let phys: number;
    let allowUser: boolean;
    let allowWrite: boolean;
    let global: boolean;
    if ((pde & Pte.PS) !== 0 && this.pse) {
      if ((pde & PDE4M_RESERVED) !== 0) return this.fault(errBase | PfError.PRESENT | PfError.RSVD);
      allowUser = (pde & Pte.US) !== 0;
      allowWrite = (pde & Pte.RW) !== 0;
      if (!this.permits(write, user, allowUser, allowWrite)) return this.fault(errBase | PfError.PRESENT);
      const updated = pde | Pte.A | (write ? Pte.D : 0);
      if (updated !== pde) mem.write32(pdeAddr, updated);
      phys = ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
      global = (pde & Pte.G) !== 0;
      return this.finish(page, phys, allowUser, allowWrite, (updated & Pte.D) !== 0, global);
    }
    const pteAddr = ((pde & ~0xfff) | ((lin >>> 10) & 0xffc)) >>> 0;
    const pte = mem.read32(pteAddr);
    if ((pte & Pte.P) === 0) return this.fault(errBase);
    allowUser = (pde & pte & Pte.US) !== 0;
    allowWrite = (pde & pte & Pte.RW) !== 0;
    if (!this.permits(write, user, allowUser, allowWrite)) return this.fault(errBase | PfError.PRESENT);
    if ((pde & Pte.A) === 0) mem.write32(pdeAddr, pde | Pte.A);
    const updated = pte | Pte.A | (write ? Pte.D : 0);
    if (updated !== pte) mem.write32(pteAddr, updated);
    phys = ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
    global = (pte & Pte.G) !== 0;
    return this.finish(page, phys, allowUser, allowWrite, (updated & Pte.D) !== 0, global);
  }

  private permits(write: boolean, user: boolean, allowUser: boolean, allowWrite: boolean): boolean {
    if (user) return allowUser && (!write || allowWrite);
    return !write || allowWrite || !this.writeProtect;
  }

  private finish(
    page: number,
    phys: number,
    allowUser: boolean,
    allowWrite: boolean,
    dirty: boolean,
    global: boolean,
  ): number {
    let bits = TlbBit.READ;
    if (allowUser) bits |= TlbBit.USER_READ;
    if (dirty) {
      if (allowWrite || !this.writeProtect) bits |= TlbBit.WRITE;
      if (allowWrite && allowUser) bits |= TlbBit.USER_WRITE;
    }
    if (global && this.pge) bits |= TlbBit.GLOBAL;
    const masked = (phys & this.mem.a20Mask) >>> 0;
    this.fill(page, masked, bits);
    return masked;
  }

  private fill(page: number, phys: number, bits: number): void {
    const kind = this.mem.pageKind[phys >>> 12];
    if (this.mem.codePages[phys >>> 12] !== 0) bits |= TlbBit.CODE;
    if (kind > PageKind.ROM) bits |= TlbBit.READ_SLOW | TlbBit.WRITE_SLOW;
    else if (kind !== PageKind.RAM) bits |= TlbBit.WRITE_SLOW;
    const watched = this.watchPages === undefined ? 0 : this.watchPages[page];
    if (watched !== 0) {
      if ((watched & WatchPage.READ) !== 0) bits |= TlbBit.READ_SLOW;
      if ((watched & WatchPage.WRITE) !== 0) bits |= TlbBit.WRITE_SLOW;
    }
    const tlb = this.tlb;
    if (tlb[page] === 0) {
      if (this.liveCount === TLB_SIZE) this.flushAll();
      this.live[this.liveCount++] = page;
    }
    tlb[page] = (phys & ~0xfff) | bits | TlbBit.VALID;
  }

  private fault(code: number): number {
    this.faultCode = code;
    return -1;
  }
}
