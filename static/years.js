// The year the page shows: 'all' (every study year, densities averaged per year) or one study year,
// its label and the tile properties that hold its numbers. Pure: run by the browser and by node
// (tests/static/years.test.mjs).

export const ALL_YEARS = 'all';

const DENSITY = 'violent_per_sqmi';
const COUNT = 'violent_count';

/** The study years as a range, e.g. "2014–2018". */
export function yearSpan(years) {
  return `${years[0]}–${years[years.length - 1]}`;
}

/** `year` as the page names it in a sentence: "all years 2014–2018 (average per year)" or "2016". */
export function yearLabel(years, year) {
  return year === ALL_YEARS ? `all years ${yearSpan(years)} (average per year)` : String(year);
}

/** The tile property holding the violent crimes per sq mi of `year` (per year on average for all). */
export const densityField = (year) => (year === ALL_YEARS ? DENSITY : `${DENSITY}_${year}`);

/** The tile property `base` (e.g. `unstable`, `violent_per_sqmi_low`) of `year`. */
export const yearField = (base, year) => (year === ALL_YEARS ? base : `${base}_${year}`);

/** The tile property holding the violent count of `year` (the total of all years for all). */
export const countField = (year) => (year === ALL_YEARS ? COUNT : `${COUNT}_${year}`);

/** A filter of the style (written on the all-years fields) re-pointed at the fields of `year`:
 * each of `fields`, the style's `crimetiles:year-fields` (the density, and the flags that mark
 * unstable and withheld areas). */
export function filterForYear(expression, year, fields = [DENSITY]) {
  if (year === ALL_YEARS) return expression;
  let text = JSON.stringify(expression);
  for (const field of fields) text = text.replaceAll(JSON.stringify(field), JSON.stringify(`${field}_${year}`));
  return JSON.parse(text);
}
