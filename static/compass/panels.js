// The compass's panels: "Selected areas" (selection, trend, distribution) and "Table" as drawers
// over the map, one at a time; the report; the search box. Each view's module is imported the first
// time it is shown, so a page that never opens them never downloads them (nor the chart library).
import { loadChartLibrary } from './summaries.js';
import { chartWidth } from './widgets.js';

/**
 * A drawer: `render(target, width)` fills a detached element (resolving to a clean-up function or
 * null); the drawer shows it only if no newer render started meanwhile (the layer, year or selection
 * may change while a summary loads).
 */
function drawer(id, buttonId, render) {
  const panel = document.getElementById(id);
  const body = panel.querySelector('.drawer-body');
  const button = document.getElementById(buttonId);
  let generation = 0;
  let cleanUp = null;
  const self = {
    panel,
    userClosed: false,
    async refresh() {
      if (panel.hidden) return;
      const mine = ++generation;
      body.setAttribute('aria-busy', 'true');
      const fresh = document.createElement('div');
      try {
        const done = await render(fresh, chartWidth(body));
        if (mine !== generation) {
          if (done) done();
          return;
        }
        if (cleanUp) cleanUp();
        cleanUp = done;
        body.replaceChildren(...fresh.childNodes);
      } catch (error) {
        if (mine === generation) body.textContent = `This view could not load: ${error.message}`;
      }
      if (mine === generation) body.setAttribute('aria-busy', 'false');
    },
    open() {
      if (!panel.hidden) return;
      for (const other of document.querySelectorAll('.drawer')) if (other !== panel && !other.hidden) other.dispatchEvent(new Event('close'));
      panel.hidden = false;
      if (button) button.setAttribute('aria-expanded', 'true');
      document.body.classList.add('drawer-open');
      self.refresh();
    },
    close() {
      if (panel.hidden) return;
      generation += 1;
      panel.hidden = true;
      if (cleanUp) cleanUp();
      cleanUp = null;
      body.replaceChildren();
      if (button) button.setAttribute('aria-expanded', 'false');
      if (!document.querySelector('.drawer:not([hidden])')) {
        document.body.classList.remove('drawer-open');
        setSheetExpanded(false);
      }
    },
  };
  wireDrawerControls(self, button);
  return self;
}

/** A drawer's controls: its button opens (the focus in it) and closes it; its close button and Escape close it as
 * the user's choice (the focus back on the button); another drawer's `close` event closes it. */
function wireDrawerControls(drawer, button) {
  const { panel } = drawer;
  const closedByUser = () => {
    drawer.userClosed = true;
    drawer.close();
    focusWhereItCameFrom(button);
  };
  panel.addEventListener('close', () => drawer.close());
  panel.querySelector('.close').addEventListener('click', closedByUser);
  wireSheetHandle(panel, closedByUser);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closedByUser();
  });
  if (button) button.addEventListener('click', () => (panel.hidden ? openWithFocus(drawer) : drawer.close()));
}

/** How much of the map a phone's sheet takes: half, or (expanded) most of it. */
function setSheetExpanded(expanded) {
  document.body.classList.toggle('sheet-expanded', expanded);
  for (const handle of document.querySelectorAll('.sheet-handle')) handle.setAttribute('aria-expanded', String(expanded));
}

const SHEET_CLOSES_BELOW = 0.25;
const SHEET_EXPANDS_ABOVE = 0.67;
const DRAG_SLOP_PX = 6;

/** The handle at the top of a drawer (shown as a phone's bottom sheet): a button that expands the
 * sheet or shrinks it back to half; dragged, the sheet follows the finger and, let go, closes
 * (below a quarter of the height, as the user's choice), stays half or expands. */
function wireSheetHandle(panel, closedByUser) {
  const handle = document.createElement('button');
  handle.type = 'button';
  handle.className = 'sheet-handle';
  handle.setAttribute('aria-label', 'Expand the panel (or drag it)');
  handle.setAttribute('aria-controls', panel.id);
  handle.setAttribute('aria-expanded', 'false');
  panel.prepend(handle);
  const layoutHeight = () => panel.parentElement.getBoundingClientRect().height;
  let drag = null;
  let dragged = false;
  handle.addEventListener('pointerdown', (event) => {
    drag = { y: event.clientY, height: panel.getBoundingClientRect().height, moved: false };
    dragged = false;
    handle.setPointerCapture(event.pointerId);
  });
  handle.addEventListener('pointermove', (event) => {
    if (!drag) return;
    drag.moved = drag.moved || Math.abs(event.clientY - drag.y) > DRAG_SLOP_PX;
    if (drag.moved) document.body.style.setProperty('--sheet', `${Math.max(0, drag.height + drag.y - event.clientY)}px`);
  });
  const release = (event) => {
    if (!drag) return;
    const share = (drag.height + drag.y - event.clientY) / layoutHeight();
    dragged = drag.moved;
    drag = null;
    document.body.style.removeProperty('--sheet');
    if (!dragged) return;
    if (share < SHEET_CLOSES_BELOW) closedByUser();
    else setSheetExpanded(share > SHEET_EXPANDS_ABOVE);
  };
  handle.addEventListener('pointerup', release);
  handle.addEventListener('pointercancel', release);
  handle.addEventListener('click', () => {
    if (!dragged) setSheetExpanded(!document.body.classList.contains('sheet-expanded'));
    dragged = false;
  });
}

