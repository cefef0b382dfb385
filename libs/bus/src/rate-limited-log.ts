/**
 * Writes one line per event, but at most one per interval: a peer that floods a service with bad
 * messages must not flood its log too. Suppressed lines are counted in the next line written.
 */
export class RateLimitedLog {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  line(text: string): void {
    const t = this.now();
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
