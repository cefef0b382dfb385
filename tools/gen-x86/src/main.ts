/**
 * `tsx tools/gen-x86/src/main.ts [--check]`: writes libs/x86/src/generated from libs/x86/isa, or with
 * --check regenerates in memory and fails, naming the files, when the committed ones differ.
 */
import { relative } from 'node:path';
import { checkGenerated, defaultPaths, REPO_ROOT, writeGenerated } from './generate.js';
import { IsaError } from './parse.js';

async function main(argv: string[]): Promise<number> {
  const paths = defaultPaths();
  const where = relative(REPO_ROOT, paths.outputDir);
  if (argv.some((a) => a !== '--check')) {
    process.stderr.write('usage: gen-x86 [--check]\n');
    return 2;
  }
  if (argv.includes('--check')) {
    const problems = await checkGenerated(paths);
    if (problems.length > 0) {
      process.stderr.write(
        `gen-x86: ${where} is out of date with libs/x86/isa:\n${problems.map((p) => `  ${p}\n`).join('')}` +
          'Run `nx run gen-x86:generate` and commit the result.\n',
      );
      return 1;
    }
    process.stdout.write(`gen-x86: ${where} is up to date\n`);
    return 0;
  }
  const written = await writeGenerated(paths);
  process.stdout.write(`gen-x86: wrote ${written.length} files to ${where}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(
      `gen-x86: ${error instanceof IsaError ? error.message : String((error as Error).stack ?? error)}\n`,
    );
    process.exitCode = 1;
  },
);
