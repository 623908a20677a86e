// The page's logic: load models.json (written by python -m export.web), then one panel per task.
// Generation mirrors export/runtime.py: the prime goes through step.onnx one character at a time,
// then one call per sampled character with the states carried.
"use strict";

const $ = (id) => document.getElementById(id);
// rnn_keras_common.vocab.words: NFC, lowercased; a word is letters and marks (Hindi's vowel
// signs and virama too), then numbers, then any other mark that is not a space or "_"
const LETTER = "[\\p{L}\\p{M}\\p{Nl}\\p{No}]";
const WORD = new RegExp(`${LETTER}+(?:'${LETTER}+)*|\\p{Nd}+|[^\\p{L}\\p{M}\\p{N}_\\s]`, "gu");
const wordsOf = (text) => text.normalize("NFC").toLowerCase().match(WORD) || [];
let info = null, session = null, decoder = null, stopRequested = false, history = [];

function fail(message) { $("error").textContent = message; }

// TokenVocab._peeled: an unknown token's leading and trailing punctuation split off
const PUNCTUATION = /^[\p{P}\p{S}]$/u;
function peeled(token) {
  if (info.ids.has(token)) return [token];
  const chars = [...token];
  let start = 0, end = chars.length;
  while (start < end && PUNCTUATION.test(chars[start])) start += 1;
  while (end > start && PUNCTUATION.test(chars[end - 1])) end -= 1;
  const run = (marks) => marks.length === 0 ? [] : info.ids.has(marks.join("")) ? [marks.join("")] : marks;
  const core = start < end ? [chars.slice(start, end).join("")] : [];
  return [...run(chars.slice(0, start)), ...core, ...run(chars.slice(end))];
}

function encode(text) {
  // as rnn_keras_common.vocab: characters must all be known; words and tokens fall back to <unk>
  if (info.unit === "word" || info.unit === "token") {
    const tokens = info.unit === "word" ? wordsOf(text) : text.split(/\s+/).filter(Boolean).flatMap(peeled);
    return { tokens, ids: tokens.map((t) => info.ids.get(t) ?? 1) };
  }
  const ids = [], unknown = new Set();
  for (const c of text) {
    const id = info.ids.get(c);
    if (id === undefined) unknown.add(c); else ids.push(id);
  }
  if (unknown.size) {
    const shown = [...unknown].sort().slice(0, 20).join("");
    throw new Error(`The text holds ${unknown.size} character(s) the model was not trained on: ` +
                    `${JSON.stringify(shown)}. Remove or replace them.`);
  }
  return { tokens: [...text], ids };
}

function numberOf(id, integer) {
  const raw = $(id).value.trim(), value = Number(raw);
  if (raw === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new Error(`${id} must be ${integer ? "an integer" : "a number"}, got '${raw}'.`);
  }
  return value;
}

async function step(id, states) {
  const feeds = { tokens: new ort.Tensor("int32", Int32Array.from([id]), [1, 1]) };
  states.forEach((s, i) => { feeds[`state_${i}`] = new ort.Tensor("float32", s, [1, s.length]); });
  const out = await session.run(feeds);
  return [out.logits.data, states.map((_, i) => out[`state_${i}_out`].data)];
}

async function generate() {
  const output = $("output");
  fail(""); stopRequested = false; output.dataset.done = "0"; output.textContent = ""; history = [];
  try {
    const prime = $("prime").value;
    if (!prime) throw new Error("The prime must hold at least one character, e.g. a line break or 'ROMEO:'.");
    const length = numberOf("length", true), temperature = numberOf("temperature", false);
    const topK = numberOf("top-k", true), topP = numberOf("top-p", false), seed = numberOf("seed", true);
    if (length < 0 || length > 100000) throw new Error(`length must be in [0, 100000], got ${length}.`);
    checkSamplingArgs(temperature, topK, topP);
    let states = info.state_sizes.map((n) => new Float32Array(n)), logits = null;
    for (const id of encode(prime).ids) [logits, states] = await step(id, states);
    const rng = new SplitMix64(BigInt(seed)), started = performance.now();
    let text = prime;
    for (let i = 0; i < length && !stopRequested; i++) {
      const id = sample(logits, rng, temperature, topK, topP), char = info.vocab[id - 1];
      text += char;
      [logits, states] = await step(id, states);
      history.push({ char, states });
      if (i % 16 === 0 || i === length - 1) {
        output.textContent = text;
        $("speed").textContent = `${(history.length / ((performance.now() - started) / 1000)).toFixed(0)} chars/s`;
      }
    }
    output.textContent = text;
    drawMemory();
  } catch (err) {
    fail(err.message);
  } finally {
    output.dataset.done = "1";
  }
}

