"""One self-contained HTML page: images inlined as data URIs, data as JSON, a few lines of
script; it fetches nothing, so it opens from a file anywhere."""

import base64
import html
import json
import pathlib

SCRIPT = """
const data = JSON.parse(document.getElementById('data').textContent);
const pick = document.getElementById('unit');
for (const key of Object.keys(data.units)) {
  const o = document.createElement('option');
  o.value = key; o.textContent = key; pick.appendChild(o);
}
// |s| of tanh is at most 1; relu's and linear's are not: the unit's largest sets full colour
function colour(v, scale) {
  const a = Math.min(Math.abs(v) / scale, 1);
  return v >= 0 ? `rgba(220,50,40,${a})` : `rgba(40,90,220,${a})`;
}
function draw() {
  const values = data.units[pick.value], out = document.getElementById('text');
  const scale = values.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  out.textContent = '';
  [...data.text].forEach((c, i) => {
    const s = document.createElement('span');
    s.textContent = c; s.style.background = colour(values[i], scale);
    s.title = values[i].toFixed(3); out.appendChild(s);
  });
}
pick.addEventListener('change', draw);
if (pick.options.length) { draw(); }
"""

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; }
#text { font-family: monospace; white-space: pre-wrap; line-height: 1.6; border: 1px solid #ccc;
        padding: 1em; overflow-wrap: anywhere; }  /* a segmenter's text has no spaces */
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 8px; }
img { max-width: 100%; }
"""


def image(path):
    payload = base64.b64encode(pathlib.Path(path).read_bytes()).decode()
    return (
        f'<img alt="{html.escape(pathlib.Path(path).stem)}" src="data:image/png;base64,{payload}">'
    )


def table(rows, header):
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write(path, title, sections, text="", units=None):
    """`sections`: `[(heading, html)]`; `units`: `{label: [activation per character]}`."""
    data = json.dumps({"text": text, "units": units or {}}).replace("</", "<\\/")
    picker = (
        '<h2>Units over text</h2><label>unit <select id="unit"></select></label>'
        '<div id="text"></div>'
        if units
        else ""
    )
    body = "".join(f"<h2>{html.escape(h)}</h2>{content}" for h, content in sections)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}{picker}"
        f"<script type='application/json' id='data'>{data}</script>"
        f"<script>{SCRIPT if units else ''}</script></body></html>"
    )
    pathlib.Path(path).write_text(page, encoding="utf-8")
