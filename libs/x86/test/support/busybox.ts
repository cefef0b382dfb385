/**
 * The .text of Debian's busybox-static:i386, a real i386 program used as decoder test input. It is
 * fetched once with apt into the user cache by tools/testing's fetchDebianPackage.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { elfSection, type ElfSection } from '../../src/testing/index.js';

type FetchDebianPackage = (name: string, arch: string) => Promise<string>;

/** tools/testing's entry point serves the NATS harness; the fetcher is loaded from its own module. */
async function loadFetcher(): Promise<FetchDebianPackage> {
  const file = join(import.meta.dirname, '../../../../tools/testing/src/debian-package.ts');
  const module = (await import(pathToFileURL(file).href)) as { fetchDebianPackage: FetchDebianPackage };
  return module.fetchDebianPackage;
}

let cached: Promise<ElfSection> | undefined;

/** The .text section of /bin/busybox from busybox-static:i386. */
export function busyboxText(): Promise<ElfSection> {
  cached ??= (async () => {
    const root = await (await loadFetcher())('busybox-static', 'i386');
    const file = new Uint8Array(await readFile(join(root, 'bin', 'busybox')));
    return elfSection(file, '.text');
  })();
  return cached;
}
