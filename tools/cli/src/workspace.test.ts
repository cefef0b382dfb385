import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workspaceSources } from '../bin/workspace.mjs';

const HOOKS = pathToFileURL(resolve(import.meta.dirname, '../bin/workspace.mjs')).href;

/** A package `@plex86/probe` under `dir` whose module says `where` it is. */
function probePackage(dir: string, where: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: '@plex86/probe',
      type: 'module',
      exports: { '.': { '@plex86/source': './src/index.mjs' } },
    }),
  );
  writeFileSync(join(dir, 'src/index.mjs'), `export const where = ${JSON.stringify(where)};\n`);
}

describe("the workspace's packages", () => {
  it("are this checkout's sources, whatever node_modules links to", () => {
    const here = resolve(import.meta.dirname, '../../..');
    const sources = workspaceSources(here);
    expect(sources.get('@plex86/monitor')).toBe(join(here, 'services/monitor/src/index.ts'));
    expect(sources.get('@plex86/x86/testing')).toBe(join(here, 'libs/x86/src/testing/index.ts'));
    const tree = mkdtempSync(join(tmpdir(), 'plex86-worktree-'));
    try {
      writeFileSync(join(tree, 'package.json'), JSON.stringify({ workspaces: ['libs/*', 'tools/*'] }));
      mkdirSync(join(tree, 'libs/x86'), { recursive: true });
      writeFileSync(
        join(tree, 'libs/x86/package.json'),
        JSON.stringify({ name: '@plex86/x86', exports: { '.': { '@plex86/source': './src/index.ts' } } }),
      );
      expect([...workspaceSources(tree)]).toEqual([['@plex86/x86', join(tree, 'libs/x86/src/index.ts')]]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });

  it("resolve to this checkout's sources through the module hooks, not through node_modules", () => {
    // A worktree whose node_modules links the package to another checkout's copy of it.
    const tree = mkdtempSync(join(tmpdir(), 'plex86-worktree-'));
    try {
      writeFileSync(join(tree, 'package.json'), JSON.stringify({ workspaces: ['libs/*'] }));
      probePackage(join(tree, 'libs/probe'), 'this checkout');
      probePackage(join(tree, 'other/libs/probe'), 'the other checkout');
      mkdirSync(join(tree, 'node_modules/@plex86'), { recursive: true });
      symlinkSync(join(tree, 'other/libs/probe'), join(tree, 'node_modules/@plex86/probe'));
      const load = (hooks: boolean): string => {
        const script =
          (hooks
            ? `(await import('node:module')).register(${JSON.stringify(HOOKS)}, { data: { root: ${JSON.stringify(tree)} } });\n`
            : '') +
          "const { where } = await import('@plex86/probe');\n" +
          "const { join } = await import('node:path');\n" +
          'console.log(where, typeof join);\n';
        const entry = join(tree, hooks ? 'with-hooks.mjs' : 'without-hooks.mjs');
        writeFileSync(entry, script);
        const conditions = hooks ? [] : ['--conditions=@plex86/source'];
        const r = spawnSync(process.execPath, [...conditions, entry], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        return r.stdout.trim();
      };
      // Through node_modules, with the source condition Node's resolution would otherwise apply.
      expect(load(false)).toBe('the other checkout function');
      expect(load(true)).toBe('this checkout function');
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
