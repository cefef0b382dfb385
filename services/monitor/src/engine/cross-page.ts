/**
 * Instructions that cross into the next page where no block holds them (the TLB did not know the
 * next page when the block source scanned there, or the next page is not mapped as it was then, see
 * Engine.runBlock): the run loop fetches each through the TLB byte by byte, so that only the bytes
 * the instruction needs are touched and a fault on the second page names the right address. A block
 * holds such an instruction as its last once the TLB knew the next page: on the default guest, over
 * the boot and the five long steps of the bench workload, the fetches here fell from 1.7 million to
 * 1 500 (most in the forking loop, whose new processes meet the next page untranslated).
 *
 * Asking the decoder again after every byte made such an instruction cost several decodes each time
 * it ran. So the last instruction decoded at each of a few linear addresses is kept with its bytes.
 * A fetch at the same address, IP and code size reads the bytes one by one as before and compares
 * them: the decoder asked for each of them last time, and asks for the next as long as they agree,
 * so the same bytes are touched and the same faults raised. When all agree, the kept record is the
 * decode; at the first that differs (code was written, or the page now maps other code), decoding
 * goes on from the bytes read so far.
 */

import { decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu/cpu.js';
import { Seg } from '../cpu/registers.js';

/** Kept instructions (a power of two). */
const SLOTS = 64;
/** The longest instruction, and the bytes kept per instruction. */
const MAX_LENGTH = 15;
const STRIDE = 16;

export class CrossPageFetch {
  /** The record the last successful fetch gives (owned by this object: read it before the next fetch). */
  decoded: Instruction;
  /** Decodes done, and fetches that found their instruction kept. */
  decodes = 0;
  reused = 0;

  private readonly buf = new Uint8Array(STRIDE);
  private readonly lin = new Int32Array(SLOTS);
  private readonly ip = new Int32Array(SLOTS);
  /** The code size a slot was decoded for; 0 while it holds nothing. */
  private readonly bits = new Uint8Array(SLOTS);
  private readonly bytes = new Uint8Array(SLOTS * STRIDE);
  private readonly records: Instruction[] = [];

  constructor() {
    for (let i = 0; i < SLOTS; i++) this.records.push(new Instruction());
    this.decoded = this.records[0] as Instruction;
  }

  /**
   * Fetches and decodes the instruction at CS:`eip` in `bits`-bit code, reading at most `maxBytes`
   * bytes (and no more than the longest instruction); a page fault on a byte it needs is raised as
   * the CPU raises it. Returns the decoder's status; with Ok, `decoded` holds the instruction.
   */
  fetch(cpu: Cpu, eip: number, bits: 16 | 32, maxBytes: number): DecodeStatus {
    const avail = maxBytes < MAX_LENGTH ? maxBytes : MAX_LENGTH;
    const lin = (cpu.segBase[Seg.CS] + eip) | 0;
    const slot = ((lin >>> 12) ^ lin) & (SLOTS - 1);
    const rec = this.records[slot] as Instruction;
    this.decoded = rec;
    const buf = this.buf;
    let have = 0;
    if (this.bits[slot] === bits && this.lin[slot] === lin && this.ip[slot] === eip && rec.length <= avail) {
      const kept = slot * STRIDE;
      let same = true;
      while (same && have < rec.length) {
        const b = cpu.readLin8((lin + have) | 0);
        same = b === this.bytes[kept + have];
        buf[have++] = b;
      }
      if (same) {
        this.reused++;
        return DecodeStatus.Ok;
      }
    }
    // The slot is rewritten: it holds nothing until the decode succeeds.
    this.bits[slot] = 0;
    let status = have > 0 ? this.decode(have, eip, bits, rec) : DecodeStatus.NeedMoreBytes;
    while (status === DecodeStatus.NeedMoreBytes && have < avail) {
      buf[have] = cpu.readLin8((lin + have) | 0);
      status = this.decode(++have, eip, bits, rec);
    }
    if (status === DecodeStatus.Ok) {
      this.bytes.set(buf.subarray(0, rec.length), slot * STRIDE);
      this.lin[slot] = lin;
      this.ip[slot] = eip;
      this.bits[slot] = bits;
    }
    return status;
  }

  private decode(have: number, eip: number, bits: 16 | 32, rec: Instruction): DecodeStatus {
    this.decodes++;
    return decodeInstruction(this.buf, 0, have, eip, bits, rec);
  }
}
