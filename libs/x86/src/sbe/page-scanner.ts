import { CodeAttr } from '../decoder/attributes.js';
import { DecodeStatus } from '../decoder/decode-status.js';
import type { InstructionDecoder } from '../decoder/decoder-api.js';
import type { Instruction } from '../decoder/instruction.js';
import { ByteAttr } from './attribute-page.js';
import { BlockEnd } from './block.js';
import { bitnessOf, CodeMode, PAGE_OFFSET_MASK, PAGE_SHIFT, PAGE_SIZE } from './constants.js';
import { CrossPageWindow, type NextPageResolver } from './cross-page.js';
import type { InstructionPool } from './instruction-pool.js';

// Hot-loop constants as plain numbers.
const OK = DecodeStatus.Ok;
const INVALID = DecodeStatus.Invalid;
const NEED_MORE = DecodeStatus.NeedMoreBytes;
const FLOW_MASK = CodeAttr.FLOW_MASK;
const SENSITIVE = CodeAttr.SENSITIVE;
const PRIVILEGED = CodeAttr.PRIVILEGED;
const WRITES_MEMORY = CodeAttr.WRITES_MEMORY;
const SERIALIZING = CodeAttr.SERIALIZING;
const BREAKPOINT = ByteAttr.BREAKPOINT;

/** What one scan found; reused from scan to scan (only the first `count` records are meaningful). */
export class ScanResult {
  /** Records taken from the pool, in execution order. */
  readonly records: Instruction[] = [];
  count = 0;
  byteLength = 0;
  endReason: BlockEnd = BlockEnd.ControlTransfer;
  crossPage = -1;
  writesMemory = false;
}

/**
 * The dynamic scanner: from an entry point in a physical page it decodes forward until the first
 * control transfer, sensitive, privileged or serializing instruction, invalid encoding, breakpoint or
 * page end, and
 * reports the run as one block. Other entry points are scanned when execution reaches them, so a jump
 * into the middle of an earlier instruction simply gets a block of its own.
 */
export class PageScanner {
  private readonly window = new CrossPageWindow();
  private readonly pageCount: number;

  constructor(
    private readonly decoder: InstructionDecoder,
    private readonly memory: Uint8Array,
    private readonly pool: InstructionPool,
    private readonly nextPage: NextPageResolver | null,
    /** Most instructions in one block. */
    readonly maxInstructions: number,
  ) {
    this.pageCount = Math.floor(memory.length / PAGE_SIZE);
  }

  /**
   * Scans the block at `physAddr` (inside memory) for code running at `ip` in `mode`. `attrs` is the
   * attribute page of the start page; the scanner reads its breakpoint marks only.
   */
  scan(physAddr: number, mode: CodeMode, ip: number, attrs: Uint8Array, out: ScanResult): void {
    const decoder = this.decoder;
    const memory = this.memory;
    const pool = this.pool;
    const records = out.records;
    const max = this.maxInstructions;
    const bitness = bitnessOf(mode);
    const ipTop = bitness === 16 ? 0x10000 : 0x100000000;
    const pageBase = physAddr - (physAddr & PAGE_OFFSET_MASK);
    const pageEnd = pageBase + PAGE_SIZE;
    let pos = physAddr;
    let curIp = ip;
    let count = 0;
    let writes = false;
    let crossPage = -1;
    let reason: BlockEnd;
    for (;;) {
      if (count >= max) {
        reason = BlockEnd.Limit;
        break;
      }
      if (((attrs[pos - pageBase] as number) & BREAKPOINT) !== 0) {
        reason = BlockEnd.Breakpoint;
        break;
      }
      const rec = pool.take();
      let status = decoder.decode(memory, pos, pageEnd, curIp, bitness, rec);
      if (status === NEED_MORE) {
        const next = this.resolveNext(pageBase >>> PAGE_SHIFT);
        if (next >= 0) {
          const tail = pageEnd - pos;
          const n = this.window.fill(memory, pos, pageEnd, next * PAGE_SIZE);
          status = decoder.decode(this.window.bytes, 0, n, curIp, bitness, rec);
          if (rec.length > tail) crossPage = next;
        }
        if (next < 0 || status === NEED_MORE) {
          pool.give(rec);
          reason = BlockEnd.NextPageUnavailable;
          break;
        }
      }
      const len = rec.length;
      if (curIp + len > ipTop) {
        // The bytes after the top of the IP range are not the next bytes in memory.
        pool.give(rec);
        crossPage = -1;
        reason = BlockEnd.IpWrap;
        break;
      }
      records[count++] = rec;
      pos += len;
      curIp += len;
      if (status !== OK) {
        reason = status === INVALID ? BlockEnd.Invalid : BlockEnd.TooLong;
        break;
      }
      const a = rec.attributes;
      if ((a & WRITES_MEMORY) !== 0) writes = true;
      if ((a & (PRIVILEGED | SENSITIVE | FLOW_MASK | SERIALIZING)) !== 0) {
        reason =
          (a & PRIVILEGED) !== 0
            ? BlockEnd.Privileged
            : (a & SENSITIVE) !== 0
              ? BlockEnd.Sensitive
              : (a & FLOW_MASK) !== 0
                ? BlockEnd.ControlTransfer
                : BlockEnd.Serializing;
        break;
      }
      if (pos >= pageEnd) {
        reason = BlockEnd.PageEnd;
        break;
      }
      if (curIp === ipTop) {
        reason = BlockEnd.IpWrap;
        break;
      }
    }
    out.count = count;
    out.byteLength = pos - physAddr;
    out.endReason = reason;
    out.crossPage = crossPage;
    out.writesMemory = writes;
  }

  private resolveNext(page: number): number {
    if (this.nextPage === null) return -1;
    const next = this.nextPage(page);
    return Number.isInteger(next) && next >= 0 && next < this.pageCount ? next : -1;
  }
}
