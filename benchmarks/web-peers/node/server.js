// The Node peer for benchmarks/web-peers/run.sh: what a team would write instead of InProcServe. node:http and
// onnxruntime-node (the newest on npm: 1.30.0), one session.run per request, one intra-op thread as InProcServe serves.
//   POST /fraud/score               the sample's Transaction JSON -> the same 30 features -> fraud.onnx -> {probability, flagged}
//   POST /v2/models/wide/infer      an Open Inference Protocol JSON request for wide.onnx -> its JSON answer
//   POST /v2/models/large/infer     the same for LARGE_ONNX (large_model.py's), when given
// Usage: node server.js PORT MODELS_DIR [LARGE_ONNX]
const http = require('node:http');
const path = require('node:path');
const ort = require('onnxruntime-node');

const [port, models, large] = [Number(process.argv[2] ?? 5100), process.argv[3] ?? path.join(__dirname, '..', '..', '..', 'models'), process.argv[4]];
const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };

// The sample's TransactionFeatures pre-processor (samples/FraudModel/Fraud.cs), line for line.
function features(t) {
  const f = new Float32Array(30);
  const hour = (t.seconds % 86400) / 3600;
  f[0] = t.seconds / 172800;
  f[1] = Math.sin(hour / 24 * 2 * Math.PI);
  f[2] = Math.cos(hour / 24 * 2 * Math.PI);
  f[3] = (Math.log(1 + t.amount) - 3.5) / 1.5;
  f[4] = t.cardPresent ? 1 : -1;
  f[5] = t.country === t.homeCountry ? -1 : 1;
  f[6] = (t.transactionsLastHour - 2) / 3;
  f[7] = Math.log(1 + t.distanceKm) / 5;
  f[8] = Math.log(1 + t.accountAgeDays) / 7;
  f[9 + Math.min(Math.max(t.merchantCategory, 0), 9)] = 1;
  let hash = 17;
  for (const c of t.country) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) | 0;
  f[19 + ((hash >>> 0) % 10)] = 1;
  f[29] = t.amount / 250;
  return f;
}

function body(request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    request.on('data', chunk => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function answer(response, status, value) {
  const text = JSON.stringify(value);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

(async () => {
  const fraud = await ort.InferenceSession.create(path.join(models, 'fraud.onnx'), options);
  const oip = { wide: await ort.InferenceSession.create(path.join(models, 'wide.onnx'), options) };
  if (large) oip.large = await ort.InferenceSession.create(large, options);
  http.createServer(async (request, response) => {
    try {
      if (request.method === 'POST' && request.url === '/fraud/score') {
        const t = JSON.parse(await body(request));
        const out = await fraud.run({ features: new ort.Tensor('float32', features(t), [1, 30]) });
        const p = out.probability.data[0];
        return answer(response, 200, { probability: p, flagged: p >= 0.5 });
      }
      const infer = /^\/v2\/models\/(\w+)\/infer$/.exec(request.url);
      if (request.method === 'POST' && infer && oip[infer[1]]) {
        const req = JSON.parse(await body(request));
        const input = req.inputs[0];
        const out = await oip[infer[1]].run({ [input.name]: new ort.Tensor('float32', Float32Array.from(input.data), input.shape) });
        const score = out.score;
        return answer(response, 200, { model_name: infer[1], outputs: [{ name: 'score', datatype: 'FP32', shape: score.dims, data: Array.from(score.data) }] });
      }
      answer(response, 404, { error: 'not found' });
    } catch (e) {
      answer(response, 400, { error: String(e.message ?? e) });
    }
  }).listen(port, '127.0.0.1', () => console.log(`node peer ready on ${port}`));
})();
