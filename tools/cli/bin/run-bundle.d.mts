/** This checkout's manifest: its path, the bundle's file name and the stamps of its inputs. */
export const MANIFEST: string;

/** The URL of an up-to-date bundle of the CLI, or null when none can be had here. */
export function cliBundle(): Promise<string | null>;

/**
 * Removes from the bundle cache `dir` the manifests of checkouts that are gone (or that name none)
 * and the bundles no manifest names, but for bundles younger than `graceMs`.
 */
export function pruneBundles(dir: string, graceMs?: number): void;
