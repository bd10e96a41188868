#!/usr/bin/env node
// Installs the face models listed in models/manifest.json into models/ and verifies every sha256.
// A model from an npm package (its source has `package`) is copied from it; a committed model
// (`committed: true`) is already in the repository and only verified (copied into --dir).
// Plain JavaScript so that it runs from `npm install` before any build.
//   node scripts/install-models.js            copy (if missing or different) + verify
//   node scripts/install-models.js --verify   verify only; exit 1 naming each bad file
//   --dir DIR                                 install into DIR instead of models/ (provisioning)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const verifyOnly = args.includes('--verify');
const dirIdx = args.indexOf('--dir');
const repoModels = path.join(root, 'models');
const targetDir = dirIdx >= 0 ? path.resolve(args[dirIdx + 1]) : repoModels;
const manifest = JSON.parse(fs.readFileSync(path.join(repoModels, 'manifest.json'), 'utf8'));

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Where a model's file comes from: its npm package's folder, or the repository's models/. */
function sourceFile(key, m) {
  if (m.committed) return path.join(repoModels, m.file);
  const src = manifest.sources[m.source];
  if (src && src.addedBy === 'lfr-edge models add') throw new Error(`${key}: ${m.file} was added with 'lfr-edge models add' (source: ${src.source}); its file is missing or altered in ${targetDir}: add it again`);
  if (!src || !src.package) throw new Error(`${key}: source '${m.source}' names no npm package and the model is not committed`);
  const pkgJson = require.resolve(`${src.package}/package.json`, { paths: [root] });
  const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  if (pkg.version !== src.version) {
    throw new Error(`${src.package} is version ${pkg.version}, the manifest pins ${src.version}: run npm ci`);
  }
  return path.join(path.dirname(pkgJson), src.dir, m.file);
}

let failures = 0;
fs.mkdirSync(targetDir, { recursive: true });
for (const [key, m] of Object.entries(manifest.models)) {
  const dest = path.join(targetDir, m.file);
  if (!verifyOnly && (!fs.existsSync(dest) || sha256(dest) !== m.sha256)) {
    let src;
    try {
      src = sourceFile(key, m);
    } catch (err) {
      console.error(`models: ${err.message}`);
      failures++;
      continue;
    }
    if (!fs.existsSync(src)) {
      console.error(`models: ${key} source ${src} is missing${m.committed ? ' (a committed file: restore it with git)' : ': is its package installed?'}`);
      failures++;
      continue;
    }
    if (path.resolve(src) !== path.resolve(dest)) {
      fs.copyFileSync(src, dest + '.tmp');
      fs.renameSync(dest + '.tmp', dest);
    }
  }
  if (!fs.existsSync(dest)) {
    console.error(`models: ${m.kind} ${key} ${dest} is missing (expected sha256 ${m.sha256})`);
    failures++;
    continue;
  }
  const actual = sha256(dest);
  if (actual !== m.sha256) {
    console.error(`models: ${m.kind} ${key} ${dest} has sha256 ${actual}, the manifest expects ${m.sha256}`);
    failures++;
  } else {
    console.log(`models: ${m.kind} ${key} ${m.file} ok (sha256 ${m.sha256.slice(0, 12)}...)`);
  }
}
if (failures) process.exit(1);
