/**
 * Serves ConsoleService.WriteConsoleInput for one console of a VM on plex86.<vm>.console.<id>.
 * A request id seen recently gets the answer it got then, so a retried request is queued once.
 */

import { BusError, serveMethods, vmSubject, type Bus, type BusService } from '@plex86/bus';
import { ConsoleServiceDefinition, ErrorCode } from '@plex86/proto';

/** Largest WriteConsoleInput payload. */
export const CONSOLE_MAX_INPUT_REQUEST = 65536;
const REMEMBERED_REQUESTS = 256;

/** A console that takes typed bytes: returns how many it queued (fewer when its buffer is full). */
export interface ConsoleInputTarget {
  readonly consoleId: string;
  queueInput(data: Uint8Array): number;
}

export function serveConsoleInput(
  bus: Bus,
  vm: string,
  target: ConsoleInputTarget,
  device: 'virtio' | 'uart',
): Promise<BusService> {
  const consoleId = target.consoleId;
  const answered = new Map<string, number>();
  return serveMethods(
    bus,
    {
      name: 'plex-console-input',
      version: '0.1.0',
      description: `input of ${device} console ${consoleId} of VM ${vm}`,
      metadata: { vm, console: consoleId, device },
      queue: '',
    },
    vmSubject(vm, 'console', consoleId),
    ConsoleServiceDefinition,
    {
      writeConsoleInput: (request, context) => {
        if (request.consoleId !== '' && request.consoleId !== consoleId) {
          throw new BusError(
            ErrorCode.ERROR_CODE_BAD_REQUEST,
            context.subject,
            `this is console ${consoleId}, not ${request.consoleId}`,
          );
        }
        if (request.data.length > CONSOLE_MAX_INPUT_REQUEST) {
          throw new BusError(
            ErrorCode.ERROR_CODE_BAD_REQUEST,
            context.subject,
            `input of ${request.data.length} bytes is over the ${CONSOLE_MAX_INPUT_REQUEST}-byte limit`,
          );
        }
        const id = request.requestId;
        const earlier = id === '' ? undefined : answered.get(id);
        if (earlier !== undefined) return { acceptedBytes: earlier };
        const acceptedBytes = target.queueInput(request.data);
        if (id !== '') {
          answered.set(id, acceptedBytes);
          if (answered.size > REMEMBERED_REQUESTS) answered.delete(answered.keys().next().value as string);
        }
        return { acceptedBytes };
      },
    },
  );
}
