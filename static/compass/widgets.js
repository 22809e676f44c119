// Small DOM builders shared by the compass views (text through textContent only; no HTML strings).

/** An element with attributes and children (strings become text). */
export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

/** A labelled figure holding a chart: the canvas chart is an image for assistive technology, with
 * `description` as its text; the table that follows it gives every value. */
export function chartFigure(titleId, title, description) {
  const chart = element('div', { class: 'chart', role: 'img', 'aria-label': description });
  const figure = element('figure', { class: 'chart-figure', 'aria-labelledby': titleId }, [
    element('figcaption', { id: titleId }, [title]),
    chart,
  ]);
  return { figure, chart };
}

/**
 * A data table in a keyboard-scrollable region. `rows`: [{attributes, heading, cells}] where a cell
 * is {text, value} (value in `data-value`, unrounded) or {node}; `heading` becomes the row header.
 */
export function dataTable(id, caption, header, rows) {
  const head = element('thead', {}, [element('tr', {}, header.map((text) => element('th', { scope: 'col' }, [text])))]);
  const body = element('tbody');
  for (const row of rows) {
    const cells = row.cells.map((cell) => (cell.node ? element('td', {}, [cell.node]) : element('td', { 'data-value': cell.value }, [cell.text])));
    body.append(element('tr', row.attributes || {}, [element('th', { scope: 'row' }, [row.heading]), ...cells]));
  }
  const table = element('table', { id, class: 'data' }, [element('caption', { id: `${id}-caption` }, [caption]), head, body]);
  return element('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': `${id}-caption`, tabindex: 0 }, [table]);
}

/** Save `text` as a file named `name` (a CSV made in the page: no server round trip). */
export function saveText(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = element('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A chart's width in CSS pixels for a container: its inner width, within bounds. */
export function chartWidth(container) {
  return Math.max(260, Math.min(640, container.clientWidth - 4));
}
