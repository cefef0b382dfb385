/**
 * Child process of the crash test: opens an image and writes to it until it is killed.
 * Protocol on stdout, one line each: `ready`, then `begin ID OFFSET LENGTH SEED` before a write
 * (`zero ...` for a zero-write, SEED 0) and `ack ID` once the image acknowledged it.
 * Arguments: IMAGE SEED. Several writes are kept in flight, so batches form.
 */
import { openImage } from '../src/images.js';
import { fillPattern, rng } from '../src/testing.js';

const [path, seedArg] = process.argv.slice(2);
if (path === undefined || seedArg === undefined) {
  process.stderr.write('usage: crash-writer IMAGE SEED\n');
  process.exit(2);
}
const seed = Number(seedArg);
const random = rng(seed);
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const image = await openImage(path, { log: (l) => process.stderr.write(`${l}\n`) });
out('ready');
const size = image.virtualSize;
let id = 0;

async function writer(): Promise<void> {
  for (;;) {
    const n = id++;
    const sectors = 1 + random(random(3) === 0 ? 256 : 16);
    const length = sectors * 512;
    const offset = random((size - length) / 512 + 1) * 512;
    if (random(8) === 0) {
      out(`zero ${n} ${offset} ${length} 0`);
      await image.writeZeroes(offset, length);
    } else {
      const dataSeed = seed * 1_000_003 + n;
      out(`begin ${n} ${offset} ${length} ${dataSeed}`);
      await image.write(offset, fillPattern(new Uint8Array(length), dataSeed));
    }
    out(`ack ${n}`);
  }
}

await Promise.all([writer(), writer(), writer(), writer()]);
