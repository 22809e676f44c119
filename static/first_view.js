// The picture of the map's first view (`#first-view`, server/pages.py's FirstView), shown in the
// map's box while MapLibre and its worker load: the server's bare /map.png of the view the map opens
// at (MapLibre's #zoom/lat/lon, else the query's center= and zoom=, else the build's default), at the
// box's size in device pixels. app.js removes it once the map has drawn its first view.
import { initialView } from './url_state.js';

const MAX_SCALE = 2;
/** /map.png's largest side, pixels. */
const MAX_SIDE = 2048;

/** The view of MapLibre's `#zoom/lat/lon[/bearing/pitch]` as the map reads it, null when the hash
 * names none; a rotated or tilted view is no view a flat picture shows (`drawable: false`). */
function viewFromHash(hash) {
  const parts = hash.replace('#', '').split('/');
  if (parts.length < 3 || parts.some((part) => Number.isNaN(Number(part)))) return null;
  const [zoom, lat, lon, bearing, pitch] = parts.map(Number);
  return { center: [lon, lat], zoom, drawable: !bearing && !pitch };
}

/** The picture's URL: `src` (the layer and year) with the view and the size of `box` (CSS pixels)
 * times the device's pixel ratio (at most 2, and /map.png's largest side). Its zoom is that of
 * 256-pixel tiles: MapLibre's (512-pixel) zoom plus one, plus the scale's. (The server evaluates the
 * style at that zoom, as for its PNG tiles: near a zoom band's edge, the hex grid's picture may show
 * the next band's cells.) */
function pictureUrl(src, { center, zoom }, box) {
  const width = Math.round(box.width);
  const height = Math.round(box.height);
  const scale = Math.min(window.devicePixelRatio || 1, MAX_SCALE, MAX_SIDE / width, MAX_SIDE / height);
  const query = new URLSearchParams({
    center: center.map((value) => value.toFixed(6)).join(','),
    zoom: (zoom + 1 + Math.log2(scale)).toFixed(4),
    width: String(Math.round(width * scale)),
    height: String(Math.round(height * scale)),
  });
  return `${src}&${query}`;
}

function showFirstView() {
  const picture = document.getElementById('first-view');
  if (!picture) return;
  const { center, zoom, src } = picture.dataset;
  const asked = viewFromHash(window.location.hash);
  const view = asked || initialView(new URLSearchParams(window.location.search), [...center.split(',').map(Number), Number(zoom)]);
  const box = document.getElementById('map').getBoundingClientRect();
  if ((asked && !asked.drawable) || box.width < 1 || box.height < 1) {
    picture.remove();
    return;
  }
  picture.addEventListener('load', () => { picture.hidden = false; }, { once: true });
  picture.addEventListener('error', () => picture.remove(), { once: true });
  picture.src = pictureUrl(src, view, box);
}

showFirstView();
