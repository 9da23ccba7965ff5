// Natural ordering ("node2" before "node10"), as github.com/fvbommel/sortorder's
// NaturalLess that `docker node ls` sorts hostnames with.

const ZERO = 0x30;
const NINE = 0x39;
const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;
const encoder = new TextEncoder();

// Runs of digits compare by value (shorter number first, then fewer leading zeros);
// everything else compares bytewise on UTF-8, and digits sort before other bytes.
export function naturalCompare(a: string, b: string): number {
  const s1 = encoder.encode(a);
  const s2 = encoder.encode(b);
  let i1 = 0;
  let i2 = 0;
  while (i1 < s1.length && i2 < s2.length) {
    const c1 = s1[i1]!;
    const c2 = s2[i2]!;
    const d1 = isDigit(c1);
    const d2 = isDigit(c2);
    if (d1 !== d2) return d1 ? -1 : 1;
    if (!d1) {
      if (c1 !== c2) return c1 < c2 ? -1 : 1;
      i1++;
      i2++;
      continue;
    }
    while (i1 < s1.length && s1[i1] === ZERO) i1++;
    while (i2 < s2.length && s2[i2] === ZERO) i2++;
    const nz1 = i1;
    const nz2 = i2;
    while (i1 < s1.length && isDigit(s1[i1]!)) i1++;
    while (i2 < s2.length && isDigit(s2[i2]!)) i2++;
    if (i1 - nz1 !== i2 - nz2) return i1 - nz1 < i2 - nz2 ? -1 : 1;
    for (let k = 0; k < i1 - nz1; k++) {
      if (s1[nz1 + k] !== s2[nz2 + k]) return s1[nz1 + k]! < s2[nz2 + k]! ? -1 : 1;
    }
    if (nz1 !== nz2) return nz1 < nz2 ? -1 : 1;
  }
  // Equal so far and at least one has ended: the longer one sorts last.
  return Math.sign(s1.length - s2.length);
}
