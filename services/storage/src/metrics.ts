/** Counters of one block device, for logs and benchmarks (the bus counts requests per endpoint). */
export class BlockMetrics {
  reads = 0;
  writes = 0;
  discards = 0;
  flushes = 0;
  readBytes = 0;
  writeBytes = 0;
  /** Requests answered from the remembered outcome of an earlier request with the same id. */
  retries = 0;
  /** Requests that completed with an I/O error status. */
  errors = 0;
}
