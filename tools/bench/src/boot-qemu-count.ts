import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { userCacheDir } from '@plex86/monitor';
import { join } from 'node:path';

/**
 * A QEMU TCG plugin that counts guest instructions: each translated block adds its instruction
 * count to a 64-bit counter inline (no helper call) when it runs. The counter lives in a file the
 * plugin maps shared, so the host reads it at any moment while QEMU runs. A block left early by an
 * exception counts in full, which overstates the count by a small fraction. Declarations follow
 * QEMU's plugin API version 1 (QEMU 7.x); Debian's QEMU ships no plugins or plugin headers.
 */
const PLUGIN_SOURCE = `#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static volatile uint64_t *counter;

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, (void *)counter,
                                           qemu_plugin_tb_n_insns(tb));
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv) {
  (void)info;
  const char *path = NULL;
  for (int i = 0; i < argc; i++)
    if (strncmp(argv[i], "out=", 4) == 0) path = argv[i] + 4;
  if (path == NULL) return -1;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return -1;
  if (ftruncate(fd, 4096) != 0) { close(fd); return -1; }
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (page == MAP_FAILED) return -1;
  counter = page;
  qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
  return 0;
}
`;

/** Where the compiled plugin is kept. */
function pluginDir(): string {
  return userCacheDir('bench');
}

/**
 * The instruction-counting plugin, compiled with the host's C compiler the first time (and cached).
 * Throws with what to install when there is no compiler.
 */
export function qemuCountPlugin(): string {
  const key = createHash('sha256').update(PLUGIN_SOURCE).digest('hex').slice(0, 12);
  const dir = pluginDir();
  const plugin = join(dir, `qemu-count-${key}.so`);
  if (existsSync(plugin)) return plugin;
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `qemu-count-${key}.c`);
  writeFileSync(source, PLUGIN_SOURCE);
  const partial = `${plugin}.partial-${process.pid}`;
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-fvisibility=hidden', '-o', partial, source], {
    encoding: 'utf8',
  });
  if (cc.error)
    throw new Error(`cannot compile QEMU's instruction-count plugin: ${cc.error.message} (apt-get install gcc)`);
  if (cc.status !== 0) throw new Error(`cannot compile QEMU's instruction-count plugin:\n${cc.stderr}`);
  renameSync(partial, plugin);
  return plugin;
}

/** The count the plugin keeps in `file`, or 0 before QEMU has created it. */
export function readQemuCount(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return 0;
  }
  try {
    const bytes = new Uint8Array(8);
    if (readSync(fd, bytes, 0, 8, 0) < 8) return 0;
    return Number(new DataView(bytes.buffer).getBigUint64(0, true));
  } finally {
    closeSync(fd);
  }
}
