// What the page's URL holds: the tileset (`layer=`), the year (`year=`), the change view
// (`change=2014-2016`), the view (`center=` and `zoom=`, or MapLibre's own #zoom/lat/lon), the
// selection (`selected=`, kept by static/compass) and the links made from them. Pure: run by the browser and by node (tests/static/url_state.test.mjs).
import { ALL_YEARS } from './years.js';

const DEFAULT_TILESET = 'blockgroups';

/** The two years of `change=FIRST-SECOND` (`text`), the first earlier, both study years (`years`,
 * as text), as {since, year}; null for anything else (no value, one year, the same year twice, a
 * year the build does not have, the later year first, garbage). */
export function parseChange(text, years) {
  const match = /^(\d{4})-(\d{4})$/.exec(text || '');
  if (!match) return null;
  const [since, year] = [match[1], match[2]];
  return years.includes(since) && years.includes(year) && Number(since) < Number(year) ? { since, year } : null;
}

/** The `change=` value of a state: "2014-2016", or null outside the change view. */
export function changeText({ since, year }) {
  return since ? `${since}-${year}` : null;
}

/** The tileset, year and change view's first year (`since`, null when off) asked for by the URL's
 * `params`, each replaced by the default when the build does not have it (`names`: the tilesets,
 * `years`: the study years as text). A valid `change=` sets the year to its second year. */
export function mapStateFromUrl(params, names, years) {
  const layer = params.get('layer') || DEFAULT_TILESET;
  const year = params.get('year') || ALL_YEARS;
  const change = parseChange(params.get('change'), years);
  return {
    layer: names.includes(layer) ? layer : names[0],
    year: change ? change.year : year === ALL_YEARS || years.includes(year) ? year : ALL_YEARS,
    since: change ? change.since : null,
  };
}

/** Where the map opens: `center=lon,lat` and `zoom=` of the URL when valid, else the TileJSON's
 * `center` ([lon, lat, zoom]). */
export function initialView(params, [lon, lat, zoom]) {
  const center = (params.get('center') || '').split(',').map(Number);
  const asked = params.get('zoom');
  return {
    center: center.length === 2 && center.every(Number.isFinite) ? center : [lon, lat],
    zoom: asked && Number.isFinite(Number(asked)) ? Number(asked) : zoom,
  };
}

/** The query string `search` with the shown tileset, year and change view set in it (the rest kept;
 * `change=` taken out when the view is off). */
export function withMapState(search, state) {
  const params = new URLSearchParams(search);
  params.set('layer', state.layer);
  params.set('year', state.year);
  const change = changeText(state);
  if (change) params.set('change', change);
  else params.delete('change');
  return `?${params}`;
}

/** A link to `page` (the map or the embed) showing what this URL shows: its tileset, year, change
 * view, selection (`selected=` of `search`) and view (`hash`). */
export function mapLink(page, state, search, hash) {
  const selected = new URLSearchParams(search).get('selected');
  const change = changeText(state);
  return `${page}?layer=${state.layer}&year=${state.year}${change ? `&change=${change}` : ''}${selected ? `&selected=${encodeURIComponent(selected)}` : ''}${hash}`;
}

/** A download's URL from the page's template (`{layer}`, `{format}`, `{year}`). */
export function downloadUrl(template, layer, format, year) {
  return template.replace('{layer}', layer).replace('{format}', format).replace('{year}', year);
}

/** The QGIS layer definition of a tileset, styled for `year`. */
export function qgisUrl(tileset, year) {
  return `qgis/${tileset}.qlr?year=${year}`;
}
