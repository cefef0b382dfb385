/**
 * The monitor's SnapshotService for one VM on plex86.<vm>.snapshot.<method>: SaveSnapshot holds
 * the machine, writes the file on the monitor's host and lets the VM run on (or stops it).
 */

import { randomUUID } from 'node:crypto';
import { BusError, SUBJECT_ROOT, methodClient, serveMethods, type Bus, type BusService } from '@plex86/bus';
import { ErrorCode, SnapshotServiceDefinition, type SaveSnapshotResponse } from '@plex86/proto';
import type { SavedSnapshot } from './session.js';
import { SnapshotError } from './state.js';

/** Saves a snapshot of the served VM (bound to its machine and setup by the run). */
export type SnapshotSaver = (path: string, stop: boolean) => Promise<SavedSnapshot>;

/** Asks the monitor of VM `vm` to save a snapshot at `path` (absolute, on the monitor's host). */
export function requestSnapshotSave(
  bus: Bus,
  vm: string,
  path: string,
  options: { stop?: boolean; timeoutMs?: number } = {},
): Promise<SaveSnapshotResponse> {
  const client = methodClient(bus, `${SUBJECT_ROOT}.${vm}.snapshot`, SnapshotServiceDefinition);
  return client.saveSnapshot(
    { requestId: randomUUID(), path, stop: options.stop === true },
    options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
  );
}

export function serveSnapshotService(bus: Bus, vm: string, save: SnapshotSaver): Promise<BusService> {
  const prefix = `${SUBJECT_ROOT}.${vm}.snapshot`;
  return serveMethods(
    bus,
    {
      name: 'plex-monitor-snapshot',
      version: '0.1.0',
      description: `snapshots of VM ${vm}`,
      metadata: { vm },
      // The monitor that runs the VM answers alone.
      queue: '',
    },
    prefix,
    SnapshotServiceDefinition,
    {
      saveSnapshot: async (request, context) => {
        if (request.path === '') throw new BusError(ErrorCode.ERROR_CODE_BAD_REQUEST, context.subject, 'no path given');
        try {
          const saved = await save(request.path, request.stop);
          return { info: saved.info, pauseMs: saved.pauseMs };
        } catch (e) {
          const code = e instanceof SnapshotError ? ErrorCode.ERROR_CODE_BAD_REQUEST : ErrorCode.ERROR_CODE_INTERNAL;
          throw new BusError(code, context.subject, `snapshot not saved: ${(e as Error).message}`);
        }
      },
    },
  );
}
