// perfeval's plain tables (perfeval/ui/tables.py): tables of a few dozen rows
// on the page, and the print twins of data grids (hidden on screen). Built from the
// cells' text with textContent (data is never markup), rebuilt only when the
// table changes. A click on a row of a clickable table sends its position.

const SHORT = 10;  // characters

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export default function ({ data, parentElement, setTriggerValue }) {
  // A box of our own: Streamlit keeps the component's stylesheet in parentElement.
  let host = parentElement.querySelector(":scope > div.pe-table-host");
  if (!host) host = parentElement.appendChild(el("div", "pe-table-host"));
  const json = JSON.stringify(data);
  if (host.peJson !== json) {  // a property, not an attribute: kept out of the DOM
    host.peJson = json;
    const box = el("div", data.box);
    if (data.title) box.appendChild(el("h5", "", data.title));
    const scroll = box.appendChild(el("div", "pe-table-scroll"));
    const table = scroll.appendChild(el("table", "pe-table"));
    const head = table.appendChild(el("thead")).appendChild(el("tr"));
    data.headers.forEach((h, i) => head.appendChild(el("th", data.numeric[i] ? "num" : "", h)));
    const body = table.appendChild(el("tbody"));
    data.rows.forEach((row, i) => {
      const tr = body.appendChild(el("tr", data.clickable ? "pe-click" : ""));
      tr.dataset.row = String(i);
      if (data.clickable) tr.tabIndex = 0;  // reachable with Tab, opened with Enter
      // Numbers and short texts (未完成, ≥2000平方米) never wrap; long text does.
      row.forEach((text, j) => tr.appendChild(
        el("td", data.numeric[j] ? "num" : (text.length <= SHORT ? "short" : ""), text)));
    });
    if (data.note) box.appendChild(el("div", "pe-print-note", data.note));
    host.replaceChildren(box);
  }
  // The current callback on every render: a listener added once would keep the first one.
  const open = (event) => {
    const tr = event.target.closest && event.target.closest("tr.pe-click");
    if (tr) setTriggerValue("row", Number(tr.dataset.row));
  };
  host.onclick = data.clickable ? open : null;
  host.onkeydown = data.clickable ? (event) => { if (event.key === "Enter") open(event); } : null;
}