function drawMemory() {
  const layer = Number($("layer").value || 0), unit = Number($("unit").value || 0), box = $("memory");
  box.textContent = "";
  // |s| of tanh is at most 1; relu's and linear's are not: the unit's largest sets full colour
  const scale = history.reduce((m, { states }) => Math.max(m, Math.abs(states[layer][unit] ?? 0)), 1);
  for (const { char, states } of history) {
    const v = states[layer][unit] ?? 0, a = Math.min(Math.abs(v) / scale, 1), span = document.createElement("span");
    span.textContent = char;
    span.style.background = v >= 0 ? `rgba(220,50,40,${a})` : `rgba(40,90,220,${a})`;
    span.title = v.toFixed(3);
    box.appendChild(span);
  }
}

async function runText() {
  fail(""); $("result").textContent = ""; $("bars").textContent = "";
  try {
    const text = $("text").value;
    if (info.task === "tag" && info.unit === "char") {
      $("result").textContent = await segment(text);
      return;
    }
    if (info.task === "tag") {
      // a token tagger (CoNLL data), as python -m export.infer: each non-blank line a sentence
      const lines = text.split(/\r\n|\r|\n/).map(encode).filter((line) => line.ids.length);
      if (!lines.length) throw new Error("The text must hold at least one token.");
      const logits = await logitsOf(lines.map((line) => line.ids));
      $("result").textContent = lines.map(({ tokens }, b) =>
        tokens.map((t, i) => `${t}/${info.labels[argmax(logits, b, i)]}`).join(" ")).join("\n");
      return;
    }
    const { ids } = encode(text);
    if (!ids.length) throw new Error("The text must hold at least one character.");
    return showClasses(await logitsOf([ids.slice(0, info.max_tokens)]));  // what training read
  } catch (err) {
    fail(err.message);
  } finally {
    $("result").dataset.done = "1";
  }
}

async function segment(text) {
  // as export/runtime.py's Tagger.tag: each line's whitespace dropped (placing spaces is the
  // model's job), windows of the run's --seq-len characters per line, line breaks kept
  const lines = text.split(/\r\n|\r|\n/).map((line) => line.replace(/\s+/g, ""));
  if (/[\r\n]$/.test(text)) lines.pop();  // a final line break ends the last line, as splitlines
  if (!lines.some(Boolean)) throw new Error("The text must hold at least one character.");
  const ids = encode(lines.join("")).ids;  // one error naming every unknown character
  const windows = [], owner = [];
  let start = 0;
  lines.forEach((line, r) => {
    const n = [...line].length;  // one id per code point, as encode reads them
    chunks(ids.slice(start, start + n), info.window).forEach((w) => { windows.push(w); owner.push(r); });
    start += n;
  });
  const logits = await logitsOf(windows), ends = lines.map(() => []);
  windows.forEach((w, b) => w.forEach((_, t) => ends[owner[b]].push(argmax(logits, b, t))));
  return lines.map((line, r) => [...line].map((c, i) => c + (ends[r][i] === 1 ? " " : ""))
    .join("").trimEnd()).join("\n");
}

function chunks(ids, size) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

function padded(rows) {
  // id rows right-padded with 0 as one int32 tensor (rnn_keras_common.vocab.pad)
  const width = Math.max(...rows.map((r) => r.length)), flat = new Int32Array(rows.length * width);
  rows.forEach((r, b) => flat.set(r, b * width));
  return new ort.Tensor("int32", flat, [rows.length, width]);
}

async function logitsOf(rows) {
  return (await session.run({ tokens: padded(rows) })).logits;
}

function argmax(logits, b, t) {
  const [, time, classes] = logits.dims, base = (b * time + t) * classes;
  let best = 0;
  for (let k = 1; k < classes; k++) if (logits.data[base + k] > logits.data[base + best]) best = k;
  return best;
}

