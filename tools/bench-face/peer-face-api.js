// The face-api.js peer for tools/bench-face.sh: the same descriptor weights (dlib ResNet, as shipped
// in @vladmandic/face-api) on Node with the TF.js WASM backend (tfjs-node cannot install here).
// Usage: node peer-face-api.js IMAGE_LIST_FILE [REPEATS]
// Prints one JSON object: per-stage median ms (detect = SSD MobileNet v1, landmarks = 68-point net,
// descriptor), end-to-end ms per image, images/s, and how many images had no face.
'use strict';
const fs = require('fs');
const path = require('path');
const modules = path.join(__dirname, '..', 'node', 'node_modules');
const tf = require(path.join(modules, '@tensorflow/tfjs'));
const wasm = require(path.join(modules, '@tensorflow/tfjs-backend-wasm'));
const faceapi = require(path.join(modules, '@vladmandic/face-api/dist/face-api.node-wasm.js'));
const jpeg = require(path.join(modules, 'jpeg-js'));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

function decode(file) {
  const raw = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false });
  return tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32');
}

async function main() {
  const list = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
  const repeats = Number(process.argv[3] || 1);
  wasm.setWasmPaths(path.join(modules, '@tensorflow/tfjs-backend-wasm/dist/'));
  await tf.setBackend('wasm');
  await tf.ready();
  const modelDir = path.join(modules, '@vladmandic/face-api/model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const t = { decode: [], detect: [], landmarks: [], descriptor: [], total: [] };
  let noFace = 0, done = 0;
  // Warm-up: the first inference compiles kernels.
  { const x = decode(list[0]); await faceapi.detectSingleFace(x, opts).withFaceLandmarks().withFaceDescriptor(); x.dispose(); }
  const wall0 = process.hrtime.bigint();
  for (let r = 0; r < repeats; ++r) {
    for (const file of list) {
      const t0 = performance.now();
      const img = decode(file);
      const t1 = performance.now();
      const det = await faceapi.detectSingleFace(img, opts);
      const t2 = performance.now();
      if (!det) { noFace++; img.dispose(); t.decode.push(t1 - t0); t.detect.push(t2 - t1); continue; }
      // As face-api's own withFaceLandmarks().withFaceDescriptor(): landmarks on the detection crop,
      // then the descriptor on the crop re-centred by the landmarks (its "alignment").
      const crops = await faceapi.extractFaceTensors(img, [det]);
      const lm = await faceapi.detectFaceLandmarks(crops[0]);
      crops.forEach((c) => c.dispose());
      const t3 = performance.now();
      const shifted = lm.shiftBy(det.box.x, det.box.y);
      const aligned = await faceapi.extractFaceTensors(img, [shifted.align()]);
      const desc = await faceapi.computeFaceDescriptor(aligned[0]);
      const t4 = performance.now();
      aligned.forEach((f) => f.dispose());
      img.dispose();
      if (!desc) throw new Error('no descriptor');
      t.decode.push(t1 - t0); t.detect.push(t2 - t1); t.landmarks.push(t3 - t2); t.descriptor.push(t4 - t3);
      t.total.push(t4 - t0);
      done++;
    }
  }
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  const out = { peer: 'face-api.js 1.7.15 (tfjs 4.22.0, wasm backend)', images: list.length * repeats, no_face: noFace };
  for (const k of Object.keys(t)) out[`${k}_ms`] = +median(t[k]).toFixed(2);
  out.images_per_s = +((list.length * repeats) / wallS).toFixed(2);
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(3); });
