import { randomBytes } from 'node:crypto';
import {
  BusError,
  methodClient,
  vmSubject,
  type Bus,
  type BusLogger,
  type MethodClient,
  RateLimitedLog,
} from '@plex86/bus';
import { ConsoleServiceDefinition, ErrorCode } from '@plex86/proto';

/** The monitor's console input buffer: sending more per request only comes back unaccepted. */
export const INPUT_CHUNK = 4096;
/** Bytes typed while the guest does not take them are kept up to this much, then dropped. */
export const DEFAULT_MAX_PENDING = 65536;
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 250;

export interface InputStats {
  /** Bytes the monitor accepted. */
  sent: number;
  /** WriteConsoleInput requests answered. */
  requests: number;
  /** Waits before sending again: a full buffer, a VM not running or an unreachable monitor. */
  retries: number;
  /** Bytes dropped: over the pending limit, or refused by the monitor as malformed. */
  dropped: number;
}

export interface ConsoleInputOptions {
  readonly maxPending?: number;
  readonly timeoutMs?: number;
  readonly logger: BusLogger;
}

/**
 * Sends what the user types to the monitor with ConsoleService.WriteConsoleInput, one request at a
 * time, in order. The monitor takes what fits in its 4096-byte buffer (`accepted_bytes`); the rest
 * is sent again after a growing pause, with a new request id. A request that timed out is repeated
 * with the same id, since the monitor may have queued it (it queues an id once).
 */
export class ConsoleInputSender {
  readonly stats: InputStats = { sent: 0, requests: 0, retries: 0, dropped: 0 };
  private readonly client: MethodClient<typeof ConsoleServiceDefinition>;
  private readonly maxPending: number;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private readonly dropLog: RateLimitedLog;
  private nextId = 0;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The request being sent (or waiting to be sent again), kept so a retry repeats it exactly. */
  private inFlight: { id: string; data: Uint8Array } | null = null;
  private running = false;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    bus: Bus,
    readonly vm: string,
    readonly consoleId: string,
    private readonly options: ConsoleInputOptions,
  ) {
    this.client = methodClient(bus, vmSubject(vm, 'console', consoleId), ConsoleServiceDefinition);
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.dropLog = new RateLimitedLog((line) => options.logger.warn(line));
  }

  /** Bytes waiting to be accepted by the monitor. */
  get backlog(): number {
    return this.pendingBytes + (this.inFlight?.data.length ?? 0);
  }

  /** Queues typed bytes (copied); bytes beyond the pending limit are dropped and counted. */
  push(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    const room = this.maxPending - this.backlog;
    const take = Math.min(room, bytes.length);
    if (take < bytes.length) {
      this.stats.dropped += bytes.length - take;
      this.dropLog.line(
        `console ${this.consoleId}: dropped ${bytes.length - take} input bytes, ${this.backlog} still wait for the guest`,
      );
    }
    if (take <= 0) return;
    this.pending.push(bytes.slice(0, take));
    this.pendingBytes += take;
    if (!this.running && this.timer === null) void this.pump();
  }

  /** Resolves once every queued byte was accepted or dropped. */
  idle(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight = null;
    this.releaseIdle();
  }

  private takeChunk(): { id: string; data: Uint8Array } {
    const size = Math.min(INPUT_CHUNK, this.pendingBytes);
    const data = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const head = this.pending[0] as Uint8Array;
      const n = Math.min(head.length, size - filled);
      data.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.pendingBytes -= size;
    return { id: this.newId(), data };
  }

  private newId(): string {
    return `${this.idPrefix}-${++this.nextId}`;
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed) {
        if (this.inFlight === null) {
          if (this.pendingBytes === 0) break;
          this.inFlight = this.takeChunk();
        }
        const request = this.inFlight;
        const wait = await this.send(request);
        if (this.closed) return;
        if (wait) {
          this.scheduleRetry();
          return;
        }
      }
    } finally {
      this.running = false;
    }
    this.releaseIdle();
  }

  /** Sends the request in flight; true when the rest must wait. */
  private async send(request: { id: string; data: Uint8Array }): Promise<boolean> {
    let accepted: number;
    try {
      const reply = await this.client.writeConsoleInput(
        { requestId: request.id, consoleId: this.consoleId, data: request.data },
        { timeoutMs: this.options.timeoutMs },
      );
      accepted = Math.min(reply.acceptedBytes, request.data.length);
    } catch (e) {
      const code = e instanceof BusError ? e.code : ErrorCode.ERROR_CODE_INTERNAL;
      switch (code) {
        case ErrorCode.ERROR_CODE_TIMEOUT:
        case ErrorCode.ERROR_CODE_UNAVAILABLE:
          // The monitor may have queued it: the same id again cannot queue it twice.
          return true;
        case ErrorCode.ERROR_CODE_NO_RESPONDERS:
        case ErrorCode.ERROR_CODE_FAILED_PRECONDITION:
          // Not queued (no monitor yet, or the VM is not running): try again later as a new request.
          request.id = this.newId();
          return true;
        default:
          this.stats.dropped += request.data.length;
          this.options.logger.warn(
            `console ${this.consoleId}: the monitor refused ${request.data.length} input bytes: ${(e as Error).message}`,
          );
          this.inFlight = null;
          return false;
      }
    }
    this.stats.requests++;
    this.stats.sent += accepted;
    if (accepted === request.data.length) {
      this.inFlight = null;
      this.retryMs = FIRST_RETRY_MS;
      return false;
    }
    // The guest's buffer is full: the rest goes later, as a new request; soon if the guest is reading.
    if (accepted > 0) this.retryMs = FIRST_RETRY_MS;
    this.inFlight = { id: this.newId(), data: request.data.subarray(accepted) };
    return true;
  }

  private scheduleRetry(): void {
    this.stats.retries++;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, delay);
  }

  private releaseIdle(): void {
    if (this.backlog !== 0 && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
