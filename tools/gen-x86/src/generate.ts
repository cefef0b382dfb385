/** Runs the generator: reads libs/x86/isa, writes (or checks) libs/x86/src/generated. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildTables, type BuiltTables } from './build.js';
import { emitSources } from './emit.js';
import type { RuntimeEnums } from './operands.js';
import { parseSections, type IsaSectionInput } from './parse.js';

/** The repository root (this file is tools/gen-x86/src/generate.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface GeneratorPaths {
  readonly isaDir: string;
  readonly decoderDir: string;
  readonly outputDir: string;
}

export function defaultPaths(root = REPO_ROOT): GeneratorPaths {
  return {
    isaDir: join(root, 'libs/x86/isa'),
    decoderDir: join(root, 'libs/x86/src/decoder'),
    outputDir: join(root, 'libs/x86/src/generated'),
  };
}

interface IsaModule {
  readonly SECTIONS: readonly IsaSectionInput[];
  readonly FLAG_TOKENS: Readonly<Record<string, unknown>>;
}

async function load<T>(file: string): Promise<T> {
  return (await import(pathToFileURL(file).href)) as T;
}

/** Enum objects of the runtime library, as plain name → value records. */
export async function loadEnums(decoderDir: string): Promise<RuntimeEnums> {
  const numeric = (e: Record<string, unknown>): Record<string, number> =>
    Object.fromEntries(Object.entries(e).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
  const register = await load<{ Register: Record<string, unknown> }>(join(decoderDir, 'register.ts'));
  const memorySize = await load<{ MemorySize: Record<string, unknown> }>(join(decoderDir, 'memory-size.ts'));
  const attributes = await load<{ CodeAttr: Record<string, unknown>; FlowControl: Record<string, unknown> }>(
    join(decoderDir, 'attributes.ts'),
  );
  const feature = await load<{ Feature: Record<string, unknown> }>(join(decoderDir, 'feature.ts'));
  return {
    register: numeric(register.Register),
    memorySize: numeric(memorySize.MemorySize),
    codeAttr: numeric(attributes.CodeAttr),
    flowControl: numeric(attributes.FlowControl),
    feature: numeric(feature.Feature),
  };
}

export async function buildFromIsa(paths: GeneratorPaths): Promise<BuiltTables> {
  const isa = await load<IsaModule>(join(paths.isaDir, 'index.ts'));
  const enums = await loadEnums(paths.decoderDir);
  const rows = parseSections(isa.SECTIONS, new Set(Object.keys(isa.FLAG_TOKENS)));
  return buildTables(rows, enums);
}

/** Generated file name → contents. Deterministic for a given table. */
export async function generateSources(paths: GeneratorPaths): Promise<Map<string, string>> {
  const sources = emitSources(await buildFromIsa(paths));
  return new Map([...sources].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Writes the generated files; returns their names. */
export async function writeGenerated(paths: GeneratorPaths): Promise<string[]> {
  const sources = await generateSources(paths);
  await mkdir(paths.outputDir, { recursive: true });
  for (const [name, text] of sources) await writeFile(join(paths.outputDir, name), text);
  return [...sources.keys()];
}

/** Regenerates in memory and lists the committed files that differ, are missing or are stale. */
export async function checkGenerated(paths: GeneratorPaths): Promise<string[]> {
  const sources = await generateSources(paths);
  const problems: string[] = [];
  for (const [name, text] of sources) {
    let current: string | null = null;
    try {
      current = await readFile(join(paths.outputDir, name), 'utf8');
    } catch {
      problems.push(`${name} (missing)`);
      continue;
    }
    if (current !== text) problems.push(`${name} (differs)`);
  }
  let present: string[] = [];
  try {
    present = await readdir(paths.outputDir);
  } catch {
    // A missing directory is reported through its missing files.
  }
  for (const name of present) if (!sources.has(name)) problems.push(`${name} (not generated any more)`);
  return problems;
}