function showClasses(logits) {
  const z = Array.from(logits.data, Number), max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max)), total = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / total), best = p.indexOf(Math.max(...p));
  $("result").textContent = `${info.labels[best]} (${p[best].toFixed(3)})`;
  p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 10).forEach(([v, i]) => {
    const row = document.createElement("div"), bar = document.createElement("div");
    row.textContent = `${info.labels[i]} ${v.toFixed(3)}`;
    bar.className = "bar"; bar.style.width = `${(100 * v).toFixed(1)}%`; bar.dataset.label = info.labels[i];
    row.appendChild(bar); $("bars").appendChild(row);
  });
}

function sourceFeeds(text) {
  // export/encoder_decoder.py's translation_sources, with the rules models.json carries
  if (info.sources.lowercase) text = text.toLowerCase();
  const sources = info.sources.words ? text.split(/\s+/).filter(Boolean) : [text];
  if (!sources.length) sources.push("");
  const rows = sources.map((s) => encode(s).ids);
  if (rows.some((r) => !r.length)) throw new Error("Every text must hold at least one character.");
  return [sources, { source: padded(rows) }];
}

async function drawPicture() {
  // the picked image at the encoder's size, RGB 0..255 (Python resizes with Pillow's
  // bilinear filter; an image of exactly that size reaches both unchanged)
  const [height, width] = info.image_size, canvas = $("picture");
  const bitmap = await createImageBitmap($("image").files[0], { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  canvas.width = width; canvas.height = height; canvas.hidden = false;
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
}

function imageFeeds() {
  const [height, width] = info.image_size;
  const rgba = $("picture").getContext("2d").getImageData(0, 0, width, height).data;
  const rgb = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c];
  return [["image"], { image: new ort.Tensor("float32", rgb, [1, height, width, 3]) }];
}

function shown(sources, found, nbest) {
  // as python -m export.infer prints them
  const lines = [];
  sources.forEach((source, i) => {
    const label = sources.length > 1 ? `${source}  ` : "";
    if (nbest === 1) return lines.push(label + found[i][0][0]);
    if (label) lines.push(source);
    found[i].forEach(([text, score]) => lines.push(`${score.toFixed(4).padStart(8)}  ${text}`));
  });
  return lines.join("\n");
}

async function runDecoder() {
  fail(""); const box = $("decoded"); box.textContent = ""; box.dataset.done = "0";
  $("attention").textContent = ""; window.attention = null;
  try {
    const beam = numberOf("beam", true), nbest = numberOf("nbest", true);
    if (beam < 1 || nbest < 1 || beam > 256 || nbest > 256) {
      throw new Error(`beam and nbest must be integers in [1, 256], got ${beam}, ${nbest}.`);
    }
    if (info.task === "caption") {
      if (!$("image").files.length) throw new Error("Pick a PNG or JPEG image first.");
      await drawPicture();  // the file picked now, whatever a preview is still drawing
    }
    const [sources, feeds] = info.task === "translate" ? sourceFeeds($("source").value) : imageFeeds();
    const [found, encoded] = await decodeAll(session, decoder, feeds, info.max_output, beam, nbest);
    const targets = ["</s>", ...info.labels.filter((t) => t !== "</s>")];
    const words = (tokens) => tokens.filter((i) => i > 1).map((i) => targets[i - 1]);
    const texts = found.map((hyps) => hyps.map(([tokens, score]) => [words(tokens).join(info.join), score]));
    window.decoded = texts;  // for scripts and tests: [[text, score] best first] per input
    box.textContent = shown(sources, texts, nbest);
    if (info.attention) {
      const best = found.map((hyps) => hyps[0][0]);
      window.attention = await attentionMaps(decoder, encoded, best);
      if (info.task === "translate") drawAttention(sources, best.map(words), window.attention);
      else drawImageAttention(words(best[0]), window.attention[0]);
    }
  } catch (err) {
    fail(err.message);
  } finally {
    box.dataset.done = "1";
  }
}

function drawAttention(sources, outputs, maps) {
  // one grid per word: its letters across, the output tokens (and the end) down, alpha as ink
  const box = $("attention");
  box.textContent = "";
  sources.forEach((source, i) => {
    const table = document.createElement("table"), head = table.insertRow();
    head.insertCell();
    [...source].forEach((c) => { head.insertCell().textContent = c; });
    [...outputs[i], "</s>"].forEach((token, t) => {
      const row = table.insertRow();
      row.insertCell().textContent = token;
      maps[i][t].forEach((a) => {
        const cell = row.insertCell();
        cell.style.background = `rgba(0,0,0,${a.toFixed(3)})`;
        cell.title = a.toFixed(3);
      });
    });
    box.appendChild(table);
  });
}

function drawImageAttention(words, maps) {
  // one picture per word: the feature grid's cells the decoder did not look at are darkened
  // (as rnn_keras.inspect's attention grid, which colours the same alpha over the image)
  const box = $("attention"), [height, width] = info.image_size;
  const side = Math.round(Math.sqrt(maps[0].length)), cw = width / side, ch = height / side;
  box.textContent = "";
  [...words, "</s>"].forEach((word, t) => {
    const figure = document.createElement("figure"), canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    const ctx = canvas.getContext("2d"), top = Math.max(...maps[t]);
    ctx.drawImage($("picture"), 0, 0);
    maps[t].forEach((a, k) => {
      ctx.fillStyle = `rgba(0,0,0,${(0.75 * (1 - a / top)).toFixed(3)})`;
      ctx.fillRect((k % side) * cw, Math.floor(k / side) * ch, cw, ch);
    });
    const label = document.createElement("figcaption");
    label.textContent = word;
    figure.append(canvas, label);
    box.appendChild(figure);
  });
}

async function start() {
  try {
    if (location.protocol === "file:") {  // a double-clicked index.html: browsers fetch nothing
      throw new Error("this page must be served over HTTP, not opened as a file: run " +
        "python -m export.web RUN_DIR, or serve this folder (e.g. python -m http.server in it).");
    }
    const response = await fetch("models.json");
    if (!response.ok) throw new Error("models.json is missing: serve the page with python -m export.web RUN_DIR.");
    info = await response.json();
    const tasks = ["lm", "tag", "classify", "translate", "caption"];
    if (!info || !tasks.includes(info.task) || !Array.isArray(info.vocab)) {
      throw new Error("models.json does not describe an rnn-keras export; re-run python -m export.web.");
    }
    info.ids = new Map(info.vocab.map((c, i) => [c, i + 1]));
    ort.env.wasm.wasmPaths = "./";
    ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    session = await ort.InferenceSession.create(info.file);
    if (info.decoder) decoder = await ort.InferenceSession.create(info.decoder);
    $("title").textContent = `${info.run} (${info.task})`;
    $("about").textContent = `${info.file} in onnxruntime-web ${ort.env.versions.web}, ` +
      `${ort.env.wasm.numThreads} thread(s), cross-origin isolated: ${self.crossOriginIsolated}`;
    $("hint").textContent = hint(info);
    const lm = info.task === "lm", seq = Boolean(info.decoder);
    $("lm-panel").hidden = !lm; $("text-panel").hidden = lm || seq; $("seq-panel").hidden = !seq;
    $("source-box").hidden = info.task !== "translate"; $("image-box").hidden = info.task !== "caption";
    info.state_sizes.forEach((n, i) => {
      const o = document.createElement("option"); o.value = i; o.textContent = `rnn_${i} (${n} units)`; $("layer").appendChild(o);
    });
    document.body.dataset.ready = "1";
  } catch (err) {
    fail(`Cannot load the model: ${err.message || err}`);
    document.body.dataset.ready = "error";
  }
}

function hint(info) {
  // what to type and what comes back, as python -m export.infer reads and answers it
  const n = info.labels ? info.labels.length : 0;
  const some = n ? ` (${info.labels.slice(0, 4).join(", ")}${n > 4 ? ", ..." : ""})` : "";
  if (info.task === "lm") return "Generation: the model continues the prime, one character at a time.";
  if (info.task === "tag" && info.unit === "char") {
    return "Word segmentation: type or paste text; each line's own spaces are dropped and the model puts them back.";
  }
  if (info.task === "tag") return `Tagging: one sentence per line; each token gets one of ${n} tags${some}.`;
  if (info.task === "classify") return `Classification: paste a passage; the model picks one of ${n} labels${some}.`;
  if (info.task === "translate") {
    return info.sources.words ? "Translation: each word is decoded on its own; beam 1 is greedy."
      : "Translation: the whole text is one source; beam 1 is greedy.";
  }
  return "Captioning: pick a PNG or JPEG image; beam 1 is greedy.";
}

$("generate").addEventListener("click", generate);
$("stop").addEventListener("click", () => { stopRequested = true; });
$("run").addEventListener("click", runText);
$("decode").addEventListener("click", runDecoder);
$("image").addEventListener("change", drawPicture);
$("layer").addEventListener("change", drawMemory);
$("unit").addEventListener("change", drawMemory);
start();
