#!/usr/bin/env node
// The plex86 command. It runs the CLI from its TypeScript sources: tsx compiles
// them on load (or esbuild bundles them for plex86 run), and workspace packages
// resolve to this checkout's sources (workspace.mjs), so no build step precedes a
// run.
import { register } from 'node:module';
import { availableParallelism } from 'node:os';

// V8 compiles and collects garbage on a pool of worker threads, four by default. On a machine with
// few cores they take the core the guest runs on: on two cores, plex86 bench boot reached the prompt
// 6 % sooner and ran the workload 10 % faster with one worker. So `plex86 run` starts itself again
// (the same process and PID, through process.execve) with one worker fewer than the machine has
// cores, unless node was given a pool size; a node without process.execve runs on as it is.
// Flags that change when V8 compiles the page functions were measured and not kept: with
// --always-sparkplug (no bytecode interpreter before the baseline code), `plex86 bench boot --against`
// gave the prompt 0.976x and the workload 1.007x (gzip 1.050x; four rounds in turns); --no-maglev
// and lower tier-up counts (--invocation-count-for-turbofan=300, --invocation-count-for-maglev=50)
// left the workload as it was (within 1 %, two rounds each), as did a pool of two workers, and so did
// (one round each) tiering up from Maglev to TurboFan inside a running function (--osr-from-maglev),
// sooner to Maglev there (--invocation-count-for-maglev-osr=20), and less wait after a function's
// inline caches change (--minimum-invocations-after-ic-update=50), though the first gzip pass runs
// about a fifth of its time in baseline code. Nor did flags that lighten TurboFan's work on page
// functions, which over the boot and the workload takes the compiler thread 9.9 s:
// --no-turbo-loop-peeling (9.4 s) and --no-turbo-load-elimination (8.6 s) left the steps within
// noise, --max-inlined-bytecode-size-cumulative=100 (8.9 s) made every step slower (one run each).
// Page functions left to Maglev (--turbo-filter=-guest_*) made every step slower (sort 7.7 s against
// 5.1 s, shell arithmetic 6.0 s against 3.6 s; one run), and
// --turbo-collect-feedback-in-generic-lowering, --no-profile-guided-optimization and
// --no-lazy-feedback-allocation left the workload within the machine's noise (one or two runs each).
const command = process.argv[2];
const poolSize = (args) => args.some((a) => a.startsWith('--v8-pool-size'));
if (
  command === 'run' &&
  typeof process.execve === 'function' &&
  !poolSize(process.execArgv) &&
  !poolSize((process.env.NODE_OPTIONS ?? '').split(/\s+/))
) {
  const workers = Math.max(1, availableParallelism() - 1);
  const args = [`--v8-pool-size=${workers}`, ...process.execArgv, ...process.argv.slice(1)];
  process.execve(process.execPath, [process.execPath, ...args], process.env);
}

// `plex86 run` runs from a bundle of the CLI when one can be had (run-bundle.mjs says why); the
// other commands, and run without esbuild, go through tsx.
let main;
if (command === 'run') {
  const { cliBundle } = await import('./run-bundle.mjs');
  const bundle = await cliBundle();
  if (bundle !== null) ({ main } = await import(bundle));
}
if (main === undefined) {
  // Loaded only now, so that a process that starts itself again has not loaded it for nothing.
  const { register: registerTsx } = await import('tsx/esm/api');
  // The workspace's packages from this checkout's sources (workspace.mjs says why).
  register(new URL('./workspace.mjs', import.meta.url));
  registerTsx();
  ({ main } = await import('../src/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
