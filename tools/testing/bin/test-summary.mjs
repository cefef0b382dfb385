#!/usr/bin/env node
// Sums the vitest JSON reports of every project into one closing line:
// "tests: N passed, N failed, N skipped". Exits 1 when a test failed or no
// report was written, so an empty run never passes as green.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const area of ['libs', 'services', 'tools']) {
  const dir = join(root, area);
  if (!existsSync(dir)) continue;
  for (const project of readdirSync(dir)) {
    const file = join(dir, project, 'test-output', 'vitest-results.json');
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, 'utf8'));
    reports++;
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    console.log(`  ${area}/${project}: ${report.numPassedTests} passed, ${report.numFailedTests} failed`);
  }
}
if (reports === 0) {
  console.error('test-summary: no test report found');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
