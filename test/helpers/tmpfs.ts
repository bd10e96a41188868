/**
 * A small, real filesystem that fills up: a tmpfs mounted for the test (needs root and a sandbox
 * that allows mount; otherwise tests skip with the reason). `fill()` writes a filler file until
 * the kernel says ENOSPC; `free()` removes it.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

let probed: string | false | undefined;

/** false when a tmpfs can be mounted here, else why not (for { skip }). */
export function tmpfsUnavailable(): string | false {
  if (probed !== undefined) return probed;
  if (process.getuid?.() !== 0) return (probed = 'mounting a small tmpfs needs root');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-tmpfs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    probed = false;
  } catch (err) {
    probed = `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

export interface SmallDisk {
  dir: string;
  /** Fill the disk up (ENOSPC); returns the bytes written. `leave`: stop this many bytes short (approximately, page-rounded). */
  fill(leave?: number): number;
  /** Remove the filler: the space is free again. */
  free(): void;
}

export function mountTmpfs(t: Test, sizeBytes: number): SmallDisk {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lfr-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const filler = path.join(dir, 'filler.bin');
  return {
    dir,
    fill(leave = 0) {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        if (leave > 0) {
          const s = statfsSync(dir);
          const room = s.bavail * s.bsize - leave;
          const chunk = Buffer.alloc(4096, 0x61);
          while (written + chunk.length <= room) written += writeSync(fd, chunk);
          return written;
        }
        for (const size of [65536, 4096, 512, 1]) {
          const chunk = Buffer.alloc(size, 0x61);
          for (;;) {
            try {
              const w = writeSync(fd, chunk);
              written += w;
              if (w < size) break;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
        return written;
      } finally {
        closeSync(fd);
      }
    },
    free() {
      try {
        unlinkSync(filler);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    },
  };
}
