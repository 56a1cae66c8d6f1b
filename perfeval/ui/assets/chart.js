// perfeval's Plotly figures (perfeval/ui/plot.py), drawn in the page itself
// by perfeval's plotly.js bundle (tools/plotly-bundle), loaded once per page.
// A click sends the clicked points' customdata back to Python as the "click" trigger.

let plotlyReady;

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = url;
    s.onload = resolve;
    s.onerror = () => reject(new Error("无法加载 " + url));
    document.head.appendChild(s);
  });
}

function loadPlotly() {
  if (!plotlyReady) {
    const here = (name) => new URL(name, import.meta.url).href;
    plotlyReady = (window.Plotly ? Promise.resolve()
      : loadScript(here("plotly-perfeval.min.js"))).then(() => window.Plotly);
  }
  return plotlyReady;
}

export default function ({ data, parentElement, setTriggerValue }) {
  let div = parentElement.querySelector("div.pe-chart");
  if (!div) {
    div = document.createElement("div");
    div.className = "pe-chart";
    parentElement.appendChild(div);
  }
  div.style.height = (data.figure.layout.height || 420) + "px";
  loadPlotly().then(async (Plotly) => {
    await Plotly.react(div, data.figure.data, data.figure.layout, data.config);
    // Drawn: counted by the browser benchmark (perfeval.ui.bench), which
    // otherwise ignores the chart's own layers.
    parentElement.dataset.drawn = String(Number(parentElement.dataset.drawn || 0) + 1);
    div.removeAllListeners && div.removeAllListeners("plotly_click");
    if (data.clickable) {
      // The shape of Streamlit's own selection state (links.department_from_chart).
      div.on("plotly_click", (event) => setTriggerValue("click", {selection: {
        points: ((event && event.points) || []).map((p) => ({customdata: p.customdata}))}}));
    }
  });
}
