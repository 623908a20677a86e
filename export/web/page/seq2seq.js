// Encoder-decoders in the page: greedy and beam search over decoder_step.onnx, line for line
// as rnn_keras_common/decoding.py (search, greedy, beam_search, _extend) and
// export/encoder_decoder.py (one decoder call per output step for every live hypothesis).
"use strict";

const END_ID = 1;  // "</s>": it starts and ends every output

function logSoftmaxRow(data, row, classes) {
  // decoding.log_softmax: float64, id 0 (padding) never chosen
  const z = new Float64Array(classes);
  let max = -Infinity;
  for (let k = 0; k < classes; k++) {
    z[k] = k === 0 ? -Infinity : data[row * classes + k];
    if (z[k] > max) max = z[k];
  }
  for (let k = 0; k < classes; k++) z[k] -= max;
  const log = Math.log(pairwiseSum(z.map(Math.exp), 0, classes));  // NumPy's order (sampling.js)
  for (let k = 0; k < classes; k++) z[k] -= log;
  return z;
}

function gatherRows(tensor, rows) {
  // tensor's rows for the hypotheses (row_gatherer): a new ort.Tensor of the same type
  const [, ...rest] = tensor.dims, size = rest.reduce((a, b) => a * b, 1);
  const out = new tensor.data.constructor(rows.length * size);
  rows.forEach((r, i) => out.set(tensor.data.subarray(r * size, (r + 1) * size), i * size));
  return new ort.Tensor(tensor.type, out, [rows.length, ...rest]);
}

function decoderStepper(decoder, encoded) {
  // step(tokens, state, rows) -> [logits (B, classes), new state]; the encoder's rows are
  // gathered again only when the hypotheses' sources change
  let lastRows = null, gathered = null;
  return async (tokens, state, rows) => {
    if (lastRows === null || rows.join() !== lastRows) {
      lastRows = rows.join();
      gathered = ["memory", "keys", "mask"].map((k) => gatherRows(encoded[k], rows));
    }
    const [memory, keys, mask] = gathered;
    const out = await decoder.run({
      tokens: new ort.Tensor("int32", Int32Array.from(tokens), [tokens.length]),
      state, memory, keys, mask,
    });
    return [out.logits, out.state_out, out.attention];
  };
}

function argmaxOf(z) {
  let best = 0;
  for (let k = 1; k < z.length; k++) if (z[k] > z[best]) best = k;
  return best;
}

async function greedySearch(step, state, n, maxLen) {
  let tokens = new Array(n).fill(END_ID);
  const rows = [...Array(n).keys()], out = rows.map(() => []), done = new Array(n).fill(false);
  for (let t = 0; t < maxLen; t++) {
    const [logits, next] = await step(tokens, state, rows);
    state = next;
    tokens = rows.map((i) => argmaxOf(logSoftmaxRow(logits.data, i, logits.dims[1])));
    rows.forEach((i) => {
      if (done[i]) return;
      if (tokens[i] === END_ID) done[i] = true; else out[i].push(tokens[i]);
    });
    if (done.every(Boolean)) break;
  }
  return out.map((tokens) => [[tokens, null]]);
}

const lengthNormalised = (score, length, alpha) => score / Math.max(length, 1) ** alpha;

function extend(hyps, logp, finished, width, alpha) {
  // decoding._extend: one step of every source's beam; the new live hypotheses and parents
  let live = [], parents = [];
  const bySource = new Map();
  hyps.forEach((h, j) => { if (!bySource.has(h.source)) bySource.set(h.source, []); bySource.get(h.source).push(j); });
  for (const [source, members] of bySource) {
    const classes = logp[0].length, scores = [];
    members.forEach((j) => logp[j].forEach((v) => scores.push(hyps[j].score + v)));
    const order = [...scores.keys()].sort((a, b) => {
      const d = scores[b] - scores[a];
      return d > 0 ? 1 : d < 0 ? -1 : 0;  // descending and stable, as argsort(-scores, "stable")
    }).slice(0, 2 * width);
    let kept = 0;
    for (let rank = 0; rank < order.length; rank++) {
      const f = order[rank], k = Math.floor(f / classes), token = f % classes;
      const j = members[k], score = scores[f];
      if (!Number.isFinite(score)) break;
      const tokens = hyps[j].tokens;
      if (token === END_ID) {
        if (rank >= width) continue;  // an ending ranked below the beam is not one of its k best
        finished[source].push([tokens, lengthNormalised(score, tokens.length + 1, alpha)]);
        if (finished[source].length >= width) {
          live = live.filter((h) => h.source !== source);
          parents = parents.slice(0, live.length);
          break;
        }
        continue;
      }
      if (kept < width) {
        live.push({ source, tokens: [...tokens, token], score });
        parents.push(j);
        kept += 1;
      }
    }
  }
  return [live, parents];
}

async function beamSearch(step, state, n, maxLen, width, alpha, nbest) {
  let hyps = [...Array(n).keys()].map((source) => ({ source, tokens: [], score: 0 }));
  const finished = hyps.map(() => []);
  for (let t = 0; t < maxLen; t++) {
    const rows = hyps.map((h) => h.source);
    const last = hyps.map((h) => (h.tokens.length ? h.tokens[h.tokens.length - 1] : END_ID));
    const [logits, next] = await step(last, state, rows);
    const logp = hyps.map((_, j) => logSoftmaxRow(logits.data, j, logits.dims[1]));
    const [live, parents] = extend(hyps, logp, finished, width, alpha);
    hyps = live;
    if (!hyps.length) break;
    state = gatherRows(next, parents);
  }
  for (const h of hyps) finished[h.source].push([h.tokens, lengthNormalised(h.score, h.tokens.length, alpha)]);
  return finished.map((f) => f.slice().sort((a, b) => b[1] - a[1]).slice(0, nbest));
}

async function decodeAll(encoder, decoder, feeds, maxLen, beam, nbest, alpha = 1.0) {
  // EncoderDecoder._decode: `[[(tokens, score)] per input]`, best first; and the encoding
  const encoded = await encoder.run(feeds), n = encoded.state.dims[0];
  const step = decoderStepper(decoder, encoded);
  const found = beam === 1 && nbest === 1
    ? await greedySearch(step, encoded.state, n, maxLen)
    : await beamSearch(step, encoded.state, n, maxLen, Math.max(beam, nbest), alpha, nbest);
  return [found, encoded];
}

async function attentionMaps(decoder, encoded, outputs) {
  // seq2seq.attention_maps: the teacher-forced pass over each input's output, END first;
  // per input alpha (outputs + 1) x its real source positions (the last row chose the end)
  const rows = outputs.map((_, i) => i), step = decoderStepper(decoder, encoded);
  const [, positions] = encoded.mask.dims, maps = outputs.map(() => []);
  let state = encoded.state;
  for (let t = 0; t <= Math.max(...outputs.map((o) => o.length)); t++) {
    const tokens = outputs.map((o) => (t === 0 || t > o.length ? END_ID : o[t - 1]));
    const [, next, attention] = await step(tokens, state, rows);
    state = next;
    outputs.forEach((o, i) => {
      if (t <= o.length) maps[i].push(Array.from(attention.data.subarray(i * positions, (i + 1) * positions)));
    });
  }
  const lengths = rows.map((i) => encoded.mask.data.subarray(i * positions, (i + 1) * positions)
    .reduce((a, b) => a + b, 0));
  return maps.map((m, i) => m.map((row) => row.slice(0, lengths[i])));
}
