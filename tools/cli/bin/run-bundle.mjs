// The CLI as one JavaScript file for `plex86 run`, bundled from its TypeScript sources with esbuild
// and kept in node_modules/.cache/plex86. tsx compiles file by file, so a `const enum` of one file is
// an object lookup in the others; bundled, the values are inlined. The guest workload of plex86
// bench boot runs about 7 % faster and reaches the prompt a second sooner than through tsx.
//
// The bundle is made again when a file it was made from changed (its size or time); the list of
// those files is written next to it. Dependencies in node_modules stay outside the bundle and are
// loaded from there. Without esbuild, or when the cache cannot be written, the caller uses tsx.
//
// Each checkout has a manifest of its own (named after its path): a git worktree whose node_modules
// is the main checkout's, as when two builds are compared with plex86 bench boot --against, keeps
// its bundle instead of making it again for every run. The workspace's own packages are bundled from
// the checkout's own sources (workspace.mjs).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, workspaceSources } from './workspace.mjs';

const WORKSPACE_URL = new URL('./workspace.mjs', import.meta.url).href;
const ENTRY = join(ROOT, 'tools/cli/src/main.ts');
const DIR = join(ROOT, 'node_modules/.cache/plex86');
/** This checkout's manifest: its path, the bundle's file name and the stamps of its inputs. */
export const MANIFEST = join(DIR, `cli-${createHash('sha256').update(ROOT).digest('hex').slice(0, 16)}.json`);
/** A bundle younger than this is never removed: another process may be about to name it. */
const GRACE_MS = 60_000;

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

/**
 * Bare imports stay outside the bundle, but for the workspace's own packages, bundled from this
 * checkout's sources.
 */
function dependenciesOutside(sources) {
  return {
    name: 'dependencies-outside',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (!args.path.startsWith('@plex86/')) return { path: args.path, external: true };
        const source = sources.get(args.path);
        return source === undefined ? undefined : { path: source };
      });
    },
  };
}

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
    plugins: [dependenciesOutside(workspaceSources(ROOT))],
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
  // A change to how bundles are made makes them again.
  for (const url of [import.meta.url, WORKSPACE_URL]) {
    const file = fileURLToPath(url);
    inputs[relative(ROOT, file)] = stamp(file);
  }
  mkdirSync(DIR, { recursive: true });
  const temporary = `.${process.pid}.tmp`;
  writeFileSync(join(DIR, name + temporary), code);
  renameSync(join(DIR, name + temporary), join(DIR, name));
  writeFileSync(MANIFEST + temporary, JSON.stringify({ root: ROOT, bundle: name, inputs }));
  renameSync(MANIFEST + temporary, MANIFEST);
  pruneBundles(DIR);
  return join(DIR, name);
}

/**
 * Removes from the bundle cache `dir` the manifests of checkouts that are gone (or that name none)
 * and the bundles no manifest names, but for bundles younger than `graceMs`.
 */
export function pruneBundles(dir, graceMs = GRACE_MS) {
  const named = new Set();
  for (const file of readdirSync(dir)) {
    if (!file.startsWith('cli') || !file.endsWith('.json')) continue;
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch {
      manifest = undefined;
    }
    if (typeof manifest?.root === 'string' && typeof manifest.bundle === 'string' && existsSync(manifest.root)) {
      named.add(manifest.bundle);
    } else {
      rmSync(join(dir, file), { force: true });
    }
  }
  const before = Date.now() - graceMs;
  for (const file of readdirSync(dir)) {
    if (!file.startsWith('cli-') || !file.endsWith('.mjs') || named.has(file)) continue;
    const path = join(dir, file);
    try {
      if (statSync(path).mtimeMs < before) rmSync(path, { force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
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
