import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DebianPackageError, debianPackageDepends, fetchDebianPackage } from './debian-package.js';

// These use apt against Debian's archive (the packages are cached under the user cache afterwards).
describe('Debian packages of another architecture', () => {
  it('resolves a metapackage to the versioned package it depends on', async () => {
    const depends = await debianPackageDepends('linux-image-686', 'i386');
    expect(depends.some((d) => /^linux-image-\d+\.\d+\.\d+-\d+-686$/.test(d))).toBe(true);
  }, 120_000);

  it('unpacks a package once and returns the same tree later', async () => {
    const root = await fetchDebianPackage('busybox-static', 'i386');
    expect(existsSync(join(root, 'bin', 'busybox'))).toBe(true);
    expect(await fetchDebianPackage('busybox-static', 'i386')).toBe(root);
  }, 120_000);

  it('refuses names apt would misread', async () => {
    await expect(fetchDebianPackage('busybox; rm -rf /', 'i386')).rejects.toThrow(DebianPackageError);
    await expect(debianPackageDepends('linux', 'i386 amd64')).rejects.toThrow(/bad architecture/);
  });

  it('says what to install when apt-get is missing', async () => {
    const error = fetchDebianPackage('hello', 'i386', {
      aptGet: '/nonexistent/apt-get',
      cacheDir: '/tmp/plex86-no-apt',
    });
    await expect(error).rejects.toThrow(/apt-get not found .*install/);
  });
});
