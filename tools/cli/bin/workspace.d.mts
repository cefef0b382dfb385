/** This checkout: the directory three levels above tools/cli/bin. */
export const ROOT: string;

/**
 * The sources the workspace's packages under `root` export for the `@plex86/source` condition, by
 * import path (`@plex86/x86`, `@plex86/x86/testing`): the files of that checkout, whatever its
 * node_modules links to.
 */
export function workspaceSources(root: string): Map<string, string>;
