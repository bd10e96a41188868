// File helpers for scripts/provision: make a directory or a file exactly so (content, mode, owner),
// saying whether anything changed, and a leaf-by-leaf diff of two JSON values. Plain JavaScript:
// provisioning must not depend on a build step for its own plumbing.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/**
 * Ensure DIR exists with MODE and (when given) OWNER {uid, gid}.
 * Returns undefined when it already was so, else a short description of what was done.
 */
function ensureDir(dir, mode, owner) {
  let what;
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode });
    what = `created ${dir}`;
  }
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory: move it away`);
  const fixed = fixModeOwner(dir, st, mode, owner);
  return what ?? (fixed ? `${dir}: ${fixed}` : undefined);
}

function fixModeOwner(file, st, mode, owner) {
  const done = [];
  if ((st.mode & 0o7777) !== mode) {
    fs.chmodSync(file, mode);
    done.push(`mode ${(st.mode & 0o7777).toString(8)} -> ${mode.toString(8)}`);
  }
  if (owner && (st.uid !== owner.uid || st.gid !== owner.gid)) {
    fs.chownSync(file, owner.uid, owner.gid);
    done.push(`owner ${st.uid}:${st.gid} -> ${owner.uid}:${owner.gid}`);
  }
  return done.join(', ');
}

/**
 * Ensure FILE holds CONTENT (Buffer or string) with MODE and OWNER. A changed content is written
 * to a temporary file beside it (mode and owner set first) and renamed over it, so the file is
 * never seen half-written or with looser permissions.
 */
function ensureFile(file, content, mode, owner) {
  const want = Buffer.isBuffer(content) ? content : Buffer.from(content);
  if (fs.existsSync(file)) {
    const st = fs.statSync(file);
    if (fs.readFileSync(file).equals(want)) {
      const fixed = fixModeOwner(file, st, mode, owner);
      return fixed ? `${path.basename(file)}: ${fixed}` : undefined;
    }
  }
  const existed = fs.existsSync(file);
  const tmp = `${file}.provision-${process.pid}`;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.fchmodSync(fd, mode);
    if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
    fs.writeSync(fd, want);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  return `${existed ? 'updated' : 'wrote'} ${path.basename(file)}`;
}

function isPlainObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaf paths where A and B differ: [{path: 'mqtt.url', from, to}] (undefined = absent). */
function jsonDiff(a, b, prefix = '') {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonDiff(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path: prefix || '(top level)', from: a, to: b }];
}

function describeDiff(d) {
  const show = (v) => (v === undefined ? '(unset)' : JSON.stringify(v));
  return `${d.path}: ${show(d.from)} -> ${show(d.to)}`;
}

module.exports = { ensureDir, ensureFile, jsonDiff, describeDiff };
