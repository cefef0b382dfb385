#!/usr/bin/env node
// The plex86 command. It runs the CLI from its TypeScript sources: tsx compiles
// them on load, and workspace packages resolve to their sources through the
// "@plex86/source" export condition, so no build step precedes a run.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const addSourceCondition =
  'export async function resolve(specifier, context, next) {' +
  " return next(specifier, { ...context, conditions: [...context.conditions, '@plex86/source'] }); }";
register(`data:text/javascript,${encodeURIComponent(addSourceCondition)}`);
registerTsx();

const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
