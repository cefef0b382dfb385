import { access, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BlockImage, ImageFormat } from './block-image.js';
import { badRequest } from './errors.js';
import { createOverlay, openImage, resolveBacking } from './images.js';
import { Qcow2Image } from './qcow2/image.js';

/** A disk as given on the command line: `FILE[,overlay=PATH|,undo][,format=raw|qcow2][,readonly]`. */
export interface DiskSpec {
  file: string;
  /** Writes go to this qcow2 overlay over FILE, created when missing. */
  overlay: string | null;
  /** Writes go to a temporary overlay that is deleted when the disk is closed. */
  undo: boolean;
  format: ImageFormat | null;
  readOnly: boolean;
}

export const DISK_SPEC_SYNTAX = 'FILE[,overlay=PATH|,undo][,format=raw|qcow2][,readonly]';

export function parseDiskSpec(text: string): DiskSpec {
  const [file, ...options] = text.split(',');
  if (!file) throw badRequest(`disk "${text}": no file given (${DISK_SPEC_SYNTAX})`);
  const spec: DiskSpec = { file, overlay: null, undo: false, format: null, readOnly: false };
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq < 0 ? option : option.slice(0, eq);
    const value = eq < 0 ? null : option.slice(eq + 1);
    if (key === 'overlay' && value) spec.overlay = value;
    else if (key === 'undo' && value === null) spec.undo = true;
    else if (key === 'readonly' && value === null) spec.readOnly = true;
    else if (key === 'format' && (value === 'raw' || value === 'qcow2')) spec.format = value;
    else throw badRequest(`disk "${text}": bad option "${option}" (${DISK_SPEC_SYNTAX})`);
  }
  if (spec.overlay !== null && spec.undo) throw badRequest(`disk "${text}": overlay= and undo exclude each other`);
  if (spec.readOnly && (spec.overlay !== null || spec.undo)) {
    throw badRequest(`disk "${text}": readonly takes no overlay`);
  }
  return spec;
}

/** The text parseDiskSpec reads back as `spec`. */
export function formatDiskSpec(spec: DiskSpec): string {
  const parts = [spec.file];
  if (spec.overlay !== null) parts.push(`overlay=${spec.overlay}`);
  if (spec.undo) parts.push('undo');
  if (spec.format !== null) parts.push(`format=${spec.format}`);
  if (spec.readOnly) parts.push('readonly');
  return parts.join(',');
}

export interface OpenedDisk {
  readonly spec: DiskSpec;
  /** The image the guest writes to: FILE itself, the overlay, or the temporary overlay. */
  readonly image: BlockImage;
  /** Closes the image; an undo overlay is deleted. */
  close(): Promise<void>;
}

/**
 * Opens a disk as `plex86 run --disk` describes it. With `overlay=PATH` the overlay must sit on
 * FILE (an existing one is reused, so a VM can be resumed on its diff disk); with `undo` every
 * write is dropped when the disk is closed.
 */
export async function openDisk(
  spec: DiskSpec | string,
  options: { tmpDir?: string; log?: (line: string) => void } = {},
): Promise<OpenedDisk> {
  const s = typeof spec === 'string' ? parseDiskSpec(spec) : spec;
  const log = options.log;
  if (s.undo) {
    const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'plex86-undo-'));
    try {
      const path = join(dir, 'undo.qcow2');
      await createOverlay(path, resolve(s.file));
      const image = await openImage(path, { log });
      return {
        spec: s,
        image,
        close: async () => {
          try {
            await image.close();
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
      };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  if (s.overlay !== null) {
    const exists = await access(s.overlay).then(
      () => true,
      () => false,
    );
    if (!exists) await createOverlay(s.overlay, s.file);
    const image = await openImage(s.overlay, { log });
    try {
      await checkOverlayBase(image, s.overlay, s.file);
    } catch (e) {
      await image.close();
      throw e;
    }
    return { spec: s, image, close: () => image.close() };
  }
  const image = await openImage(s.file, { readOnly: s.readOnly, format: s.format ?? undefined, log });
  return { spec: s, image, close: () => image.close() };
}

async function checkOverlayBase(image: BlockImage, overlay: string, file: string): Promise<void> {
  const name = image instanceof Qcow2Image ? image.header.backingFile : null;
  if (name === null) throw badRequest(`${overlay} is not an overlay: it has no backing file`);
  const [base, wanted] = await Promise.all([realpath(resolveBacking(overlay, name)), realpath(file)]);
  if (base !== wanted) throw badRequest(`${overlay} is an overlay of ${base}, not of ${file}`);
}
