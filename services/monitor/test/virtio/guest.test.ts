/**
 * A guest program drives virtio-blk as a driver would: PCI discovery through conf1, the legacy
 * registers, a split ring in its own memory, and a sector read served over the in-process bus
 * while the CPU polls the used ring.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInProcessBus, serveMethods } from '@plex86/bus';
import { BlockServiceDefinition, BlockStatus } from '@plex86/proto';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { attachVirtioDevices } from '../../src/virtio/attach.js';
import { runTool } from '../support/programs.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-virtio-guest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function assembleHere(name: string): Uint8Array {
  const out = join(dir, `${name}.bin`);
  runTool('nasm', ['-Werror', '-f', 'bin', '-o', out, join(import.meta.dirname, `${name}.asm`)], 'nasm');
  return new Uint8Array(readFileSync(out));
}

describe('virtio-blk from inside the guest', () => {
  it('finds the device on PCI, reads sector 1 through the legacy interface and sees the data', async () => {
    const bus = createInProcessBus();
    const disk = new Uint8Array(16 * 512);
    const text = 'sector one, served over the bus.';
    disk.set(new TextEncoder().encode(text), 512);
    const reads: bigint[] = [];
    await serveMethods(
      bus,
      { name: 'test-block', version: '0.0.1', queue: '' },
      'plex86.g1.block.vda',
      BlockServiceDefinition,
      {
        readSectors: (r) => {
          reads.push(r.sector);
          const start = Number(r.sector) * 512;
          return {
            requestId: r.requestId,
            status: BlockStatus.BLOCK_STATUS_OK,
            data: disk.slice(start, start + r.count * 512),
            message: '',
          };
        },
        writeSectors: (r) => ({ requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_IO_ERROR, message: 'no' }),
        flushCache: (r) => ({ requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_OK, message: '' }),
        discardSectors: (r) => ({ requestId: r.requestId, status: BlockStatus.BLOCK_STATUS_UNSUPPORTED, message: '' }),
        getBlockGeometry: (r) => ({
          requestId: r.requestId,
          geometry: {
            capacitySectors: 16n,
            optimalIoBytes: 4096,
            maxTransferSectors: 2048,
            readOnly: false,
            discard: false,
            writeZeroes: false,
            cylinders: 0,
            heads: 0,
            sectorsPerTrack: 0,
            serial: 'g1',
          },
        }),
      },
    );
    try {
      const machine = new Machine({ memory: 4 << 20 });
      let out = '';
      machine.addDebugcon(0xe9, (b) => (out += String.fromCharCode(b)));
      machine.setExitPort(0xf4);
      const pic = machine.platform.pic;
      const devices = await attachVirtioDevices({
        bus,
        vm: 'g1',
        io: machine.io,
        mem: machine.mem,
        setIrq: (line, level) => pic.setIrq(line, level),
        onEvent: () => machine.wake(),
        work: { begin: () => machine.beginWork(), end: () => machine.endWork() },
        disks: [{ id: 'vda' }],
      });
      machine.loadKernel(assembleHere('blk-guest'));
      const result = await machine.run(50_000_000);
      expect(result.message).toBe('');
      expect(result.status).toBe(1);
      expect(out).toBe(text);
      expect(reads).toEqual([1n]);
      expect(devices.blocks[0].busy).toBe(false);
      await devices.close();
    } finally {
      await bus.close();
    }
  });
});
