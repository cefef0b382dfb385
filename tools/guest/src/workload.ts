import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * A CPU-heavy busybox sh workload for the guest: checksums of generated data, shell arithmetic and
 * many forks. It is typed at the guest's shell prompt (a quoted here-document writes it to a file,
 * then one command runs it) and prints its results between markers, one `key=value` per line.
 * The same script runs under any engine and natively on the host (busybox-static:i386), so its
 * results can be compared across engines and against values computed here in Node.
 */

export interface WorkloadSize {
  /** Lines of generated data ("i x", x from a 32-bit LCG): about 16 bytes each. */
  readonly lines: number;
  /** Iterations of the shell arithmetic loop. */
  readonly arithmetic: number;
  /** Iterations of the loop that forks a command substitution running `expr`. */
  readonly forks: number;
}

/** Sized to take 10 to 20 s under qemu-system-i386 -accel tcg on the development machines (2 shared cores). */
export const DEFAULT_WORKLOAD: WorkloadSize = { lines: 24_000, arithmetic: 12_000, forks: 600 };

/** Marks the workload's output; the typed script only holds `$m`, so its echo never matches. */
export const WORKLOAD_MARK = 'plex86-workload';
export const WORKLOAD_BEGIN = `<<${WORKLOAD_MARK} begin>>`;
export const WORKLOAD_END = `<<${WORKLOAD_MARK} end>>`;

/**
 * Every key the workload prints, in order. Each is printed when its step (WORKLOAD_STEPS) is done,
 * so the time from one result line to the next is the time of one step.
 */
export const WORKLOAD_KEYS = [
  'lines',
  'md5',
  'sha1',
  'sha256',
  'crc32',
  'sortedMd5',
  'awkSum',
  'gzipBytes',
  'arith',
  'forks',
  'forked',
] as const;

export type WorkloadKey = (typeof WORKLOAD_KEYS)[number];

/** What each step of the script does, by the key of the result line that ends it. */
export const WORKLOAD_STEPS: Record<WorkloadKey, string> = {
  lines: 'awk generates the data',
  md5: 'md5sum',
  sha1: 'sha1sum',
  sha256: 'sha256sum',
  crc32: 'crc32',
  sortedMd5: 'sort -k2,2n | md5sum',
  awkSum: 'awk sums the data',
  gzipBytes: 'gzip -9 | wc -c',
  arith: 'shell arithmetic loop',
  forks: 'loop forking expr',
  forked: 'awk reads /proc/stat',
};
export type WorkloadResults = Record<WorkloadKey, string>;

/** Where the script file goes in the guest. */
export const GUEST_WORKLOAD_FILE = '/tmp/workload.sh';

function checkSize(size: WorkloadSize): void {
  for (const [name, value] of Object.entries(size)) {
    if (!Number.isInteger(value) || value <= 0 || value > 10_000_000) {
      throw new Error(`workload ${name} must be an integer from 1 to 10000000, not ${String(value)}`);
    }
  }
}

/**
 * The workload as a shell script working in `dir` (no quotes or spaces). Lines stay short, so
 * busybox's line editing never wraps them while they are typed on an 80-column serial console,
 * and hold no tabs, which would trigger its completion.
 */
export function workloadScript(size: WorkloadSize = DEFAULT_WORKLOAD, dir = '/tmp'): string {
  checkSize(size);
  if (!/^\/[\w./-]*$/.test(dir)) throw new Error(`workload directory must be a plain absolute path: ${dir}`);
  return `m=${WORKLOAD_MARK}
f=${dir}/workload.data
echo "<<$m begin>>"
awk -v n=${size.lines} 'BEGIN{x=1;for(i=1;i<=n;i++){
x=(x*69069+1)%4294967296;print i,x}}' >$f
r=$(awk 'END{print NR}' $f); echo "$m: lines=$r"
r=$(md5sum <$f); echo "$m: md5=\${r%% *}"
r=$(sha1sum <$f); echo "$m: sha1=\${r%% *}"
r=$(sha256sum <$f); echo "$m: sha256=\${r%% *}"
r=$(crc32 <$f); echo "$m: crc32=$r"
r=$(sort -k2,2n $f | md5sum); echo "$m: sortedMd5=\${r%% *}"
r=$(awk '{s=(s+$1*($2%65536))%1000000007}END{print s}' $f)
echo "$m: awkSum=$r"
r=$(gzip -9 -c $f | wc -c); echo "$m: gzipBytes=$r"
i=0; s=0; h=5381
while [ $i -lt ${size.arithmetic} ]; do
s=$(((s*31+i*i)%1000000007)); h=$(((h*33^i)&4294967295))
i=$((i+1)); done
echo "$m: arith=$s,$h"
p0=$(awk '$1=="processes"{print $2}' /proc/stat)
i=0; s=0
while [ $i -lt ${size.forks} ]; do
s=$((s+$(expr $i % 7))); i=$((i+1)); done
p1=$(awk '$1=="processes"{print $2}' /proc/stat)
echo "$m: forks=$s"
if [ $((p1-p0)) -ge ${size.forks} ]; then r=yes; else r=no; fi
echo "$m: forked=$r"
rm -f $f
echo "<<$m end>>"
`;
}

