// The compass's panels: "Selected areas" (selection, trend, distribution) and "Table" as drawers
// over the map, one at a time; the report; the search box. Each view's module is imported the first
// time it is shown, so a page that never opens them never downloads them (nor the chart library).
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
      if (!document.querySelector('.drawer:not([hidden])')) document.body.classList.remove('drawer-open');
    },
  };
  panel.addEventListener('close', () => self.close());
  panel.querySelector('.close').addEventListener('click', () => {
    self.userClosed = true;
    self.close();
    if (button) button.focus();
  });
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      self.userClosed = true;
      self.close();
      if (button) button.focus();
    }
  });
  if (button) button.addEventListener('click', () => (panel.hidden ? self.open() : self.close()));
  return self;
}

/** The charts drawer, and on the full page the table, the report and the search (resolves once
 * the search is wired). */
export function wirePanels(compass) {
  const charts = drawer('charts', 'charts-button', (target, width) =>
    import('./charts.js').then(({ renderCharts }) => renderCharts(compass, target, width)),
  );
  const chartsButton = document.getElementById('charts-button');
  const count = () => {
    if (chartsButton) chartsButton.textContent = compass.selection.ids.length ? `Selected (${compass.selection.ids.length})` : 'Selected';
  };
  count();
  compass.changes.addEventListener('change', (event) => {
    count();
    // a first selection opens the panel, unless the user closed it or looks at another (the table)
    const otherOpen = document.querySelector('.drawer:not([hidden])');
    if (event.detail === 'selection' && compass.selection.ids.length && !charts.userClosed && !otherOpen && !compass.isEmbed) charts.open();
    charts.refresh();
  });
  if (compass.params.get('charts') === '1' || (!compass.isEmbed && compass.selection.ids.length)) charts.open();
  if (compass.isEmbed) return Promise.resolve();

  const sort = { key: 'rank', ascending: true };
  let syncChecks = null;
  const table = drawer('table-panel', 'table-button', (target) =>
    import('./table.js').then(async ({ renderTable }) => {
      syncChecks = await renderTable(compass, target, sort);
      return null;
    }),
  );
  compass.changes.addEventListener('change', (event) => {
    if (event.detail === 'selection' && syncChecks && !table.panel.hidden && table.panel.querySelector('#area-table')) syncChecks();
    else table.refresh();
  });

  const report = document.getElementById('report');
  document.getElementById('report-button').addEventListener('click', () =>
    import('./report.js').then(({ openReport }) => openReport(compass, report)),
  );
  return import('./search.js').then(({ wireSearch }) => wireSearch(compass));
}
