// perfeval's plain tables (perfeval/ui/tables.py). Built from the cells' text
// with textContent (data is never markup), rebuilt only when the table changes.
// A long table (data.height) scrolls in its box, its header and first column
// kept in view, and sorts by a click on a header (numbers by value, text in
// Chinese order, empty cells last). A click on a row of a clickable table
// sends the row's position in the data as sent, whatever the order shown.

const SHORT = 10;  // characters
const collator = new Intl.Collator("zh-CN", { numeric: true });

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A cell drawn as a bar (tables.Bar): its width from low to high, its colour
// from the line (red below it).
function barCell(td, value, bar) {
  if (value === null || value === undefined) return;
  const share = Math.max(0, Math.min(1, (value - bar.low) / (bar.high - bar.low)));
  const track = el("span", "pe-bar");
  const fill = track.appendChild(el("span", value < bar.line ? "pe-bar-low" : "pe-bar-ok"));
  fill.style.width = (share * 100).toFixed(1) + "%";
  td.classList.add("pe-bar-cell");
  td.prepend(track);
}

function sortBy(data, body, rows, heads, col) {
  const th = heads[col];
  const dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
  heads.forEach((h) => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", dir);
  const keys = data.keys && data.keys[col];
  const value = keys ? (i) => keys[i] : (i) => data.rows[i][col];
  const sign = dir === "ascending" ? 1 : -1;
  const order = rows.map((_, i) => i).sort((a, b) => {
    const x = value(a), y = value(b);
    const missX = x === null || x === "", missY = y === null || y === "";
    if (missX || missY) return missX === missY ? a - b : (missX ? 1 : -1);  // empty last
    const c = keys ? x - y : collator.compare(x, y);
    return c === 0 ? a - b : sign * c;
  });
  body.replaceChildren(...order.map((i) => rows[i]));
}

function build(data) {
  const box = el("div", data.box);
  if (data.title) box.appendChild(el("h5", "", data.title));
  const scroll = box.appendChild(el("div", "pe-table-scroll"));
  const table = scroll.appendChild(el("table", "pe-table"));
  if (data.height) {
    scroll.style.maxHeight = data.height + "px";
    table.classList.add("pe-long");
  }
  const head = table.appendChild(el("thead")).appendChild(el("tr"));
  const heads = data.headers.map((h, i) => {
    const th = head.appendChild(el("th", data.numeric[i] ? "num" : "", h));
    if (data.sortable) {
      th.tabIndex = 0;
      th.title = "点击排序";
    }
    return th;
  });
  const body = table.appendChild(el("tbody"));
  const rows = data.rows.map((row, i) => {
    const tr = body.appendChild(el("tr", data.clickable ? "pe-click" : ""));
    tr.dataset.row = String(i);
    if (data.clickable) tr.tabIndex = 0;  // reachable with Tab, opened with Enter
    // Numbers and short texts (未完成, ≥2000平方米) never wrap; long text does.
    row.forEach((text, j) => {
      const td = tr.appendChild(
        el("td", data.numeric[j] ? "num" : (text.length <= SHORT ? "short" : ""), text));
      const bar = data.bars && data.bars[j];
      if (bar) barCell(td, data.keys[j][i], bar);
    });
    return tr;
  });
  if (data.sortable) {
    const sort = (event) => {
      const th = event.target.closest("th");
      if (th) sortBy(data, body, rows, heads, heads.indexOf(th));
    };
    head.onclick = sort;
    head.onkeydown = (event) => { if (event.key === "Enter") sort(event); };
  }
  if (data.note) box.appendChild(el("div", "pe-print-note", data.note));
  return box;
}

export default function ({ data, parentElement, setTriggerValue }) {
  // A box of our own: Streamlit keeps the component's stylesheet in parentElement.
  let host = parentElement.querySelector(":scope > div.pe-table-host");
  if (!host) host = parentElement.appendChild(el("div", "pe-table-host"));
  const json = JSON.stringify(data);
  if (host.peJson !== json) {  // a property, not an attribute: kept out of the DOM
    host.peJson = json;
    host.replaceChildren(build(data));
  }
  // The current callback on every render: a listener added once would keep the first one.
  const open = (event) => {
    const tr = event.target.closest && event.target.closest("tr.pe-click");
    if (tr) setTriggerValue("row", Number(tr.dataset.row));
  };
  host.onclick = data.clickable ? open : null;
  host.onkeydown = data.clickable ? (event) => { if (event.key === "Enter") open(event); } : null;
}
