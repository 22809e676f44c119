// The words and numbers the map page shows for the year and the area under the pointer. Pure: run
// by the browser and by node (tests/static/labels.test.mjs).
import { ALL_YEARS, countField, densityField, yearField, yearLabel, yearSpan } from './years.js';

/** A number as the page shows it: en-US grouping, `digits` decimals. */
export function formatNumber(value, digits = 1) {
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `text` with its first letter in upper case, for a label that starts a line. */
export function upperFirst(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The legend's subtitle: the unit and the year shown. */
export function legendSubtitle(years, year) {
  return `incidents per sq mi · ${upperFirst(yearLabel(years, year))}`;
}

/** The `below` of the style's mark `name` (`crimetiles:marks`: unstable, suppressed), or none. */
export function markBelow(marks, name) {
  const mark = (marks || []).find((row) => row.mark === name);
  return mark ? mark.below : undefined;
}

/** Why a count is withheld: "to protect counts under K". Not "fewer than K": a count may be withheld
 * as a complement (docs/artifact.md), or as a total that would give a small count back. */
export function protecting(below) {
  return `to protect counts under ${below}`;
}

/** What the tooltip says of an area (a feature's tile properties) in `year`: its title and
 * [term, value] pairs: the count, area and density with its 95 % interval, and whether it is
 * unstable; a withheld count as withheld (`protecting`). `marks` are the style's (`crimetiles:marks`). */
export function areaFacts(properties, years, year, marks = []) {
  const all = year === ALL_YEARS;
  const countTerm = all ? `Violent incidents, ${yearSpan(years)} total` : `Violent incidents, ${year}`;
  const area = ['Area', `${formatNumber(properties.area_sqmi, 2)} sq mi`];
  const facts = [['Year', upperFirst(yearLabel(years, year))]];
  if (properties[yearField('suppressed', year)] === true) {
    const below = markBelow(marks, 'suppressed');
    facts.push([countTerm, below ? `withheld ${protecting(below)}` : 'withheld'], area, ['Density', 'not published']);
    return { title: properties.name || properties.id, facts };
  }
  const density = properties[densityField(year)];
  const low = properties[yearField('violent_per_sqmi_low', year)];
  const high = properties[yearField('violent_per_sqmi_high', year)];
  facts.push(
    [countTerm, formatNumber(properties[countField(year)], 0)],
    area,
    ['Density', `${formatNumber(density)} ${all ? 'incidents per sq mi per year (average)' : 'incidents per sq mi'}`],
  );
  if (low !== undefined && high !== undefined) facts.push(['95 % interval', `${formatNumber(low)}–${formatNumber(high)}`]);
  if (properties[yearField('unstable', year)] === true) {
    const below = markBelow(marks, 'unstable');
    facts.push(['Reliability', below ? `unstable: fewer than ${below} incidents, read with care` : 'unstable, read with care']);
  }
  return { title: properties.name || properties.id, facts };
}
