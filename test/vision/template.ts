/** The shipped embedder's alignment template, read from models/manifest.json (as the pipeline reads it). */
import path from 'node:path';
import { loadManifest, modelOfKind } from '../../src/models/manifest';
import { packageRoot } from '../../src/paths';
import type { Point } from '../../src/vision/types';

export const MANIFEST = path.join(packageRoot(), 'models', 'manifest.json');
const emb = modelOfKind(loadManifest(MANIFEST), 'faceplugin-512', 'embedder');
export const TEMPLATE = { width: emb.alignment.size[0], height: emb.alignment.size[1], points: emb.alignment.points as Point[] };
export const REFERENCE_POINTS = TEMPLATE.points;
