#!/usr/bin/env node
// Installs the face models listed in models/manifest.json from their npm package into models/,
// and verifies every sha256. Plain JavaScript so that it runs from `npm install` before any build.
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
const targetDir = dirIdx >= 0 ? path.resolve(args[dirIdx + 1]) : path.join(root, 'models');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'models', 'manifest.json'), 'utf8'));

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function sourceDir() {
  const pkgJson = require.resolve(`${manifest.source.package}/package.json`, { paths: [root] });
  const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  if (pkg.version !== manifest.source.version) {
    throw new Error(`${manifest.source.package} is version ${pkg.version}, the manifest pins ${manifest.source.version}: run npm ci`);
  }
  return path.join(path.dirname(pkgJson), manifest.source.dir);
}

let failures = 0;
fs.mkdirSync(targetDir, { recursive: true });
for (const [role, m] of Object.entries(manifest.models)) {
  const dest = path.join(targetDir, m.file);
  if (!verifyOnly && (!fs.existsSync(dest) || sha256(dest) !== m.sha256)) {
    const src = path.join(sourceDir(), m.file);
    if (!fs.existsSync(src)) {
      console.error(`models: ${role} source ${src} is missing: is ${manifest.source.package}@${manifest.source.version} installed?`);
      failures++;
      continue;
    }
    fs.copyFileSync(src, dest + '.tmp');
    fs.renameSync(dest + '.tmp', dest);
  }
  if (!fs.existsSync(dest)) {
    console.error(`models: ${role} model ${dest} is missing (expected sha256 ${m.sha256})`);
    failures++;
    continue;
  }
  const actual = sha256(dest);
  if (actual !== m.sha256) {
    console.error(`models: ${role} model ${dest} has sha256 ${actual}, the manifest expects ${m.sha256}`);
    failures++;
  } else {
    console.log(`models: ${role} ${m.file} ok (sha256 ${m.sha256.slice(0, 12)}...)`);
  }
}
if (failures) process.exit(1);
