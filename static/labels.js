// The words and numbers the map page shows for the year and the area under the pointer. Pure: run
// by the browser and by node (tests/static/labels.test.mjs).
import { ALL_YEARS, countField, densityField, yearLabel, yearSpan } from './years.js';

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

/** What the tooltip says of an area (a feature's tile properties) in `year`: its title and
 * [term, value] pairs. */
export function areaFacts(properties, years, year) {
  const all = year === ALL_YEARS;
  const count = properties[countField(year)];
  const density = properties[densityField(year)];
  return {
    title: properties.name || properties.id,
    facts: [
      ['Year', upperFirst(yearLabel(years, year))],
      [all ? `Violent incidents, ${yearSpan(years)} total` : `Violent incidents, ${year}`, formatNumber(count, 0)],
      ['Area', `${formatNumber(properties.area_sqmi, 2)} sq mi`],
      ['Density', `${formatNumber(density)} ${all ? 'incidents per sq mi per year (average)' : 'incidents per sq mi'}`],
    ],
  };
}
