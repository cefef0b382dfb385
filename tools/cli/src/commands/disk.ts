import {
  commitOverlay,
  createImage,
  createOverlay,
  imageInfo,
  undoOverlay,
  type CommitProgress,
  type ImageFormat,
  type ImageInfo,
} from '@plex86/storage';
import { UsageError, stringOption, type Command, type CommandIo, type OptionValues } from '../command.js';

const ACTION_OPTIONS: Record<string, string[]> = {
  create: ['size', 'base', 'format', 'cluster-size'],
  info: ['json'],
  commit: [],
  undo: [],
};

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parses a size like `512`, `64M` or `1.5G` (binary units); the result is a multiple of 512. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--${option} needs a size like 512, 64M or 2G, got "${text}"`);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0) {
    throw new UsageError(`--${option} must be a positive multiple of 512 bytes, got "${text}"`);
  }
  return bytes;
}

/** `67108864` -> `64 MiB`. */
export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

function formatOption(values: OptionValues): ImageFormat | undefined {
  const f = stringOption(values, 'format');
  if (f === undefined || f === 'raw' || f === 'qcow2') return f;
  throw new UsageError(`--format must be raw or qcow2, got "${f}"`);
}

function oneFile(positionals: string[], action: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`disk ${action} takes one FILE${positionals.length > 1 ? `, got ${positionals.length}` : ''}`);
  }
  return positionals[0] as string;
}

async function create(values: OptionValues, file: string, io: CommandIo): Promise<number> {
  const base = stringOption(values, 'base');
  const sizeText = stringOption(values, 'size');
  const size = sizeText === undefined ? undefined : parseSize(sizeText, 'size');
  const clusterText = stringOption(values, 'cluster-size');
  const clusterSize = clusterText === undefined ? undefined : parseSize(clusterText, 'cluster-size');
  const format = formatOption(values);
  if (base !== undefined) {
    if (format === 'raw') throw new UsageError('an overlay (--base) is always qcow2');
    await createOverlay(file, base, { size, clusterSize });
    const info = await imageInfo(file);
    io.out(
      `Created ${file}: qcow2 overlay over ${info.backingFile} (${info.backingFormat}), ` +
        `${formatSize(info.virtualSize)}; writes go to the overlay, the base stays unchanged.\n`,
    );
    return 0;
  }
  if (size === undefined) throw new UsageError('disk create needs --size, or --base for an overlay');
  if (format === 'raw' && clusterSize !== undefined) throw new UsageError('--cluster-size applies to qcow2 only');
  await createImage(file, { format: format ?? 'qcow2', size, clusterSize });
  io.out(`Created ${file}: ${format ?? 'qcow2'}, ${formatSize(size)}.\n`);
  return 0;
}

function describe(info: ImageInfo): string {
  const lines = [
    `image: ${info.path}`,
    `format: ${info.format}`,
    `virtual size: ${formatSize(info.virtualSize)} (${info.virtualSize} bytes)`,
    `file size: ${formatSize(info.fileSize)}`,
  ];
  if (info.format === 'qcow2') {
    lines.push(
      `qcow2 version: ${info.version}`,
      `cluster size: ${info.clusterSize}`,
      `refcount bits: ${info.refcountBits}`,
      `allocated in this image: ${formatSize(info.allocated)}`,
    );
    if (info.dirty) lines.push('dirty: yes (refcounts are repaired when opened for writing)');
    if (info.corrupt) lines.push('corrupt: yes (repair with qemu-img check -r all)');
  }
  if (info.backingFile !== null) {
    lines.push(`backing file: ${info.backingFile}${info.backingFormat ? ` (${info.backingFormat})` : ''}`);
    lines.push('backing chain:');
    for (const c of info.chain) {
      const extra = c.backingFile !== null ? `, over ${c.backingFile}` : '';
      lines.push(`  ${c.path}: ${c.format}, ${formatSize(c.virtualSize)}${extra}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Reports commit progress at most every 10 %, only for commits big enough to take a while. */
function progressReporter(io: CommandIo): (p: CommitProgress) => void {
  let shown = -1;
  return (p) => {
    if (p.total < 64 * 2 ** 20) return;
    const percent = Math.floor((p.done * 100) / p.total);
    if (shown >= 0 && percent < shown + 10 && p.done !== p.total) return;
    shown = percent;
    io.err(`commit: ${percent}% (${formatSize(p.done)} of ${formatSize(p.total)})\n`);
  };
}

export const diskCommand: Command = {
  name: 'disk',
  summary: 'Create and inspect disk images; commit or undo the changes in a diff (overlay) disk.',
  usage: 'plex86 disk create|info|commit|undo [OPTIONS] FILE',
  details:
    'Actions:\n' +
    '  create FILE    make an empty image (--size), or a qcow2 overlay over --base IMAGE\n' +
    '  info FILE      show format, sizes and the backing chain\n' +
    '  commit FILE    merge an overlay into its base image, then empty the overlay\n' +
    '  undo FILE      drop every change an overlay holds since it was made\n' +
    '\n' +
    'Options:\n' +
    '  --size N           virtual size, e.g. 512M or 20G (create; an overlay defaults to its base)\n' +
    '  --base IMAGE       create a qcow2 overlay whose reads fall through to IMAGE (raw or qcow2)\n' +
    '  --format F         raw or qcow2 (create; default qcow2)\n' +
    '  --cluster-size N   qcow2 cluster size, 512 to 2M (default 64K)\n' +
    '  --json             info as JSON\n' +
    '\n' +
    'Images are qcow2 version 3 as QEMU writes them: qemu-img can inspect, check and convert them.',
  options: {
    size: { type: 'string' },
    base: { type: 'string' },
    format: { type: 'string' },
    'cluster-size': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values, positionals, io) {
    const [action, ...rest] = positionals;
    const allowed = ACTION_OPTIONS[action ?? ''];
    const stray = allowed && Object.keys(values).find((k) => values[k] !== undefined && !allowed.includes(k));
    if (stray) throw new UsageError(`--${stray} does not apply to disk ${action}`);
    switch (action) {
      case 'create':
        return create(values, oneFile(rest, action), io);
      case 'info': {
        const info = await imageInfo(oneFile(rest, action));
        io.out(values.json ? `${JSON.stringify(info, null, 2)}\n` : describe(info));
        return 0;
      }
      case 'commit': {
        const file = oneFile(rest, action);
        const result = await commitOverlay(file, progressReporter(io));
        io.out(`Committed ${formatSize(result.bytes)} from ${file} into ${result.base}; the overlay is empty again.\n`);
        return 0;
      }
      case 'undo': {
        const file = oneFile(rest, action);
        await undoOverlay(file);
        io.out(`Dropped every change in ${file}; it reads as its base again.\n`);
        return 0;
      }
      case undefined:
        throw new UsageError('which action? create, info, commit or undo');
      default:
        throw new UsageError(`unknown action "${action}" (create, info, commit or undo)`);
    }
  },
};
