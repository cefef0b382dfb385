import { serveMethods, vmSubject, type Bus, type BusService } from '@plex86/bus';
import { ConsoleOutput, ConsoleServiceDefinition, ErrorCode } from '@plex86/proto';
import { BusError } from '@plex86/bus';

/** The monitor's input buffer per console (console.proto). */
const INPUT_BUFFER = 4096;

/**
 * The monitor's side of one console as console.proto specifies it, for driving a backend in tests:
 * a 4096-byte input buffer that accepts what fits, queues a request id once, and publishes output
 * chunks with sequence numbers.
 */
export class FakeMonitorConsole {
  /** Bytes queued for the guest and not yet read by it. */
  buffer: number[] = [];
  /** Everything the guest has read, in order. */
  readByGuest: number[] = [];
  /** Request ids in arrival order (repeats included). */
  readonly requestIds: string[] = [];
  /** Requests answered with fewer accepted bytes than sent. */
  partial = 0;
  running = true;
  /** Before answering the next request, wait this long (after queueing). */
  delayNextReplyMs = 0;
  private readonly answered = new Map<string, number>();
  private sequence = 0;
  private service: BusService | null = null;

  constructor(
    private readonly bus: Bus,
    readonly vm: string,
    readonly consoleId: string,
  ) {}

  async start(): Promise<this> {
    this.service = await serveMethods(
      this.bus,
      { name: 'fake-monitor-console', version: '0.0.1', queue: '' },
      vmSubject(this.vm, 'console', this.consoleId),
      ConsoleServiceDefinition,
      {
        writeConsoleInput: async (request, { subject }) => {
          this.requestIds.push(request.requestId);
          if (!this.running) {
            throw new BusError(ErrorCode.ERROR_CODE_FAILED_PRECONDITION, subject, 'VM is CREATED, not RUNNING');
          }
          let accepted = this.answered.get(request.requestId);
          if (accepted === undefined) {
            accepted = Math.min(request.data.length, INPUT_BUFFER - this.buffer.length);
            this.buffer.push(...request.data.subarray(0, accepted));
            this.answered.set(request.requestId, accepted);
            if (accepted < request.data.length) this.partial++;
          }
          const delay = this.delayNextReplyMs;
          this.delayNextReplyMs = 0;
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
          return { acceptedBytes: accepted };
        },
      },
    );
    return this;
  }

  /** The guest reads up to `n` bytes of its input. */
  guestReads(n: number): void {
    const taken = this.buffer.splice(0, n);
    this.readByGuest.push(...taken);
  }

  /** Publishes one output chunk with the next sequence number (or the one given). */
  output(text: string | Uint8Array, sequence = ++this.sequence): void {
    this.sequence = sequence;
    const data = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    this.bus.publish(
      vmSubject(this.vm, 'console', this.consoleId, 'out'),
      ConsoleOutput.encode({ consoleId: this.consoleId, sequence: BigInt(sequence), data, virtualTimeNs: 0n }).finish(),
      { type: 'plex86.v1.ConsoleOutput' },
    );
  }

  async stop(): Promise<void> {
    await this.service?.stop();
  }
}
