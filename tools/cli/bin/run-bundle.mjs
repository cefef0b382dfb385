// The CLI as one JavaScript file for `plex86 run`, bundled from its TypeScript sources with esbuild
// and kept in node_modules/.cache/plex86. tsx compiles file by file, so a `const enum` of one file is
// an object lookup in the others; bundled, the values are inlined. The guest workload of plex86
// bench boot runs about 7 % faster and reaches the prompt a second sooner than through tsx.
//
// The bundle is made again when a file it was made from changed (its size or time); the list of
// those files is written next to it. Dependencies in node_modules stay outside the bundle and are
// loaded from there. Without esbuild, or when the cache cannot be written, the caller uses tsx.

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ENTRY = join(ROOT, 'tools/cli/src/main.ts');
const DIR = join(ROOT, 'node_modules/.cache/plex86');
const MANIFEST = join(DIR, 'cli.json');

/** Size and modification time of a file, or null when it is gone. */
function stamp(path) {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return null;
  }
}

/** The bundle named by the manifest, when every file it lists is as it was. */
function current() {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    for (const [path, was] of Object.entries(manifest.inputs)) if (stamp(join(ROOT, path)) !== was) return null;
    const bundle = join(DIR, manifest.bundle);
    return stamp(bundle) === null ? null : bundle;
  } catch {
    return null;
  }
}

/** Bare imports stay outside the bundle, but for the workspace's own packages (built from source). */
const dependenciesOutside = {
  name: 'dependencies-outside',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@plex86/') ? undefined : { path: args.path, external: true },
    );
  },
};

async function make() {
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@plex86/source'],
    plugins: [dependenciesOutside],
    write: false,
    metafile: true,
    logLevel: 'silent',
    // Code that asks for `require` in an ES module gets one.
    banner: {
      js: "import { createRequire as __plex86Require } from 'node:module'; const require = __plex86Require(import.meta.url);",
    },
  });
  const code = result.outputFiles[0].contents;
  const name = `cli-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`;
  const inputs = {};
  for (const path of Object.keys(result.metafile.inputs)) inputs[path] = stamp(join(ROOT, path));
  mkdirSync(DIR, { recursive: true });
  const temporary = `.${process.pid}.tmp`;
  writeFileSync(join(DIR, name + temporary), code);
  renameSync(join(DIR, name + temporary), join(DIR, name));
  writeFileSync(MANIFEST + temporary, JSON.stringify({ bundle: name, inputs }));
  renameSync(MANIFEST + temporary, MANIFEST);
  // Bundles of earlier sources.
  for (const old of readdirSync(DIR)) {
    if (old.startsWith('cli-') && old.endsWith('.mjs') && old !== name) rmSync(join(DIR, old), { force: true });
  }
  return join(DIR, name);
}

/** The URL of an up-to-date bundle of the CLI, or null when none can be had here. */
export async function cliBundle() {
  try {
    const bundle = current() ?? (await make());
    return pathToFileURL(bundle).href;
  } catch {
    return null;
  }
}
