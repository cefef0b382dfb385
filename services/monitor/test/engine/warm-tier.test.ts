// The warm tier (engine/wasm/block-tier.ts) against the interpreter: the protected-mode programs
// print the same transcripts when every 32-bit block is compiled to WebAssembly on its first run,
// with each record either in WebAssembly or calling its handler. The programs fault in every way
// the suite checks (page faults with CR2, #GP on limits, stack faults, task switches), write into
// their own code, and switch privilege, so the fast paths' conditions and the slow paths are all
// taken.

import { describe, expect, it } from 'vitest';
import { assemble, runKernel } from '../support/programs.js';

/** Every block compiles on its first run, alone, whatever it holds; no page functions. */
const WARM = { compileThreshold: Number.MAX_SAFE_INTEGER, warmTier: { threshold: 0, batch: 1, maxFallbacks: 1 << 30 } };
/** The interpreter only. */
const INTERPRETED = { compileThreshold: Number.MAX_SAFE_INTEGER, warmTier: { threshold: -1 } };

describe('the warm tier', () => {
  for (const program of ['warm-paths', 'exceptions', 'paging', 'rings', 'tasks', 'smc', 'double-fault']) {
    it(`runs the ${program} program as the interpreter does`, async () => {
      const image = assemble(program);
      const reference = await runKernel(image, undefined, undefined, INTERPRETED);
      const warm = await runKernel(image, undefined, undefined, WARM);
      expect(warm.output).toBe(reference.output);
      expect([warm.end, warm.status, warm.message]).toEqual([reference.end, reference.status, reference.message]);
      expect(reference.machine.engine.stats.warmInstructions).toBe(0);
      const stats = warm.machine.engine.stats;
      expect(stats.warmBlocks).toBeGreaterThan(0);
      expect(stats.warmInstructions).toBeGreaterThan(0);
      expect(stats.warmInlined).toBeGreaterThan(0);
    });
  }
});
