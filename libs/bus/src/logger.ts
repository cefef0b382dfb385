/** Where the bus and typed services write their one-line diagnostics (bad input, failing handlers). */
export interface BusLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** Writes each line to stderr. */
export const stderrLogger: BusLogger = {
  warn(message: string): void {
    process.stderr.write(`warn: ${message}\n`);
  },
  error(message: string): void {
    process.stderr.write(`error: ${message}\n`);
  },
};

/** Error text for a log line, whatever was thrown. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
