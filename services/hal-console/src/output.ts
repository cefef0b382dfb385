import {
  protoTypeName,
  vmSubject,
  type Bus,
  type BusLogger,
  type BusMessage,
  type BusSubscription,
  RateLimitedLog,
} from '@plex86/bus';
import { ConsoleOutput } from '@plex86/proto';

/** The most a ConsoleOutput chunk may carry (console.proto). */
export const MAX_OUTPUT_CHUNK = 65536;
/** A sequence number this far below the last one means the VM started again, not a late chunk. */
const RESTART_DISTANCE = 1024;

/** Counters of the output side of a console. */
export interface OutputStats {
  /** Chunks written to the endpoint. */
  chunks: number;
  bytes: number;
  /** Chunks the monitor published that never arrived, from gaps in the sequence numbers. */
  lostChunks: number;
  /** Chunks whose sequence number was not above the last one (dropped). */
  outOfOrder: number;
  /** Messages that did not decode, were for another console or were too large (dropped, logged). */
  malformed: number;
  /** Times the sequence started again at 1: the VM was started again. */
  restarts: number;
}

export function consoleOutputSubject(vm: string, consoleId: string): string {
  return vmSubject(vm, 'console', consoleId, 'out');
}

/**
 * Follows `plex86.<vm>.console.<id>.out` and hands each chunk's bytes, in order, to `write`.
 * Sequence numbers start at 1 with every start of the VM; a gap is reported once per gap (a log
 * line and `lostChunks`), a repeated or late chunk is dropped.
 */
export class ConsoleOutputReader {
  readonly stats: OutputStats = { chunks: 0, bytes: 0, lostChunks: 0, outOfOrder: 0, malformed: 0, restarts: 0 };
  readonly subject: string;
  private last = 0;
  private readonly subscription: BusSubscription;
  private readonly badMessages: RateLimitedLog;
  private readonly type = protoTypeName(ConsoleOutput);

  constructor(
    bus: Bus,
    readonly vm: string,
    readonly consoleId: string,
    private readonly write: (bytes: Uint8Array) => void,
    private readonly logger: BusLogger,
  ) {
    this.subject = consoleOutputSubject(vm, consoleId);
    this.badMessages = new RateLimitedLog((line) => logger.warn(line));
    this.subscription = bus.subscribe(this.subject, this.receive);
  }

  close(): void {
    this.subscription.unsubscribe();
  }

  private readonly receive = (message: BusMessage): void => {
    const stats = this.stats;
    if (message.type !== '' && message.type !== this.type) {
      stats.malformed++;
      this.badMessages.line(`console ${this.consoleId}: dropped a ${message.type} on ${this.subject}`);
      return;
    }
    let chunk: ConsoleOutput;
    try {
      chunk = ConsoleOutput.decode(message.data);
    } catch (e) {
      stats.malformed++;
      this.badMessages.line(`console ${this.consoleId}: dropped undecodable output: ${(e as Error).message}`);
      return;
    }
    if (chunk.consoleId !== this.consoleId || chunk.data.length > MAX_OUTPUT_CHUNK) {
      stats.malformed++;
      this.badMessages.line(
        chunk.consoleId !== this.consoleId
          ? `console ${this.consoleId}: dropped output for console ${JSON.stringify(chunk.consoleId)}`
          : `console ${this.consoleId}: dropped a ${chunk.data.length}-byte chunk (at most ${MAX_OUTPUT_CHUNK})`,
      );
      return;
    }
    const sequence = Number(chunk.sequence);
    if (this.last !== 0 && (sequence === 1 || sequence + RESTART_DISTANCE < this.last)) {
      // The VM started again (its first chunks may be lost, but not a thousand chunks of reordering).
      stats.restarts++;
    } else if (this.last !== 0) {
      if (sequence <= this.last) {
        stats.outOfOrder++;
        return;
      }
      const lost = sequence - this.last - 1;
      if (lost > 0) {
        stats.lostChunks += lost;
        this.logger.warn(
          `console ${this.consoleId}: ${lost} output chunk${lost === 1 ? '' : 's'} lost (sequence ${this.last + 1}..${sequence - 1})`,
        );
      }
    }
    this.last = sequence;
    stats.chunks++;
    stats.bytes += chunk.data.length;
    if (chunk.data.length > 0) this.write(chunk.data);
  };
}
