// Layer summaries (docs/artifact.md), fetched once per page from `summaries/<layer>.json`,
// relative to the app's root like every other URL of the page.

const loaded = new Map();

/** The summary of density layer `layer` (a promise, shared by every caller). */
export function loadSummary(layer) {
  if (!loaded.has(layer)) {
    const request = fetch(`summaries/${encodeURIComponent(layer)}.json`).then((response) => {
      if (!response.ok) throw new Error(`summaries/${layer}.json: HTTP ${response.status}`);
      return response.json();
    });
    request.catch(() => loaded.delete(layer)); // a failed fetch may be retried later
    loaded.set(layer, request);
  }
  return loaded.get(layer);
}

let chartLibrary = null;

/** uPlot (static/vendor/uplot), loaded on first use: the page does not download it until a chart is
 * shown. Its versioned URLs come from the page (data-uplot-js, data-uplot-css). */
export function loadChartLibrary() {
  if (!chartLibrary) {
    chartLibrary = new Promise((resolve, reject) => {
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = document.body.dataset.uplotCss;
      const script = document.createElement('script');
      script.src = document.body.dataset.uplotJs;
      script.addEventListener('load', () => resolve(window.uPlot));
      script.addEventListener('error', () => reject(new Error('the chart library could not load')));
      document.head.append(style, script);
    });
  }
  return chartLibrary;
}
