#!/usr/bin/env node
// Fails when the committed generated code in libs/proto/src/gen is not what `buf generate`
// produces from proto/ now. Regenerates into a temporary directory, so it needs no git and
// leaves the checkout untouched.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const protoDir = join(root, 'proto');
const committedDir = join(root, 'libs/proto/src/gen');
const buf = join(root, 'node_modules/.bin/buf');

function listFiles(dir) {
  const files = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(dir, path));
    }
  };
  walk(dir);
  return files.sort();
}

const tmp = mkdtempSync(join(tmpdir(), 'plex86-codegen-'));
try {
  // buf.gen.yaml writes to ../libs/proto/src/gen relative to proto/; --output moves that base
  // so the tree lands in <tmp>/libs/proto/src/gen.
  const run = spawnSync(buf, ['generate', '--output', join(tmp, 'proto')], { cwd: protoDir, encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    const detail = run.error ? run.error.message : run.stderr;
    console.error(`codegen-check: buf generate failed (is npm ci done?): ${detail}`);
    process.exit(2);
  }
  const freshDir = join(tmp, 'libs/proto/src/gen');
  if (!statSync(freshDir, { throwIfNoEntry: false })?.isDirectory()) {
    console.error(`codegen-check: buf generate wrote nothing to ${freshDir}`);
    process.exit(2);
  }
  const fresh = new Set(listFiles(freshDir));
  const committed = new Set(listFiles(committedDir));
  const problems = [];
  for (const file of fresh) {
    if (!committed.has(file)) problems.push(`missing  ${file}`);
    else if (!readFileSync(join(freshDir, file)).equals(readFileSync(join(committedDir, file))))
      problems.push(`differs  ${file}`);
  }
  for (const file of committed) if (!fresh.has(file)) problems.push(`stale    ${file}`);
  if (problems.length > 0) {
    console.error(`codegen-check: libs/proto/src/gen is out of date with proto/ (${problems.length} files):`);
    for (const line of problems) console.error(`  ${line}`);
    console.error('Run `npx nx run proto:codegen --skip-nx-cache` and commit libs/proto/src/gen.');
    process.exit(1);
  }
  console.log(`codegen-check: libs/proto/src/gen matches proto/ (${fresh.size} files)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
