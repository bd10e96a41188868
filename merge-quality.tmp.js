// node merge-quality.tmp.js TARGET SOURCE: TARGET's calibration gains SOURCE's quality section (everything else of TARGET kept).
const { readCalibrationFile } = require('./dist/src/recognition/calibration');
const { withQuality, writeCalibrationFile } = require('./dist/src/eval/calibration-file');
const [target, source] = process.argv.slice(2);
const t = readCalibrationFile(target), s = readCalibrationFile(source);
if (t.model.embedderSha256 !== s.model.embedderSha256) throw new Error('embedder differs');
const { cal, droppedFusedBands } = withQuality(t, s.quality);
writeCalibrationFile(target, cal);
console.log('merged; dropped fused bands:', droppedFusedBands, 'keys', Object.keys(cal));
