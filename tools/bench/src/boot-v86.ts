/**
 * Runs v86 in this Node process as a machine the boot benchmark drives like QEMU: the guest's
 * first serial port on stdin/stdout, and on the IPC channel the guest instruction count on request.
 *
 *   node --import tsx boot-v86.ts --bios F --vga-bios F --kernel F --initrd F --append S --memory MIB
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { V86 } from 'v86';

/** A request from the benchmark on the IPC channel. */
export interface V86Request {
  readonly type: 'count' | 'stop';
  /** Echoed in the answer, so that answers to overlapping requests are told apart. */
  readonly id: number;
}

/** The answer to a `count` request. */
export interface V86Count {
  readonly type: 'count';
  readonly id: number;
  /** Guest instructions since the emulator started. */
  readonly instructions: number;
}

// v86 counts in a 32-bit word, which wraps every few seconds at full speed; sampling it much more
// often than that and summing the differences gives the full count.
const SAMPLE_MS = 50;

function bytes(path: string): ArrayBuffer {
  const data = readFileSync(path);
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bios: { type: 'string' },
      'vga-bios': { type: 'string' },
      kernel: { type: 'string' },
      initrd: { type: 'string' },
      append: { type: 'string' },
      memory: { type: 'string' },
    },
    strict: true,
  });
  const need = (name: keyof typeof values): string => {
    const v = values[name];
    if (v === undefined) throw new Error(`boot-v86 needs --${name}`);
    return v;
  };
  const memoryMiB = Number(values.memory ?? '256');
  if (!Number.isInteger(memoryMiB) || memoryMiB < 16 || memoryMiB > 2048) {
    throw new Error(`--memory wants MiB from 16 to 2048, not ${String(values.memory)}`);
  }
  const wasmFile = join(dirname(createRequire(import.meta.url).resolve('v86')), 'v86.wasm');

  const emulator = new V86({
    wasm_path: wasmFile,
    bios: { buffer: bytes(need('bios')) },
    vga_bios: { buffer: bytes(need('vga-bios')) },
    bzimage: { buffer: bytes(need('kernel')) },
    initrd: { buffer: bytes(need('initrd')) },
    cmdline: need('append'),
    memory_size: memoryMiB * 1024 * 1024,
    autostart: true,
  });

  let pending: number[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    process.stdout.write(Uint8Array.from(pending));
    pending = [];
  };
  emulator.add_listener('serial0-output-byte', (byte) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(byte);
  });
  process.stdin.on('data', (chunk: Buffer) => emulator.serial0_send(chunk.toString('latin1')));

  let total = 0;
  let last = 0;
  const sample = () => {
    const now = emulator.get_instruction_counter();
    total += (now - last) >>> 0;
    last = now;
    return total;
  };
  const sampler = setInterval(sample, SAMPLE_MS);

  const stop = async () => {
    clearInterval(sampler);
    flush();
    await emulator.destroy();
    process.exit(0);
  };
  process.on('message', (message: V86Request) => {
    if (message.type === 'count') {
      process.send?.({ type: 'count', id: message.id, instructions: sample() } satisfies V86Count);
    } else if (message.type === 'stop') void stop();
  });
  process.on('disconnect', () => void stop());
}

main().catch((e: unknown) => {
  process.stderr.write(`boot-v86: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
