/**
 * Finding the name a typo was meant to be: a misspelt setting is otherwise silently ignored and the default applies.
 */

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The candidate nearest to `name` (case-insensitive) and its distance; the first one wins a tie. */
export function closest(name: string, candidates: readonly string[]): { name: string; distance: number } {
  let best = { name: candidates[0], distance: Number.POSITIVE_INFINITY };
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < best.distance) best = { name: candidate, distance };
  }
  return best;
}

/**
 * The candidate `name` was probably meant to be, or undefined when none is close: at most a third of the name's length
 * apart (at least 2), so `dbInstanceClass` suggests `dbInstanceType` but `region` suggests nothing.
 */
export function suggestion(name: string, candidates: readonly string[]): string | undefined {
  const nearest = closest(name, candidates);
  return nearest.distance <= Math.max(2, Math.floor(name.length / 3)) ? nearest.name : undefined;
}
