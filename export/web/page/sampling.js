// The sampler of rnn_keras_common/decoding.py, line for line, so that a seed gives the
// same text here as in Python: SplitMix64 draws, temperature, top-k, top-p (float64).
"use strict";

const MASK = (1n << 64n) - 1n;

class SplitMix64 {
  constructor(seed) { this.state = BigInt(seed) & MASK; }
  nextUint64() {
    this.state = (this.state + 0x9E3779B97F4A7C15n) & MASK;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & MASK;
    return z ^ (z >> 31n);
  }
  random() { return Number(this.nextUint64() >> 11n) * 2 ** -53; }
}

function checkSamplingArgs(temperature, topK, topP) {
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}. Use e.g. 0.8 (for the most likely character every time, top-k 1).`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`top-k must be an integer >= 0 (0 = off), got ${topK}.`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`top-p must be in (0, 1] (1 = off), got ${topP}.`);
}

function probabilities(logits, temperature, topK, topP) {
  const z = Float64Array.from(logits, (v) => v / temperature);
  z[0] = -Infinity; // id 0 is padding, never a character
  if (topK) {
    const sorted = Float64Array.from(z).sort();
    const kth = sorted[sorted.length - Math.min(topK, z.length)];
    for (let i = 0; i < z.length; i++) if (z[i] < kth) z[i] = -Infinity;
  }
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let p = Float64Array.from(z, (v) => Math.exp(v - max));
  p = normalised(p);
  if (topP < 1) {
    const order = [...p.keys()].sort((a, b) => p[b] - p[a] || a - b); // stable, descending
    let total = 0, cut = order.length;
    for (let i = 0; i < order.length; i++) {
      total += p[order[i]];
      if (total >= topP) { cut = i + 1; break; } // numpy searchsorted(cumsum, top_p) + 1
    }
    const keep = new Set(order.slice(0, cut));
    p = normalised(p.map((v, i) => (keep.has(i) ? v : 0)));
  }
  return p;
}

function normalised(p) {
  const total = pairwiseSum(p, 0, p.length);
  return p.map((v) => v / total);
}

// NumPy sums float64 arrays pairwise (blocks of 8, unrolled); the same order gives the same bits
function pairwiseSum(a, start, n) {
  if (n < 8) {
    let res = 0;
    for (let i = start; i < start + n; i++) res += a[i];
    return res;
  }
  if (n <= 128) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3],
               a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

function sample(logits, rng, temperature, topK, topP) {
  const p = probabilities(logits, temperature, topK, topP);
  const u = rng.random();
  let total = 0;
  for (let i = 0; i < p.length; i++) {
    total += p[i];
    if (total > u) return i; // searchsorted(cumsum(p), u, side="right")
  }
  return p.length - 1;
}

if (typeof module !== "undefined") module.exports = { SplitMix64, probabilities, sample, checkSamplingArgs };