/**
 * The lines to type at the guest's shell prompt, one at a time: a quoted here-document writes the
 * script to `file`; the last line runs it.
 */
export function workloadTypedLines(size: WorkloadSize = DEFAULT_WORKLOAD, file = GUEST_WORKLOAD_FILE): string[] {
  const dir = file.slice(0, file.lastIndexOf('/')) || '/';
  const body = workloadScript(size, dir).trimEnd().split('\n');
  if (body.includes('EOF')) throw new Error('the workload script must not hold a line "EOF"');
  return [`cat >${file} <<'EOF'`, ...body, 'EOF', `sh ${file}`];
}

export class WorkloadOutputError extends Error {}

/**
 * Reads the workload's results from console output (CR LF line ends and anything printed around it
 * are fine). Throws a WorkloadOutputError saying what is missing when the output is incomplete.
 */
export function parseWorkloadOutput(output: string): WorkloadResults {
  const text = `\n${output.replace(/\r/g, '')}`;
  const begin = text.lastIndexOf(`\n${WORKLOAD_BEGIN}\n`);
  if (begin < 0) throw new WorkloadOutputError(`no "${WORKLOAD_BEGIN}" line in the output`);
  const end = text.indexOf(`\n${WORKLOAD_END}\n`, begin);
  const body = text.slice(begin + WORKLOAD_BEGIN.length + 2, end < 0 ? text.length : end);
  const found = new Map<string, string>();
  const prefix = `${WORKLOAD_MARK}: `;
  for (const line of body.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const eq = line.indexOf('=', prefix.length);
    if (eq < 0) continue;
    const key = line.slice(prefix.length, eq);
    if (found.has(key)) throw new WorkloadOutputError(`the workload printed ${key} twice`);
    found.set(key, line.slice(eq + 1));
  }
  const missing = WORKLOAD_KEYS.filter((k) => !found.has(k));
  if (missing.length > 0 || end < 0) {
    const got = [...found.keys()].join(', ') || 'none';
    throw new WorkloadOutputError(
      end < 0
        ? `the workload did not reach "${WORKLOAD_END}" (results so far: ${got})`
        : `the workload's output lacks ${missing.join(', ')} (got: ${got})`,
    );
  }
  const results = {} as WorkloadResults;
  for (const key of WORKLOAD_KEYS) results[key] = found.get(key) as string;
  return results;
}

/** The generated data, as the script's awk program writes it. */
export function workloadData(lines: number): Uint8Array {
  let x = 1;
  const parts: string[] = [];
  for (let i = 1; i <= lines; i++) {
    // Exact in doubles: x < 2^32 and 69069 < 2^17.
    x = (x * 69069 + 1) % 4294967296;
    parts.push(`${i} ${x}\n`);
  }
  return new TextEncoder().encode(parts.join(''));
}

/**
 * The results computed in Node, independently of busybox, for every key but gzipBytes (which
 * depends on busybox's deflate) and forked (which reads the kernel's process counter).
 */
export function referenceResults(size: WorkloadSize = DEFAULT_WORKLOAD): Omit<WorkloadResults, 'gzipBytes' | 'forked'> {
  checkSize(size);
  const data = workloadData(size.lines);
  const hash = (algorithm: string, bytes: Uint8Array) => createHash(algorithm).update(bytes).digest('hex');
  const lines = new TextDecoder().decode(data).split('\n').slice(0, -1);
  const second = (line: string) => Number(line.slice(line.indexOf(' ') + 1));
  // LCG values modulo 2^32 are distinct within a period, so the sort has no ties.
  const sorted = lines.slice().sort((a, b) => second(a) - second(b));
  let awkSum = 0;
  lines.forEach((line, index) => {
    awkSum = (awkSum + (index + 1) * (second(line) % 65536)) % 1_000_000_007;
  });
  let s = 0n;
  let h = 5381n;
  for (let i = 0n; i < BigInt(size.arithmetic); i++) {
    s = (s * 31n + i * i) % 1_000_000_007n;
    h = ((h * 33n) ^ i) & 0xffffffffn;
  }
  let forks = 0;
  for (let i = 0; i < size.forks; i++) forks += i % 7;
  return {
    lines: String(size.lines),
    md5: hash('md5', data),
    sha1: hash('sha1', data),
    sha256: hash('sha256', data),
    crc32: crc32(data).toString(16).padStart(8, '0'),
    sortedMd5: hash('md5', new TextEncoder().encode(sorted.map((l) => `${l}\n`).join(''))),
    awkSum: String(awkSum),
    arith: `${s},${h}`,
    forks: String(forks),
  };
}
