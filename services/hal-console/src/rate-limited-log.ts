/**
 * Writes one line per event, but at most one per interval, so a misbehaving publisher cannot flood
 * the log; suppressed lines are counted in the next line written.
 */
export class RateLimitedLog {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 1000,
  ) {}

  line(text: string): void {
    const t = performance.now();
    if (t - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.last = t;
    const more = this.suppressed;
    this.suppressed = 0;
    this.write(more === 0 ? text : `${text} (${more} similar lines suppressed)`);
  }
}
