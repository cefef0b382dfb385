interface Pending<W> {
  readonly op: W | null;
  readonly read: (() => Promise<unknown>) | null;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Orders the I/O of one image: reads run concurrently with each other, mutations run alone and
 * in arrival order. Mutations queued while another batch runs are handed over together, so an
 * image can make a whole batch durable with one round of syncs (group commit). A read queued
 * after a mutation waits for it, so it sees the written data.
 */
export class IoScheduler<W> {
  private readonly queue: Pending<W>[] = [];
  private activeReads = 0;
  private mutating = false;

  constructor(
    private readonly runBatch: (ops: readonly W[]) => Promise<void>,
    private readonly maxBatch = 64,
  ) {}

  read<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op: null, read: fn, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  mutate(op: W): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, read: null, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Resolves once everything queued before it has completed. */
  idle(): Promise<void> {
    return this.read(async () => undefined);
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.mutating) {
      const head = this.queue[0] as Pending<W>;
      if (head.read) {
        this.queue.shift();
        this.activeReads++;
        head.read().then(
          (v) => this.finishRead(head, v, null),
          (e: unknown) => this.finishRead(head, undefined, e ?? new Error('read failed')),
        );
        continue;
      }
      if (this.activeReads > 0) return;
      const batch: Pending<W>[] = [];
      while (batch.length < this.maxBatch && this.queue.length > 0 && (this.queue[0] as Pending<W>).op !== null) {
        batch.push(this.queue.shift() as Pending<W>);
      }
      this.mutating = true;
      this.runBatch(batch.map((p) => p.op as W)).then(
        () => this.finishBatch(batch, null),
        (e: unknown) => this.finishBatch(batch, e ?? new Error('write failed')),
      );
    }
  }

  private finishRead(p: Pending<W>, value: unknown, error: unknown): void {
    this.activeReads--;
    if (error === null) p.resolve(value);
    else p.reject(error);
    this.pump();
  }

  private finishBatch(batch: Pending<W>[], error: unknown): void {
    this.mutating = false;
    for (const p of batch) {
      if (error === null) p.resolve(undefined);
      else p.reject(error);
    }
    this.pump();
  }
}
