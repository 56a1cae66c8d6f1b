// perfeval's print tables (perfeval/ui/printing.py): the static twin of a data
// grid, hidden on screen and printed instead of it. Built from the cells'
// text with textContent (data is never markup), rebuilt only when it changes.

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export default function ({ data, parentElement }) {
  const json = JSON.stringify(data);
  if (parentElement.dataset.peTable === json) return;
  parentElement.dataset.peTable = json;
  const box = el("div", "pe-print-only");
  if (data.title) box.appendChild(el("h5", "", data.title));
  const table = box.appendChild(el("table", "pe-table"));
  const head = table.appendChild(el("thead")).appendChild(el("tr"));
  for (const h of data.headers) head.appendChild(el("th", "", h));
  const body = table.appendChild(el("tbody"));
  for (const row of data.rows) {
    const tr = body.appendChild(el("tr"));
    // A cell is [text, is a number]: numbers are right-aligned.
    for (const [text, num] of row) tr.appendChild(el("td", num ? "num" : "", text));
  }
  if (data.note) box.appendChild(el("div", "pe-print-note", data.note));
  parentElement.replaceChildren(box);
}