/** Open a drawer as asked with its button, the focus on its close button (on a phone the button
 * was in the menu, closed now): Escape closes it from there. */
function openWithFocus(drawer) {
  drawer.open();
  drawer.panel.querySelector('.close').focus();
}

/** Focus back on a drawer's button, or where a phone keeps it: the menu button (or, with neither
 * shown, the map). */
function focusWhereItCameFrom(button) {
  const shown = (element) => element && element.getClientRects().length > 0;
  const menu = document.getElementById('menu-button');
  const target = [button, menu].find(shown) || document.querySelector('#map canvas');
  if (target) target.focus();
}

/**
 * The charts drawer, and on the full page the table, the report and the search (resolves once the
 * search is wired). `selection`: the Selection; `changes`: fires `change` (detail `selection` or
 * `view`) when what the panels show has changed; `shown()`: a promise of what they draw (compass.js's
 * shownView); `openCharts`: the URL asks for the charts; `map` and `fitBox(box, layer, padding)`: for
 * the report; `search`: what the search box needs (search.js).
 */
export function wirePanels({ selection, changes, shown, isEmbed, openCharts, map, fitBox, search }) {
  wireChartsDrawer(selection, changes, shown, isEmbed, openCharts);
  if (isEmbed) return Promise.resolve();
  wireTableDrawer(selection, changes, shown);
  wireReportButton(shown, map, fitBox);
  return import('./search.js').then(({ wireSearch }) => wireSearch(search));
}

/** The "Selected areas" drawer: opened by its button, by the URL (`openCharts`) or, on the full
 * page, by a first selection (unless the user closed it or looks at another drawer). */
function wireChartsDrawer(selection, changes, shown, isEmbed, openCharts) {
  const charts = drawer('charts', 'charts-button', async (target, width) => {
    const [{ renderCharts }, uPlot, view] = await Promise.all([import('./charts.js'), loadChartLibrary(), shown()]);
    return renderCharts(target, { uPlot, view, width, selection, isEmbed });
  });
  const chartsButton = document.getElementById('charts-button');
  const count = () => {
    if (chartsButton) chartsButton.textContent = selection.ids.length ? `Selected (${selection.ids.length})` : 'Selected';
  };
  count();
  changes.addEventListener('change', (event) => {
    count();
    const otherOpen = document.querySelector('.drawer:not([hidden])');
    if (event.detail === 'selection' && selection.ids.length && !charts.userClosed && !otherOpen && !isEmbed) charts.open();
    charts.refresh();
  });
  if (openCharts || (!isEmbed && selection.ids.length)) charts.open();
}

/** The table drawer, its sort and its change's base year kept across re-renders; a change of the
 * selection only updates its checkboxes. */
function wireTableDrawer(selection, changes, shown) {
  const sort = { key: 'rank', ascending: true };
  const comparison = { since: null };
  let syncChecks = null;
  const table = drawer('table-panel', 'table-button', async (target) => {
    const [{ renderTable }, view] = await Promise.all([import('./table.js'), shown()]);
    syncChecks = renderTable(target, view, selection, sort, comparison);
    return null;
  });
  changes.addEventListener('change', (event) => {
    if (event.detail === 'selection' && syncChecks && !table.panel.hidden && table.panel.querySelector('#area-table')) syncChecks();
    else table.refresh();
  });
}

/** The report button: the report of what is shown, built when asked for. */
function wireReportButton(shown, map, fitBox) {
  const section = document.getElementById('report');
  document.getElementById('report-button').addEventListener('click', async () => {
    const [{ openReport }, uPlot, view] = await Promise.all([import('./report.js'), loadChartLibrary(), shown()]);
    await openReport(section, { uPlot, view, map, fitBox });
  });
}
