// Small helpers shared by the bench drivers: medians, ratios and number formatting.

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** A number with thousands separators and no decimals. */
export function whole(value) {
  return Math.round(value).toLocaleString('en-US')
}

/** A ratio as `1.23×`. */
export function times(value) {
  return `${value.toFixed(2)}×`
}

/** Milliseconds with one decimal. */
export function ms(value) {
  return `${value.toFixed(1)} ms`
}
