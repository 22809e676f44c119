// The report: a print-friendly view of the selection (its density with its 95 % interval and how it
// changed, a snapshot of the map, or the server's picture of the same view where the browser cannot
// copy its map, the trend, the distribution, the caveats of "About this data" and the sources),
// printed with the browser's own print (the page's print style shows only the report).
import { changeSentences, densitySentence, selectionValues, unionBox } from './data.js';
import { renderDistribution } from './distribution.js';
import { renderTrend } from './trend.js';
import { element } from './widgets.js';

const REPORT_CHART_WIDTH = 640;
const SNAPSHOT_TIMEOUT_MS = 5000;
const PICTURE_MAX_SIDE = 2048;

/** The map as drawn, as a PNG data URL: read in the frame MapLibre has just drawn, so the map needs
 * no `preserveDrawingBuffer` (which would slow every frame). Null when the browser cannot give it:
 * a canvas it will not read, or no frame drawn in time (a lost WebGL context, as on some phones). */
function mapSnapshot(map) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), SNAPSHOT_TIMEOUT_MS);
    map.once('render', () => {
      clearTimeout(timer);
      try {
        const url = map.getCanvas().toDataURL('image/png');
        resolve(url.startsWith('data:image/png') ? url : null);
      } catch {
        resolve(null);
      }
    });
    map.triggerRepaint();
  });
}

/** The server's picture of the map's view (`map.png`: the tileset, year, bounds and size shown, the
 * selected areas outlined), where a server draws pictures (its pages name one for link previews,
 * `og:image`; a static export's name none), else null. */
function serverPicture(map, { tileset, year, summary, selected }) {
  if (!document.querySelector('meta[property="og:image"]')) return null;
  const bounds = map.getBounds();
  const box = [
    Math.max(bounds.getWest(), -180),
    Math.max(bounds.getSouth(), -85),
    Math.min(bounds.getEast(), 180),
    Math.min(bounds.getNorth(), 85),
  ];
  const side = (pixels) => String(Math.min(Math.max(Math.round(pixels), 1), PICTURE_MAX_SIDE));
  const { clientWidth, clientHeight } = map.getContainer();
  const params = new URLSearchParams({ layer: tileset, year, bbox: box.map((value) => value.toFixed(6)).join(','), width: side(clientWidth), height: side(clientHeight) });
  if (selected.length) params.set('selected', selected.map((i) => summary.areas.id[i]).join(','));
  return `map.png?${params}`;
}

/** The report's map: the snapshot of the map as shown, else the server's picture of the same view
 * (with its own legend; none of a change view), else none. */
function reportPicture(snapshot, map, view) {
  const colours = view.since ? `the change from ${view.since} to ${view.year}, as in the map's legend` : 'the legend classes below';
  if (snapshot) return { src: snapshot, caption: `The map as shown, selected areas outlined in black. Colours: ${colours}.` };
  const src = view.since ? null : serverPicture(map, view); // the server draws no change view
  return src && { src, caption: 'The map of this view drawn by the server (this browser could not copy its map), selected areas outlined in blue.' };
}

/** Frame the selected areas (`indexes` of the summary's) on the map and wait until it is drawn. */
async function frameSelection(map, fitBox, summary, indexes) {
  if (indexes.length) fitBox(unionBox(summary, indexes), summary.layer, 80);
  const idle = new Promise((resolve) => map.once('idle', resolve));
  map.triggerRepaint();
  await idle;
}

/** Copies of what the page says the numbers are and where they come from, as the build gives it:
 * the legend's caveats and credit, and "About this data" (its title, sources, attribution and the
 * metric's text; not its part about reusing the tiles). */
function provenance() {
  const nodes = [...document.querySelectorAll('#legend .caveat'), document.getElementById('about-data')];
  return nodes.filter(Boolean).map((node) => {
    const copy = node.cloneNode(true);
    copy.removeAttribute('id');
    return copy;
  });
}

/** The change from year `first` to `last` (the map's change view's, else the build's first and last
 * years), of the selection (`indexes`) and of the study area, in words with the exact test's verdict. */
function changeParagraph(summary, indexes, [first, last]) {
  const intro = `From ${first} to ${last} (a change is called clear when the exact test of the two years' counts says so at 95 %).`;
  return element('p', { id: 'report-change' }, [[intro, ...changeSentences(summary, indexes, first, last)].join(' ')]);
}

/** The report's text and figures, in order. */
function reportContent(view, picture, trend, distribution) {
  const { summary, year, since, yearLabel, selected } = view;
  const names = selected.map((i) => summary.areas.name[i]);
  const subject = names.length ? names.join(', ') : `no area selected: the study area, all ${summary.title.toLowerCase()}`;
  const value = densitySentence(summary, selectionValues(summary, selected, year), year);
  return [
    element('h1', { id: 'report-title' }, [document.querySelector('header h1').textContent]),
    element('p', { class: 'report-meta' }, ['Violent crimes per square mile']),
    element('p', { class: 'report-meta' }, [`${summary.title}, ${yearLabel}. Selected: ${subject}.`]),
    element('p', { id: 'report-value' }, [`${names.length ? 'The selection' : 'The study area'}, ${yearLabel}: ${value}.`]),
    changeParagraph(summary, selected, since ? [since, year] : [String(summary.years[0]), String(summary.years.at(-1))]),
    ...(picture
      ? [
          element('figure', { class: 'report-map' }, [
            element('img', { src: picture.src, alt: `Map of ${since ? 'the change in ' : ''}violent crimes per square mile by ${summary.title.toLowerCase()}, ${since ? `${since} to ${year}` : yearLabel}, the selected areas outlined` }),
            element('figcaption', {}, [picture.caption]),
          ]),
        ]
      : []),
    element('h2', {}, ['Trend']),
    element('p', {}, ['The selection\'s value is its total violent count divided by its total area, each year; the study area\'s, the same over all the layer\'s areas. The shaded bands are their exact 95 % Poisson intervals: where two bands overlap, the difference may be noise.']),
    trend.figure,
    element('h2', {}, ['Distribution']),
    distribution.figure,
    element('h2', {}, ['About this data']),
    ...provenance(),
  ];
}

/** Build the report of `view` (compass.js's shownView) into `section` and show it: the map framed
 * on the selection by `fitBox(box, layer, padding)`, then its snapshot; the charts drawn by `uPlot`. */
export async function openReport(section, { uPlot, view, map, fitBox }) {
  const { summary, selected } = view;
  await frameSelection(map, fitBox, summary, selected);
  const picture = reportPicture(await mapSnapshot(map), map, view);
  const close = element('button', { type: 'button', class: 'button', id: 'report-close' }, ['Close report']);
  const print = element('button', { type: 'button', class: 'button', id: 'report-print' }, ['Print']);
  const trend = renderTrend(uPlot, summary, selected, REPORT_CHART_WIDTH, 'report-trend');
  const distribution = renderDistribution(uPlot, { ...view, width: REPORT_CHART_WIDTH, idPrefix: 'report-distribution' });
  section.replaceChildren(element('div', { class: 'report-actions' }, [print, close]), ...reportContent(view, picture, trend, distribution));
  section.hidden = false;
  document.body.classList.add('report-open');
  close.addEventListener('click', () => {
    trend.destroy();
    distribution.destroy();
    section.hidden = true;
    section.replaceChildren();
    document.body.classList.remove('report-open');
    document.getElementById('report-button').focus();
  });
  print.addEventListener('click', () => window.print());
  close.focus();
}
