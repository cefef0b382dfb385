/**
 * Downloads a Debian package of any architecture with apt and unpacks it, without touching the host's dpkg
 * configuration: apt gets a private state directory under the user cache, and `dpkg -x` only unpacks.
 * Results are cached; later calls return the unpacked tree without network access.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface DebianPackageOptions {
  /** Cache root; default `$XDG_CACHE_HOME/plex86/debian` or `~/.cache/plex86/debian`. */
  readonly cacheDir?: string;
  /** apt-get executable (default `apt-get` on PATH). */
  readonly aptGet?: string;
  /** dpkg executable (default `dpkg` on PATH). */
  readonly dpkg?: string;
  /** How long to wait for another process fetching the same package, in ms (default 10 minutes). */
  readonly lockTimeoutMs?: number;
}

/** A package fetch failed; the message says what to install or check. */
export class DebianPackageError extends Error {}

const MARKER = '.plex86-unpacked';

/** Default cache root for unpacked Debian packages. */
export function debianCacheDir(): string {
  const base = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(base, 'plex86', 'debian');
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Returns the directory a Debian package (`name` for `arch`, e.g. `busybox-static`, `i386`) is unpacked
 * into, fetching it with apt on the first call.
 */
export function fetchDebianPackage(name: string, arch: string, options: DebianPackageOptions = {}): Promise<string> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) return Promise.reject(new DebianPackageError(`bad package name "${name}"`));
  if (!/^[a-z0-9-]+$/.test(arch)) return Promise.reject(new DebianPackageError(`bad architecture "${arch}"`));
  const cacheDir = options.cacheDir ?? debianCacheDir();
  const key = `${cacheDir}\0${name}\0${arch}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = fetchLocked(name, arch, cacheDir, options).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function fetchLocked(
  name: string,
  arch: string,
  cacheDir: string,
  options: DebianPackageOptions,
): Promise<string> {
  const root = join(cacheDir, 'root', `${name}_${arch}`);
  if (existsSync(join(root, MARKER))) return root;
  await mkdir(cacheDir, { recursive: true });
  const lock = join(cacheDir, `.lock-${name}_${arch}`);
  await acquireLock(lock, options.lockTimeoutMs ?? 600_000);
  try {
    if (existsSync(join(root, MARKER))) return root;
    await download(name, arch, cacheDir, root, options);
    return root;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** A directory is the lock: mkdir is atomic. A lock older than the timeout is taken over. */
async function acquireLock(lock: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lock);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const age = await stat(lock).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > timeoutMs) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new DebianPackageError(`timed out waiting for ${lock} (another fetch of the same package?)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function download(
  name: string,
  arch: string,
  cacheDir: string,
  root: string,
  options: DebianPackageOptions,
): Promise<void> {
  const aptGet = options.aptGet ?? 'apt-get';
  const dpkg = options.dpkg ?? 'dpkg';
  const debs = join(cacheDir, 'debs');
  await mkdir(debs, { recursive: true });
  const aptOptions = await privateAptOptions(arch, cacheDir);
  // A mirror in mid-sync can fail one index (e.g. security) while the one holding the package is fine:
  // keep going and report the update error only if the download fails too.
  const updateError = await run(aptGet, [...aptOptions, 'update'], cacheDir, 'apt-get').then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (updateError && /not found/.test(updateError.message)) throw updateError;
  const before = new Set(await readdir(debs));
  try {
    await run(aptGet, [...aptOptions, 'download', `${name}:${arch}`], debs, 'apt-get');
  } catch (e) {
    throw updateError ? new DebianPackageError(`${(e as Error).message}\n(after: ${updateError.message})`) : e;
  }
  const fetched = (await readdir(debs)).filter(
    (f) => f.endsWith('.deb') && f.startsWith(`${name}_`) && f.includes(`_${arch}.deb`),
  );
  const deb = fetched.find((f) => !before.has(f)) ?? fetched.sort().at(-1);
  if (!deb) throw new DebianPackageError(`apt-get download ${name}:${arch} produced no .deb in ${debs}`);
  const staging = `${root}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await run(dpkg, ['-x', join(debs, deb), staging], cacheDir, 'dpkg');
  await writeFile(join(staging, MARKER), `${deb}\n`);
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, '..'), { recursive: true });
  await rename(staging, root);
}

/** apt options that keep apt's lists, cache and status in a private directory for `arch`. */
async function privateAptOptions(arch: string, cacheDir: string): Promise<string[]> {
  const state = join(cacheDir, `apt-${arch}`);
  await mkdir(join(state, 'lists', 'partial'), { recursive: true });
  await mkdir(join(state, 'cache', 'archives', 'partial'), { recursive: true });
  const status = join(state, 'status');
  if (!existsSync(status)) await writeFile(status, '');
  return [
    `-oAPT::Architecture=${arch}`,
    `-oAPT::Architectures=${arch}`,
    `-oDir::State::Lists=${join(state, 'lists')}`,
    `-oDir::Cache=${join(state, 'cache')}`,
    `-oDir::State::status=${status}`,
    '-oDebug::NoLocking=1',
    ...(process.getuid?.() === 0 ? ['-oAPT::Sandbox::User=root'] : []),
    '-q',
  ];
}

/**
 * The packages a Debian package depends on directly, as apt's lists for `arch` name them (e.g.
 * `linux-image-686` depends on the versioned `linux-image-6.1.0-50-686`). Updates the lists first.
 */
export async function debianPackageDepends(
  name: string,
  arch: string,
  options: DebianPackageOptions = {},
): Promise<string[]> {
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(name)) throw new DebianPackageError(`bad package name "${name}"`);
  if (!/^[a-z0-9-]+$/.test(arch)) throw new DebianPackageError(`bad architecture "${arch}"`);
  const cacheDir = options.cacheDir ?? debianCacheDir();
  await mkdir(cacheDir, { recursive: true });
  const aptOptions = await privateAptOptions(arch, cacheDir);
  const updated = join(cacheDir, `apt-${arch}`, 'lists', '.plex86-updated');
  if (await isStale(updated)) {
    await run(options.aptGet ?? 'apt-get', [...aptOptions, 'update'], cacheDir, 'apt-get').then(
      () => writeFile(updated, ''),
      () => undefined,
    );
  }
  const aptCache = options.aptGet ? join(options.aptGet, '..', 'apt-cache') : 'apt-cache';
  const out = await capture(aptCache, [...aptOptions, 'depends', `${name}:${arch}`], cacheDir, 'apt-cache');
  const depends = [...out.matchAll(/^\s+Depends: ([a-z0-9][a-z0-9+.-]+)/gm)].map((m) => m[1] as string);
  if (depends.length === 0) throw new DebianPackageError(`apt-cache knows no dependencies of ${name}:${arch}`);
  return depends;
}

/** True when the marker of the last successful `apt-get update` is missing or older than a day. */
function isStale(marker: string): Promise<boolean> {
  return stat(marker).then(
    (s) => Date.now() - s.mtimeMs > 24 * 60 * 60 * 1000,
    () => true,
  );
}

function run(file: string, args: string[], cwd: string, tool: string): Promise<void> {
  return capture(file, args, cwd, tool).then(() => undefined);
}

function capture(file: string, args: string[], cwd: string, tool: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(String(stdout));
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new DebianPackageError(
            `${tool} not found (${file}): fetching Debian packages needs apt-get and dpkg ` +
              '(install the Debian/Ubuntu packages "apt" and "dpkg")',
          ),
        );
        return;
      }
      reject(new DebianPackageError(`${file} ${args.at(-1) ?? ''} failed: ${String(stderr).trim() || error.message}`));
    });
  });
}
