import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { elfSection } from '@plex86/x86/testing';

/** A kernel module found in a kernel package's tree. */
export interface KernelModule {
  /** Module name as the kernel knows it (dashes read as underscores). */
  readonly name: string;
  /** Path relative to /lib/modules/<release>. */
  readonly path: string;
  /** Names of the modules it needs loaded first (its `.modinfo` `depends=`). */
  readonly depends: readonly string[];
}

function moduleName(fileName: string): string {
  return fileName.replace(/\.ko$/, '').replace(/-/g, '_');
}

/** The `depends=` list of a module, from its ELF `.modinfo` section. */
export function moduleDepends(ko: Uint8Array): string[] {
  const info = new TextDecoder().decode(elfSection(ko, '.modinfo').bytes);
  for (const field of info.split('\0')) {
    if (field.startsWith('depends=')) {
      return field
        .slice('depends='.length)
        .split(',')
        .filter((d) => d !== '')
        .map(moduleName);
    }
  }
  return [];
}

/** Every `.ko` under `moduleDir` (…/lib/modules/<release>), by module name. */
export function findModules(moduleDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ko')) found.set(moduleName(entry.name), relative(moduleDir, path));
    }
  };
  walk(moduleDir);
  return found;
}

/**
 * The modules `wanted` needs, dependencies first, each once: the order `insmod` must load them in.
 * Throws naming the module when one is missing from the tree.
 */
export function moduleLoadOrder(moduleDir: string, wanted: readonly string[]): KernelModule[] {
  const available = findModules(moduleDir);
  const ordered: KernelModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, neededBy: string) => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`kernel modules depend on each other in a cycle through ${name}`);
    const path = available.get(name);
    if (path === undefined) throw new Error(`kernel module ${name} (needed by ${neededBy}) is not in ${moduleDir}`);
    state.set(name, 'visiting');
    const depends = moduleDepends(readFileSync(join(moduleDir, path)));
    for (const dep of depends) visit(dep, name);
    state.set(name, 'done');
    ordered.push({ name, path, depends });
  };
  for (const name of wanted) visit(moduleName(name), 'the guest');
  return ordered;
}
