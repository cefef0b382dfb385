/** What a service running as its own process needs around its bus: its output and when to stop. */

/** Where a service process writes: progress to `out`, diagnostics to `err`. */
export interface ServiceIo {
  out(text: string): void;
  err(text: string): void;
}

/** The process's own standard output and error. */
export const processIo: ServiceIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Resolves when the service should stop: when `stop` aborts, or, without a signal, on the first
 * SIGINT or SIGTERM.
 */
export function untilStopped(stop?: AbortSignal): Promise<void> {
  return new Promise<void>((done) => {
    if (stop) {
      if (stop.aborted) done();
      stop.addEventListener('abort', () => done(), { once: true });
      return;
    }
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}
