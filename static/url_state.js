// What the page's URL holds: the tileset (`layer=`), the year (`year=`), the view (`center=` and
// `zoom=`, or MapLibre's own #zoom/lat/lon), the selection (`selected=`, kept by static/compass) and
// the links made from them. Pure: run by the browser and by node (tests/static/url_state.test.mjs).
import { ALL_YEARS } from './years.js';

const DEFAULT_TILESET = 'blockgroups';

/** The tileset and year asked for by the URL's `params`, each replaced by the default when the
 * build does not have it (`names`: the tilesets, `years`: the study years as text). */
export function mapStateFromUrl(params, names, years) {
  const layer = params.get('layer') || DEFAULT_TILESET;
  const year = params.get('year') || ALL_YEARS;
  return {
    layer: names.includes(layer) ? layer : names[0],
    year: year === ALL_YEARS || years.includes(year) ? year : ALL_YEARS,
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

/** The query string `search` with the shown tileset and year set in it (the rest kept). */
export function withMapState(search, { layer, year }) {
  const params = new URLSearchParams(search);
  params.set('layer', layer);
  params.set('year', year);
  return `?${params}`;
}

/** A link to `page` (the map or the embed) showing what this URL shows: its tileset, year,
 * selection (`selected=` of `search`) and view (`hash`). */
export function mapLink(page, { layer, year }, search, hash) {
  const selected = new URLSearchParams(search).get('selected');
  return `${page}?layer=${layer}&year=${year}${selected ? `&selected=${encodeURIComponent(selected)}` : ''}${hash}`;
}

/** A download's URL from the page's template (`{layer}`, `{format}`, `{year}`). */
export function downloadUrl(template, layer, format, year) {
  return template.replace('{layer}', layer).replace('{format}', format).replace('{year}', year);
}

/** The QGIS layer definition of a tileset, styled for `year`. */
export function qgisUrl(tileset, year) {
  return `qgis/${tileset}.qlr?year=${year}`;
}
