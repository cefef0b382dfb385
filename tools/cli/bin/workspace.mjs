// The workspace's own packages (`@plex86/...`) as this checkout's sources. A git worktree whose
// node_modules links to another checkout, as when two builds are compared with plex86 bench boot
// --against, would otherwise load that checkout's packages through node_modules: its bench would
// time the other checkout's CLI, and its bundle would hold the other checkout's engine.
//
// The module serves twice: run-bundle.mjs bundles from workspaceSources, and plex86.mjs registers
// it as module hooks (initialize, resolve) for the commands run through tsx.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** This checkout: the directory three levels above tools/cli/bin. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The sources the workspace's packages under `root` export for the `@plex86/source` condition, by
 * import path (`@plex86/x86`, `@plex86/x86/testing`): the files of that checkout, whatever its
 * node_modules links to.
 */
export function workspaceSources(root) {
  const sources = new Map();
  const { workspaces = [] } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  for (const pattern of workspaces) {
    if (!pattern.endsWith('/*')) continue;
    const group = join(root, pattern.slice(0, -2));
    if (!existsSync(group)) continue;
    for (const name of readdirSync(group)) {
      const dir = join(group, name);
      let pkg;
      try {
        pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
        const source = target?.['@plex86/source'];
        if (typeof source === 'string') sources.set(pkg.name + subpath.slice(1), join(dir, source));
      }
    }
  }
  return sources;
}

/** Import path to file URL, for the resolve hook: set by initialize. */
let urls = new Map();

/** Module hook: imports resolve to the packages of `data.root` (default: this checkout). */
export function initialize(data) {
  const root = data?.root ?? ROOT;
  urls = new Map([...workspaceSources(root)].map(([path, file]) => [path, pathToFileURL(file).href]));
}

/** Module hook: a workspace package resolves to the checkout's source, anything else as Node would. */
export async function resolve(specifier, context, next) {
  const url = urls.get(specifier);
  return url !== undefined ? { url, shortCircuit: true } : next(specifier, context);
}
